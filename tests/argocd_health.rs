//! The Argo CD health checks modelgen installs, run as Argo CD runs them (Lua 5.1) on objects as their controllers write them.

#[path = "argocd/harness.rs"]
mod harness;
mod support;

use harness::*;
use mlua::Lua;

/// Runs a health check as Argo CD does (gopher-lua, Lua 5.1): the object
/// as the global `obj`, the script returning `{status, message}`.
fn health(check: &str, object: &Value) -> (String, String) {
    let (_, path) = health_checks().into_iter().find(|(key, _)| key.ends_with(check)).expect("a health check");
    let lua = Lua::new();
    let options = mlua::serde::SerializeOptions::new().serialize_none_to_null(false).serialize_unit_to_null(false);
    let obj = mlua::serde::LuaSerdeExt::to_value_with(&lua, object, options).expect("object to Lua");
    lua.globals().set("obj", obj).expect("set obj");
    let result: mlua::Table = lua.load(fs::read_to_string(path).expect("lua")).eval().expect("the script runs");
    let status: String = result.get("status").expect("status");
    let message: String = result.get("message").expect("message");
    assert!(!message.is_empty(), "{check}: Argo CD shows the message; say something");
    (status, message)
}

/// A rendered object of `kind` from an example's committed output, with a
/// generation and `status` as the controller writes it.
fn sample(example: &str, kind: &str, generation: u64, status: Option<Value>) -> Value {
    let rendered =
        fs::read_to_string(workspace().join("examples").join(example).join("rendered.yaml")).expect("rendered");
    let mut object = documents(&rendered).into_iter().find(|d| d["kind"] == kind).expect("the kind is rendered");
    object["metadata"]["generation"] = json!(generation);
    if let Some(status) = status {
        object["status"] = status;
    }
    object
}

/// A condition as knative's condition set writes it.
fn condition(kind: &str, status: &str, message: &str, reason: &str) -> Value {
    let mut c = json!({"type": kind, "status": status, "lastTransitionTime": "2026-11-20T10:00:00Z"});
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    if !reason.is_empty() {
        c["reason"] = json!(reason);
    }
    c
}

#[test]
fn seldon_deployment_health_follows_the_operator_state() {
    let check = "SeldonDeployment";
    // What Seldon Core v1.17.1's operator writes: no `observedGeneration`
    // (its status inlines duckv1.Status, but nothing sets that field), so
    // the check cannot and does not compare generations (rule `seldon-status-generation`).
    let available = json!({
        "state": "Available", "replicas": 1,
        "address": {"url": "http://fraud-detector-default.fraud.svc.cluster.local:8000/api/v1.0/predictions"},
        "deploymentStatus": {"fraud-detector-default-0-classifier": {"availableReplicas": 1, "replicas": 1}},
        "conditions": [condition("DeploymentsReady", "True", "", "All Deployments are Ready"), condition("Ready", "True", "", "")],
    });
    assert_eq!(health(check, &sample("fraud-seldon", "SeldonDeployment", 3, Some(available))).0, "Healthy");
    let script = fs::read_to_string(deploy("health/machinelearning.seldon.io_SeldonDeployment.lua")).expect("lua");
    assert!(!script.contains("observedGeneration"), "a branch on a field the operator never writes never runs");
    let creating = json!({"state": "Creating", "description": "", "conditions": [condition("DeploymentsReady", "False", "", "Not all deployments are ready")]});
    assert_eq!(
        health(check, &sample("fraud-seldon", "SeldonDeployment", 1, Some(creating))),
        ("Progressing".into(), "Creating".into())
    );
    let failed =
        json!({"state": "Failed", "description": "Cannot find defined container classifier in componentSpecs"});
    assert_eq!(
        health(check, &sample("fraud-seldon", "SeldonDeployment", 1, Some(failed))),
        ("Degraded".into(), "Cannot find defined container classifier in componentSpecs".into())
    );
    assert_eq!(health(check, &sample("fraud-seldon", "SeldonDeployment", 1, None)).0, "Progressing");
}

#[test]
fn seldon_model_health_follows_the_scheduler_state() {
    let check = "mlops.seldon.io_Model";
    let model = |status| sample("iris-seldon-v2", "Model", 1, status);
    let ready = json!({"replicas": 1, "conditions": [
        condition("ModelReady", "True", "ModelAvailable", ""),
        condition("Ready", "True", "ModelAvailable", ""),
    ]});
    assert_eq!(health(check, &model(Some(ready))), ("Healthy".into(), "ModelAvailable".into()));
    let loading = json!({"replicas": 1, "conditions": [
        condition("ModelReady", "False", "ModelProgressing", ""),
        condition("Ready", "False", "ModelProgressing", ""),
    ]});
    assert_eq!(health(check, &model(Some(loading))).0, "Progressing");
    let unschedulable = json!({"replicas": 0, "conditions": [
        condition("ModelReady", "False", "ScheduleFailed", "failed to schedule model iris. [no matching servers are available]"),
        condition("Ready", "False", "ScheduleFailed", "failed to schedule model iris. [no matching servers are available]"),
    ]});
    let (status, message) = health(check, &model(Some(unschedulable)));
    assert_eq!(status, "Degraded");
    assert_eq!(message, "ScheduleFailed: failed to schedule model iris. [no matching servers are available]");
    // Releases before 2.8 put the scheduler's reason alone in `reason`.
    let old = json!({"conditions": [condition("ModelReady", "False", "", "Failed to load model: artifact not found"), condition("Ready", "False", "", "")]});
    assert_eq!(health(check, &model(Some(old))).0, "Degraded");
    assert_eq!(health(check, &model(None)).0, "Progressing");
}

#[test]
fn seldon_experiment_health_follows_its_candidates() {
    let check = "mlops.seldon.io_Experiment";
    let experiment = |status| sample("iris-seldon-v2", "Experiment", 1, status);
    let active = json!({"conditions": [
        condition("CandidatesReady", "True", "", "Candidates ready"),
        condition("ExperimentReady", "True", "", "experiment active"),
        condition("MirrorReady", "True", "", "Mirror ready"),
        condition("Ready", "True", "", ""),
    ]});
    assert_eq!(health(check, &experiment(Some(active))), ("Healthy".into(), "experiment active".into()));
    let waiting = json!({"conditions": [
        condition("CandidatesReady", "False", "", "Candidates not ready"),
        condition("ExperimentReady", "False", "", "Candidates not ready"),
        condition("MirrorReady", "True", "", "Mirror ready"),
        condition("Ready", "False", "", "Candidates not ready"),
    ]});
    assert_eq!(
        health(check, &experiment(Some(waiting))),
        ("Progressing".into(), "Waiting for the candidate models to be ready".into())
    );
    let mirror = json!({"conditions": [
        condition("CandidatesReady", "True", "", "Candidates ready"),
        condition("MirrorReady", "False", "", "Mirror not ready"),
        condition("Ready", "False", "", "Mirror not ready"),
    ]});
    assert_eq!(health(check, &experiment(Some(mirror))).1, "Waiting for the mirror model to be ready");
    let refused = json!({"conditions": [
        condition("ModelReady", "False", "", "rpc error: code = FailedPrecondition desc = default model iris-x is not a candidate"),
        condition("Ready", "False", "", ""),
    ]});
    let (status, message) = health(check, &experiment(Some(refused)));
    assert_eq!(status, "Degraded");
    assert!(message.contains("is not a candidate"), "{message}");
    assert_eq!(health(check, &experiment(None)).0, "Progressing");
}

#[test]
fn llm_inference_service_health_follows_kserves_conditions() {
    let check = "serving.kserve.io_LLMInferenceService";
    let service = |generation, status| sample("gpt-oss", "LLMInferenceService", generation, status);
    // What KServe v0.20.0's controller writes once the pods, the scheduler and the route are up.
    let ready = |observed: u64| {
        json!({"observedGeneration": observed, "conditions": [
            condition("HTTPRoutesReady", "True", "", ""),
            condition("InferencePoolReady", "True", "", ""),
            condition("MainWorkloadReady", "True", "", ""),
            condition("PresetsCombined", "True", "", ""),
            condition("Ready", "True", "", ""),
            condition("RouterReady", "True", "", ""),
            condition("SchedulerWorkloadReady", "True", "", ""),
            condition("WorkloadsReady", "True", "", ""),
            condition("GroupReady", "True", "", ""),
            // False is the healthy value of this one.
            condition("GroupDegraded", "False", "", ""),
        ]})
    };
    assert_eq!(health(check, &service(2, Some(ready(2)))), ("Healthy".into(), "Ready".into()));
    // A new spec the controller has not reconciled yet: Ready is from the last generation.
    assert_eq!(health(check, &service(3, Some(ready(2)))).0, "Progressing");
    // Pods still loading the model.
    let loading = json!({"observedGeneration": 1, "conditions": [
        condition("MainWorkloadReady", "False", "Deployment does not have minimum availability.", "MinimumReplicasUnavailable"),
        condition("PresetsCombined", "True", "", ""),
        condition("Ready", "False", "", "MinimumReplicasUnavailable"),
        condition("WorkloadsReady", "False", "", "MinimumReplicasUnavailable"),
    ]});
    let (status, message) = health(check, &service(1, Some(loading)));
    assert_eq!(status, "Progressing");
    assert!(message.contains("MainWorkloadReady: MinimumReplicasUnavailable"), "{message}");
    // A rollout past its deadline needs a person.
    let stuck = json!({"observedGeneration": 1, "conditions": [
        condition("MainWorkloadReady", "False", "ReplicaSet \"gpt-oss-kserve-7f\" has timed out progressing.", "ProgressDeadlineExceeded"),
        condition("Ready", "False", "", "ProgressDeadlineExceeded"),
    ]});
    assert_eq!(health(check, &service(1, Some(stuck))).0, "Degraded");
    // A preset named in `llm.presets` that does not exist stops reconciliation; Ready may still say True.
    let mut missing = ready(1);
    missing["conditions"][3] = condition(
        "PresetsCombined",
        "False",
        "LLMInferenceServiceConfig gpt-oss-runtime-v1 not found",
        "ConfigNotFound",
    );
    let (status, message) = health(check, &service(1, Some(missing)));
    assert_eq!(status, "Degraded");
    assert!(message.contains("gpt-oss-runtime-v1"), "{message}");
    // A routing-group member with another model name is left out of the split.
    let mut divergent = ready(1);
    divergent["conditions"][9] =
        condition("GroupDegraded", "True", "group has members with different model sets: other", "MemberDivergence");
    assert_eq!(health(check, &service(1, Some(divergent))).0, "Degraded");
    // Stopped with `serving.kserve.io/stop`.
    let stopped = json!({"observedGeneration": 1, "conditions": [
        condition("MainWorkloadReady", "False", "Service is stopped", "Stopped"),
        condition("Ready", "False", "", "Stopped"),
    ]});
    assert_eq!(health(check, &service(1, Some(stopped))).0, "Suspended");
    assert_eq!(health(check, &service(1, None)).0, "Progressing");
}
