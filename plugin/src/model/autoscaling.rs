//! Autoscaling on a Prometheus query through KEDA: where Prometheus is, the query of `metric: custom`, and how KEDA authenticates.

use schemars::JsonSchema;
use serde::Deserialize;

/// The Prometheus KEDA queries for the `waiting-requests`, `kv-cache-usage`, `tokens-per-second` and `custom` metrics.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prometheus {
    /// URL of the Prometheus (or a compatible API) that KEDA queries, as in `http://prometheus-operated.monitoring:9090`. Credentials never go here: name a `triggerAuthentication`.
    pub server_address: String,
    /// `metric: custom` only: the `PromQL` query. KEDA divides its value by `target` to get the replica count (its `AverageValue` target), so a query that sums over the pods scales to `target` per replica.
    #[serde(default)]
    pub query: Option<String>,
    /// Name of a KEDA `TriggerAuthentication` in the model's namespace that holds the credentials for Prometheus (`authenticationRef`).
    #[serde(default)]
    pub trigger_authentication: Option<String>,
    /// How KEDA uses that `TriggerAuthentication` (`authModes`): `bearer`, `basic` or `oauth` (one of them), and `tls`, `custom` or `apiKey`.
    #[serde(default)]
    pub auth_modes: Vec<AuthMode>,
}

/// KEDA's authentication modes for HTTP-based scalers (`pkg/scalers/authentication`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are KEDA's own"
)]
pub enum AuthMode {
    #[serde(rename = "bearer")]
    Bearer,
    #[serde(rename = "basic")]
    Basic,
    #[serde(rename = "oauth")]
    Oauth,
    #[serde(rename = "tls")]
    Tls,
    #[serde(rename = "custom")]
    Custom,
    #[serde(rename = "apiKey")]
    ApiKey,
}

impl AuthMode {
    /// The value in KEDA's `authModes`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Bearer => "bearer",
            AuthMode::Basic => "basic",
            AuthMode::Oauth => "oauth",
            AuthMode::Tls => "tls",
            AuthMode::Custom => "custom",
            AuthMode::ApiKey => "apiKey",
        }
    }

    /// Whether KEDA allows only one of this mode and its kind (`exclusiveSet=bearer;basic;oauth`).
    pub fn exclusive(self) -> bool {
        matches!(self, AuthMode::Bearer | AuthMode::Basic | AuthMode::Oauth)
    }
}
