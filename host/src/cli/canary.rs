//! `modelgen canary`: move a canary by commits — set its weight, promote it, roll it back, or let its rollout plan and Prometheus decide (`status`, `advance`).
//!
//! `status` and `advance` read each model's rollout plan and gates from the
//! plugin (`describe`), ask Prometheus (see [`crate::rollout::observe`]),
//! and have the plugin decide the move (`decide`); `advance` then applies
//! each move with the same edit as `set-weight`, `promote` and `rollback`.
//! Git stays the only state: a decision depends on the spec and on what
//! Prometheus observed, never on an earlier run.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::edit::{EditOptions, PromoteArgs, RollbackArgs, SetWeightArgs, apply};
use super::failure::{Failure, emit};
use super::options::PluginOptions;
use super::terminal::{fs_name, shown, unreadable};
use crate::diagnostic::ModelSummary;
use crate::escape;
use crate::plugin::runtime::{RenderContext, Reply};
use crate::prometheus::{Access, AccessOptions, Client};
use crate::rollout::observe::{Reading, observe};
use crate::rollout::{Decision, EditAction};

/// What to do with a canary.
#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Set the canary's share of traffic (`spec.canary.trafficPercent`).
    SetWeight(SetWeightArgs),
    /// Make the canary the stable model: its version and artifacts move into `spec.model`, and `spec.canary` goes.
    Promote(PromoteArgs),
    /// Remove the canary (or, with `--keep`, set its weight to 0).
    Rollback(RollbackArgs),
    /// Report each canary's rollout: weight, step, how long it has been live, every gate, and the next move.
    Status(StatusArgs),
    /// Apply the next move of each canary's rollout (advance, promote or roll back) by editing its spec.
    /// Exit 0: something changed; 4: every canary holds or waits; 1: an error.
    Advance(AdvanceArgs),
}

impl CanaryCommand {
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        match self {
            CanaryCommand::SetWeight(args) => args.run(options),
            CanaryCommand::Promote(args) => args.run(options),
            CanaryCommand::Rollback(args) => args.run(options),
            CanaryCommand::Status(args) => status(options, args),
            CanaryCommand::Advance(args) => advance(options, args),
        }
    }
}

/// Which Prometheus judges the gates, and how it is reached. Credentials
/// come from the environment (`MODELGEN_PROMETHEUS_TOKEN[_FILE]`, or
/// `MODELGEN_PROMETHEUS_USERNAME` and `MODELGEN_PROMETHEUS_PASSWORD[_FILE]`),
/// never from the command line, where other users of the machine see them.
#[derive(Clone, Debug, Args)]
pub struct PrometheusArgs {
    /// Prometheus' base URL (`http` or `https`, with any path prefix).
    #[arg(long = "prometheus", value_name = "URL", env = "MODELGEN_PROMETHEUS_URL")]
    pub url: String,
    /// Trust these certificate authorities (PEM) instead of the built-in ones.
    #[arg(long = "prometheus-ca-file", value_name = "FILE", env = "MODELGEN_PROMETHEUS_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Seconds one query may take.
    #[arg(long = "prometheus-timeout", value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Evaluate at this time (RFC 3339, `2026-12-04T10:00:00Z`) instead of now: to replay a decision.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<SystemTime>,
}

/// What `status` and `advance` look at.
#[derive(Clone, Debug, Args)]
pub struct RolloutArgs {
    /// The application directory (or a single spec file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Only this model.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Prometheus.
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
}

/// `canary status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// What to look at.
    #[command(flatten)]
    pub rollout: RolloutArgs,
    /// The environment, and a namespace for specs that set none.
    #[command(flatten)]
    pub edit: EditOptions,
    /// `human`, `json` or `markdown` (for a pull-request comment or a job summary).
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

/// `canary advance`.
#[derive(Debug, Args)]
pub struct AdvanceArgs {
    /// What to look at.
    #[command(flatten)]
    pub rollout: RolloutArgs,
    /// The environment, a namespace for specs that set none, and `--dry-run`.
    #[command(flatten)]
    pub edit: EditOptions,
}

/// How `canary status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// For people.
    Human,
    /// One JSON array, an object per canary.
    Json,
    /// Markdown.
    Markdown,
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(text).map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))
}

/// One canary as judged.
struct Verdict {
    model: ModelSummary,
    /// The reading and the decision, for a canary with a rollout plan.
    judged: Option<(Reading, Decision)>,
}

/// Judges every canary of the application (or `--model`'s).
fn judge(options: &PluginOptions, args: &RolloutArgs, edit: &EditOptions) -> Result<Vec<Verdict>, Failure> {
    let prometheus = &args.prometheus;
    if !(prometheus.timeout.is_finite() && prometheus.timeout > 0.0 && prometheus.timeout <= 3600.0) {
        return Err(Failure::Usage(anyhow::anyhow!("`--prometheus-timeout` must be from 0 to 3600 seconds")));
    }
    let mut access = AccessOptions::new(prometheus.url.clone());
    access.ca_file.clone_from(&prometheus.ca_file);
    access.timeout = Duration::from_secs_f64(prometheus.timeout);
    let access = Access::new(&access, |name| std::env::var(name).ok()).map_err(|e| Failure::Usage(e.into()))?;
    let client = Client::new(access);
    let at = prometheus.at.unwrap_or_else(SystemTime::now);

    let pipeline = options.pipeline()?;
    let (sources, quotes) = pipeline.read(&args.path, options.limits.input())?;
    let context = RenderContext {
        app_name: fs_name(&args.path),
        namespace: edit.namespace.clone(),
        revision: None,
        environment: edit.environment.clone(),
        parameters: Vec::new(),
    };
    let project = match pipeline.describe(sources.files, &context)? {
        Reply::Accepted(project) => project,
        Reply::Refused(diagnostics) => return Err(unreadable(&diagnostics, &quotes, &args.path)),
    };
    if let Some(name) = &args.model
        && !project.models.iter().any(|m| &m.name == name)
    {
        return Err(anyhow::anyhow!("no model named `{}` in `{}`", escape::value(name), shown(&args.path)).into());
    }
    let mut verdicts = Vec::new();
    for model in project.models {
        if model.canary_percent.is_none() || args.model.as_ref().is_some_and(|name| name != &model.name) {
            continue;
        }
        let judged = match &model.rollout {
            None => None,
            Some(rollout) => {
                let reading = observe(rollout, &client, at);
                let decision = pipeline.runtime()?.decide(rollout, &reading.observation())?;
                Some((reading, decision))
            }
        };
        verdicts.push(Verdict { model, judged });
    }
    Ok(verdicts)
}

fn status(options: &PluginOptions, args: &StatusArgs) -> Result<(), Failure> {
    let verdicts = judge(options, &args.rollout, &args.edit)?;
    let text = match args.format {
        StatusFormat::Human => verdicts.iter().map(human).collect::<Vec<_>>().join("\n"),
        StatusFormat::Json => {
            let all: Vec<Value> = verdicts.iter().map(as_json).collect();
            format!("{}\n", serde_json::to_string_pretty(&all).map_err(anyhow::Error::from)?)
        }
        StatusFormat::Markdown => verdicts.iter().map(markdown).collect::<Vec<_>>().join("\n"),
    };
    if verdicts.is_empty() {
        eprintln!("no model of `{}` has a canary", shown(&args.rollout.path));
    }
    emit(&text)
}

fn advance(options: &PluginOptions, args: &AdvanceArgs) -> Result<(), Failure> {
    let verdicts = judge(options, &args.rollout, &args.edit)?;
    let mut changed = 0;
    let mut messages = Vec::new();
    for verdict in &verdicts {
        eprint!("{}", human(verdict));
        let Some((_, decision)) = &verdict.judged else { continue };
        let action = match decision {
            Decision::Advance(weight) => EditAction::SetCanaryWeight(*weight),
            Decision::Promote => EditAction::Promote,
            Decision::Rollback(_) => EditAction::Rollback(false),
            Decision::Hold(_) | Decision::Wait(_) => continue,
        };
        match apply_quietly(options, args, &verdict.model.name, &action) {
            Ok(message) => {
                changed += 1;
                messages.push(message);
            }
            Err(Failure::Unchanged) => {}
            Err(other) => return Err(other),
        }
    }
    if changed == 0 {
        eprintln!("nothing to do: every canary holds or waits");
        return Err(Failure::Unchanged);
    }
    emit(&combined(&messages))
}

/// One commit message for the moves of several canaries: Git reads
/// trailers only from the last paragraph, so each message's subject and
/// changes come first and all their trailers form the last paragraph.
fn combined(messages: &[String]) -> String {
    if let [one] = messages {
        return one.clone();
    }
    let mut subjects = Vec::new();
    let mut bodies = String::new();
    let mut trailers = String::new();
    for message in messages {
        let paragraphs: Vec<&str> = message.trim_end().split("\n\n").collect();
        let (last, rest) = paragraphs.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
        if let Some(subject) = rest.first() {
            subjects.push(subject.trim());
        }
        for paragraph in rest {
            bodies.push_str(paragraph.trim_end());
            bodies.push_str("\n\n");
        }
        trailers.push_str(last.trim_end());
        trailers.push('\n');
    }
    format!("Move {} canaries\n\n{bodies}{trailers}", subjects.len())
}

/// Applies one move; its commit message is returned rather than printed, so
/// that the messages of several models go out together.
fn apply_quietly(
    options: &PluginOptions,
    args: &AdvanceArgs,
    model: &str,
    action: &EditAction,
) -> Result<String, Failure> {
    apply(options, &args.rollout.path, &args.edit, model, action, false).map(|edited| edited.message)
}

/// The decision in words: `advance to 25`, `promote`, `rollback: <gate> failed`, `hold: <reason>`, `wait until <time>`.
fn decision_text(decision: &Decision, at: SystemTime) -> String {
    match decision {
        Decision::Advance(weight) => format!("advance to {weight}"),
        Decision::Promote => "promote".to_owned(),
        Decision::Rollback(gate) => format!("rollback: {gate} failed"),
        Decision::Hold(reason) => format!("hold: {reason}"),
        Decision::Wait(ms) => {
            format!("wait until {}", humantime::format_rfc3339_seconds(at + Duration::from_millis(*ms)))
        }
    }
}

/// Where the weight is among the steps: `step 2 of 3`, or between steps.
fn step_text(weight: u8, steps: &[u8]) -> String {
    match steps.iter().position(|&s| s == weight) {
        Some(i) => format!("step {} of {}", i + 1, steps.len()),
        None => format!("between steps ({})", steps.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

fn seconds(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
}

/// A value as shown: numbers to four significant places.
fn value_text(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}").trim_end_matches('0').trim_end_matches('.').to_owned())
}

fn human(verdict: &Verdict) -> String {
    let m = &verdict.model;
    let name = escape::value(&m.name);
    let canary = m.canary_version.as_deref().map(escape::value).unwrap_or_default();
    let weight = m.canary_percent.unwrap_or_default();
    let mut text = format!("{name} ({}): canary {canary} at {weight}%", escape::value(&m.file));
    let (Some(rollout), Some((reading, decision))) = (&m.rollout, &verdict.judged) else {
        text.push_str(
            "\n  no rollout plan (`spec.canary.rollout`): move it by hand with `modelgen canary set-weight|promote|rollback`\n",
        );
        return text;
    };
    let _ = writeln!(text, ", {}", step_text(rollout.weight, &rollout.steps));
    let needed = seconds(Duration::from_millis(rollout.interval_ms));
    let _ = match &reading.live {
        Ok(live) => writeln!(text, "  live for at least {} (a step needs {needed})", seconds(*live)),
        Err(why) => writeln!(text, "  live for: unknown: {}", escape::value(why)),
    };
    let _ = match &reading.requests {
        Ok(n) => {
            writeln!(text, "  canary requests in the last {needed}: {n} (a verdict needs {})", rollout.min_requests)
        }
        Err(why) => writeln!(text, "  canary requests: unknown: {}", escape::value(why)),
    };
    for gate in &reading.gates {
        let verdict = match &gate.fails {
            Ok(true) => "FAILS".to_owned(),
            Ok(false) => "ok".to_owned(),
            Err(why) => format!("unknown: {}", escape::value(why)),
        };
        let _ = writeln!(
            text,
            "  gate {}: {verdict} (value {}; {})\n    {}",
            escape::value(&gate.gate.alert),
            value_text(gate.value),
            escape::value(&gate.gate.threshold),
            escape::value(&gate.gate.expr)
        );
    }
    let _ = writeln!(text, "  decision: {}", escape::value(&decision_text(decision, reading.at)));
    text
}

fn as_json(verdict: &Verdict) -> Value {
    let m = &verdict.model;
    let mut object = json!({
        "model": m.name,
        "file": m.file,
        "canary": { "version": m.canary_version, "weight": m.canary_percent },
    });
    let (Some(rollout), Some((reading, decision))) = (&m.rollout, &verdict.judged) else {
        object["rollout"] = Value::Null;
        return object;
    };
    let error = |r: &Result<_, String>| r.as_ref().err().cloned();
    object["rollout"] = json!({
        "steps": rollout.steps,
        "step": rollout.steps.iter().position(|&s| s == rollout.weight).map(|i| i + 1),
        "intervalSeconds": rollout.interval_ms / 1000,
        "minRequests": rollout.min_requests,
        "liveSeconds": reading.live.as_ref().ok().map(Duration::as_secs),
        "liveUnknown": error(&reading.live.as_ref().map(|_| ()).map_err(Clone::clone)),
        "requests": reading.requests.as_ref().ok(),
        "requestsUnknown": error(&reading.requests.as_ref().map(|_| ()).map_err(Clone::clone)),
        "gates": reading.gates.iter().map(|g| json!({
            "alert": g.gate.alert,
            "expr": g.gate.expr,
            "threshold": g.gate.threshold,
            "value": g.value.filter(|v| v.is_finite()),
            "verdict": match &g.fails { Ok(true) => "fails", Ok(false) => "ok", Err(_) => "unknown" },
            "reason": g.fails.as_ref().err(),
        })).collect::<Vec<_>>(),
        "evaluatedAt": humantime::format_rfc3339_seconds(reading.at).to_string(),
    });
    object["decision"] = match decision {
        Decision::Advance(weight) => json!({ "action": "advance", "to": weight }),
        Decision::Promote => json!({ "action": "promote" }),
        Decision::Rollback(gate) => json!({ "action": "rollback", "gate": gate }),
        Decision::Hold(reason) => json!({ "action": "hold", "reason": reason }),
        Decision::Wait(ms) => json!({
            "action": "wait",
            "until": humantime::format_rfc3339_seconds(reading.at + Duration::from_millis(*ms)).to_string(),
        }),
    };
    object["decision"]["text"] = json!(decision_text(decision, reading.at));
    object
}

/// Text for a Markdown table cell: no line breaks, no pipes, no HTML.
fn cell(text: &str) -> String {
    escape::value(text).replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;").replace('`', "'")
}

fn markdown(verdict: &Verdict) -> String {
    let m = &verdict.model;
    let mut text = format!(
        "### `{}`: canary `{}` at {}%\n\n",
        cell(&m.name),
        cell(m.canary_version.as_deref().unwrap_or_default()),
        m.canary_percent.unwrap_or_default()
    );
    let (Some(rollout), Some((reading, decision))) = (&m.rollout, &verdict.judged) else {
        text.push_str("No rollout plan: moved by hand.\n");
        return text;
    };
    let _ = writeln!(
        text,
        "**Decision: {}** ({})\n",
        cell(&decision_text(decision, reading.at)),
        step_text(rollout.weight, &rollout.steps)
    );
    text.push_str("| Gate | Verdict | Value | Threshold |\n| --- | --- | --- | --- |\n");
    for gate in &reading.gates {
        let verdict = match &gate.fails {
            Ok(true) => "❌ fails".to_owned(),
            Ok(false) => "✅ ok".to_owned(),
            Err(why) => format!("⏸ unknown: {}", cell(why)),
        };
        let _ = writeln!(
            text,
            "| `{}` | {verdict} | {} | {} |",
            cell(&gate.gate.alert),
            value_text(gate.value),
            cell(&gate.gate.threshold)
        );
    }
    let requests = reading.requests.as_ref().map_or_else(|why| format!("unknown ({})", cell(why)), ToString::to_string);
    let live = reading.live.as_ref().map_or_else(|why| format!("unknown ({})", cell(why)), |d| seconds(*d));
    let _ = writeln!(
        text,
        "\nCanary requests in the interval: {requests} (needs {}). Live for: {live} (a step needs {}).",
        rollout.min_requests,
        seconds(Duration::from_millis(rollout.interval_ms))
    );
    text
}
