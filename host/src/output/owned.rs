//! The ownership manifest: the list of files `modelgen render --out` wrote into a directory.
//!
//! It is what lets a render remove the files it no longer produces while
//! never touching anything else: only a path listed here is ever replaced or
//! removed. It is plain text (one path per line) so that it reads well in a
//! pull request, and it is a hidden file so that it is no YAML any tool would
//! take for a manifest.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

/// The manifest's file name, at the top of the output directory.
pub const FILE: &str = ".modelgen-owned";

/// The first line; it marks the file as modelgen's and versions the format.
const HEADER: &str = "# modelgen owned files v1";

/// The text of a manifest listing `paths` (relative, `/`-separated).
pub fn render<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut text = format!(
        "{HEADER}\n# Written by `modelgen render --out`: the files below are replaced or removed by the next\n# render; nothing else in this directory is ever touched. Do not edit.\n"
    );
    let sorted: BTreeSet<&str> = paths.into_iter().collect();
    for path in sorted {
        text.push_str(path);
        text.push('\n');
    }
    text
}

/// The paths a manifest lists. A manifest that is not modelgen's, or that
/// names a path outside its directory, is refused: what it lists is what a
/// render may delete.
pub fn parse(text: &str) -> Result<BTreeSet<String>> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        bail!("it does not start with `{HEADER}`");
    }
    let mut paths = BTreeSet::new();
    for (number, line) in lines.enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_relative(line) {
            bail!("line {} names `{line}`, which is not a path inside the directory", number + 2);
        }
        paths.insert(line.to_owned());
    }
    Ok(paths)
}

/// A `/`-separated path of ordinary components: no empty, `.` or `..`
/// component, nothing absolute, no backslash or NUL.
pub fn is_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path.split('/').all(|component| !component.is_empty() && component != "." && component != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_sorted() {
        let text = render(["b/x.yaml", "a.yaml", "kustomization.yaml"]);
        assert!(text.starts_with(HEADER));
        let paths: Vec<_> = parse(&text).expect("valid").into_iter().collect();
        assert_eq!(paths, ["a.yaml", "b/x.yaml", "kustomization.yaml"]);
    }

    #[test]
    fn foreign_or_escaping_manifests_are_refused() {
        assert!(parse("some other file\n").is_err());
        for bad in ["../outside.yaml", "/etc/passwd", "a/../../b", "a//b", "./a"] {
            let err = parse(&format!("{HEADER}\n{bad}\n")).expect_err(bad).to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
