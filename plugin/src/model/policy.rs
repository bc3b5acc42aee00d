//! The project's policy (`policy` in `modelgen.yaml`, and per environment): how strictly a render treats what can change under the same Git commit.

use schemars::JsonSchema;
use serde::Deserialize;

/// Rules the project holds every spec to. A spec cannot loosen them: they are
/// set only in `modelgen.yaml`, for every environment or for one.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// How a reference that can change under the same Git commit is reported: an `image` or `oci://` URI without a digest (a tag, `latest` included, can be pushed again), an `hf://` URI without a commit hash as its revision. `warn` (default), `deny` (an error: every artifact is pinned) or `allow` (silent).
    #[serde(default)]
    pub mutable_references: Option<Level>,
}

/// How a policy reports what it covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// A warning (`render --deny-warnings` makes it an error).
    #[default]
    Warn,
    /// An error: nothing renders.
    Deny,
    /// Nothing is reported.
    Allow,
}

impl Level {
    /// The name as written in `modelgen.yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warn => "warn",
            Level::Deny => "deny",
            Level::Allow => "allow",
        }
    }
}

/// The policy one render applies, and where it was set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InForce {
    /// How mutable references are reported.
    pub mutable_references: Level,
    /// Where `mutable_references` was set (`environments.prod.policy.mutableReferences in modelgen.yaml`), if it was.
    pub set_at: Option<String>,
}

impl InForce {
    /// The project's policy with the rendered environment's over it, field by field.
    pub fn resolve(file: &str, project: Option<&Policy>, environment: Option<(&str, Option<&Policy>)>) -> Self {
        let from_environment = environment.and_then(|(name, policy)| {
            let level = policy?.mutable_references?;
            Some((level, format!("environments.{name}.policy.mutableReferences")))
        });
        let from_project = || {
            let level = project?.mutable_references?;
            Some((level, "policy.mutableReferences".to_owned()))
        };
        match from_environment.or_else(from_project) {
            Some((level, field)) => Self { mutable_references: level, set_at: Some(format!("`{field}` in `{file}`")) },
            None => Self::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_overrides_the_project_field_by_field() {
        let deny = Policy { mutable_references: Some(Level::Deny) };
        let allow = Policy { mutable_references: Some(Level::Allow) };
        let unset = Policy::default();
        assert_eq!(InForce::resolve("modelgen.yaml", None, None), InForce::default());
        let project = InForce::resolve("modelgen.yaml", Some(&deny), Some(("dev", Some(&unset))));
        assert_eq!(project.mutable_references, Level::Deny);
        assert_eq!(project.set_at.as_deref(), Some("`policy.mutableReferences` in `modelgen.yaml`"));
        let dev = InForce::resolve("modelgen.yaml", Some(&deny), Some(("dev", Some(&allow))));
        assert_eq!(dev.mutable_references, Level::Allow);
        assert_eq!(dev.set_at.as_deref(), Some("`environments.dev.policy.mutableReferences` in `modelgen.yaml`"));
    }
}
