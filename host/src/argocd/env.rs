//! The environment `argocd-cmp-server` sets: its variables, and the user settings among them.
//!
//! Values of environment variables are never quoted in messages: the
//! sidecar's own environment may hold secrets, and Argo CD shows stderr in
//! its UI. Messages name the variable instead.

use std::collections::BTreeMap;
use std::ffi::OsString;

use anyhow::{Result, bail};

/// The process environment, by name. A value that is not UTF-8 is kept as
/// `None`, so that it is an error only if modelgen reads that variable.
#[derive(Clone, Debug, Default)]
pub struct Vars(BTreeMap<String, Option<String>>);

impl Vars {
    /// The environment of this process.
    pub fn from_process() -> Self {
        Self::from_os(std::env::vars_os())
    }

    /// Variables from `(name, value)` pairs (names that are not UTF-8 cannot
    /// be ours and are dropped).
    pub fn from_os(pairs: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        Self(
            pairs
                .into_iter()
                .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok())))
                .collect(),
        )
    }

    /// Variables from UTF-8 pairs (for tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(n, v)| (n.to_owned(), Some(v.to_owned()))).collect())
    }

    /// The value of `name`, if set; an error if it is not UTF-8.
    pub fn get(&self, name: &str) -> Result<Option<&str>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Some(value)) => Ok(Some(value)),
            Some(None) => bail!("`{name}` is not valid UTF-8"),
        }
    }

    /// The value of `name` when set and not empty (Argo CD passes unset
    /// optional values as empty strings).
    pub fn non_empty(&self, name: &str) -> Result<Option<&str>> {
        Ok(self.get(name)?.filter(|v| !v.is_empty()))
    }

    /// Every variable whose name starts with `prefix`, with the prefix removed.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.0.iter().filter_map(move |(name, value)| Some((name.strip_prefix(prefix)?, value.as_deref())))
    }
}

/// The user settings modelgen reads from the Application's `plugin.env`
/// (which Argo CD passes prefixed with `ARGOCD_ENV_`, so that users cannot
/// set the sidecar's own variables such as `MODELGEN_TIMEOUT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `MODELGEN_ENVIRONMENT`: the environment to render (like the `environment` parameter).
    pub environment: Option<String>,
    /// `MODELGEN_CHECK_APIS`: whether to refuse objects the destination cluster
    /// cannot take (default `true`).
    pub check_apis: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { environment: None, check_apis: true }
    }
}

/// The prefix Argo CD puts before each `plugin.env` name.
const ENV_PREFIX: &str = "ARGOCD_ENV_";
/// The settings modelgen knows, as users write them in `plugin.env`.
const SETTINGS: [&str; 2] = ["MODELGEN_ENVIRONMENT", "MODELGEN_CHECK_APIS"];

impl Settings {
    /// Reads `ARGOCD_ENV_MODELGEN_*`. Other `ARGOCD_ENV_*` variables are
    /// left alone (an `ApplicationSet` may set them for every plugin), but a
    /// misspelt `MODELGEN_` one is an error rather than a silent no-op.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let mut settings = Self::default();
        for (name, _) in vars.with_prefix(ENV_PREFIX) {
            if name.starts_with("MODELGEN_") && !SETTINGS.contains(&name) {
                bail!(
                    "unknown setting `{ENV_PREFIX}{name}` (from the Application's `plugin.env`); modelgen reads {}",
                    SETTINGS.map(|s| format!("`{s}`")).join(" and ")
                );
            }
        }
        settings.environment = vars.non_empty("ARGOCD_ENV_MODELGEN_ENVIRONMENT")?.map(str::to_owned);
        if let Some(value) = vars.non_empty("ARGOCD_ENV_MODELGEN_CHECK_APIS")? {
            settings.check_apis = match value {
                "true" => true,
                "false" => false,
                _ => bail!("`ARGOCD_ENV_MODELGEN_CHECK_APIS` must be `true` or `false`"),
            };
        }
        Ok(settings)
    }
}
