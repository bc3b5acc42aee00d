//! The Argo CD config management plugin, driven the way `argocd-cmp-server` drives it, and the files that install it.
//!
//! The harness reads the repository's own `deploy/argocd/plugin.yaml` and
//! does what the sidecar does for each request: unpacks the application
//! into a fresh directory with file modes reset, decides whether the plugin
//! applies, runs the parameters command and `generate` in the application's
//! directory with exactly the environment Argo CD builds (the sidecar's own
//! variables plus `ARGOCD_APP_*`, `KUBE_*`, `ARGOCD_ENV_*`, `PARAM_*`), and
//! judges stdout, stderr and the exit code as repo-server would.

#[path = "argocd/harness.rs"]
mod harness;
mod support;

use harness::*;

#[test]
fn plugin_yaml_is_what_cmp_server_accepts_and_applications_name_it() {
    let plugin = Plugin::load();
    assert_eq!(plugin.name(), "modelgen-v1");
    assert_eq!(plugin.generate(), ["modelgen", "argocd", "generate"]);
    assert_eq!(plugin.parameters(), ["modelgen", "argocd", "parameters"]);
    assert_eq!(plugin.config["spec"]["preserveFileMode"], false);
    assert_eq!(plugin.config["spec"]["provideGitCreds"], false);
    // No discovery: named Applications get it, auto-discovery (`plugin: {}`) does not.
    assert!(plugin.selected_by(Some("modelgen-v1")));
    assert!(!plugin.selected_by(None));
    assert!(!plugin.selected_by(Some("modelgen")), "without the version the name does not match (argo-cd#13013)");
    let application = App::from_manifest(&yaml(&deploy("application.yaml")));
    assert!(plugin.selected_by(application.plugin_name.as_deref()), "application.yaml names the plugin");
    for app in applicationset_apps() {
        assert!(plugin.selected_by(app.plugin_name.as_deref()), "applicationset.yaml names the plugin");
    }
}

#[test]
fn every_example_renders_through_the_cmp_contract_exactly_as_modelgen_render() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    for app in applicationset_apps() {
        let repo = Unpacked::new(&workspace(), &app.path, sidecar);
        let dir = repo.app_dir(&app);
        assert!(plugin.selected_by(app.plugin_name.as_deref()));

        let announced = exec(&plugin.parameters(), &dir, &app.parameters_env(sidecar));
        assert_eq!(announced.status.code(), Some(0), "{}: parameters: {}", app.name, text(&announced.stderr));
        let announced: Value = serde_json::from_slice(&announced.stdout).expect("the announcement is JSON");
        let list = announced.as_array().expect("a JSON list of parameters");
        for parameter in list {
            assert!(parameter["name"].is_string() && parameter["collectionType"].is_string(), "{parameter}");
        }

        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        let docs = objects(&out, &app.name);
        assert_eq!(text(&out.stdout), render(&app.path, &app.namespace), "{}: generate differs from render", app.name);
        support::assert_valid_against_crds(&text(&out.stdout), &app.name);

        // The announced canary weights are the specs' own.
        let weights: BTreeMap<String, String> = docs
            .iter()
            .filter_map(|d| {
                let model = d["metadata"]["labels"]["app.kubernetes.io/name"].as_str()?;
                let percent = d["spec"]["predictor"]["canaryTrafficPercent"].as_u64()?;
                Some((model.to_owned(), percent.to_string()))
            })
            .collect();
        let announced_weights = list.iter().find(|p| p["name"] == "canary-weight").map(|p| p["map"].clone());
        if !weights.is_empty() {
            assert_eq!(announced_weights, Some(json!(weights)), "{}: canary-weight defaults", app.name);
        }
    }
}

#[test]
fn the_example_application_renders_with_its_parameters_and_settings() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let mut app = App::from_manifest(&yaml(&deploy("application.yaml")));
    assert!(!app.parameters.is_empty(), "the example shows a parameter");
    let repo = Unpacked::new(&workspace(), &app.path, sidecar);
    let expected = render(&app.path, &app.namespace);
    let out = exec(&plugin.generate(), &repo.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    objects(&out, "application.yaml");
    assert_eq!(text(&out.stdout), expected);

    // The same through `PARAM_*` alone, and with a setting in `plugin.env`
    // (expanded against the build environment, as Argo CD does).
    app.env.push(("MODELGEN_CHECK_APIS".into(), "true".into()));
    let env: Vec<(String, String)> =
        app.generate_env(sidecar, &full_cluster()).into_iter().filter(|(n, _)| n != "ARGOCD_APP_PARAMETERS").collect();
    assert!(env.iter().any(|(n, v)| n == "PARAM_CANARY_WEIGHT_MOCHANET" && v == "10"), "{env:?}");
    let out = exec(&plugin.generate(), &repo.app_dir(&app), &env);
    objects(&out, "PARAM_ variables");
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn a_failing_app_exits_non_zero_with_empty_stdout_and_a_located_message() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let bad = support::TINY_SPEC.replace("    version: v1\n", "    version: v1\n    verison: v2\n");
    let (repo, app) = temp_app(
        "broken",
        &[("models/tiny.yaml", bad.as_bytes()), ("ok.yaml", support::TINY_SPEC.replace("tiny", "fine").as_bytes())],
    );
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&plugin.generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "broken");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: application `broken` (`apps/broken` at 53a4f2c): rendering failed with 1 error\n"),
        "{stderr}"
    );
    assert!(stderr.contains("apps/broken/models/tiny.yaml:9:5: error: unknown field `verison`"), "{stderr}");
    assert!(stderr.contains("spec.model.verison"), "{stderr}");
    assert!(!stderr.contains("user-secret-77d1"), "a plugin.env value leaked:\n{stderr}");
}

#[test]
fn many_errors_stay_on_one_screen() {
    let sidecar = Sidecar::warm();
    let bad = support::TINY_SPEC.replace("format: sklearn", "format: sklearn\n    fromat: x");
    let files: Vec<(String, Vec<u8>)> =
        (0..30).map(|i| (format!("m{i:02}.yaml"), bad.replace("tiny", &format!("tiny{i}")).into_bytes())).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    let (repo, app) = temp_app("many", &refs);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "many");
    assert!(stderr.contains("rendering failed with 30 errors"), "{stderr}");
    assert!(
        stderr.contains("... and 22 more; run `modelgen validate apps/many` in a checkout to see them all"),
        "{stderr}"
    );
}

#[test]
fn no_spec_at_all_is_an_error_not_an_empty_render() {
    let sidecar = Sidecar::warm();
    let (repo, app) =
        temp_app("empty", &[("kustomization.yaml", b"resources: []\n"), ("README.md", b"nothing here\n")]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "empty");
    assert!(stderr.contains("no `ModelDeployment` spec found"), "{stderr}");
}

#[test]
fn a_cluster_without_the_backend_api_fails_naming_the_api_and_the_model() {
    let sidecar = Sidecar::warm();
    let spec = support::TINY_SPEC.replace("spec:\n", "spec:\n  backend: seldon-v2\n");
    let (repo, app) = temp_app("iris", &[("iris.yaml", spec.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let without_seldon: String =
        full_cluster().split(',').filter(|e| !e.starts_with("mlops.seldon.io")).collect::<Vec<_>>().join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &without_seldon));
    let stderr = failure(&out, &app, "no Seldon Core 2");
    assert!(stderr.contains("apps/iris/iris.yaml:6:12: error: the destination cluster (Kubernetes 1.34.1) does not serve `mlops.seldon.io/v1alpha1/Model`, which model `tiny` needs"), "{stderr}");
    assert!(stderr.contains("^^^^^^^^^ spec.backend"), "{stderr}");
    assert!(stderr.contains("serves no `mlops.seldon.io` API at all"), "{stderr}");

    // Switched off in `plugin.env` (when another Application installs the CRDs).
    let mut off = app.clone();
    off.env.push(("MODELGEN_CHECK_APIS".into(), "false".into()));
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&off), &off.generate_env(sidecar, &without_seldon));
    objects(&out, "check switched off");

    // Without `KUBE_API_VERSIONS` nothing is assumed about the cluster.
    let env: Vec<_> = app.generate_env(sidecar, "").into_iter().filter(|(n, _)| n != "KUBE_API_VERSIONS").collect();
    objects(&exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &env), "no API list");
}

#[test]
fn gateway_api_crds_that_would_prune_the_mirror_percent_fail_the_render() {
    // The plugin cannot know the cluster's Gateway API release; Argo CD's
    // `KUBE_API_VERSIONS` can prove an old one (plugin rule `gateway-mirror-percent`).
    let sidecar = Sidecar::warm();
    let spec = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: ranker}\nspec:\n  deploymentMode: Standard\n  model: {format: lightgbm, version: v1, storageUri: s3://m/r/v1}\n  shadow: {version: v2, storageUri: s3://m/r/v2, percent: 10}\n  route: {gateway: {name: public}}\n  cluster: {gatewayApiVersion: v1.3.0}\n";
    let (repo, app) = temp_app("ranker", &[("ranker.yaml", spec.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    // The same cluster with the Gateway API v1.0 CRDs: no `GRPCRoute` yet.
    let v1_0: String = full_cluster()
        .split(',')
        .filter(|e| !e.ends_with("/GRPCRoute") && !e.ends_with("/BackendTLSPolicy"))
        .collect::<Vec<_>>()
        .join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &v1_0));
    let stderr = failure(&out, &app, "Gateway API v1.0");
    assert!(stderr.contains("prunes `requestMirror.percent` from the HTTPRoute `ranker-traffic`"), "{stderr}");
    assert!(stderr.contains("predate v1.1"), "{stderr}");
    // A current cluster takes it.
    objects(
        &exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster())),
        "Gateway API v1.4",
    );
}

#[test]
fn bad_parameters_and_settings_fail_generate_but_not_the_announcement() {
    let sidecar = Sidecar::warm();
    let canary = support::TINY_SPEC.to_owned()
        + "  canary:\n    version: v2\n    storageUri: s3://models/tiny/v2\n    trafficPercent: 10\n";
    let (repo, mut app) = temp_app("params", &[("tiny.yaml", canary.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let dir = unpacked.app_dir(&app);
    let plugin = Plugin::load();
    let cases: [(&str, Value, &str); 3] = [
        (
            "unknown model",
            json!({"name": "canary-weight", "map": {"tine": "20"}}),
            "error: the parameter `canary-weight.tine` names no model\n  = field: canary-weight.tine\n  = hint: did \
             you mean `tiny`?",
        ),
        (
            "not a percent",
            json!({"name": "canary-weight", "map": {"tiny": "250"}}),
            "error: the parameter `canary-weight.tiny` must be a whole percent from 0 to 100, not `250`",
        ),
        ("unknown parameter", json!({"name": "replicas", "string": "3"}), "unknown parameter `replicas`"),
    ];
    for (case, parameter, message) in cases {
        app.parameters = vec![parameter];
        let stderr = failure(&exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster())), &app, case);
        assert!(stderr.contains(message), "{case}: {stderr}");
        let announced = exec(&plugin.parameters(), &dir, &app.parameters_env(sidecar));
        assert_eq!(
            announced.status.code(),
            Some(0),
            "{case}: the UI must still get the announcement: {}",
            text(&announced.stderr)
        );
        let announced: Value = serde_json::from_slice(&announced.stdout).expect("JSON");
        assert_eq!(
            announced,
            json!([{
                "name": "canary-weight",
                "title": "Canary weight (%)",
                "tooltip": "Percent of traffic each model's canary gets, 0 to 100. Defaults to the spec's spec.canary.trafficPercent.",
                "collectionType": "map",
                "itemType": "string",
                "map": {"tiny": "10"},
            }])
        );
    }
    app.parameters.clear();
    app.env = vec![("MODELGEN_CHEK_APIS".into(), "false".into())];
    let stderr = failure(&exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster())), &app, "typo");
    assert!(stderr.contains("unknown setting `ARGOCD_ENV_MODELGEN_CHEK_APIS`"), "{stderr}");
}

#[test]
fn outside_argo_cd_generate_refuses_to_guess() {
    let dir = tempfile::tempdir().expect("dir");
    fs::write(dir.path().join("tiny.yaml"), support::TINY_SPEC).expect("write");
    let out = run_in(dir.path(), &["argocd", "generate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("`ARGOCD_APP_NAME` is not set"), "{}", text(&out.stderr));
}

#[test]
fn environment_and_canary_weight_parameters_reach_the_render() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let generate = |app: &App| -> String {
        let repo = Unpacked::new(&workspace(), &app.path, sidecar);
        let out = exec(&plugin.generate(), &repo.app_dir(app), &app.generate_env(sidecar, &full_cluster()));
        objects(&out, &app.name);
        text(&out.stdout)
    };
    let announce = |app: &App| -> Value {
        let repo = Unpacked::new(&workspace(), &app.path, sidecar);
        let out = exec(&plugin.parameters(), &repo.app_dir(app), &app.parameters_env(sidecar));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let path = "examples/fraud-environments";

    // prod with a raised canary: the environment's patch files are read too.
    let prod_40 = fraud(
        vec![
            json!({"name": "environment", "string": "prod"}),
            json!({"name": "canary-weight", "map": {"fraud": "40"}}),
        ],
        vec![],
    );
    let expected = render_with(path, &["-n", "fraud", "--env", "prod", "--param", "canary-weight.fraud=40"]);
    assert!(expected.contains("canaryTrafficPercent: 40") && expected.contains("cc-fraud-prod"), "{expected}");
    assert_eq!(generate(&prod_40), expected);

    // The environment's own weight is the default: setting it changes nothing.
    let prod_10 = fraud(
        vec![
            json!({"name": "environment", "string": "prod"}),
            json!({"name": "canary-weight", "map": {"fraud": "10"}}),
        ],
        vec![],
    );
    assert_eq!(generate(&prod_10), render_with(path, &["-n", "fraud", "--env", "prod"]));

    // The environment from `plugin.env` instead of a parameter.
    let staging = fraud(vec![], vec![("MODELGEN_ENVIRONMENT".into(), "staging".into())]);
    assert_eq!(generate(&staging), render_with(path, &["-n", "fraud", "--env", "staging"]));

    // The announcement lists the environments and the canary weights as the
    // chosen environment renders them: dev has no canary at all.
    let announced = announce(&fraud(vec![], vec![]));
    assert_eq!(announced[0]["name"], "environment");
    assert_eq!(announced[0]["string"], "");
    assert!(announced[0]["tooltip"].as_str().is_some_and(|t| t.contains("`dev`, `prod`, `staging`")), "{announced}");
    assert_eq!(announced[1]["map"], json!({"fraud": "10"}));
    let dev = announce(&fraud(vec![json!({"name": "environment", "string": "dev"})], vec![]));
    assert_eq!(dev.as_array().map(Vec::len), Some(1), "no canary to weigh in dev: {dev}");
    assert_eq!(announce(&staging)[0]["string"], "staging", "the setting is the default");

    // An environment that does not exist fails generate, listing the real
    // ones, but not the announcement (the UI is where it gets fixed).
    let typo = fraud(vec![json!({"name": "environment", "string": "prdo"})], vec![]);
    let repo = Unpacked::new(&workspace(), &typo.path, sidecar);
    let out = exec(&plugin.generate(), &repo.app_dir(&typo), &typo.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &typo, "unknown environment");
    assert!(stderr.contains("prdo") && stderr.contains("prod"), "{stderr}");
    assert_eq!(announce(&typo)[0]["name"], "environment");
}

#[test]
fn an_llm_spec_fails_on_a_cluster_without_kserves_v1alpha2_llm_api_or_keda() {
    let sidecar = Sidecar::warm();
    let spec = fs::read(workspace().join("examples/gpt-oss/gpt-oss.yaml")).expect("the LLM example");
    let (repo, app) = temp_app("gpt-oss", &[("gpt-oss.yaml", spec.as_slice())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    // A KServe before v0.20 serves LLMInferenceService at v1alpha1 only.
    let old_kserve: String = full_cluster()
        .split(',')
        .filter(|e| !e.starts_with("serving.kserve.io/v1alpha2"))
        .chain(["serving.kserve.io/v1alpha1", "serving.kserve.io/v1alpha1/LLMInferenceService"])
        .collect::<Vec<_>>()
        .join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &old_kserve));
    let stderr = failure(&out, &app, "KServe without v1alpha2");
    assert!(
        stderr.contains("`serving.kserve.io/v1alpha2/LLMInferenceService`, which model `gpt-oss` needs"),
        "{stderr}"
    );
    // Without KEDA, the ScaledObjects of the KEDA metric cannot be applied.
    let without_keda: String =
        full_cluster().split(',').filter(|e| !e.starts_with("keda.sh")).collect::<Vec<_>>().join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &without_keda));
    let stderr = failure(&out, &app, "no KEDA");
    assert!(stderr.contains("`keda.sh/v1alpha1/ScaledObject`"), "{stderr}");
    objects(
        &exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster())),
        "a cluster with both",
    );
}

#[test]
fn values_from_the_environment_are_never_echoed_and_the_application_is_named_once() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let canary = support::TINY_SPEC.to_owned()
        + "  canary:\n    version: v2\n    storageUri: s3://models/tiny/v2\n    trafficPercent: 10\n";
    let (repo, app) = temp_app("echo", &[("tiny.yaml", canary.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let dir = unpacked.app_dir(&app);
    let clean = |stderr: &str, secret: &str, case: &str| {
        assert!(!stderr.contains(secret), "{case}: a value from the environment was echoed:\n{stderr}");
        assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{case}: an escape reached stderr:\n{stderr}");
        assert!(!stderr.lines().any(|l| l.trim_start().starts_with("::")), "{case}: a workflow command:\n{stderr}");
        assert_eq!(stderr.matches("application `echo`").count(), 1, "{case}: named more than once:\n{stderr}");
    };
    let cases: [(&str, App, &str, &str); 4] = [
        (
            "destination namespace",
            App { namespace: "ns\n\u{1b}[31mSECRET-NS-1".into(), ..app.clone() },
            "SECRET-NS-1",
            "`ARGOCD_APP_NAMESPACE` (the Application's destination namespace) is not a valid namespace name",
        ),
        (
            "environment parameter",
            App {
                parameters: vec![json!({"name": "environment", "string": "prod\n::add-mask::SECRET-ENV-2"})],
                ..app.clone()
            },
            "SECRET-ENV-2",
            "is not an environment name",
        ),
        (
            "parameter name",
            App {
                parameters: vec![json!({"name": "x\u{1b}]0;pwned\u{7}\n::error::SECRET-NAME-3", "string": "1"})],
                ..app.clone()
            },
            "SECRET-NAME-3",
            "unknown parameter a name that is not a plain name (not shown)",
        ),
        (
            "canary weight of an unknown model",
            App {
                parameters: vec![json!({"name": "canary-weight", "map": {"tine\n::error::SECRET-MODEL-4": "20"}})],
                ..app.clone()
            },
            "SECRET-MODEL-4",
            "names a name that is not a plain name (not shown), which is not one of its keys; its keys: `tiny`",
        ),
    ];
    for (case, app, secret, message) in cases {
        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        let stderr = failure(&out, &app, case);
        assert!(stderr.contains(message), "{case}: {stderr}");
        clean(&stderr, secret, case);
    }
    // The application itself is named once, also when a parameter is wrong.
    for (map, headline) in [
        (json!({"tine": "20"}), "rendering failed with 1 error\nerror: the parameter `canary-weight.tine`"),
        (json!({"tiny": "20 %"}), "the parameter `canary-weight` gives `tiny` a value that is not a plain word"),
    ] {
        let app = App { parameters: vec![json!({"name": "canary-weight", "map": map})], ..app.clone() };
        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        let stderr = failure(&out, &app, "unknown model");
        let named = "error: application `echo` (`apps/echo` at 53a4f2c): ";
        assert!(stderr.starts_with(&format!("{named}{headline}")), "{stderr}");
        assert_eq!(stderr.matches("application `echo`").count(), 1, "{stderr}");
        clean(&stderr, "SECRET", "unknown model");
    }
}

#[test]
fn missing_apis_cost_time_in_proportion_to_the_number_of_models() {
    // Every model of a file needs an API the cluster lacks: each is located
    // in the file, which is read once, not once per model.
    let sidecar = Sidecar::warm();
    let without_seldon: String =
        full_cluster().split(',').filter(|e| !e.starts_with("mlops.seldon.io")).collect::<Vec<_>>().join(",");
    let run = |n: usize| {
        let specs: String = (0..n)
            .map(|i| {
                support::TINY_SPEC
                    .replace("name: tiny", &format!("name: m{i}"))
                    .replace("spec:\n", "spec:\n  backend: seldon-v2\n")
            })
            .collect::<Vec<_>>()
            .join("---\n");
        let (repo, app) = temp_app("many-models", &[("models.yaml", specs.as_bytes())]);
        let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
        let plugin = Plugin::load().generate();
        let mut command = Command::new(&plugin[0]);
        command
            .args(&plugin[1..])
            .current_dir(unpacked.app_dir(&app))
            .env_clear()
            .envs(app.generate_env(sidecar, &without_seldon));
        let run = support::measured_command(command);
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("lacks {n} APIs the render needs")), "{}", run.stderr);
        // Located at the line that chose the backend, also in a file of more than 1,024 documents.
        assert!(run.stderr.contains("apps/many-models/models.yaml:6:12: error: "), "{}", run.stderr);
        run
    };
    let (small, large) = (run(150), run(1200));
    let ratio = large.cpu.as_secs_f64() / small.cpu.as_secs_f64().max(0.01);
    assert!(ratio < 16.0, "1,200 models took {:?} of CPU, 150 took {:?} (×{ratio:.1})", large.cpu, small.cpu);
}

#[test]
fn secrets_in_the_specs_never_reach_the_argo_cd_ui() {
    let sidecar = Sidecar::warm();
    let uri = support::TINY_SPEC.replace("s3://models/tiny/v1", "s3://user:hunter2@bucket/m");
    let token = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: token\nspec:\n  model:\n    \
                 version: v1\n    image: ghcr.io/acme/cat:v1\n    env:\n      \
                 - {name: HF_TOKEN, value: hf_SecretTokenQwErTyUiOpAsDfGhJkLzXcVb}\n";
    let (repo, app) = temp_app("leaky", &[("tiny.yaml", uri.as_bytes()), ("token.yaml", token.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "secrets");
    for secret in ["hunter2", "hf_SecretTokenQwErTyUiOpAsDfGhJkLzXcVb"] {
        assert!(!stderr.contains(secret), "`{secret}` reached the UI:\n{stderr}");
    }
    assert!(stderr.contains("storageUri: s3://***@bucket/m\n"), "{stderr}");
    assert!(stderr.contains("- {name: HF_TOKEN, value: ***"), "{stderr}");
}
