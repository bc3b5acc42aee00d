//! Container images: how a node reads an image reference (`distribution/reference` v0.6.0, `go-digest` v1.0.0), whatever the backend.

use super::rule::{Component, Rule};

/// The container runtime's rules.
pub const RULES: &[Rule] = &[Rule {
    id: "image-reference",
    component: Component::Container,
    cluster: "The API server accepts any `image` string; the node parses it when it pulls, and one it cannot parse fails the pod (`InvalidImageName`) after the sync succeeded. The grammar is `[registry[:port]/]path[:tag][@digest]`: path components of lowercase letters and digits joined by `.`, `_`, `__` or dashes; a tag of 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`; a digest of a registered algorithm in lowercase hex (`sha256:` and 64 digits); at most 255 characters of path. Without tag or digest the node pulls `latest`, and only a digest names one image for good.",
    modelgen: "Parses every `image` and `oci://` URI the same way and refuses what a node would not pull, naming the part at fault. A reference without a digest is mutable, which `policy.mutableReferences` reports (a warning by default).",
    source: "distribution/reference@v0.6.0:regexp.go, reference.go (`Parse`), normalize.go (`ParseNormalizedNamed`); opencontainers/go-digest@v1.0.0:algorithm.go (`anchoredEncodedRegexps`)",
    case: "tests/cases/error-image-reference",
}];
