//! The README and `docs/`: links and anchors resolve, every page is in `SUMMARY.md`, and the shown commands work.
//!
//! Markers in the pages (HTML comments, invisible on GitHub and in an mdBook)
//! tie a code block to what it claims: `<!-- docs: output -->` before a block
//! means it is exactly what the commands of the code block before it print, and
//! `<!-- docs: file PATH -->` that it is a verbatim part of that file.

mod support;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Output;

use support::{modelgen, run_in, text, workspace};

/// A Markdown page, named by its path from the workspace root.
struct Page {
    path: String,
    text: String,
}

/// A fenced code block of a page.
struct Block {
    /// The info string (`sh`, `yaml`, or empty).
    info: String,
    body: String,
    /// What a `<!-- docs: ... -->` comment on the line before the fence says.
    marker: Option<String>,
    /// 1-based line of the opening fence.
    line: usize,
}

/// `README.md` and every page in `docs/`, in a stable order.
fn pages() -> Vec<Page> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(workspace().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    paths.insert(0, workspace().join("README.md"));
    paths
        .into_iter()
        .map(|p| Page {
            path: p.strip_prefix(workspace()).expect("inside the workspace").display().to_string(),
            text: std::fs::read_to_string(&p).expect("a page"),
        })
        .collect()
}

fn page(path: &str) -> Page {
    Page { path: path.to_owned(), text: std::fs::read_to_string(workspace().join(path)).expect("a page") }
}

/// The opening or closing fence of a code block: its indentation, backtick run and info string.
fn fence(line: &str) -> Option<(usize, usize, &str)> {
    let trimmed = line.trim_start();
    let ticks = trimmed.len() - trimmed.trim_start_matches('`').len();
    (ticks >= 3).then(|| (line.len() - trimmed.len(), ticks, trimmed[ticks..].trim()))
}

/// Splits a page into its prose lines (1-based numbers) and its code blocks.
fn parse(text: &str) -> (Vec<(usize, &str)>, Vec<Block>) {
    let (mut prose, mut blocks) = (Vec::new(), Vec::new());
    // The open block, its fence's indentation and backtick run.
    let mut open: Option<(usize, usize, Block)> = None;
    let mut previous = "";
    for (index, line) in text.lines().enumerate() {
        match (open.take(), fence(line)) {
            (None, Some((indent, ticks, info))) => {
                let marker = previous
                    .trim()
                    .strip_prefix("<!-- docs:")
                    .and_then(|m| m.strip_suffix("-->"))
                    .map(|m| m.trim().to_owned());
                let block = Block { info: info.to_owned(), body: String::new(), marker, line: index + 1 };
                open = Some((indent, ticks, block));
            }
            (None, None) => prose.push((index + 1, line)),
            (Some((_, ticks, block)), Some((_, closing, ""))) if closing >= ticks => blocks.push(block),
            (Some((indent, ticks, mut block)), _) => {
                // A block inside a list item is indented as a whole.
                let unindented = line.char_indices().nth(indent).map_or("", |(at, _)| &line[at..]);
                block.body.push_str(if line[..line.len() - unindented.len()].trim().is_empty() {
                    unindented
                } else {
                    line
                });
                block.body.push('\n');
                open = Some((indent, ticks, block));
            }
        }
        previous = line;
    }
    assert!(open.is_none(), "a code block is not closed");
    (prose, blocks)
}

/// A line without its inline code spans (whose text is never a link).
fn without_code(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let after = &rest[start + run..];
        let closing = "`".repeat(run);
        let Some(end) = after.find(&closing) else {
            return out + &rest[start..];
        };
        rest = &after[end + run..];
    }
    out + rest
}

/// The anchor GitHub (and mdBook) give a heading: lowercase, punctuation
/// dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    // A link in a heading contributes its text.
    let mut plain = String::new();
    let mut rest = heading;
    while let Some(start) = rest.find("](") {
        plain.push_str(&rest[..start]);
        rest = rest[start..].split_once(')').map_or("", |(_, after)| after);
    }
    plain.push_str(rest);
    plain
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor a page's headings define (a repeated heading gets `-1`, `-2`).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    for (_, line) in parse(text).0 {
        let hashes = line.len() - line.trim_start_matches('#').len();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim().trim_end_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while !anchors.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
    }
    anchors
}

/// The targets of a page's inline links and link definitions, with their lines.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    for (number, line) in parse(text).0 {
        let line = without_code(line);
        for piece in line.split("](").skip(1) {
            let target = piece.split([')', ' ']).next().unwrap_or_default();
            links.push((number, target.to_owned()));
        }
        if let Some((label, target)) = line.trim_start().strip_prefix('[').and_then(|l| l.split_once("]:"))
            && !label.contains(']')
        {
            links.push((number, target.split_whitespace().next().unwrap_or_default().to_owned()));
        }
    }
    links
}

/// `base/relative` with `.` and `..` resolved, or `None` if it leaves the workspace.
fn resolve(base: &Path, relative: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = Vec::new();
    for component in base.join(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

#[test]
fn every_link_and_anchor_resolves() {
    let (mut checked, mut anchored, mut broken) = (0, 0, Vec::new());
    for page in pages() {
        let here = Path::new(&page.path).parent().unwrap_or(Path::new("")).to_path_buf();
        for (line, target) in links(&page.text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').map_or((target.as_str(), None), |(p, a)| (p, Some(a)));
            let file = if path.is_empty() { Some(PathBuf::from(&page.path)) } else { resolve(&here, path) };
            let Some(file) = file.filter(|f| workspace().join(f).exists()) else {
                broken.push(format!("{}:{line}: `{target}`: no such file in the repository", page.path));
                continue;
            };
            let Some(anchor) = anchor else { continue };
            anchored += 1;
            let defined = if file.extension().is_some_and(|e| e == "md") {
                anchors(&std::fs::read_to_string(workspace().join(&file)).expect("the linked page"))
            } else {
                BTreeSet::new()
            };
            if !defined.contains(anchor) {
                broken.push(format!(
                    "{}:{line}: `{target}`: {} has no heading with the anchor `#{anchor}`",
                    page.path,
                    file.display()
                ));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked >= 100 && anchored >= 12, "only {checked} links ({anchored} with an anchor) checked");
}

#[test]
fn the_link_checker_catches_what_it_should() {
    // The pieces the test above relies on, on text written to break them.
    let spec = slug("The spec: `apiVersion: modelgen.dev/v1alpha1`, `kind: ModelDeployment`");
    assert_eq!(spec, "the-spec-apiversion-modelgendevv1alpha1-kind-modeldeployment");
    assert_eq!(slug("Models that ship their own server (`image`)"), "models-that-ship-their-own-server-image");
    let text = "# Use\n## What is generated\n```yaml\n# not a heading\n```\n## What is generated\n";
    let defined: Vec<String> = anchors(text).into_iter().collect();
    assert_eq!(defined, ["use", "what-is-generated", "what-is-generated-1"]);
    let text = "see [a](b.md#c), `[no](link.md)` and [d][x]\n```\n[in](code.md)\n```\n[x]: e.md\n";
    let found: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(found, ["b.md#c", "e.md"]);
    assert_eq!(resolve(Path::new("docs"), "../examples/x"), Some(PathBuf::from("examples/x")));
    assert_eq!(resolve(Path::new("docs"), "../../etc"), None);
}

#[test]
fn every_page_is_in_the_summary_and_the_index() {
    let summary = page("docs/SUMMARY.md");
    let listed: BTreeSet<String> = links(&summary.text).into_iter().map(|(_, t)| t).collect();
    let index = page("docs/README.md");
    let indexed: BTreeSet<String> =
        links(&index.text).into_iter().map(|(_, t)| t.split('#').next().unwrap_or_default().to_owned()).collect();
    let readme = page("README.md");
    assert!(links(&readme.text).iter().any(|(_, t)| t == "docs/README.md"), "the README links the index");
    let mut count = 0;
    for page in pages().iter().filter(|p| p.path.starts_with("docs/")) {
        let name = page.path.strip_prefix("docs/").expect("a docs page");
        if name == "SUMMARY.md" {
            continue;
        }
        count += 1;
        assert!(listed.contains(name), "docs/SUMMARY.md does not list {name}");
        assert!(name == "README.md" || indexed.contains(name), "docs/README.md does not link {name}");
        assert!(page.text.starts_with("# "), "{name} starts with its title");
    }
    assert_eq!(listed.len(), count, "docs/SUMMARY.md lists a page twice or one outside docs/: {listed:?}");
    // mdBook reads the pages from `docs/` itself, not from its default `docs/src/`.
    let book = std::fs::read_to_string(workspace().join("docs/book.toml")).expect("docs/book.toml");
    assert!(book.lines().any(|l| l.trim() == "src = \".\""), "docs/book.toml names docs/ as the source");
}

/// The `modelgen` arguments of one shell command, if it runs modelgen.
fn modelgen_args(command: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let args = match words.as_slice() {
        ["modelgen", args @ ..] => args,
        ["cargo", rest @ ..] if rest.contains(&"run") && rest.windows(2).any(|w| w == ["-p", "modelgen"]) => {
            &rest[rest.iter().position(|w| *w == "--")? + 1..]
        }
        _ => return None,
    };
    Some(args.iter().map(|a| (*a).to_owned()).collect())
}

/// Commands whose subcommands have options of their own (`canary set-weight`).
const NESTED: [&str; 3] = ["canary", "argocd", "plugin"];

/// The help of `modelgen SUBCOMMAND` (or of `modelgen` itself); for a
/// command with subcommands, `subcommand` names both (`canary set-weight`).
fn help(subcommand: Option<&str>) -> String {
    let words: Vec<&str> = subcommand.map(|s| s.split_whitespace().collect()).unwrap_or_default();
    let out = modelgen().args(&words).arg("--help").output().expect("run modelgen");
    assert!(out.status.success(), "`modelgen {} --help` fails: {}", subcommand.unwrap_or(""), text(&out.stderr));
    text(&out.stdout)
}

/// The (sub)command `args` run: `render`, or `canary advance`.
fn command_of(args: &[String]) -> Option<String> {
    let first = args.first()?;
    match args.get(1) {
        Some(second) if NESTED.contains(&first.as_str()) && !second.starts_with('-') => {
            Some(format!("{first} {second}"))
        }
        _ => Some(first.clone()),
    }
}

/// Whether `help` documents the option `flag` (`--out`, `-n`).
fn accepts(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        let before = help[..at].chars().next_back();
        let after = help[at + flag.len()..].chars().next();
        matches!(before, Some(' ' | ',' | '\n')) && !after.is_some_and(|c| c.is_alphanumeric() || c == '-')
    })
}

/// Where a command that works on `models` runs: beside a `models/` that is a
/// copy of `examples/mochanet`, with a `../base/models` to compare against.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a scratch directory");
    for models in ["work/models", "base/models"] {
        std::fs::create_dir_all(dir.path().join(models)).expect("mkdir");
        std::fs::copy(
            workspace().join("examples/mochanet/mochanet.yaml"),
            dir.path().join(models).join("mochanet.yaml"),
        )
        .expect("copy the example");
    }
    dir
}

#[test]
fn the_commands_the_pages_show_work() {
    let scratch = scratch();
    let (mut run, mut compared, mut failures) = (0, 0, Vec::new());
    for page in pages() {
        let (_, blocks) = parse(&page.text);
        let mut last: Option<Output> = None;
        for block in &blocks {
            let at = format!("{}:{}", page.path, block.line);
            if block.marker.as_deref() == Some("output") {
                let Some(out) = last.take() else {
                    failures.push(format!("{at}: an output block follows no command block"));
                    continue;
                };
                compared += 1;
                if text(&out.stdout) != block.body {
                    let diff = similar::TextDiff::from_lines(block.body.as_str(), text(&out.stdout).as_str())
                        .unified_diff()
                        .header("the page", "modelgen")
                        .to_string();
                    failures.push(format!("{at}: the page shows other output than the command prints:\n{diff}"));
                }
                continue;
            }
            last = None;
            if !["sh", "bash", "shell", "console"].contains(&block.info.as_str()) {
                continue;
            }
            for line in block.body.lines() {
                let line = line.trim().trim_start_matches("$ ");
                let line = line.split(" #").next().unwrap_or_default();
                for command in line.split("&&").map(str::trim) {
                    let first = command.split_whitespace().next().unwrap_or_default();
                    if first.contains('/') && !first.starts_with(['-', '/', '.']) {
                        // A script of the repository (`tests/run`): it exists and runs.
                        let script = workspace().join(first);
                        let executable = std::fs::metadata(&script)
                            .is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0);
                        if !executable {
                            failures.push(format!("{at}: `{first}` is not an executable file of the repository"));
                        }
                        continue;
                    }
                    let Some(args) = modelgen_args(command) else { continue };
                    let command = command_of(&args);
                    let subcommand = command.as_deref();
                    let help = help(subcommand);
                    for flag in args.iter().filter(|a| a.starts_with('-') && a.len() > 1) {
                        let flag = flag.split('=').next().unwrap_or_default();
                        if !accepts(&help, flag) {
                            failures
                                .push(format!("{at}: `modelgen {}` has no option `{flag}`", subcommand.unwrap_or("")));
                        }
                    }
                    if !matches!(subcommand, Some("render" | "validate" | "diff")) {
                        continue;
                    }
                    let on_examples = args.iter().any(|a| a.starts_with("examples/"));
                    let dir = if on_examples { workspace() } else { scratch.path().join("work") };
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let out = run_in(&dir, &args);
                    run += 1;
                    if !out.status.success() {
                        failures.push(format!(
                            "{at}: `modelgen {}` fails (exit {:?}):\n{}",
                            args.join(" "),
                            out.status.code(),
                            text(&out.stderr)
                        ));
                    }
                    last = Some(out);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(run >= 5 && compared >= 1, "only {run} commands run and {compared} outputs compared");
}

#[test]
fn the_command_line_synopsis_names_real_options() {
    let cli = page("docs/cli.md");
    let synopsis = parse(&cli.text).1.into_iter().find(|b| b.info.is_empty()).expect("the synopsis block");
    let (mut global, mut checked) = (false, 0);
    for line in synopsis.body.lines() {
        let words: Vec<String> = line
            .strip_prefix("modelgen ")
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let command = command_of(&words);
        let subcommand = command.as_deref();
        global = subcommand.is_none() && (global || line.trim_start().starts_with("global:"));
        if subcommand.is_none() && !global {
            continue;
        }
        let help = help(subcommand);
        let words = line.split(|c: char| c.is_whitespace() || "[]|".contains(c));
        for flag in words.filter(|w| w.starts_with('-') && w.len() > 1) {
            checked += 1;
            assert!(accepts(&help, flag), "`{line}`: `modelgen {}` has no option `{flag}`", subcommand.unwrap_or(""));
        }
    }
    assert!(checked >= 25, "only {checked} options checked");
}

#[test]
fn every_spec_and_file_the_pages_show_is_real() {
    let (mut specs, mut files) = (0, 0);
    for page in pages() {
        for block in parse(&page.text).1 {
            let at = format!("{}:{}", page.path, block.line);
            if let Some(path) = block.marker.as_deref().and_then(|m| m.strip_prefix("file ")) {
                let file = std::fs::read_to_string(workspace().join(path.trim())).expect("the file a block quotes");
                assert!(file.contains(&block.body), "{at}: the block is not a verbatim part of {path}");
                files += 1;
            }
            // A complete spec is a spec modelgen accepts.
            let lines: Vec<&str> = block.body.lines().collect();
            let complete = ["apiVersion: modelgen.dev/v1alpha1", "kind: ModelDeployment", "metadata:", "spec:"]
                .iter()
                .all(|l| lines.contains(l));
            if block.info == "yaml" && complete {
                let app = support::app(&[("spec.yaml", block.body.as_str())]);
                let out = run_in(app.path(), &["validate", "."]);
                assert!(out.status.success(), "{at}: modelgen refuses the spec the page shows:\n{}", text(&out.stderr));
                specs += 1;
            }
        }
    }
    assert!(specs >= 2 && files >= 1, "only {specs} specs and {files} quoted files checked");
}
