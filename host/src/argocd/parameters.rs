//! The plugin's parameters: what an Application sets, what the UI is told about them, and how they reach the render.
//!
//! Two parameters exist: `environment` (a string: one of the environments
//! of the project file) and `canary-weight` (a map from model name to the
//! percent of traffic its canary gets). Argo CD sends only the parameters an
//! Application sets, never the announced defaults, so the defaults below
//! are the render's own: no environment, and each spec's own canary weight.
//! Argo CD passes them twice, as JSON in `ARGOCD_APP_PARAMETERS` and as
//! `PARAM_<NAME>` variables; the JSON is exact and wins, the variables are
//! read only without it.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::env::{Settings, Vars};
use crate::diagnostic::{ModelSummary, Project};

/// The name of the environment parameter.
pub const ENVIRONMENT: &str = "environment";
/// The name of the canary weight parameter.
pub const CANARY_WEIGHT: &str = "canary-weight";
/// The render parameter a canary weight becomes: `canary-weight.<model>`.
const CANARY_WEIGHT_PREFIX: &str = "canary-weight.";

/// How a `canary-weight` entry names its model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelKey {
    /// The exact model name (from `ARGOCD_APP_PARAMETERS`).
    Name(String),
    /// The name upper-cased with other characters as `_` (from `PARAM_CANARY_WEIGHT_<KEY>`).
    Escaped(String),
}

impl ModelKey {
    fn matches(&self, model: &str) -> bool {
        match self {
            Self::Name(name) => name == model,
            Self::Escaped(key) => *key == escaped(model),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Name(name) => quoted(name),
            Self::Escaped(key) if is_plain(key) => format!("`{key}` (from `PARAM_CANARY_WEIGHT_{key}`)"),
            Self::Escaped(_) => format!("{} (from a `PARAM_CANARY_WEIGHT_` variable)", quoted("")),
        }
    }
}

/// Whether a name from the Application's parameters may be quoted back: a
/// plain name (what a model or parameter name is) cannot carry a line
/// break, an escape sequence or a secret's shape.
fn is_plain(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A name from the parameters in backticks, or a description when it is
/// not a plain name (parameters come from the environment, whose values are
/// never quoted).
fn quoted(name: &str) -> String {
    if is_plain(name) { format!("`{name}`") } else { "a name that is not a plain name (not shown)".to_owned() }
}

/// The parameters an Application sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requested {
    /// `environment`, when set and not empty.
    pub environment: Option<String>,
    /// `canary-weight` entries: the model and the (unparsed) percent.
    pub canary_weights: Vec<(ModelKey, String)>,
}

impl Requested {
    /// Whether the Application sets nothing (the render needs no look at the project).
    pub fn is_empty(&self) -> bool {
        self.environment.is_none() && self.canary_weights.is_empty()
    }
}

/// Argo CD's escaping of parameter names and map keys in `PARAM_*` variables.
pub fn escaped(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' }).collect()
}

const TAKES: &str =
    "the modelgen plugin takes `environment` (a string) and `canary-weight` (a map of model name to percent)";

/// Reads the parameters from `ARGOCD_APP_PARAMETERS`, else from `PARAM_*`.
pub fn requested(vars: &Vars) -> Result<Requested> {
    match vars.non_empty("ARGOCD_APP_PARAMETERS")? {
        Some(json) => from_json(json),
        None => from_param_vars(vars),
    }
}

fn from_json(text: &str) -> Result<Requested> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!("`ARGOCD_APP_PARAMETERS` is not valid JSON (line {}, column {})", e.line(), e.column())
    })?;
    let Value::Array(items) = value else {
        bail!("`ARGOCD_APP_PARAMETERS` is not a JSON list of parameters");
    };
    let mut requested = Requested::default();
    let mut seen = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let name = item["name"]
            .as_str()
            .with_context(|| format!("parameter {} in `ARGOCD_APP_PARAMETERS` has no `name`", index + 1))?;
        if seen.contains(&name) {
            bail!("the parameter {} is set twice", quoted(name));
        }
        seen.push(name);
        match name {
            ENVIRONMENT => match &item["string"] {
                Value::String(environment) => {
                    requested.environment = Some(environment.clone()).filter(|e| !e.is_empty());
                }
                _ => bail!("the parameter `environment` takes a string (`string:`), not a list or a map"),
            },
            CANARY_WEIGHT => {
                let Value::Object(map) = &item["map"] else {
                    bail!("the parameter `canary-weight` takes a map (`map:`) of model name to percent");
                };
                for (model, weight) in map {
                    let Value::String(weight) = weight else {
                        bail!(
                            "the parameter `canary-weight` gives model {} a value that is not a string",
                            quoted(model)
                        );
                    };
                    requested.canary_weights.push((ModelKey::Name(model.clone()), weight.clone()));
                }
            }
            other => bail!("unknown parameter {}: {TAKES}", quoted(other)),
        }
    }
    Ok(requested)
}

fn from_param_vars(vars: &Vars) -> Result<Requested> {
    let mut requested = Requested::default();
    for (suffix, value) in vars.with_prefix("PARAM_") {
        let variable = if is_plain(suffix) { format!("`PARAM_{suffix}`") } else { "a `PARAM_` variable".to_owned() };
        let Some(value) = value else { bail!("{variable} is not valid UTF-8") };
        if suffix == "ENVIRONMENT" {
            requested.environment = Some(value.to_owned()).filter(|e| !e.is_empty());
        } else if let Some(key) = suffix.strip_prefix("CANARY_WEIGHT_") {
            requested.canary_weights.push((ModelKey::Escaped(key.to_owned()), value.to_owned()));
        } else if suffix == "CANARY_WEIGHT" {
            bail!("the parameter `canary-weight` takes a map (`map:`) of model name to percent");
        } else if suffix.starts_with("ENVIRONMENT_") {
            bail!("the parameter `environment` takes a string (`string:`), not a list or a map");
        } else {
            bail!("unknown parameter variable {variable}: {TAKES}");
        }
    }
    Ok(requested)
}

/// The render parameters that the requested canary weights become: one
/// `("canary-weight.<model>", "<percent>")` per model whose requested weight
/// differs from its spec's, sorted by model.
pub fn canary_parameters(requested: &Requested, project: &Project) -> Result<Vec<(String, String)>> {
    let with_canary: Vec<&ModelSummary> = project.models.iter().filter(|m| m.canary_percent.is_some()).collect();
    let mut weights: BTreeMap<&str, u8> = BTreeMap::new();
    for (key, value) in &requested.canary_weights {
        let Some(model) = project.models.iter().find(|m| key.matches(&m.name)) else {
            bail!(
                "the parameter `canary-weight` names {}, which is not a model of this application; {}",
                key.describe(),
                models_with_canary(&with_canary)
            );
        };
        let Some(current) = model.canary_percent else {
            bail!(
                "the parameter `canary-weight` sets model `{}`, which has no canary (`spec.canary` in `{}`); {}",
                model.name,
                model.file,
                models_with_canary(&with_canary)
            );
        };
        let weight = value.trim().parse::<u8>().ok().filter(|w| *w <= 100).with_context(|| {
            format!("the parameter `canary-weight` for model `{}` is not a whole percentage from 0 to 100", model.name)
        })?;
        if weights.insert(&model.name, weight).is_some() {
            bail!("the parameter `canary-weight` sets model `{}` twice", model.name);
        }
        if weight == current {
            weights.remove(model.name.as_str());
        }
    }
    Ok(weights
        .into_iter()
        .map(|(model, weight)| (format!("{CANARY_WEIGHT_PREFIX}{model}"), weight.to_string()))
        .collect())
}

fn models_with_canary(models: &[&ModelSummary]) -> String {
    if models.is_empty() {
        "no model of this application has a canary".to_owned()
    } else {
        let names: Vec<String> = models.iter().map(|m| format!("`{}`", m.name)).collect();
        format!("models with a canary: {}", names.join(", "))
    }
}

/// The announcement the parameters command prints: what the Argo CD UI
/// offers, with the defaults `generate` applies when a parameter is unset.
/// A parameter with nothing to choose (no environments, no canary) is left out.
pub fn announcement(project: &Project, settings: &Settings) -> Value {
    let mut parameters = Vec::new();
    if !project.environments.is_empty() {
        let names: Vec<String> = project.environments.iter().map(|e| format!("`{e}`")).collect();
        parameters.push(json!({
            "name": ENVIRONMENT,
            "title": "Environment",
            "tooltip": format!(
                "The environment of modelgen.yaml to render: {}. Empty renders the specs as written.",
                names.join(", ")
            ),
            "collectionType": "string",
            "itemType": "string",
            "string": settings.environment.clone().unwrap_or_default(),
        }));
    }
    let weights: BTreeMap<&str, String> =
        project.models.iter().filter_map(|m| Some((m.name.as_str(), m.canary_percent?.to_string()))).collect();
    if !weights.is_empty() {
        parameters.push(json!({
            "name": CANARY_WEIGHT,
            "title": "Canary weight (%)",
            "tooltip": "Percent of traffic each model's canary gets, 0 to 100. Defaults to the spec's spec.canary.trafficPercent.",
            "collectionType": "map",
            "itemType": "string",
            "map": weights,
        }));
    }
    Value::Array(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().copied())
    }

    fn project() -> Project {
        let model = |name: &str, canary: Option<u8>| ModelSummary {
            name: name.into(),
            file: format!("{name}.yaml"),
            backend: "kserve".into(),
            canary_percent: canary,
            ..ModelSummary::default()
        };
        Project {
            environments: vec!["dev".into(), "prod".into()],
            models: vec![model("mocha-net", Some(10)), model("plain", None), model("ranker", Some(0))],
            ..Project::default()
        }
    }

    #[test]
    fn escaping_is_argo_cds() {
        assert_eq!(escaped("canary-weight"), "CANARY_WEIGHT");
        assert_eq!(escaped("mocha-net.v2"), "MOCHA_NET_V2");
    }

    #[test]
    fn json_and_param_variables_read_the_same() {
        let json = vars(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"environment","string":"prod"},{"name":"canary-weight","map":{"mocha-net":"25"}}]"#,
        )]);
        let env = vars(&[("PARAM_ENVIRONMENT", "prod"), ("PARAM_CANARY_WEIGHT_MOCHA_NET", "25")]);
        let (json, env) = (requested(&json).expect("json"), requested(&env).expect("env"));
        assert_eq!(json.environment.as_deref(), Some("prod"));
        assert_eq!(env.environment.as_deref(), Some("prod"));
        let expected = vec![("canary-weight.mocha-net".to_owned(), "25".to_owned())];
        assert_eq!(canary_parameters(&json, &project()).expect("json"), expected);
        assert_eq!(canary_parameters(&env, &project()).expect("env"), expected);
    }

    #[test]
    fn the_json_wins_over_the_variables() {
        let both = vars(&[
            ("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":"dev"}]"#),
            ("PARAM_ENVIRONMENT", "prod"),
        ]);
        assert_eq!(requested(&both).expect("valid").environment.as_deref(), Some("dev"));
    }

    #[test]
    fn weights_equal_to_the_spec_are_not_sent() {
        let same =
            vars(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"mocha-net":"10","ranker":"0"}}]"#)]);
        assert_eq!(canary_parameters(&requested(&same).expect("valid"), &project()).expect("valid"), vec![]);
        let empty = vars(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":""}]"#)]);
        assert!(requested(&empty).expect("valid").is_empty());
    }

    #[test]
    fn bad_parameters_say_what_is_wrong_without_quoting_values() {
        let error = |pairs: &[(&str, &str)]| -> String {
            match requested(&vars(pairs)) {
                Err(e) => e.to_string(),
                Ok(r) => canary_parameters(&r, &project()).expect_err("must fail").to_string(),
            }
        };
        let weight = |w: &str| format!(r#"[{{"name":"canary-weight","map":{{"mocha-net":"{w}"}}}}]"#);
        for bad in ["101", "-1", "ten", "2.5", ""] {
            let e = error(&[("ARGOCD_APP_PARAMETERS", &weight(bad))]);
            assert_eq!(
                e,
                "the parameter `canary-weight` for model `mocha-net` is not a whole percentage from 0 to 100"
            );
        }
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"mochanet":"5"}}]"#)]);
        assert!(e.contains("names `mochanet`, which is not a model") && e.contains("`mocha-net`, `ranker`"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"plain":"5"}}]"#)]);
        assert!(e.contains("model `plain`, which has no canary (`spec.canary` in `plain.yaml`)"), "{e}");
        let e = error(&[("PARAM_CANARY_WEIGHT_NOPE", "5")]);
        assert!(e.contains("`NOPE` (from `PARAM_CANARY_WEIGHT_NOPE`)"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"replicas","string":"3"}]"#)]);
        assert!(e.starts_with("unknown parameter `replicas`: the modelgen plugin takes"), "{e}");
        assert!(error(&[("PARAM_REPLICAS", "3")]).starts_with("unknown parameter variable `PARAM_REPLICAS`"));
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","array":["a"]}]"#)]);
        assert!(e.contains("`environment` takes a string"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","string":"5"}]"#)]);
        assert!(e.contains("`canary-weight` takes a map"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":"s3cr3t"}"#)]);
        assert!(e.starts_with("`ARGOCD_APP_PARAMETERS` is not valid JSON (line 1") && !e.contains("s3cr3t"), "{e}");
        let e = error(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"canary-weight","map":{"mocha-net":"5"}},{"name":"canary-weight","map":{}}]"#,
        )]);
        assert_eq!(e, "the parameter `canary-weight` is set twice");
    }

    #[test]
    fn the_announcement_offers_environments_and_current_weights() {
        let announced = announcement(&project(), &Settings::default());
        assert_eq!(announced[0]["name"], "environment");
        assert_eq!(announced[0]["string"], "");
        assert!(announced[0]["tooltip"].as_str().is_some_and(|t| t.contains("`dev`, `prod`")));
        assert_eq!(announced[1]["name"], "canary-weight");
        assert_eq!(announced[1]["collectionType"], "map");
        assert_eq!(announced[1]["map"], json!({"mocha-net": "10", "ranker": "0"}));
        let bare = Project { models: vec![project().models[1].clone()], ..Project::default() };
        assert_eq!(announcement(&bare, &Settings::default()), json!([]));
        let preset = Settings { environment: Some("prod".into()), ..Settings::default() };
        assert_eq!(announcement(&project(), &preset)[0]["string"], "prod");
    }
}
