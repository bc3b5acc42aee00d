//! The ownership manifest: the list of files `modelgen render --out` wrote into a directory.
//!
//! It is what lets a render remove the files it no longer produces while
//! never touching anything else: only a path listed here is ever replaced or
//! removed. It is plain text so that it reads well in a pull request, and a
//! hidden file so that no tool takes it for a manifest. It must be
//! unambiguous, since what it lists is what a render may delete: format v2
//! writes one path per line with every byte outside `[A-Za-z0-9._/-]`
//! percent-encoded (a name holding a line break cannot add a line). Format
//! v1 (one path per line, as written) is still read, so that a directory
//! rendered by an earlier release keeps working. Either way, a listed path
//! must be one modelgen writes (`[<env>/]kustomization.yaml` or
//! `[<env>/][<namespace>/]<kind>_<name>.yaml`, with Kubernetes names), so a
//! tampered list cannot make a render delete a `README.md`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::{Result, bail};

use crate::escape;
use crate::verify::contract;

pub use crate::input::safe_path::is_relative;

/// The kustomize file written into each set's directory.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// The manifest's file name, at the top of the output directory.
pub const FILE: &str = ".modelgen-owned";

/// The first line; it marks the file as modelgen's and versions the format.
const HEADER: &str = "# modelgen owned files v2";
/// The first line of the format earlier releases wrote.
const HEADER_V1: &str = "# modelgen owned files v1";

/// The text of a manifest listing `paths` (relative, `/`-separated).
pub fn render<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut text = format!(
        "{HEADER}\n# Written by `modelgen render --out`: the files below are replaced or removed by the next\n# render; nothing else in this directory is ever touched. Do not edit.\n"
    );
    let sorted: BTreeSet<&str> = paths.into_iter().collect();
    for path in sorted {
        text.push_str(&encode(path));
        text.push('\n');
    }
    text
}

/// The paths a manifest lists. A manifest that is not modelgen's, or that
/// names a path modelgen does not write, is refused: what it lists is what
/// a render may delete.
pub fn parse(text: &str) -> Result<BTreeSet<String>> {
    let mut lines = text.lines();
    let encoded = match lines.next() {
        Some(HEADER) => true,
        Some(HEADER_V1) => false,
        _ => bail!("it does not start with `{HEADER}` (or `{HEADER_V1}`)"),
    };
    let mut paths = BTreeSet::new();
    for (number, line) in lines.enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = number + 2;
        let path = if encoded {
            decode(line).ok_or_else(|| {
                anyhow::anyhow!("line {number} (`{}`) is not a percent-encoded path", escape::value(line))
            })?
        } else {
            line.to_owned()
        };
        if !is_relative(&path) {
            bail!("line {number} names `{}`, which is not a path inside the directory", escape::value(&path));
        }
        if !is_written_by_modelgen(&path) {
            bail!(
                "line {number} names `{}`, which is not a file modelgen writes (`[<env>/]kustomization.yaml` or \
                 `[<env>/][<namespace>/]<kind>_<name>.yaml`); remove the line",
                escape::value(&path)
            );
        }
        paths.insert(path);
    }
    Ok(paths)
}

/// Whether `path` has the shape of a file `render --out` writes.
fn is_written_by_modelgen(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(file) = parts.pop() else { return false };
    if parts.len() > 2 || !parts.iter().all(|dir| contract::is_dns1123_label(dir)) {
        return false;
    }
    if file == KUSTOMIZATION {
        return parts.len() <= 1;
    }
    let Some((kind, name)) = file.strip_suffix(".yaml").and_then(|stem| stem.split_once('_')) else {
        return false;
    };
    !kind.is_empty()
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && contract::is_dns1123_subdomain(name)
}

/// Percent-encodes every byte outside `[A-Za-z0-9._/-]`.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The inverse of [`encode`]; `None` for text [`encode`] cannot have written.
fn decode(line: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(line.len());
    let mut it = line.bytes();
    while let Some(b) = it.next() {
        match b {
            b'%' => {
                let hex = [it.next()?, it.next()?];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-') => bytes.push(b),
            _ => return None,
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_sorted() {
        let text = render(["b/x_y.yaml", "a_b.yaml", "kustomization.yaml"]);
        assert!(text.starts_with(HEADER));
        let paths: Vec<_> = parse(&text).expect("valid").into_iter().collect();
        assert_eq!(paths, ["a_b.yaml", "b/x_y.yaml", "kustomization.yaml"]);
    }

    #[test]
    fn a_line_break_in_a_name_cannot_add_a_line() {
        let text = render(["ml/model_x\nREADME.md"]);
        assert!(text.ends_with("ml/model_x%0AREADME.md\n"), "{text}");
        assert!(!text.lines().any(|l| l == "README.md"));
        assert!(parse(&text).is_err(), "and such a name is not one modelgen writes");
        assert_eq!(decode("a%2Fb%41").as_deref(), Some("a/bA"));
        assert_eq!(decode("a%4"), None);
        assert_eq!(decode("a b"), None);
    }

    #[test]
    fn the_earlier_format_is_still_read() {
        let v1 =
            format!("{HEADER_V1}\n# comment\nkustomization.yaml\nml/model_iris.yaml\nprod/ml/model_iris-canary.yaml\n");
        let paths: Vec<_> = parse(&v1).expect("valid").into_iter().collect();
        assert_eq!(paths, ["kustomization.yaml", "ml/model_iris.yaml", "prod/ml/model_iris-canary.yaml"]);
    }

    #[test]
    fn foreign_escaping_or_tampered_manifests_are_refused() {
        assert!(parse("some other file\n").is_err());
        for bad in ["../outside.yaml", "/etc/passwd", "a/../../b", "a//b", "./a"] {
            let err = parse(&format!("{HEADER_V1}\n{bad}\n")).expect_err(bad).to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        for tampered in
            ["README.md", ".github/workflows/ci.yaml", "a/b/c/model_x.yaml", "ml/Model_x.yaml", "ml/model_X.yaml"]
        {
            for header in [HEADER, HEADER_V1] {
                let err = parse(&format!("{header}\n{tampered}\n")).expect_err(tampered).to_string();
                assert!(err.contains("not a file modelgen writes"), "{err}");
            }
        }
    }
}
