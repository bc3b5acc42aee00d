//! Turning JSON Schemas into the checker's node table as Rust source: run by `build.rs`, tested by the library.
//!
//! Every distinct subschema becomes one [`super::node::Node`] literal, its
//! children referred to by index, so a subtree that repeats (a container's
//! schema appears dozens of times in an `InferenceService`) is emitted once.
//! Only the keywords the checker implements are accepted: anything else is
//! an error that stops the build, because skipping a keyword would make the
//! check silently weaker than the schema.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Keywords that do not constrain a value here: annotations, and `format`,
/// which the check does not validate (as `jsonschema` with
/// `should_validate_formats(false)` did before it).
const IGNORED: [&str; 4] = ["description", "default", "format", "x-kubernetes-preserve-unknown-fields"];

/// Regular-expression constructs that ECMA-262 (the JSON Schema's dialect)
/// and Rust's regex engines read differently (Unicode classes) or that they
/// lack (look-around, back-references).
const UNPORTABLE: [&str; 14] =
    ["\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b", "\\B", "(?=", "(?!", "(?<=", "(?<!", "\\1", "\\k<"];

/// A JSON Schema (ECMA-262) `pattern` as a Rust engine reads it the same
/// way: ECMA's `\d` is ASCII `[0-9]`, where `regex` with its Unicode tables
/// would also take other scripts' digits (`\D` outside a class likewise);
/// written out, it means the same to every engine. The other constructs the
/// two dialects read differently are refused (see [`UNPORTABLE`]).
pub fn rust_pattern(ecma: &str) -> String {
    let mut out = String::with_capacity(ecma.len());
    let mut in_class = false;
    let mut chars = ecma.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') if in_class => out.push_str("0-9"),
                Some('d') => out.push_str("[0-9]"),
                Some('D') if !in_class => out.push_str("[^0-9]"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// JSON Schema's type names; a node's `types` has bit `1 << i` for `TYPE_NAMES[i]`.
pub const TYPE_NAMES: [&str; 7] = ["null", "boolean", "integer", "number", "string", "array", "object"];

/// The largest integer an `f64` holds exactly: the checker compares
/// fractional values against limits as `f64`.
const EXACT: i64 = 1 << 53;

/// Nodes, the lists and strings they refer to, and patterns collected so far.
#[derive(Default)]
pub struct Builder {
    nodes: Vec<String>,
    by_literal: HashMap<String, u32>,
    patterns: Vec<String>,
    by_pattern: HashMap<String, u32>,
    strings: Runs<u8>,
    properties: Runs<String>,
    names: Runs<String>,
    literals: Runs<String>,
    children: Runs<String>,
}

/// One of the table's arrays, as the source of its items, each distinct run
/// stored once (so that equal subschemas give equal node literals).
#[derive(Default)]
struct Runs<T> {
    items: Vec<T>,
    by_run: HashMap<Vec<T>, (u32, u32)>,
}

impl<T: Clone + Eq + std::hash::Hash> Runs<T> {
    /// The `Span(start, len)` source of `run`, stored now unless it was before.
    fn span(&mut self, run: Vec<T>) -> Result<String, String> {
        if run.is_empty() {
            return Ok("Span::EMPTY".to_owned());
        }
        if let Some(&(start, len)) = self.by_run.get(&run) {
            return Ok(format!("Span({start}, {len})"));
        }
        let too_big = |_| "the table outgrew its 32-bit indices".to_owned();
        let (start, len) =
            (u32::try_from(self.items.len()).map_err(too_big)?, u32::try_from(run.len()).map_err(too_big)?);
        self.items.extend(run.iter().cloned());
        self.by_run.insert(run, (start, len));
        Ok(format!("Span({start}, {len})"))
    }
}

impl Builder {
    /// Adds `schema` and its subschemas; returns the index of its node.
    pub fn add(&mut self, schema: &Value) -> Result<u32, String> {
        let Value::Object(map) = schema else {
            return Err(format!("a schema must be an object, not `{schema}`"));
        };
        let literal = self.literal(map)?;
        if let Some(&id) = self.by_literal.get(&literal) {
            return Ok(id);
        }
        let id = u32::try_from(self.nodes.len()).map_err(|_| "too many nodes".to_owned())?;
        self.nodes.push(literal.clone());
        self.by_literal.insert(literal, id);
        Ok(id)
    }

    /// The table as Rust source: `NODES`, the arrays they refer to,
    /// `PATTERNS` and `TABLE` (to be included where `Node`, `Additional`,
    /// `Literal`, `Span`, `Table` and `OnceLock` are in scope).
    pub fn source(&self) -> String {
        let mut out = String::from("/// Every distinct subschema of the vendored CRDs.\n");
        let _ = writeln!(out, "pub static NODES: [Node; {}] = [", self.nodes.len());
        for node in &self.nodes {
            let _ = writeln!(out, "    {node},");
        }
        let strings = String::from_utf8_lossy(&self.strings.items);
        let _ = writeln!(out, "];\n/// The strings the nodes name.\npub static STRINGS: &str = {strings:?};");
        for (name, item, runs) in [
            ("PROPERTIES", "(Span, u32)", &self.properties),
            ("NAMES", "Span", &self.names),
            ("LITERALS", "Literal", &self.literals),
            ("CHILDREN", "u32", &self.children),
        ] {
            let _ = writeln!(
                out,
                "/// The nodes' runs of `{name}`.\npub static {name}: [{item}; {}] = [",
                runs.items.len()
            );
            for run in &runs.items {
                let _ = writeln!(out, "    {run},");
            }
            out.push_str("];\n");
        }
        out.push_str("/// Their `pattern`s.\n");
        let _ = writeln!(out, "pub static PATTERNS: [&str; {}] = [", self.patterns.len());
        for pattern in &self.patterns {
            let _ = writeln!(out, "    {pattern:?},");
        }
        out.push_str("];\n/// The patterns, compiled on first use.\n");
        let _ = writeln!(
            out,
            "pub static COMPILED: [OnceLock<Option<regex_lite::Regex>>; {}] = [const {{ OnceLock::new() }}; {}];",
            self.patterns.len(),
            self.patterns.len()
        );
        out.push_str(
            "/// The table.\npub static TABLE: Table = Table { nodes: &NODES, strings: STRINGS, properties: &PROPERTIES, \
             names: &NAMES, literals: &LITERALS, children: &CHILDREN, patterns: &PATTERNS, compiled: &COMPILED };\n",
        );
        out
    }

    /// The `Span` source of `text` in the table's strings (a span of
    /// bytes that starts and ends where `text` does, so always on a
    /// character boundary).
    fn string(&mut self, text: &str) -> Result<String, String> {
        self.strings.span(text.as_bytes().to_vec())
    }

    fn children(&mut self, list: &Value, keyword: &str) -> Result<Vec<u32>, String> {
        let Value::Array(list) = list else { return Err(format!("`{keyword}` must be a list of schemas")) };
        list.iter().enumerate().map(|(i, s)| self.add(s).map_err(|e| format!("{keyword}/{i}: {e}"))).collect()
    }

    fn pattern(&mut self, pattern: &str) -> Result<u32, String> {
        if let Some(construct) = UNPORTABLE.iter().find(|c| rust_pattern(pattern).contains(**c)) {
            return Err(format!(
                "the pattern `{pattern}` uses `{construct}`, which the checker does not read as JSON Schema does"
            ));
        }
        if let Some(&id) = self.by_pattern.get(pattern) {
            return Ok(id);
        }
        let id = u32::try_from(self.patterns.len()).map_err(|_| "too many patterns".to_owned())?;
        self.patterns.push(pattern.to_owned());
        self.by_pattern.insert(pattern.to_owned(), id);
        Ok(id)
    }

    /// The `Node { .. }` literal of one schema, its children added first.
    #[allow(clippy::too_many_lines)] // One arm per keyword.
    fn literal(&mut self, map: &Map<String, Value>) -> Result<String, String> {
        let mut types = 0u8;
        let mut properties = Vec::new();
        let mut additional = "Additional::Allowed".to_owned();
        let mut required = Vec::new();
        let mut items = None;
        let mut enumeration = None;
        let mut bounds: [Option<String>; 8] = Default::default();
        let mut pattern = None;
        let mut all_of = Vec::new();
        let mut any_of = Vec::new();
        let mut one_of = Vec::new();
        let mut not = None;
        for (keyword, value) in map {
            let at = |e: String| format!("{keyword}: {e}");
            match keyword.as_str() {
                "type" => {
                    let names: Vec<&Value> = match value {
                        Value::Array(list) => list.iter().collect(),
                        single => vec![single],
                    };
                    for name in names {
                        let i = TYPE_NAMES
                            .iter()
                            .position(|n| Some(*n) == name.as_str())
                            .ok_or_else(|| format!("unknown type `{name}`"))?;
                        types |= 1 << i;
                    }
                }
                "properties" => {
                    let Value::Object(children) = value else { return Err("`properties` must be an object".into()) };
                    // The checker binary-searches them, by byte order.
                    let mut sorted: Vec<(&String, &Value)> = children.iter().collect();
                    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                    for (name, child) in sorted {
                        let id = self.add(child).map_err(|e| format!("properties/{name}: {e}"))?;
                        properties.push(format!("({}, {id})", self.string(name)?));
                    }
                }
                "additionalProperties" => {
                    additional = match value {
                        Value::Bool(true) => "Additional::Allowed".to_owned(),
                        Value::Bool(false) => "Additional::Forbidden".to_owned(),
                        schema => format!("Additional::Schema({})", self.add(schema).map_err(at)?),
                    };
                }
                "required" => {
                    let names = value.as_array().ok_or("`required` must be a list")?;
                    for name in names {
                        let name = name.as_str().ok_or("`required` must list strings")?;
                        required.push(self.string(name)?);
                    }
                }
                "items" => items = Some(self.add(value).map_err(at)?),
                "enum" => {
                    let options = value.as_array().ok_or("`enum` must be a list")?;
                    let literals: Vec<String> = options
                        .iter()
                        .map(|option| match option {
                            Value::Null => Ok("Literal::Null".to_owned()),
                            Value::Bool(b) => Ok(format!("Literal::Bool({b})")),
                            Value::String(s) => Ok(format!("Literal::Str({})", self.string(s)?)),
                            Value::Number(n) if n.is_i64() => Ok(format!("Literal::Int({n})")),
                            other => Err(format!(
                                "the `enum` value `{other}` is not a string, an integer, a boolean or null"
                            )),
                        })
                        .collect::<Result<_, _>>()?;
                    enumeration = Some(self.literals.span(literals)?);
                }
                "minimum" | "maximum" => {
                    let limit = value
                        .as_i64()
                        .filter(|v| v.abs() <= EXACT)
                        .ok_or_else(|| format!("`{keyword}` must be an integer of at most 2^53, not `{value}`"))?;
                    bounds[usize::from(keyword == "maximum")] = Some(limit.to_string());
                }
                "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties" => {
                    let limit = value.as_u64().ok_or_else(|| format!("`{keyword}` must be a count, not `{value}`"))?;
                    let slot = 2 + ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]
                        .iter()
                        .position(|k| k == keyword)
                        .unwrap_or_default();
                    bounds[slot] = Some(limit.to_string());
                }
                "pattern" => {
                    let text = value.as_str().ok_or("`pattern` must be a string")?;
                    pattern = Some(self.pattern(text)?);
                }
                "allOf" => all_of = self.children(value, keyword)?,
                "anyOf" => any_of = self.children(value, keyword)?,
                "oneOf" => one_of = self.children(value, keyword)?,
                "not" => {
                    let id = self.add(value).map_err(at)?;
                    // Its error message quotes the schema, as JSON.
                    not = Some(format!("({id}, {})", self.string(&value.to_string())?));
                }
                ignored if IGNORED.contains(&ignored) => {}
                unknown => return Err(format!("the checker does not implement the keyword `{unknown}`")),
            }
        }
        let option = |v: &Option<String>| v.as_ref().map_or_else(|| "None".to_owned(), |v| format!("Some({v})"));
        let properties = self.properties.span(properties)?;
        let required = self.names.span(required)?;
        let mut list = |v: &[u32]| self.children.span(v.iter().map(u32::to_string).collect());
        let [minimum, maximum, min_length, max_length, min_items, max_items, min_properties, max_properties] = &bounds;
        Ok(format!(
            "Node {{ types: {types}, properties: {properties}, additional: {additional}, required: {required}, items: {}, \
             enumeration: {}, minimum: {}, maximum: {}, min_length: {}, max_length: {}, min_items: {}, \
             max_items: {}, min_properties: {}, max_properties: {}, pattern: {}, all_of: {}, any_of: {}, one_of: {}, \
             not: {} }}",
            option(&items.map(|i| i.to_string())),
            option(&enumeration),
            option(minimum),
            option(maximum),
            option(min_length),
            option(max_length),
            option(min_items),
            option(max_items),
            option(min_properties),
            option(max_properties),
            option(&pattern.map(|p| p.to_string())),
            list(&all_of)?,
            list(&any_of)?,
            list(&one_of)?,
            option(&not),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::rust_pattern;

    #[test]
    fn ecma_digits_are_ascii_digits_in_and_out_of_classes() {
        assert_eq!(rust_pattern(r"^\d+(\.\d+)?$"), r"^[0-9]+(\.[0-9]+)?$");
        assert_eq!(rust_pattern(r"[\d.]+"), r"[0-9.]+");
        assert_eq!(rust_pattern(r"\D"), r"[^0-9]");
        assert_eq!(rust_pattern(r"\\d"), r"\\d", "an escaped backslash before `d`");
        let digits = regex_lite::Regex::new(&rust_pattern(r"^\d+$")).expect("compiles");
        assert!(digits.is_match("0123") && !digits.is_match("٣"), "Arabic-Indic digits are not ECMA digits");
    }
}
