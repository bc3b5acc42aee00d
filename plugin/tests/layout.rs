//! The source layout as a specification: no import cycles among modules, no `mod.rs`, a one-line `//!` on every file.
//!
//! A module depends on another when its code names it: a `use`, a path in an
//! expression or a type, a path inside a macro call, or a path written as a
//! string in an attribute (`#[schemars(schema_with = "crate::…")]`). Parent
//! and child are modules like any other: a façade that calls its children
//! must not be called back by them (they share what they need through a
//! sibling). `#[cfg(test)]` items are left out: a unit test may drive the
//! whole pipeline from inside the module it tests.
//!
//! [`module_cycles`] takes any crate's `src` folder, so that the host can be
//! held to the same rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// A module's path from the crate root: `["crate", "yaml", "node"]`.
type ModulePath = Vec<String>;

/// Where one module first names another: `yaml/node.rs:12`.
type Site = String;

/// Who depends on whom, with the first place each dependency is written.
type Graph = BTreeMap<String, BTreeMap<String, Site>>;

/// One source file of a crate, as a module.
struct SourceModule {
    /// The module it defines.
    path: ModulePath,
    /// Its path relative to `src`, for messages.
    file: String,
    /// Its text.
    text: String,
}

/// Every cycle among the modules of the crate whose `src` folder is `src`,
/// each printed as `a -> b (a.rs:3) -> a (b.rs:7)`; empty when there is none.
fn module_cycles(src: &Path) -> Vec<String> {
    cycles(&graph(&source_modules(src)))
}

/// The library crate's modules: `lib.rs` is the root (a `main.rs` beside it
/// is another crate, the binary, and left out), `a/b.rs` and `a/b/mod.rs`
/// are `crate::a::b`.
fn source_modules(src: &Path) -> Vec<SourceModule> {
    let library = src.join("lib.rs").exists();
    let mut modules = Vec::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("below src").to_string_lossy().replace('\\', "/");
        let mut path: ModulePath = vec!["crate".to_owned()];
        let stem = relative.trim_end_matches(".rs");
        match stem {
            "lib" => {}
            "main" if !library => {}
            "main" => continue,
            _ if stem.starts_with("bin/") => continue,
            _ => path.extend(stem.split('/').filter(|part| *part != "mod").map(str::to_owned)),
        }
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        modules.push(SourceModule { path, file: relative, text });
    }
    modules
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The dependency graph of `modules` (which must include every module the
/// paths may name: a path is attributed to the longest module it starts with).
fn graph(modules: &[SourceModule]) -> Graph {
    let known: BTreeSet<ModulePath> = modules.iter().map(|m| m.path.clone()).collect();
    let mut graph = Graph::new();
    for module in modules {
        let syntax = syn::parse_file(&module.text).unwrap_or_else(|e| panic!("parse {}: {e}", module.file));
        let mut visitor = Uses { known: &known, current: module.path.clone(), found: Vec::new() };
        visitor.visit_file(&syntax);
        let edges = graph.entry(name(&module.path)).or_default();
        for (target, line) in visitor.found {
            if target != module.path {
                edges.entry(name(&target)).or_insert_with(|| format!("{}:{line}", module.file));
            }
        }
    }
    graph
}

fn name(path: &[String]) -> String {
    path.join("::")
}

/// Collects the modules one file's code names, with the line of each mention.
struct Uses<'a> {
    known: &'a BTreeSet<ModulePath>,
    /// The module the visitor is in (deeper inside inline modules).
    current: ModulePath,
    /// Every module named, with the line.
    found: Vec<(ModulePath, usize)>,
}

impl Uses<'_> {
    /// Resolves `segments` as written in the current module; records the
    /// module it leads into, if it is one of the crate's.
    fn record(&mut self, segments: &[String], line: usize) {
        let Some(first) = segments.first() else { return };
        let mut full = match first.as_str() {
            "crate" => vec!["crate".to_owned()],
            "self" | "super" => {
                let mut base = self.current.clone();
                for segment in segments.iter().take_while(|s| *s == "self" || *s == "super") {
                    if segment == "super" {
                        base.pop();
                    }
                }
                base
            }
            // A path that starts with a child module declared here (`kserve::render`).
            _ if self.known.contains(&[self.current.as_slice(), &segments[..1]].concat()) => self.current.clone(),
            _ => return,
        };
        full.extend(segments.iter().skip_while(|s| *s == "crate" || *s == "self" || *s == "super").cloned());
        // Inline modules are part of their file: take the longest file module.
        let target = (1..=full.len()).rev().map(|n| full[..n].to_vec()).find(|prefix| self.known.contains(prefix));
        if let Some(target) = target {
            self.found.push((target, line));
        }
    }

    /// Paths written inside a token stream that syn does not parse (macro
    /// calls) or as strings (attribute arguments).
    fn scan(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(group) => self.scan(group.stream()),
                TokenTree::Literal(literal) => {
                    let text = literal.to_string();
                    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
                        && let Ok(path) = syn::parse_str::<syn::Path>(inner)
                        && path.segments.len() > 1
                    {
                        self.record(&segments(&path), literal.span().start().line);
                    }
                }
                TokenTree::Ident(ident) => {
                    // `a::b::c` is idents separated by `::` (two `:` puncts).
                    let line = ident.span().start().line;
                    let mut path = vec![ident.to_string()];
                    let mut j = i + 1;
                    while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(TokenTree::Ident(next))) =
                        (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        path.push(next.to_string());
                        j += 3;
                    }
                    if path.len() > 1 {
                        self.record(&path, line);
                    }
                    i = j - 1;
                }
                TokenTree::Punct(_) => {}
            }
            i += 1;
        }
    }
}

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Whether an item is compiled for tests only.
fn test_only(attributes: &[syn::Attribute]) -> bool {
    attributes
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|meta| meta.path().is_ident("test")))
}

/// Every path a `use` tree imports, as segments.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_paths(&path.tree, prefix, found);
            prefix.pop();
        }
        syn::UseTree::Name(leaf) if leaf.ident == "self" => found.push(prefix.clone()),
        syn::UseTree::Name(leaf) => found.push([prefix.as_slice(), &[leaf.ident.to_string()]].concat()),
        syn::UseTree::Rename(leaf) if leaf.ident == "self" => found.push(prefix.clone()),
        syn::UseTree::Rename(leaf) => found.push([prefix.as_slice(), &[leaf.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => found.push(prefix.clone()),
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                use_paths(tree, prefix, found);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attributes = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => return visit::visit_item(self, item),
        };
        if !test_only(attributes) {
            visit::visit_item(self, item);
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let test = match item {
            syn::ImplItem::Fn(f) => test_only(&f.attrs),
            syn::ImplItem::Const(c) => test_only(&c.attrs),
            _ => false,
        };
        if !test {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        // `mod x;` declares a child: ownership, not a use.
        if module.content.is_some() {
            self.current.push(module.ident.to_string());
            visit::visit_item_mod(self, module);
            self.current.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let line = item.use_token.span.start().line;
        let mut found = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut found);
        for path in found {
            self.record(&path, line);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 {
            let line = path.segments[0].ident.span().start().line;
            self.record(&segments(path), line);
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.scan(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        if let syn::Meta::List(list) = &attribute.meta {
            self.scan(list.tokens.clone());
        }
    }
}

/// One printed cycle for each group of modules that depend on each other.
fn cycles(graph: &Graph) -> Vec<String> {
    let mut printed = Vec::new();
    for component in strongly_connected(graph) {
        if component.len() < 2 {
            continue;
        }
        let start = &component[0];
        let path = shortest_return(graph, start, &component.iter().cloned().collect());
        let mut text = start.clone();
        for pair in path.windows(2) {
            let _ = write!(text, " -> {} ({})", pair[1], graph[&pair[0]][&pair[1]]);
        }
        let others: Vec<&str> = component.iter().filter(|m| !path.contains(m)).map(String::as_str).collect();
        if !others.is_empty() {
            let _ = write!(text, "; tangled with {}", others.join(", "));
        }
        printed.push(text);
    }
    printed
}

/// The shortest way from `start` back to itself inside `within`, as the modules visited.
fn shortest_return(graph: &Graph, start: &str, within: &BTreeSet<String>) -> Vec<String> {
    let mut previous: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_owned()]);
    while let Some(module) = queue.pop_front() {
        for next in graph.get(&module).into_iter().flat_map(BTreeMap::keys).filter(|n| within.contains(*n)) {
            if next == start {
                let mut path = vec![start.to_owned(), module.clone()];
                while let Some(before) = previous.get(path.last().expect("not empty")) {
                    path.push(before.clone());
                }
                path.reverse();
                path.push(start.to_owned());
                path.dedup();
                return path;
            }
            if !previous.contains_key(next) && next != start {
                previous.insert(next.clone(), module.clone());
                queue.push_back(next.clone());
            }
        }
    }
    vec![start.to_owned()]
}

/// Tarjan's strongly connected components, each sorted, in a stable order.
fn strongly_connected(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        components: Vec<Vec<String>>,
    }
    fn connect<'g>(state: &mut State<'g>, node: &'g str) {
        let index = state.index.len();
        state.index.insert(node, index);
        state.low.insert(node, index);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state.graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if !state.index.contains_key(next.as_str()) {
                connect(state, next);
                let low = state.low[node].min(state.low[next.as_str()]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next.as_str()) {
                let low = state.low[node].min(state.index[next.as_str()]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            component.sort();
            state.components.push(component);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            connect(&mut state, node);
        }
    }
    state.components.sort();
    state.components
}

fn plugin_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_plugin_modules_depend_on_each_other_without_a_cycle() {
    let cycles = module_cycles(&plugin_src());
    assert!(cycles.is_empty(), "import cycles among the plugin's modules:\n{}", cycles.join("\n"));
}

/// The host crate's sources, held to the same rules (it has no `syn`
/// dev-dependency of its own, and the checker is this file).
fn host_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src")
}

#[test]
fn the_host_modules_depend_on_each_other_without_a_cycle() {
    let cycles = module_cycles(&host_src());
    assert!(cycles.is_empty(), "import cycles among the host's modules:\n{}", cycles.join("\n"));
}

#[test]
fn every_file_is_named_for_its_module_and_opens_with_a_one_line_summary() {
    for file in rust_files(&plugin_src()).into_iter().chain(rust_files(&host_src())) {
        let shown = file.display().to_string();
        assert_ne!(file.file_name().and_then(|n| n.to_str()), Some("mod.rs"), "{shown}: name the file for its module");
        let text = std::fs::read_to_string(&file).expect("read");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("//! ") && first.len() > 12 && first.ends_with('.'),
            "{shown}: the first line must be a one-sentence `//!` summary, not `{first}`"
        );
    }
}

/// A crate made of `(module path, source)` pairs, for testing the checker itself.
fn crate_of(files: &[(&str, &str)]) -> Vec<SourceModule> {
    files
        .iter()
        .map(|(path, text)| SourceModule {
            path: path.split("::").map(str::to_owned).collect(),
            file: format!("{path}.rs"),
            text: (*text).to_owned(),
        })
        .collect()
}

#[test]
fn a_cycle_is_found_through_uses_code_paths_macros_and_attribute_strings() {
    let base = [("crate", "mod a; mod b;"), ("crate::a", "use crate::b::B; pub struct A;")];
    for (what, b) in [
        ("use", "use super::a::A;"),
        ("expression", "fn f() { let _ = crate::a::A; }"),
        ("type", "struct B(Option<crate::a::A>);"),
        ("macro call", "fn f() { println!(\"{:?}\", crate::a::A); }"),
        ("attribute string", "#[serde(with = \"crate::a\")] struct B;"),
        ("glob", "use crate::a::*;"),
    ] {
        let cycles = cycles(&graph(&crate_of(&[base[0], base[1], ("crate::b", b)])));
        assert_eq!(cycles.len(), 1, "{what}: {cycles:?}");
        assert!(
            cycles[0].starts_with("crate::a -> crate::b (crate::a.rs:1) -> crate::a (crate::b.rs:1)"),
            "{what}: {}",
            cycles[0]
        );
    }
}

#[test]
fn a_parent_called_back_by_its_child_is_a_cycle() {
    let modules = crate_of(&[
        ("crate", "mod render;"),
        ("crate::render", "mod kserve;\npub struct Target;\npub fn render() { kserve::render(); }"),
        ("crate::render::kserve", "use super::Target;\npub fn render() {}"),
    ]);
    assert_eq!(
        cycles(&graph(&modules)),
        ["crate::render -> crate::render::kserve (crate::render.rs:3) -> crate::render (crate::render::kserve.rs:1)"]
    );
}

#[test]
fn siblings_declarations_inline_modules_and_tests_make_no_cycle() {
    let modules = crate_of(&[
        // Declaring children is ownership; children share through a sibling.
        ("crate", "mod render;\npub fn generate() { render::render(); }"),
        ("crate::render", "mod kserve; mod object;\npub fn render() { kserve::render(); }"),
        ("crate::render::object", "pub struct Target;"),
        (
            "crate::render::kserve",
            "use super::object::Target;\nmod inner { use super::super::object::Target; }\npub fn render() {}",
        ),
        // A unit test may drive the whole crate.
        (
            "crate::render::seldon",
            "#[cfg(test)]\nmod tests { use crate::generate; }\n#[cfg(test)]\nfn helper() { crate::generate(); }",
        ),
    ]);
    let graph = graph(&modules);
    assert_eq!(cycles(&graph), Vec::<String>::new());
    assert_eq!(graph["crate::render::kserve"].keys().collect::<Vec<_>>(), ["crate::render::object"]);
    assert!(graph["crate::render::seldon"].is_empty());
}
