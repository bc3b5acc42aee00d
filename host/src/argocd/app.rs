//! The Argo CD application a plugin command runs for, read from the environment `argocd-cmp-server` sets.
//!
//! Values of environment variables are never quoted in messages: the
//! sidecar's own environment may hold secrets, and Argo CD shows stderr in
//! its UI. Messages name the variable instead.

use anyhow::{Context, Result, bail};

use super::cluster::ApiVersions;
use super::env::{Settings, Vars};
use super::parameters::{self, Requested};
use crate::escape;
use crate::verify::contract;

/// What Argo CD says about the application being rendered.
#[derive(Clone, Debug)]
pub struct Application {
    /// `ARGOCD_APP_NAME`.
    pub name: String,
    /// `ARGOCD_APP_NAMESPACE`: the destination namespace, used for specs that set none.
    pub namespace: Option<String>,
    /// `ARGOCD_APP_REVISION`: the resolved commit.
    pub revision: Option<String>,
    /// `ARGOCD_APP_REVISION_SHORT`, for messages.
    pub revision_short: Option<String>,
    /// `ARGOCD_APP_SOURCE_PATH`: the application's path in the repository,
    /// which messages put before file names so that they can be found.
    pub source_path: Option<String>,
    /// `KUBE_VERSION` of the destination cluster.
    pub kube_version: Option<String>,
    /// `KUBE_API_VERSIONS` of the destination cluster.
    pub api_versions: Option<ApiVersions>,
    /// Settings from `plugin.env`.
    pub settings: Settings,
    /// The parameters the Application sets.
    pub requested: Requested,
}

impl Application {
    /// Reads the application from the environment of `generate` (or, with
    /// fewer variables, of the parameters command).
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let Some(name) = vars.non_empty("ARGOCD_APP_NAME")? else {
            bail!(
                "`ARGOCD_APP_NAME` is not set: `modelgen argocd` runs inside Argo CD's repo-server \
                 (as a config management plugin); use `modelgen render` elsewhere"
            );
        };
        Self::named(vars, name).with_context(|| format!("application `{}`", escape::value(name)))
    }

    fn named(vars: &Vars, name: &str) -> Result<Self> {
        let owned = |name: &str| -> Result<Option<String>> { Ok(vars.non_empty(name)?.map(str::to_owned)) };
        let settings = Settings::from_vars(vars)?;
        let mut requested = parameters::requested(vars)?;
        match (&requested.environment, &settings.environment) {
            (Some(parameter), Some(setting)) if parameter != setting => bail!(
                "the parameter `environment` and the setting `ARGOCD_ENV_MODELGEN_ENVIRONMENT` name different \
                 environments; set only one"
            ),
            (None, Some(setting)) => requested.environment = Some(setting.clone()),
            _ => {}
        }
        // Values from the environment reach the plugin, whose messages may
        // quote them: only plain names are passed on, and a bad one is
        // reported by the variable that holds it, never by its value.
        if requested.environment.as_deref().is_some_and(|e| !is_environment_name(e)) {
            bail!(
                "the environment requested (by the parameter `environment` or the setting \
                 `ARGOCD_ENV_MODELGEN_ENVIRONMENT`) is not an environment name: lowercase letters, digits and `-`, \
                 starting with a letter, at most 63"
            );
        }
        let namespace = owned("ARGOCD_APP_NAMESPACE")?;
        if namespace.as_deref().is_some_and(|n| !contract::is_dns1123_label(n)) {
            bail!(
                "`ARGOCD_APP_NAMESPACE` (the Application's destination namespace) is not a valid namespace name: a \
                 DNS-1123 label"
            );
        }
        Ok(Self {
            name: name.to_owned(),
            namespace,
            revision: owned("ARGOCD_APP_REVISION")?,
            revision_short: owned("ARGOCD_APP_REVISION_SHORT")?,
            source_path: owned("ARGOCD_APP_SOURCE_PATH")?,
            kube_version: owned("KUBE_VERSION")?,
            api_versions: vars.non_empty("KUBE_API_VERSIONS")?.map(ApiVersions::parse),
            settings,
            requested,
        })
    }

    /// The application as the parameters command sees it: Argo CD passes it
    /// only the name, the source and the user's settings and parameters,
    /// and wrong settings or parameters must not hide the announcement
    /// (the UI that shows it is where they are fixed), so they fall back to
    /// their defaults here and are reported by `generate`.
    pub fn for_announcement(vars: &Vars) -> Result<Self> {
        let settings = Settings::from_vars(vars).unwrap_or_default();
        let environment = parameters::requested(vars)
            .ok()
            .and_then(|r| r.environment)
            .or(settings.environment.clone())
            .filter(|e| is_environment_name(e));
        let owned = |name: &str| -> Result<Option<String>> { Ok(vars.non_empty(name)?.map(str::to_owned)) };
        Ok(Self {
            name: owned("ARGOCD_APP_NAME")?.unwrap_or_default(),
            namespace: None,
            revision: None,
            revision_short: None,
            source_path: owned("ARGOCD_APP_SOURCE_PATH")?,
            kube_version: None,
            api_versions: None,
            settings,
            requested: Requested { environment, settings: Vec::new() },
        })
    }

    /// How messages name the application: its name, path and revision
    /// (escaped: they come from the environment).
    pub fn label(&self) -> String {
        let name = escape::value(&self.name);
        let path = self.source_path.as_deref().filter(|p| *p != ".").map(escape::value);
        match (path, self.revision_short.as_deref().map(escape::value)) {
            (Some(path), Some(revision)) => format!("application `{name}` (`{path}` at {revision})"),
            (Some(path), None) => format!("application `{name}` (`{path}`)"),
            (None, Some(revision)) => format!("application `{name}` (at {revision})"),
            (None, None) => format!("application `{name}`"),
        }
    }

    /// A source file's path as the user finds it in the repository (printers escape it).
    pub fn display_path(&self, file: &str) -> String {
        match self.source_path.as_deref().map(|p| p.trim_end_matches('/')).filter(|p| !p.is_empty() && *p != ".") {
            Some(path) => format!("{path}/{file}"),
            None => file.to_owned(),
        }
    }
}

/// An environment name as the project file allows it (the plugin's rule):
/// a DNS-1123 label that starts with a letter.
fn is_environment_name(name: &str) -> bool {
    contract::is_dns1123_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn app(pairs: &[(&str, &str)]) -> Result<Application> {
        Application::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn reads_what_argo_cd_sets() {
        let app = app(&[
            ("ARGOCD_APP_NAME", "mochanet-prod"),
            ("ARGOCD_APP_NAMESPACE", "coffee"),
            ("ARGOCD_APP_REVISION", "53a4f2c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"),
            ("ARGOCD_APP_REVISION_SHORT", "53a4f2c"),
            ("ARGOCD_APP_SOURCE_PATH", "apps/mochanet"),
            ("KUBE_VERSION", "1.31.2"),
            ("ARGOCD_ENV_OTHER_TOOL", "ignored"),
        ])
        .expect("valid");
        assert_eq!(app.namespace.as_deref(), Some("coffee"));
        assert_eq!(app.label(), "application `mochanet-prod` (`apps/mochanet` at 53a4f2c)");
        assert_eq!(app.display_path("m.yaml"), "apps/mochanet/m.yaml");
        assert!(app.settings.check_apis);
        assert!(app.api_versions.is_none());
    }

    #[test]
    fn empty_values_count_as_unset() {
        let app = app(&[("ARGOCD_APP_NAME", "a"), ("ARGOCD_APP_NAMESPACE", ""), ("ARGOCD_APP_SOURCE_PATH", ".")])
            .expect("valid");
        assert_eq!(app.namespace, None);
        assert_eq!(app.display_path("m.yaml"), "m.yaml");
        assert_eq!(app.label(), "application `a`");
    }

    #[test]
    fn outside_argo_cd_it_says_what_to_use() {
        let e = app(&[]).expect_err("no app name").to_string();
        assert!(e.contains("`ARGOCD_APP_NAME` is not set") && e.contains("modelgen render"), "{e}");
    }

    #[test]
    fn settings_are_checked_without_echoing_values() {
        let e = app(&[("ARGOCD_APP_NAME", "a"), ("ARGOCD_ENV_MODELGEN_CHECK_APIS", "s3cr3t")]).expect_err("not a bool");
        let e = format!("{e:#}");
        assert!(e.contains("`ARGOCD_ENV_MODELGEN_CHECK_APIS` must be `true` or `false`") && !e.contains("s3cr3t"));
        let e = app(&[("ARGOCD_APP_NAME", "a"), ("ARGOCD_ENV_MODELGEN_ENVIROMENT", "prod")]).expect_err("typo");
        let e = format!("{e:#}");
        assert!(e.contains("unknown setting `ARGOCD_ENV_MODELGEN_ENVIROMENT`") && e.contains("`MODELGEN_ENVIRONMENT`"));
        let off = app(&[("ARGOCD_APP_NAME", "a"), ("ARGOCD_ENV_MODELGEN_CHECK_APIS", "false")]).expect("valid");
        assert!(!off.settings.check_apis);
    }

    #[test]
    fn the_environment_comes_from_a_parameter_or_a_setting_but_not_two_different_ones() {
        let from_setting = app(&[("ARGOCD_APP_NAME", "a"), ("ARGOCD_ENV_MODELGEN_ENVIRONMENT", "prod")]).expect("ok");
        assert_eq!(from_setting.requested.environment.as_deref(), Some("prod"));
        let both = [
            ("ARGOCD_APP_NAME", "a"),
            ("ARGOCD_ENV_MODELGEN_ENVIRONMENT", "prod"),
            ("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":"prod"}]"#),
        ];
        assert_eq!(app(&both).expect("same").requested.environment.as_deref(), Some("prod"));
        let clash = [
            ("ARGOCD_APP_NAME", "a"),
            ("ARGOCD_ENV_MODELGEN_ENVIRONMENT", "prod"),
            ("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":"dev"}]"#),
        ];
        let e = format!("{:#}", app(&clash).expect_err("clash"));
        assert!(e.contains("name different environments") && !e.contains("dev") && !e.contains("prod"), "{e}");
    }

    #[test]
    fn a_variable_that_is_not_utf8_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let vars = Vars::from_os([
            (OsString::from("ARGOCD_APP_NAME"), OsString::from("a")),
            (OsString::from("ARGOCD_APP_NAMESPACE"), OsString::from_vec(vec![0xff, 0xfe])),
        ]);
        let e = format!("{:#}", Application::from_vars(&vars).expect_err("not UTF-8"));
        assert_eq!(e, "application `a`: `ARGOCD_APP_NAMESPACE` is not valid UTF-8");
    }
}
