//! The Argo CD sidecar as it runs: concurrent and read-only compile caches, the verdict store under a read-only root, and a repository that tries to read outside the application.
//!
//! Same harness as `tests/argocd.rs` (`tests/argocd/harness.rs`).

#[path = "argocd/harness.rs"]
mod harness;
mod support;

use harness::*;

#[test]
fn two_generates_at_once_with_a_cold_cache_agree() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::cold();
    let app = App::from_manifest(&yaml(&deploy("application.yaml")));
    let repos: Vec<Unpacked> = (0..2).map(|_| Unpacked::new(&workspace(), &app.path, &sidecar)).collect();
    let env = app.generate_env(&sidecar, &full_cluster());
    let children: Vec<_> = repos
        .iter()
        .map(|repo| {
            Command::new(&plugin.generate()[0])
                .args(&plugin.generate()[1..])
                .current_dir(repo.app_dir(&app))
                .env_clear()
                .envs(env.iter().map(|(n, v)| (n, v)))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn generate")
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
    let first = objects(&outputs[0], "first");
    let second = objects(&outputs[1], "second");
    assert_eq!(first, second);
    assert_eq!(outputs[0].stdout, outputs[1].stdout);
    assert_eq!(text(&outputs[0].stdout), render(&app.path, &app.namespace));
    let entries: Vec<_> = fs::read_dir(&sidecar.cache).expect("the cache was created").flatten().collect();
    assert!(
        entries.iter().any(|e| e.path().extension().is_some_and(|x| x == "cwasm")),
        "the compiled plugin was cached"
    );
    assert!(
        !entries.iter().any(|e| e.file_name().to_string_lossy().starts_with(".tmp-")),
        "no half-written cache entry is left behind"
    );
}

#[test]
fn a_read_only_warm_cache_serves_the_sidecar() {
    // The image warms the cache at build time and runs with a read-only root
    // file system: loading must work without writing.
    let plugin = Plugin::load();
    let sidecar = Sidecar::cold();
    let warm = Command::new(env!("CARGO_BIN_EXE_modelgen"))
        .arg("info")
        .env("MODELGEN_CACHE_DIR", &sidecar.cache)
        .output()
        .expect("warm the cache");
    assert!(warm.status.success());
    let entry = fs::read_dir(&sidecar.cache)
        .expect("cache")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .expect("an entry");
    let before = fs::metadata(entry.path()).expect("stat").modified().expect("mtime");
    // The deploy files mount a writable volume at `verdicts/` of the read-only cache.
    let verdicts = sidecar.cache.join("verdicts");
    fs::create_dir(&verdicts).expect("the mounted verdicts volume");
    fs::set_permissions(&sidecar.cache, fs::Permissions::from_mode(0o500)).expect("read-only");
    let app = App::from_manifest(&yaml(&deploy("application.yaml")));
    let repo = Unpacked::new(&workspace(), &app.path, &sidecar);
    let out = exec(&plugin.generate(), &repo.app_dir(&app), &app.generate_env(&sidecar, &full_cluster()));
    fs::set_permissions(&sidecar.cache, fs::Permissions::from_mode(0o700)).expect("restore");
    objects(&out, "read-only cache");
    assert_eq!(
        fs::metadata(entry.path()).expect("stat").modified().expect("mtime"),
        before,
        "the entry was loaded, not rewritten"
    );
    let recorded: Vec<_> = fs::read_dir(&verdicts).expect("verdicts").flatten().collect();
    assert!(!recorded.is_empty(), "the output check's verdict was remembered in the writable volume");
}

#[test]
fn the_verdict_cache_is_writable_under_a_read_only_root() {
    // The image's cache directory (MODELGEN_CACHE_DIR) lies on the read-only
    // root file system; without a volume at `verdicts/`, every render would
    // compile the CRD schemas again.
    let dockerfile = fs::read_to_string(deploy("Dockerfile")).expect("Dockerfile");
    let cache_dir = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENV MODELGEN_CACHE_DIR="))
        .expect("the image names its cache")
        .trim();
    let patch = yaml(&deploy("repo-server-patch.yaml"));
    let pod = &patch["spec"]["template"]["spec"];
    assert_eq!(named(&pod["containers"], "modelgen")["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(verdicts_volume(&pod["containers"], &pod["volumes"], cache_dir)["emptyDir"], json!({}));
    let values = yaml(&deploy("helm-values.yaml"));
    let repo_server = &values["repoServer"];
    assert_eq!(
        verdicts_volume(&repo_server["extraContainers"], &repo_server["volumes"], cache_dir)["emptyDir"],
        json!({})
    );
    assert!(
        dockerfile.contains("mkdir -p /cache/modelgen/verdicts"),
        "the mount point exists in the image, owned by 999"
    );
}

/// A case of a hostile application: its name, how to make it, what the error says.
type Setup<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);

#[test]
fn the_sidecar_reads_only_regular_files_inside_the_application() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let secret_dir = tempfile::tempdir().expect("outside");
    let outside = secret_dir.path().join("stolen.yaml");
    fs::write(&outside, format!("# modelgen.dev/ {}\n{}", "secret-of-the-host-9d2e", support::TINY_SPEC))
        .expect("write");

    let setups: [Setup<'_>; 4] = [
        (
            "symlink out of the repository",
            &|dir: &Path| symlink(&outside, dir.join("link.yaml")).expect("symlink"),
            "`link.yaml` is a symlink to",
        ),
        (
            "symlink up and out",
            &|dir: &Path| {
                symlink("../../../../../../../../../../../../etc/passwd", dir.join("up.yaml")).expect("symlink");
            },
            "`up.yaml` is a symlink to",
        ),
        (
            "a FIFO",
            &|dir: &Path| {
                let path = std::ffi::CString::new(dir.join("pipe.yaml").as_os_str().as_encoded_bytes()).expect("path");
                // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
                #[allow(unsafe_code)]
                let rc = unsafe { libc::mkfifo(path.as_ptr(), 0o644) };
                assert_eq!(rc, 0, "mkfifo");
            },
            "`pipe.yaml` is not a regular file",
        ),
        (
            "a file over the size limit",
            &|dir: &Path| {
                let mut big = support::TINY_SPEC.as_bytes().to_vec();
                big.resize(33 * 1024 * 1024, b'#');
                fs::write(dir.join("big.yaml"), big).expect("write");
            },
            "past the limit of 33554432 bytes",
        ),
    ];
    for (case, setup, message) in setups {
        let (repo, app) = temp_app("guarded", &[("tiny.yaml", support::TINY_SPEC.as_bytes())]);
        let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
        let dir = unpacked.app_dir(&app);
        setup(&dir);
        let started = std::time::Instant::now();
        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        assert!(started.elapsed() < std::time::Duration::from_mins(1), "{case}: took too long");
        let stderr = failure(&out, &app, case);
        assert!(stderr.contains(message), "{case}: {stderr}");
        assert!(!stderr.contains("secret-of-the-host-9d2e"), "{case}: the file outside was read:\n{stderr}");
    }

    // A link that stays inside the application is followed.
    let (repo, app) = temp_app("linked", &[("specs/tiny.txt", support::TINY_SPEC.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let dir = unpacked.app_dir(&app);
    symlink("specs/tiny.txt", dir.join("tiny.yaml")).expect("symlink");
    let docs = objects(&exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster())), "inside link");
    assert_eq!(docs.len(), 1, "{docs:?}");
}
