//! The pinning policy: a reference that can change under the same Git commit (an image or `oci://` URI without a digest, an `hf://` URI without a commit), reported as the project's `policy.mutableReferences` says.
//!
//! GitOps promises that a commit is a deployment; a tag or a branch breaks
//! that promise silently, on the next pull or the next node (kserve#3557).

use super::finding::Findings;
use crate::diagnostic::Severity;
use crate::model::image::ImageReference;
use crate::model::policy::{InForce, Level};
use crate::yaml::path::FieldPath;

/// The length of a Git commit hash, the only Hugging Face revision that cannot move.
const COMMIT_HASH_LEN: usize = 40;

/// An image reference, `written` as the spec has it: an `image`, or an
/// `oci://` URI whose `scheme` (`oci://`) precedes the reference. Pinned
/// only by a digest.
pub fn check_image(
    found: &mut Findings,
    path: &str,
    written: &str,
    scheme: &str,
    reference: &ImageReference<'_>,
    policy: &InForce,
) {
    if reference.is_pinned() {
        return;
    }
    let why = match reference.tag {
        Some("latest") => "the tag `latest` moves with every push".to_owned(),
        Some(tag) => format!("the tag `{tag}` can be pushed again"),
        None => "without a tag or digest the node pulls `latest`, which moves with every push".to_owned(),
    };
    report(
        found,
        path,
        policy,
        format!("`{written}` is not pinned: {why}, so the same Git commit can deploy another image"),
        &format!("pin the digest the build pushed, as in `{scheme}{}`", reference.pinned_example()),
    );
}

/// An `hf://owner/model[:revision]` URI (`repository` is `owner/model`): pinned only by a commit hash.
pub fn check_hugging_face(
    found: &mut Findings,
    path: &str,
    uri: &str,
    repository: &str,
    revision: Option<&str>,
    policy: &InForce,
) {
    let is_commit = |r: &str| r.len() == COMMIT_HASH_LEN && r.chars().all(|c| c.is_ascii_hexdigit());
    let why = match revision {
        Some(r) if is_commit(r) => return,
        Some(r) => format!("the revision `{r}` is a branch or a tag, which can move"),
        None => "without a revision the storage initializer downloads the head of `main`, which moves with every push"
            .to_owned(),
    };
    report(
        found,
        path,
        policy,
        format!("`{uri}` is not pinned: {why}, so the same Git commit can deploy another model"),
        &format!("pin a commit, as in `hf://{repository}:<40-hex commit hash>`"),
    );
}

/// A finding at the level the policy sets, with a hint that says where.
fn report(found: &mut Findings, path: &str, policy: &InForce, message: String, hint: &str) {
    let severity = match policy.mutable_references {
        Level::Allow => return,
        Level::Warn => Severity::Warning,
        Level::Deny => Severity::Error,
    };
    let hint = match (&policy.set_at, policy.mutable_references) {
        (Some(at), level) => format!("{hint} ({at} is `{}`)", level.as_str()),
        (None, _) => format!(
            "{hint}; `policy: {{mutableReferences: deny}}` in `modelgen.yaml` makes this an error, `allow` silences it"
        ),
    };
    found.push(severity, FieldPath::parse(path), message, Some(&hint));
}
