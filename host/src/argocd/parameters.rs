//! The plugin's parameters in Argo CD: what an Application sets, what the UI is told about them, and how they reach the render.
//!
//! The host adds one parameter of its own, `environment` (a string: one of
//! the environments `describe` lists); every other parameter is the
//! plugin's, as `describe` announces it: a string parameter `P` reaches the
//! render as `P`, and each entry `K` of a map parameter `P` as `P.K`. The
//! values are the plugin's to check (its diagnostics say what is wrong); the
//! host only keeps names and values it cannot quote back safely from
//! reaching it. Argo CD sends only the parameters an Application sets, never
//! the announced defaults, so the defaults are the render's own: no
//! environment, and the values the plugin announces (a map entry set to its
//! announced value is not sent). Argo CD passes the parameters twice, as
//! JSON in `ARGOCD_APP_PARAMETERS` and as `PARAM_<NAME>` (`PARAM_<NAME>_<KEY>`)
//! variables; the JSON is exact and wins, the variables are read only
//! without it.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::env::{Settings, Vars};
use crate::diagnostic::{Parameter, ParameterKind, Project};

/// The name of the environment parameter, the host's own.
pub const ENVIRONMENT: &str = "environment";

/// One parameter an Application sets, besides `environment`, as Argo CD
/// passes it: resolved against the plugin's parameters once `describe`
/// has named them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    /// From `ARGOCD_APP_PARAMETERS`: the exact name and the value.
    Named {
        /// The parameter's name.
        name: String,
        /// Its value.
        value: Given,
    },
    /// From a `PARAM_<SUFFIX>` variable, whose suffix is the name (and a
    /// map entry's key) upper-cased with other characters as `_`.
    Escaped {
        /// What follows `PARAM_`.
        suffix: String,
        /// The variable's value.
        value: String,
    },
}

/// A value from `ARGOCD_APP_PARAMETERS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// `string:`.
    String(String),
    /// `map:`, in the order given.
    Map(Vec<(String, String)>),
    /// `array:`, or nothing usable.
    Other,
}

/// The parameters an Application sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requested {
    /// `environment`, when set and not empty.
    pub environment: Option<String>,
    /// Every other parameter.
    pub settings: Vec<Setting>,
}

/// Whether a name or value from the Application's parameters may be quoted
/// back, or passed to the plugin (whose messages quote it): a plain name
/// cannot carry a line break, an escape sequence or a secret's shape.
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

/// Argo CD's escaping of parameter names and map keys in `PARAM_*` variables.
pub fn escaped(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' }).collect()
}

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
        if name == ENVIRONMENT {
            let Value::String(environment) = &item["string"] else {
                bail!("the parameter `environment` takes a string (`string:`), not a list or a map");
            };
            requested.environment = Some(environment.clone()).filter(|e| !e.is_empty());
            continue;
        }
        let value = match (&item["string"], &item["map"]) {
            (Value::String(value), _) => Given::String(value.clone()),
            (_, Value::Object(map)) => Given::Map(
                map.iter()
                    .map(|(key, value)| match value {
                        Value::String(value) => Ok((key.clone(), value.clone())),
                        _ => bail!("the parameter {} gives {} a value that is not a string", quoted(name), quoted(key)),
                    })
                    .collect::<Result<_>>()?,
            ),
            _ => Given::Other,
        };
        requested.settings.push(Setting::Named { name: name.to_owned(), value });
    }
    Ok(requested)
}

fn from_param_vars(vars: &Vars) -> Result<Requested> {
    let mut requested = Requested::default();
    for (suffix, value) in vars.with_prefix("PARAM_") {
        let Some(value) = value else { bail!("{} is not valid UTF-8", variable(suffix)) };
        if suffix == "ENVIRONMENT" {
            requested.environment = Some(value.to_owned()).filter(|e| !e.is_empty());
        } else if suffix.starts_with("ENVIRONMENT_") {
            bail!("the parameter `environment` takes a string (`string:`), not a list or a map");
        } else {
            requested.settings.push(Setting::Escaped { suffix: suffix.to_owned(), value: value.to_owned() });
        }
    }
    Ok(requested)
}

/// How messages name a `PARAM_` variable.
fn variable(suffix: &str) -> String {
    if is_plain(suffix) { format!("`PARAM_{suffix}`") } else { "a `PARAM_` variable".to_owned() }
}

/// What the plugin takes, for a message about a parameter it does not.
fn takes(parameters: &[Parameter]) -> String {
    let mut names = vec![format!("`{ENVIRONMENT}` (a string)")];
    names.extend(parameters.iter().map(|p| match p.kind {
        ParameterKind::String(_) => format!("`{}` (a string)", p.name),
        ParameterKind::Map(_) => format!("`{}` (a map)", p.name),
    }));
    let last = names.pop().unwrap_or_default();
    if names.is_empty() {
        format!("this application takes only {last}")
    } else {
        format!("this application takes {} and {last}", names.join(", "))
    }
}

/// The render parameters that the Application's settings become, by the
/// parameters the plugin announces for the application (`project`): `P` for
/// a string parameter, `P.K` for each entry of a map parameter whose value
/// differs from the announced one.
pub fn render_parameters(requested: &Requested, project: &Project) -> Result<Vec<(String, String)>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for setting in &requested.settings {
        match setting {
            Setting::Named { name, value } => {
                let Some(parameter) = project.parameters.iter().find(|p| p.name == *name) else {
                    bail!("unknown parameter {}: {}", quoted(name), takes(&project.parameters));
                };
                match (&parameter.kind, value) {
                    (ParameterKind::String(_), Given::String(value)) => {
                        out.insert(name.clone(), plain_value(name, None, value)?.to_owned());
                    }
                    (ParameterKind::Map(announced), Given::Map(entries)) => {
                        for (key, value) in entries {
                            entry(&mut out, parameter, announced, key, value)?;
                        }
                    }
                    (ParameterKind::String(_), _) => {
                        bail!("the parameter `{name}` takes a string (`string:`), not a list or a map")
                    }
                    (ParameterKind::Map(_), _) => bail!("the parameter `{name}` takes a map (`map:`)"),
                }
            }
            Setting::Escaped { suffix, value } => escaped_setting(&mut out, project, suffix, value)?,
        }
    }
    Ok(out.into_iter().collect())
}

/// A `PARAM_` variable: a string parameter by its escaped name, or an
/// entry of a map parameter by its escaped name and key (the key must be
/// one the plugin announces: the escaping cannot be undone).
fn escaped_setting(out: &mut BTreeMap<String, String>, project: &Project, suffix: &str, value: &str) -> Result<()> {
    if let Some(parameter) = project.parameters.iter().find(|p| escaped(&p.name) == suffix) {
        return match parameter.kind {
            ParameterKind::String(_) => {
                out.insert(parameter.name.clone(), plain_value(&parameter.name, None, value)?.to_owned());
                Ok(())
            }
            ParameterKind::Map(_) => bail!("the parameter `{}` takes a map (`map:`)", parameter.name),
        };
    }
    for parameter in &project.parameters {
        let Some(key) = suffix.strip_prefix(&escaped(&parameter.name)).and_then(|k| k.strip_prefix('_')) else {
            continue;
        };
        let ParameterKind::Map(announced) = &parameter.kind else {
            bail!("the parameter `{}` takes a string (`string:`), not a list or a map", parameter.name);
        };
        let Some((name, _)) = announced.iter().find(|(name, _)| escaped(name) == key) else {
            let shown = if is_plain(key) { format!("`{key}` (from {})", variable(suffix)) } else { variable(suffix) };
            bail!(
                "the parameter `{}` names {shown}, which is not one of its keys; {}",
                parameter.name,
                keys(announced)
            );
        };
        return entry(out, parameter, announced, name, value);
    }
    bail!("unknown parameter variable {}: {}", variable(suffix), takes(&project.parameters))
}

/// One entry of the map parameter `parameter`, unless it is set to its
/// announced value (which the render has without it).
fn entry(
    out: &mut BTreeMap<String, String>,
    parameter: &Parameter,
    announced: &[(String, String)],
    key: &str,
    value: &str,
) -> Result<()> {
    if !is_plain(key) {
        bail!(
            "the parameter `{}` names {}, which is not one of its keys; {}",
            parameter.name,
            quoted(key),
            keys(announced)
        );
    }
    let value = plain_value(&parameter.name, Some(key), value)?;
    if announced.iter().any(|(k, v)| k == key && v == value) {
        return Ok(());
    }
    if out.insert(format!("{}.{key}", parameter.name), value.to_owned()).is_some() {
        bail!("the parameter `{}` sets `{key}` twice", parameter.name);
    }
    Ok(())
}

/// `value`, trimmed, when the plugin may quote it back; a value that is not
/// plain is refused without being shown.
fn plain_value<'a>(name: &str, key: Option<&str>, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    if value.is_empty() || is_plain(value) {
        return Ok(value);
    }
    match key {
        Some(key) => bail!("the parameter `{name}` gives `{key}` a value that is not a plain word (not shown)"),
        None => bail!("the parameter `{name}` has a value that is not a plain word (not shown)"),
    }
}

/// The keys a map parameter takes, for a message.
fn keys(announced: &[(String, String)]) -> String {
    if announced.is_empty() {
        "it takes no keys in this application".to_owned()
    } else {
        let names: Vec<String> = announced.iter().map(|(k, _)| format!("`{k}`")).collect();
        format!("its keys: {}", names.join(", "))
    }
}

/// The announcement the parameters command prints: what the Argo CD UI
/// offers, with the defaults `generate` applies when a parameter is unset:
/// the host's `environment`, then the plugin's parameters as it announces
/// them. A parameter with nothing to choose (no environments, a map without
/// keys) is left out.
pub fn announcement(project: &Project, project_file: Option<&str>, settings: &Settings) -> Value {
    let mut parameters = Vec::new();
    if !project.environments.is_empty() {
        let names: Vec<String> = project.environments.iter().map(|e| format!("`{e}`")).collect();
        let of = project_file.map(|f| format!(" of {f}")).unwrap_or_default();
        parameters.push(json!({
            "name": ENVIRONMENT,
            "title": "Environment",
            "tooltip": format!("The environment{of} to render: {}. Empty renders the specs as written.", names.join(", ")),
            "collectionType": "string",
            "itemType": "string",
            "string": settings.environment.clone().unwrap_or_default(),
        }));
    }
    for parameter in &project.parameters {
        let (kind, value) = match &parameter.kind {
            ParameterKind::String(default) => ("string", json!(default.clone().unwrap_or_default())),
            ParameterKind::Map(entries) if entries.is_empty() => continue,
            ParameterKind::Map(entries) => ("map", json!(entries.iter().cloned().collect::<BTreeMap<_, _>>())),
        };
        parameters.push(json!({
            "name": parameter.name,
            "title": parameter.title,
            "tooltip": parameter.tooltip,
            "collectionType": kind,
            "itemType": "string",
            kind: value,
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

    /// What the built-in plugin announces for an application with two
    /// canaries, and a string parameter besides.
    fn project() -> Project {
        Project {
            environments: vec!["dev".into(), "prod".into()],
            parameters: vec![
                Parameter {
                    name: "canary-weight".into(),
                    title: "Canary weight (%)".into(),
                    tooltip: "Percent of traffic each model's canary gets.".into(),
                    kind: ParameterKind::Map(vec![("mocha-net".into(), "10".into()), ("ranker".into(), "0".into())]),
                },
                Parameter {
                    name: "tier".into(),
                    title: "Tier".into(),
                    tooltip: "A string.".into(),
                    kind: ParameterKind::String(Some("gold".into())),
                },
            ],
            ..Project::default()
        }
    }

    fn resolved(pairs: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
        render_parameters(&requested(&vars(pairs))?, &project())
    }

    #[test]
    fn escaping_is_argo_cds() {
        assert_eq!(escaped("canary-weight"), "CANARY_WEIGHT");
        assert_eq!(escaped("mocha-net.v2"), "MOCHA_NET_V2");
    }

    #[test]
    fn json_and_param_variables_read_the_same() {
        let json = [(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"environment","string":"prod"},{"name":"canary-weight","map":{"mocha-net":"25"}},{"name":"tier","string":"silver"}]"#,
        )];
        let env = [("PARAM_ENVIRONMENT", "prod"), ("PARAM_CANARY_WEIGHT_MOCHA_NET", "25"), ("PARAM_TIER", "silver")];
        assert_eq!(requested(&vars(&json)).expect("json").environment.as_deref(), Some("prod"));
        assert_eq!(requested(&vars(&env)).expect("env").environment.as_deref(), Some("prod"));
        let expected =
            vec![("canary-weight.mocha-net".to_owned(), "25".to_owned()), ("tier".to_owned(), "silver".to_owned())];
        assert_eq!(resolved(&json).expect("json"), expected);
        assert_eq!(resolved(&env).expect("env"), expected);
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
    fn entries_equal_to_the_announced_values_are_not_sent() {
        let same = [("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"mocha-net":"10","ranker":" 0"}}]"#)];
        assert_eq!(resolved(&same).expect("valid"), vec![]);
        let empty = vars(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":""}]"#)]);
        assert_eq!(requested(&empty).expect("valid"), Requested::default());
    }

    #[test]
    fn keys_and_values_reach_the_plugin_which_checks_them() {
        // The plugin says what is wrong with a key or a value it is given.
        let unknown = [("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"mochanet":"250"}}]"#)];
        assert_eq!(resolved(&unknown).expect("passed on"), vec![("canary-weight.mochanet".into(), "250".into())]);
    }

    #[test]
    fn bad_parameters_say_what_is_wrong_without_quoting_what_is_not_plain() {
        let error = |pairs: &[(&str, &str)]| resolved(pairs).expect_err("must fail").to_string();
        let e = error(&[("PARAM_CANARY_WEIGHT_NOPE", "5")]);
        assert_eq!(
            e,
            "the parameter `canary-weight` names `NOPE` (from `PARAM_CANARY_WEIGHT_NOPE`), which is not one of its \
             keys; its keys: `mocha-net`, `ranker`"
        );
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"replicas","string":"3"}]"#)]);
        assert_eq!(
            e,
            "unknown parameter `replicas`: this application takes `environment` (a string), `canary-weight` (a map) \
             and `tier` (a string)"
        );
        assert!(error(&[("PARAM_REPLICAS", "3")]).starts_with("unknown parameter variable `PARAM_REPLICAS`"));
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","array":["a"]}]"#)]);
        assert!(e.contains("`environment` takes a string"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","string":"5"}]"#)]);
        assert!(e.contains("`canary-weight` takes a map"), "{e}");
        let e = error(&[("PARAM_CANARY_WEIGHT", "5")]);
        assert!(e.contains("`canary-weight` takes a map"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"tier","map":{"a":"b"}}]"#)]);
        assert!(e.contains("`tier` takes a string"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"environment","string":"s3cr3t"}"#)]);
        assert!(e.starts_with("`ARGOCD_APP_PARAMETERS` is not valid JSON (line 1") && !e.contains("s3cr3t"), "{e}");
        let e = error(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"canary-weight","map":{"mocha-net":"5"}},{"name":"canary-weight","map":{}}]"#,
        )]);
        assert_eq!(e, "the parameter `canary-weight` is set twice");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"x\n::error::SECRET":"5"}}]"#)]);
        assert!(e.contains("names a name that is not a plain name (not shown)") && !e.contains("SECRET"), "{e}");
        let e = error(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"canary-weight","map":{"ranker":"5 s3cr3t"}}]"#)]);
        assert_eq!(e, "the parameter `canary-weight` gives `ranker` a value that is not a plain word (not shown)");
        let e = error(&[("PARAM_TIER", "a\nb")]);
        assert_eq!(e, "the parameter `tier` has a value that is not a plain word (not shown)");
    }

    #[test]
    fn the_announcement_offers_environments_and_the_plugins_parameters() {
        let announced = announcement(&project(), Some("modelgen.yaml"), &Settings::default());
        assert_eq!(announced[0]["name"], "environment");
        assert_eq!(announced[0]["string"], "");
        assert!(announced[0]["tooltip"].as_str().is_some_and(|t| t.contains("of modelgen.yaml")), "{announced}");
        assert!(announced[0]["tooltip"].as_str().is_some_and(|t| t.contains("`dev`, `prod`")));
        assert_eq!(announced[1]["name"], "canary-weight");
        assert_eq!(announced[1]["title"], "Canary weight (%)");
        assert_eq!(announced[1]["collectionType"], "map");
        assert_eq!(announced[1]["map"], json!({"mocha-net": "10", "ranker": "0"}));
        assert_eq!(
            announced[2],
            json!({"name": "tier", "title": "Tier", "tooltip": "A string.", "collectionType": "string", "itemType": "string", "string": "gold"})
        );
        let no_canary = Parameter { kind: ParameterKind::Map(vec![]), ..project().parameters[0].clone() };
        let bare = Project { parameters: vec![no_canary], ..Project::default() };
        assert_eq!(announcement(&bare, Some("modelgen.yaml"), &Settings::default()), json!([]));
        let preset = Settings { environment: Some("prod".into()), ..Settings::default() };
        assert_eq!(announcement(&project(), Some("modelgen.yaml"), &preset)[0]["string"], "prod");
    }
}
