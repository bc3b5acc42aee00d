//! The checker's form of a schema, one [`Node`] per distinct subschema in static tables that `build.rs` generates, and the walk that applies it.
//!
//! A structural schema is a tree of types, so it needs no compiler at run
//! time: `build.rs` turns each vendored CRD's JSON Schema into nodes (shared
//! where subschemas repeat, as Kubernetes' `PodSpec` does a dozen times in an
//! `InferenceService`), and checking an object is a walk of the object and
//! its nodes together. Only a `pattern` is compiled, once, when a value
//! first reaches it. The walk applies exactly the JSON Schema (draft 4)
//! keywords the converted CRDs use, with the semantics and messages of the
//! `jsonschema` crate (a test runs both over the golden output and mutated
//! objects); `build.rs` refuses any other keyword, so a new CRD cannot
//! quietly weaken the check.

use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::{Map, Number, Value};

use super::table::TYPE_NAMES;

/// The JSON types a node accepts, as a bit set: bit `i` is
/// [`TYPE_NAMES`]`[i]` (`jsonschema`'s order, which is also the order its
/// messages list them in).
pub mod types {
    /// `null`.
    pub const NULL: u8 = 1;
    /// `boolean`.
    pub const BOOLEAN: u8 = 1 << 1;
    /// `integer`: a number without a fractional part.
    pub const INTEGER: u8 = 1 << 2;
    /// `number`, integers included.
    pub const NUMBER: u8 = 1 << 3;
    /// `string`.
    pub const STRING: u8 = 1 << 4;
    /// `array`.
    pub const ARRAY: u8 = 1 << 5;
    /// `object`.
    pub const OBJECT: u8 = 1 << 6;
}

/// What an object may hold besides its listed properties.
#[derive(Clone, Copy, Debug)]
pub enum Additional {
    /// Anything (no `additionalProperties`, or `true`).
    Allowed,
    /// Nothing (`additionalProperties: false`): an unknown field is an error.
    Forbidden,
    /// Values matching this node (a map such as `labels`).
    Schema(u32),
}

/// A run of one of a [`Table`]'s arrays (or of its strings): `.1` items
/// from index `.0`. Nodes refer to their lists and strings this way rather
/// than by reference, so that the generated tables hold no pointer: a
/// pointer in a static is one more thing the loader must relocate at every
/// start, on a page it then copies (the tables were a third of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span(pub u32, pub u32);

impl Span {
    /// No items.
    pub const EMPTY: Span = Span(0, 0);

    fn of<T>(self, items: &'static [T]) -> &'static [T] {
        &items[self.range()]
    }

    fn range(self) -> std::ops::Range<usize> {
        self.0 as usize..(self.0 + self.1) as usize
    }

    fn is_empty(self) -> bool {
        self.1 == 0
    }
}

/// A value of an `enum`.
#[derive(Clone, Copy, Debug)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string, in the table's strings.
    Str(Span),
}

/// One subschema. Each keyword applies to the values it is about (`pattern`
/// to strings, `properties` to objects, ...), as in JSON Schema.
#[derive(Debug)]
pub struct Node {
    /// `type`: the accepted types, 0 when the keyword is absent.
    pub types: u8,
    /// `properties`, sorted by name: a run of the table's properties.
    pub properties: Span,
    /// `additionalProperties`.
    pub additional: Additional,
    /// `required`: a run of the table's names.
    pub required: Span,
    /// `items` (one schema for every item).
    pub items: Option<u32>,
    /// `enum`: a run of the table's literals.
    pub enumeration: Option<Span>,
    /// `minimum` (inclusive).
    pub minimum: Option<i64>,
    /// `maximum` (inclusive).
    pub maximum: Option<i64>,
    /// `minLength`, in characters.
    pub min_length: Option<u64>,
    /// `maxLength`, in characters.
    pub max_length: Option<u64>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `minProperties`.
    pub min_properties: Option<u64>,
    /// `maxProperties`.
    pub max_properties: Option<u64>,
    /// `pattern`, an index into the table's patterns.
    pub pattern: Option<u32>,
    /// `allOf`: a run of the table's children.
    pub all_of: Span,
    /// `anyOf`: a run of the table's children.
    pub any_of: Span,
    /// `oneOf`: a run of the table's children.
    pub one_of: Span,
    /// `not`, and its schema as JSON (its error message quotes it) in the
    /// table's strings.
    pub not: Option<(u32, Span)>,
}

/// A table of nodes and patterns, as `build.rs` generates it.
pub struct Table {
    /// The nodes; children are indices into this slice.
    pub nodes: &'static [Node],
    /// Every string the nodes name (property names, required names, `enum`
    /// strings, `not` schemas), one after the other.
    pub strings: &'static str,
    /// The nodes' properties: each a name in `strings` and its node.
    pub properties: &'static [(Span, u32)],
    /// The nodes' required names, in `strings`.
    pub names: &'static [Span],
    /// The nodes' `enum` values.
    pub literals: &'static [Literal],
    /// The nodes' `allOf`, `anyOf` and `oneOf` nodes.
    pub children: &'static [u32],
    /// The `pattern`s, as the JSON Schema writes them (ECMA-262 syntax
    /// without the constructs Rust's engines read differently, which
    /// `build.rs` refuses; `\d` is translated when compiled).
    pub patterns: &'static [&'static str],
    /// Each pattern compiled on first use (`None`: it does not compile, and
    /// every value fails it).
    pub compiled: &'static [OnceLock<Option<regex_lite::Regex>>],
}

/// One violation: the JSON pointer of the value and what is wrong with it.
pub type Error = (String, String);

impl Table {
    /// Every way `value` breaks the schema rooted at `root`, in the order
    /// the walk meets them.
    pub fn errors(&self, root: u32, value: &Value) -> Vec<Error> {
        let mut walk = Walk { table: self, path: Vec::new(), errors: Some(Vec::new()), failed: false };
        walk.node(root, value);
        walk.errors.unwrap_or_default()
    }

    /// Whether `value` matches the node `id` (no messages are built).
    pub fn is_valid(&self, id: u32, value: &Value) -> bool {
        let mut walk = Walk { table: self, path: Vec::new(), errors: None, failed: false };
        walk.node(id, value);
        !walk.failed
    }

    fn node(&self, id: u32) -> &'static Node {
        &self.nodes[id as usize]
    }

    fn str(&self, span: Span) -> &'static str {
        &self.strings[span.range()]
    }

    fn regex(&self, index: u32) -> Option<&regex_lite::Regex> {
        let i = index as usize;
        self.compiled[i]
            .get_or_init(|| regex_lite::Regex::new(&super::table::rust_pattern(self.patterns[i])).ok())
            .as_ref()
    }
}

/// A step of the path from the object's root to the value being checked.
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// One walk: the path so far, and either the errors (with messages) or
/// only whether there was one (inside `anyOf`, `oneOf` and `not`, where
/// only validity counts; the walk then stops at the first failure).
struct Walk<'t, 'v> {
    table: &'t Table,
    path: Vec<Step<'v>>,
    errors: Option<Vec<Error>>,
    failed: bool,
}

impl<'v> Walk<'_, 'v> {
    /// Records an error at the current path; `message` is only called when
    /// messages are collected.
    fn fail(&mut self, message: impl FnOnce() -> String) {
        self.failed = true;
        if let Some(errors) = self.errors.as_mut() {
            let mut pointer = String::new();
            for step in &self.path {
                pointer.push('/');
                match step {
                    Step::Key(key) => pointer.push_str(&key.replace('~', "~0").replace('/', "~1")),
                    Step::Index(i) => {
                        let _ = write!(pointer, "{i}");
                    }
                }
            }
            errors.push((pointer, message()));
        }
    }

    /// Whether the walk can stop: a failure without messages to collect.
    fn done(&self) -> bool {
        self.failed && self.errors.is_none()
    }

    fn child(&mut self, step: Step<'v>, id: u32, value: &'v Value) {
        self.path.push(step);
        self.node(id, value);
        self.path.pop();
    }

    fn node(&mut self, id: u32, value: &'v Value) {
        let node = self.table.node(id);
        if node.types != 0 && !has_type(node.types, value) {
            self.fail(|| type_message(node.types, value));
        }
        if let Some(options) = node.enumeration.map(|span| span.of(self.table.literals))
            && !options.iter().any(|option| self.table.literal_equals(*option, value))
        {
            self.fail(|| self.table.enum_message(options, value));
        }
        match value {
            Value::Object(map) => self.object(node, map),
            Value::Array(items) => self.array(node, value, items),
            Value::String(text) => self.string(node, value, text),
            Value::Number(number) => self.number(node, value, number),
            Value::Null | Value::Bool(_) => {}
        }
        if self.done() {
            return;
        }
        for &sub in node.all_of.of(self.table.children) {
            self.node(sub, value);
        }
        if !node.any_of.is_empty()
            && !node.any_of.of(self.table.children).iter().any(|&sub| self.table.is_valid(sub, value))
        {
            self.fail(|| format!("{value} is not valid under any of the schemas listed in the 'anyOf' keyword"));
        }
        if !node.one_of.is_empty() {
            match node.one_of.of(self.table.children).iter().filter(|&&sub| self.table.is_valid(sub, value)).count() {
                1 => {}
                0 => {
                    self.fail(|| {
                        format!("{value} is not valid under any of the schemas listed in the 'oneOf' keyword")
                    });
                }
                _ => {
                    self.fail(|| {
                        format!("{value} is valid under more than one of the schemas listed in the 'oneOf' keyword")
                    });
                }
            }
        }
        if let Some((sub, schema)) = node.not.map(|(sub, schema)| (sub, self.table.str(schema)))
            && self.table.is_valid(sub, value)
        {
            self.fail(|| format!("{schema} is not allowed for {value}"));
        }
    }

    fn object(&mut self, node: &Node, map: &'v Map<String, Value>) {
        let mut unexpected = Vec::new();
        for (key, child) in map {
            if self.done() {
                return;
            }
            let properties = node.properties.of(self.table.properties);
            match properties.binary_search_by(|&(name, _)| self.table.str(name).cmp(key.as_str())) {
                Ok(i) => self.child(Step::Key(key), properties[i].1, child),
                Err(_) => match node.additional {
                    Additional::Allowed => {}
                    Additional::Forbidden => unexpected.push(key.as_str()),
                    Additional::Schema(sub) => self.child(Step::Key(key), sub, child),
                },
            }
        }
        if !unexpected.is_empty() {
            self.fail(|| {
                let list = unexpected.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
                let verb = if unexpected.len() == 1 { "was" } else { "were" };
                format!("Additional properties are not allowed ({list} {verb} unexpected)")
            });
        }
        for &name in node.required.of(self.table.names) {
            let name = self.table.str(name);
            if !map.contains_key(name) {
                self.fail(|| format!("{} is a required property", Value::from(name)));
            }
        }
        let len = map.len() as u64;
        let properties = |n: u64| if n == 1 { "property" } else { "properties" };
        if let Some(min) = node.min_properties
            && len < min
        {
            self.fail(|| format!("{} has less than {min} {}", Value::Object(map.clone()), properties(min)));
        }
        if let Some(max) = node.max_properties
            && len > max
        {
            self.fail(|| format!("{} has more than {max} {}", Value::Object(map.clone()), properties(max)));
        }
    }

    fn array(&mut self, node: &Node, value: &Value, items: &'v [Value]) {
        let len = items.len() as u64;
        if let Some(min) = node.min_items
            && len < min
        {
            self.fail(|| format!("{value} has less than {min} item{}", plural(min)));
        }
        if let Some(max) = node.max_items
            && len > max
        {
            self.fail(|| format!("{value} has more than {max} item{}", plural(max)));
        }
        if let Some(sub) = node.items {
            for (i, item) in items.iter().enumerate() {
                if self.done() {
                    return;
                }
                self.child(Step::Index(i), sub, item);
            }
        }
    }

    fn string(&mut self, node: &Node, value: &Value, text: &str) {
        if node.min_length.is_some() || node.max_length.is_some() {
            let len = text.chars().count() as u64;
            if let Some(min) = node.min_length
                && len < min
            {
                self.fail(|| format!("{value} is shorter than {min} character{}", plural(min)));
            }
            if let Some(max) = node.max_length
                && len > max
            {
                self.fail(|| format!("{value} is longer than {max} character{}", plural(max)));
            }
        }
        if let Some(index) = node.pattern
            && !self.table.regex(index).is_some_and(|regex| regex.is_match(text))
        {
            let pattern = self.table.patterns[index as usize];
            self.fail(|| format!("{value} does not match \"{pattern}\""));
        }
    }

    fn number(&mut self, node: &Node, value: &Value, number: &Number) {
        if let Some(min) = node.minimum
            && compare(number, min).is_lt()
        {
            self.fail(|| format!("{value} is less than the minimum of {min}"));
        }
        if let Some(max) = node.maximum
            && compare(number, max).is_gt()
        {
            self.fail(|| format!("{value} is greater than the maximum of {max}"));
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Whether `value` is of one of `types`. An integer is a number; a number
/// is an integer when it is written as one (draft 4: `2.0` is not).
fn has_type(types: u8, value: &Value) -> bool {
    let bits = match value {
        Value::Null => types::NULL,
        Value::Bool(_) => types::BOOLEAN,
        Value::Number(n) if is_integer(n) => types::INTEGER | types::NUMBER,
        Value::Number(_) => types::NUMBER,
        Value::String(_) => types::STRING,
        Value::Array(_) => types::ARRAY,
        Value::Object(_) => types::OBJECT,
    };
    types & bits != 0
}

fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64()
}

fn type_message(types: u8, value: &Value) -> String {
    let names: Vec<&str> =
        TYPE_NAMES.iter().enumerate().filter(|(i, _)| types & (1 << i) != 0).map(|(_, name)| *name).collect();
    if let [name] = names.as_slice() {
        format!("{value} is not of type \"{name}\"")
    } else {
        let list = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
        format!("{value} is not of types {list}")
    }
}

/// The exact order of `number` and the integer `limit`.
fn compare(number: &Number, limit: i64) -> std::cmp::Ordering {
    if let Some(i) = number.as_i64() {
        i.cmp(&limit)
    } else if let Some(u) = number.as_u64() {
        i128::from(u).cmp(&i128::from(limit))
    } else {
        // `build.rs` admits only limits that an `f64` holds exactly.
        #[allow(clippy::cast_precision_loss)]
        let limit = limit as f64;
        number.as_f64().and_then(|f| f.partial_cmp(&limit)).unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl Table {
    fn literal_equals(&self, literal: Literal, value: &Value) -> bool {
        match (literal, value) {
            (Literal::Null, Value::Null) => true,
            (Literal::Bool(a), Value::Bool(b)) => a == *b,
            (Literal::Str(a), Value::String(b)) => self.str(a) == b,
            (Literal::Int(a), Value::Number(n)) => compare(n, a).is_eq(),
            _ => false,
        }
    }

    fn literal_json(&self, literal: Literal) -> Value {
        match literal {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(b),
            Literal::Int(i) => Value::from(i),
            Literal::Str(s) => Value::from(self.str(s)),
        }
    }

    /// `value is not one of a, b or c` (at most three options, then a count).
    fn enum_message(&self, options: &[Literal], value: &Value) -> String {
        let json: Vec<Value> = options.iter().map(|o| self.literal_json(*o)).collect();
        enum_message(&json, value)
    }
}

/// `value is not one of a, b or c` (at most three options, then a count).
fn enum_message(json: &[Value], value: &Value) -> String {
    const SHOWN: usize = 3;
    let mut text = format!("{value} is not one of ");
    if json.len() <= SHOWN {
        for (i, option) in json.iter().enumerate() {
            let separator = match i {
                0 => "",
                i if i == json.len() - 1 => " or ",
                _ => ", ",
            };
            let _ = write!(text, "{separator}{option}");
        }
    } else {
        for (i, option) in json.iter().take(SHOWN - 1).enumerate() {
            let _ = write!(text, "{}{option}", if i == 0 { "" } else { ", " });
        }
        let _ = write!(text, " or {} other candidates", json.len() - (SHOWN - 1));
    }
    text
}
