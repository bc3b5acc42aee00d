//! The files that install the Argo CD plugin: every deploy file parses, the sidecar patch applies to a stock repo-server, the Helm values match it, and the Dockerfile builds what it expects.

#[path = "argocd/harness.rs"]
mod harness;
mod support;

use harness::*;
use mlua::Lua;

#[test]
fn every_deploy_file_parses_as_what_it_claims_to_be() {
    let kinds: BTreeMap<&str, &str> = [
        ("plugin.yaml", "ConfigManagementPlugin"),
        ("repo-server-patch.yaml", "Deployment"),
        ("kustomization.yaml", "Component"),
        ("application.yaml", "Application"),
        ("applicationset.yaml", "ApplicationSet"),
    ]
    .into_iter()
    .collect();
    let mut seen = 0;
    for entry in fs::read_dir(workspace().join("deploy/argocd")).expect("deploy/argocd").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(kind) = kinds.get(name.as_str()) {
            assert_eq!(yaml(&entry.path())["kind"], *kind, "{name}");
            seen += 1;
        } else if name == "helm-values.yaml" {
            assert!(yaml(&entry.path())["repoServer"]["extraContainers"].is_array(), "{name}");
        } else {
            assert!(name == "Dockerfile" || name == "health", "`deploy/argocd/{name}` is not checked by any test");
        }
    }
    assert_eq!(seen, kinds.len());
    let lua = Lua::new();
    for (key, path) in health_checks() {
        lua.load(fs::read_to_string(&path).expect("read")).set_name(key).into_function().expect("Lua 5.1 syntax");
    }
}

#[test]
fn the_sidecar_patch_applies_cleanly_to_the_stock_repo_server() {
    let stock = yaml(&workspace().join("tests/data/argocd/argocd-repo-server-deployment.yaml"));
    let items = kustomized();
    let deployment = find(&items, "Deployment", "argocd-repo-server");
    let pod = &deployment["spec"]["template"]["spec"];

    // The stock parts are untouched.
    let stock_pod = &stock["spec"]["template"]["spec"];
    assert_eq!(named(&pod["containers"], "argocd-repo-server"), named(&stock_pod["containers"], "argocd-repo-server"));
    assert_eq!(pod["initContainers"], stock_pod["initContainers"]);
    for volume in stock_pod["volumes"].as_array().expect("volumes") {
        assert_eq!(named(&pod["volumes"], volume["name"].as_str().expect("name")), volume);
    }

    // The sidecar, as Argo CD's CMP documentation requires it.
    let sidecar = named(&pod["containers"], "modelgen");
    assert_eq!(sidecar["command"], json!(["/var/run/argocd/argocd-cmp-server"]));
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    assert_eq!(sidecar["securityContext"]["runAsNonRoot"], true);
    let mounts = &sidecar["volumeMounts"];
    assert_eq!(named(mounts, "var-files")["mountPath"], "/var/run/argocd");
    assert_eq!(named(mounts, "plugins")["mountPath"], "/home/argocd/cmp-server/plugins");
    let tmp = mounts.as_array().expect("mounts").iter().find(|m| m["mountPath"] == "/tmp").expect("its own /tmp");
    assert_ne!(tmp["name"], "tmp", "the sidecar must not share the repo-server's /tmp");
    assert_eq!(named(&pod["volumes"], tmp["name"].as_str().expect("name"))["emptyDir"], json!({}));
    let config = mounts
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == "/home/argocd/cmp-server/config/plugin.yaml")
        .expect("plugin.yaml mounted");
    assert_eq!(config["subPath"], "plugin.yaml");
    let volume = named(&pod["volumes"], config["name"].as_str().expect("name"));
    let configmap = find(&items, "ConfigMap", volume["configMap"]["name"].as_str().expect("a ConfigMap volume"));
    assert_eq!(
        configmap["data"]["plugin.yaml"].as_str(),
        Some(fs::read_to_string(deploy("plugin.yaml")).expect("plugin.yaml").as_str()),
        "the ConfigMap holds the repository's plugin.yaml"
    );
    assert_eq!(configmap["metadata"]["namespace"], "argocd");

    // The health checks land in argocd-cm, under Argo CD's key names.
    let cm = find(&items, "ConfigMap", "argocd-cm");
    assert_eq!(cm["metadata"]["name"], "argocd-cm", "argocd-cm keeps its name (no hash suffix)");
    for (key, path) in health_checks() {
        assert_eq!(cm["data"][&key].as_str(), Some(fs::read_to_string(path).expect("lua").as_str()), "{key}");
    }
}

#[test]
fn the_helm_values_install_the_same_plugin_sidecar_and_health_checks() {
    let values = yaml(&deploy("helm-values.yaml"));
    let plugin = yaml(&deploy("plugin.yaml"));
    let patch = yaml(&deploy("repo-server-patch.yaml"));

    // configs.cmp.plugins.<name> becomes a ConfigManagementPlugin with that name and spec.
    assert_eq!(values["configs"]["cmp"]["create"], true);
    let plugins = values["configs"]["cmp"]["plugins"].as_object().expect("plugins");
    let name = plugin["metadata"]["name"].as_str().expect("name");
    assert_eq!(plugins.get(name), Some(&plugin["spec"]), "configs.cmp.plugins.{name} is plugin.yaml's spec");

    // The same container; the plugin file comes from the chart's argocd-cmp-cm.
    let mut from_values = named(&values["repoServer"]["extraContainers"], "modelgen").clone();
    let mut from_patch = named(&patch["spec"]["template"]["spec"]["containers"], "modelgen").clone();
    let config = |c: &mut Value| -> Value {
        let mounts = c["volumeMounts"].as_array_mut().expect("mounts");
        let at =
            mounts.iter().position(|m| m["mountPath"] == "/home/argocd/cmp-server/config/plugin.yaml").expect("config");
        mounts.remove(at)
    };
    let values_config = config(&mut from_values);
    config(&mut from_patch);
    assert_eq!(from_values, from_patch);
    assert_eq!(values_config["subPath"], format!("{name}.yaml"));
    let volume = named(&values["repoServer"]["volumes"], values_config["name"].as_str().expect("name"));
    assert_eq!(volume["configMap"]["name"], "argocd-cmp-cm");
    let patch_volumes = &patch["spec"]["template"]["spec"]["volumes"];
    let tmp = named(&from_values["volumeMounts"], "modelgen-tmp");
    assert_eq!(tmp["mountPath"], "/tmp");
    assert_eq!(named(&values["repoServer"]["volumes"], "modelgen-tmp"), named(patch_volumes, "modelgen-tmp"));

    for (key, path) in health_checks() {
        assert_eq!(
            values["configs"]["cm"][&key].as_str(),
            Some(fs::read_to_string(path).expect("lua").as_str()),
            "{key}"
        );
    }
}

#[test]
fn the_dockerfile_builds_the_image_the_sidecar_patch_expects() {
    let dockerfile = fs::read_to_string(deploy("Dockerfile")).expect("Dockerfile");
    // Instructions, with line continuations joined and comments dropped.
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_ascii_uppercase(), rest.trim().to_owned())
        })
        .collect();
    let last_from = instructions.iter().rposition(|(op, _)| op == "FROM").expect("a FROM");
    let (build, runtime) = instructions.split_at(last_from);
    assert!(build.iter().any(|(op, arg)| op == "RUN" && arg.contains("cargo build --release --locked -p modelgen")));
    assert!(runtime[0].1.contains("distroless"), "the runtime image is distroless: {}", runtime[0].1);
    assert!(!runtime.iter().any(|(op, _)| op == "RUN"), "the runtime stage needs no shell");
    let value = |op: &str| -> Vec<&str> { runtime.iter().filter(|(o, _)| o == op).map(|(_, a)| a.as_str()).collect() };
    assert_eq!(value("USER"), ["999:999"], "Argo CD's sidecars run as 999");

    // `modelgen` lands on the PATH the plugin's commands rely on.
    let plugin = Plugin::load();
    assert_eq!(plugin.generate()[0], "modelgen");
    assert!(value("COPY").iter().any(|c| c.ends_with("/src/target/release/modelgen /usr/local/bin/modelgen")));

    // The cache the build warms is the one the image uses: owned by 999 and
    // named by MODELGEN_CACHE_DIR.
    let env = value("ENV");
    let cache_dir = env.iter().find_map(|e| e.strip_prefix("MODELGEN_CACHE_DIR=")).expect("MODELGEN_CACHE_DIR");
    let warm = build.iter().find(|(op, arg)| op == "RUN" && arg.contains("modelgen info")).expect("a warm-up run");
    let warmed = warm.1.split_whitespace().find_map(|w| w.strip_prefix("MODELGEN_CACHE_DIR=")).expect("warmed dir");
    assert!(warm.1.contains(&format!("chown -R 999:999 {warmed}")), "{}", warm.1);
    assert!(
        value("COPY").iter().any(|c| c.contains("--chown=999:999") && c.ends_with(&format!("{warmed} {cache_dir}"))),
        "the warm cache is copied to MODELGEN_CACHE_DIR"
    );
    assert!(
        value("COPY")
            .iter()
            .any(|c| c.ends_with("deploy/argocd/plugin.yaml /home/argocd/cmp-server/config/plugin.yaml")),
        "plugin.yaml is baked in where cmp-server reads it"
    );
}
