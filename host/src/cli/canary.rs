//! `modelgen canary`: move a canary by commits — set its weight, promote it, roll it back, or let its rollout plan and Prometheus decide.

use clap::Subcommand;

use super::PluginOptions;
use super::edit::{PromoteArgs, RollbackArgs, SetWeightArgs};
use super::failure::Failure;

/// What to do with a canary.
#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Set the canary's share of traffic (`spec.canary.trafficPercent`).
    SetWeight(SetWeightArgs),
    /// Make the canary the stable model: its version and artifacts move into `spec.model`, and `spec.canary` goes.
    Promote(PromoteArgs),
    /// Remove the canary (or, with `--keep`, set its weight to 0).
    Rollback(RollbackArgs),
}

impl CanaryCommand {
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        match self {
            CanaryCommand::SetWeight(args) => args.run(options),
            CanaryCommand::Promote(args) => args.run(options),
            CanaryCommand::Rollback(args) => args.run(options),
        }
    }
}
