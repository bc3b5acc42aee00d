//! A canary's rollout as a plugin describes it, what Prometheus observed of it, and the move a plugin decides, as plain host types.

pub mod observe;

/// What a failed gate does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Remove the canary.
    Rollback,
    /// Keep its weight, and report.
    Hold,
}

/// One alerting rule that judges a canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The alert's name.
    pub alert: String,
    /// Its `PromQL`: the canary is unhealthy while it returns a series.
    pub expr: String,
    /// `PromQL` for the value it compares, when it has one.
    pub value: Option<String>,
    /// The threshold in words.
    pub threshold: String,
}

/// A canary's rollout plan, with the gates and queries that judge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// The canary's current weight, in percent.
    pub weight: u8,
    /// The steps, in percent, increasing.
    pub steps: Vec<u8>,
    /// How long a step must stay healthy, in milliseconds.
    pub interval_ms: u64,
    /// The least canary requests in the interval for a verdict.
    pub min_requests: u64,
    /// What a failed gate does.
    pub on_failure: OnFailure,
    /// The gates.
    pub gates: Vec<Gate>,
    /// `PromQL`: the canary's requests over the interval.
    pub requests: Option<String>,
    /// `PromQL`: 1 while the canary's observed share matches its weight.
    pub live: Option<String>,
    /// The resolution of `live`, in milliseconds.
    pub step_ms: u64,
}

/// What Prometheus said about a canary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Per gate, in order: whether it fails now; `None` when unknown.
    pub gates: Vec<Option<bool>>,
    /// The canary's requests over the interval, if known.
    pub canary_requests: Option<u64>,
    /// How long the weight has been live, in milliseconds, if known.
    pub weight_live_ms: Option<u64>,
}

/// The next move of a rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Set the canary's weight to this percentage.
    Advance(u8),
    /// Make the canary the model.
    Promote,
    /// Remove the canary: this gate failed.
    Rollback(String),
    /// Change nothing, for this reason.
    Hold(String),
    /// Change nothing yet: this many milliseconds to go.
    Wait(u64),
}

/// A change to one model's spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditAction {
    /// Set the canary's weight.
    SetCanaryWeight(u8),
    /// Make the canary the stable model.
    Promote,
    /// Remove the canary (`true`: keep it at weight 0).
    Rollback(bool),
    /// A new model version.
    Bump(Bump),
}

/// A new model version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bump {
    /// The new version.
    pub version: String,
    /// The new storage URI, if it changes.
    pub storage_uri: Option<String>,
    /// The new image, if it changes.
    pub image: Option<String>,
    /// Start a canary at this weight instead of replacing the stable model.
    pub canary: Option<u8>,
}

/// One changed field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Its path.
    pub field: String,
    /// Before (`None`: added).
    pub old: Option<String>,
    /// After (`None`: removed).
    pub new: Option<String>,
}

/// One file's new contents, from `edit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edited {
    /// The file, relative to the application root.
    pub file: String,
    /// Its whole new contents.
    pub contents: Vec<u8>,
    /// What changed.
    pub changes: Vec<Change>,
    /// The suggested commit message, with `Modelgen-*` trailers.
    pub message: String,
}
