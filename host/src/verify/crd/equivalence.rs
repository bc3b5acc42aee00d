//! The proof that the generated checker is exactly as strict as `jsonschema` on the same JSON Schemas: the same violations, paths and messages.
//!
//! Three corpora: every object the examples and golden cases render; those
//! objects mutated at every value (unknown fields, removed fields, every
//! JSON type, strings and numbers at and past the limits); and objects
//! generated from every vendored kind's schema with random, often invalid,
//! choices, so that keywords the built-in plugin never reaches are covered
//! too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};
use serde_json::{Map, Value, json};

use super::{Violation, check, kinds, schema};

/// The check as it was before the generated checker: `jsonschema`, draft 4, formats not validated.
struct Reference {
    validators: BTreeMap<(String, String), jsonschema::Validator>,
}

impl Reference {
    fn new() -> Self {
        let validators = kinds()
            .map(|(api_version, kind)| {
                let schema = schema(api_version, kind).expect("embedded schema");
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .should_validate_formats(false)
                    .build(&schema)
                    .expect("the schema compiles");
                ((api_version.to_owned(), kind.to_owned()), validator)
            })
            .collect();
        Self { validators }
    }

    /// The violations `jsonschema` finds (the object names and the
    /// no-name and unknown-kind rules are the checker's own, shared).
    fn check(&self, object: &Value) -> Vec<Violation> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let mut violations: Vec<Violation> =
            check(std::slice::from_ref(object)).into_iter().filter(|v| !from_schema(v)).collect();
        if let Some(validator) = self.validators.get(&(api_version, kind)) {
            let name = object_name(object);
            violations.extend(validator.iter_errors(object).map(|e| Violation {
                object: name.clone(),
                path: e.instance_path().to_string(),
                message: e.to_string(),
            }));
        }
        violations
    }
}

/// Whether a violation came from the schema (not from the checker's own rules).
fn from_schema(v: &Violation) -> bool {
    !(v.message == "the object has no name" || v.message.contains("is not a kind modelgen knows"))
}

fn object_name(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default();
    let meta = &object["metadata"];
    match (meta["namespace"].as_str(), meta["name"].as_str()) {
        (Some(ns), Some(name)) => format!("{kind} {ns}/{name}"),
        (None, Some(name)) => format!("{kind} {name}"),
        _ => format!("{kind} (without a name)"),
    }
}

fn sorted(mut violations: Vec<Violation>) -> Vec<(String, String, String)> {
    violations.sort_by(|a, b| (&a.object, &a.path, &a.message).cmp(&(&b.object, &b.path, &b.message)));
    violations.into_iter().map(|v| (v.object, v.path, v.message)).collect()
}

/// Asserts that both checks agree on `object`; returns how many violations they found.
fn agree(reference: &Reference, object: &Value, what: &str) -> usize {
    let ours = sorted(check(std::slice::from_ref(object)));
    let theirs = sorted(reference.check(object));
    assert_eq!(ours, theirs, "the checks disagree on {what}: {object}");
    ours.len()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// Every rendered object in the examples and the golden cases.
fn rendered_objects() -> Vec<Value> {
    let mut files = Vec::new();
    let mut dirs = vec![workspace().join("examples"), workspace().join("tests/cases")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(path);
            } else if name.starts_with("rendered")
                || name == "expected.yaml"
                || (path.parent().is_some_and(|p| p.ends_with("rendered"))
                    && path.extension().is_some_and(|e| e == "yaml"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("UTF-8");
        for document in format!("\n{text}").split("\n---\n") {
            if let Ok(object @ Value::Object(_)) = serde_saphyr::from_str::<Value>(document)
                && object.get("kind").is_some()
            {
                objects.push(object);
            }
        }
    }
    objects
}

/// The values a mutation puts in place of another: every JSON type, and
/// strings and numbers at and past the limits the CRDs set.
fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(2.0),
        json!(4_294_967_296_u64),
        json!(18_446_744_073_709_551_615_u64),
        json!(""),
        json!("x"),
        json!("Not A Name!"),
        json!("a".repeat(64)),
        json!("é".repeat(300)),
        json!("1Gi"),
        json!("http://h"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({ "a": "b" }),
    ]
}

/// Every JSON pointer inside `value`, parents before children.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(child, &format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_checker_agrees_with_jsonschema_on_every_rendered_object() {
    let reference = Reference::new();
    let objects = rendered_objects();
    assert!(objects.len() >= 80, "only {} rendered objects found", objects.len());
    let kinds: std::collections::BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert!(kinds.len() >= 9, "the corpus covers only {kinds:?}");
    for object in &objects {
        assert_eq!(agree(&reference, object, "a rendered object"), 0, "a golden object is invalid: {object}");
    }
}

#[test]
fn the_checker_agrees_with_jsonschema_on_mutated_objects() {
    let reference = Reference::new();
    // One object of each kind and shape is enough: the mutations reach every value.
    let mut seen = std::collections::BTreeSet::new();
    let objects: Vec<Value> = rendered_objects()
        .into_iter()
        .filter(|o| {
            let mut keys = Vec::new();
            pointers(o, "", &mut keys);
            let shape: Vec<String> = keys.iter().map(|k| k.chars().filter(|c| !c.is_ascii_digit()).collect()).collect();
            seen.insert((o["kind"].to_string(), shape))
        })
        .collect();
    let (mut mutants, mut invalid) = (0, 0);
    for object in &objects {
        let mut at = Vec::new();
        pointers(object, "", &mut at);
        for pointer in at.iter().filter(|p| !p.is_empty() && !p.starts_with("/apiVersion") && !p.starts_with("/kind")) {
            let mut variants = Vec::new();
            for replacement in replacements() {
                let mut mutant = object.clone();
                *mutant.pointer_mut(pointer).expect("pointer") = replacement;
                variants.push(mutant);
            }
            let (parent, key) = pointer.rsplit_once('/').expect("a child pointer");
            let mut removed = object.clone();
            match removed.pointer_mut(parent).expect("parent") {
                Value::Object(map) => drop(map.remove(&key.replace("~1", "/").replace("~0", "~"))),
                Value::Array(items) => drop(items.remove(key.parse::<usize>().expect("index"))),
                _ => unreachable!("a parent is a container"),
            }
            variants.push(removed);
            if let Some(Value::Object(map)) = object.pointer(pointer) {
                let mut extended = object.clone();
                let Some(Value::Object(target)) = extended.pointer_mut(pointer) else { unreachable!() };
                target.insert("unknownField".into(), json!("x"));
                target.insert("another/unknown~field".into(), json!(1));
                variants.push(extended);
                let _ = map;
            }
            for variant in &variants {
                invalid += usize::from(agree(&reference, variant, &format!("a mutation at `{pointer}`")) > 0);
                mutants += 1;
            }
        }
    }
    // Most mutations must break the object, or the comparison proves little.
    assert!(mutants > 5_000, "only {mutants} mutants");
    assert!(invalid * 2 > mutants, "only {invalid} of {mutants} mutants are invalid");
}

/// Random instances of a schema: mostly plausible, with invalid choices
/// (wrong types, missing required and unknown fields, values past the
/// limits, strings that miss the patterns) often enough to reach every
/// keyword's failure.
struct Generator {
    rng: TestRng,
}

/// Strings to try where a schema wants one: each matches some of the CRDs'
/// patterns and enums and misses others.
const STRINGS: [&str; 22] = [
    "",
    "a",
    "model-1",
    "a.b-c.d",
    "Model_1",
    "1Gi",
    "500m",
    "+1.5e3",
    "10s",
    "1h30m",
    "http://example.com",
    "https://*.example.com:8443",
    "/predict",
    "ABORT",
    "warn",
    "GET",
    "Exact",
    "True",
    "*",
    "group/Kind",
    "content-type",
    "spaces are not names",
];

impl Generator {
    fn pick(&mut self, n: usize) -> usize {
        usize::try_from(self.rng.next_u32()).expect("u32 fits") % n.max(1)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.next_u32() % 100 < percent
    }

    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        if self.chance(4) {
            return replacements().swap_remove(self.pick(replacements().len()));
        }
        if let Some(options) = schema["enum"].as_array()
            && !self.chance(10)
        {
            return options[self.pick(options.len())].clone();
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(branches) = schema[keyword].as_array()
                && schema.get("type").is_none()
                && schema.get("properties").is_none()
            {
                // int-or-string: `anyOf` of types.
                let branch = &branches[self.pick(branches.len())];
                if branch.get("type").is_some() {
                    let mut merged = schema.clone();
                    merged.as_object_mut().expect("object").remove(keyword);
                    merged["type"] = branch["type"].clone();
                    return self.value(&merged, depth);
                }
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => vec!["object"],
        };
        match types[self.pick(types.len())] {
            "null" => Value::Null,
            "boolean" => json!(self.chance(50)),
            "integer" | "number" => {
                let numbers = [json!(0), json!(1), json!(-1), json!(100), json!(65_535), json!(65_536)];
                let extra = [json!(4_294_967_295_u64), json!(4_294_967_296_u64), json!(1.5), json!(2.0), json!(-0.5)];
                if self.chance(25) { extra[self.pick(extra.len())].clone() } else { numbers[self.pick(6)].clone() }
            }
            "string" => {
                let base = STRINGS[self.pick(STRINGS.len())];
                if self.chance(5) { json!(base.repeat(300)) } else { json!(base) }
            }
            "array" => {
                let len = if depth > 8 { 0 } else { self.pick(3) };
                let items = &schema["items"];
                json!((0..len).map(|_| self.value(items, depth + 1)).collect::<Vec<_>>())
            }
            _ => self.object(schema, depth),
        }
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let mut map = Map::new();
        let required: Vec<&str> =
            schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        if let Some(properties) = schema["properties"].as_object() {
            for (name, child) in properties {
                let wanted = if required.contains(&name.as_str()) { !self.chance(5) } else { self.chance(35) };
                if wanted && (depth < 8 || required.contains(&name.as_str())) {
                    map.insert(name.clone(), self.value(child, depth + 1));
                }
            }
        }
        if let Some(additional @ Value::Object(_)) = schema.get("additionalProperties") {
            for i in 0..self.pick(3) {
                map.insert(format!("key-{i}"), self.value(additional, depth + 1));
            }
        }
        if self.chance(5) {
            map.insert("unexpectedField".into(), json!("x"));
        }
        Value::Object(map)
    }
}

#[test]
fn the_checker_agrees_with_jsonschema_on_objects_generated_from_every_schema() {
    let reference = Reference::new();
    let mut generator = Generator { rng: TestRng::deterministic_rng(RngAlgorithm::ChaCha) };
    let (mut valid, mut invalid) = (0, 0);
    for (api_version, kind) in kinds() {
        let schema = schema(api_version, kind).expect("embedded schema");
        for i in 0..150 {
            let mut object = generator.value(&schema, 0);
            if let Value::Object(map) = &mut object {
                map.insert("apiVersion".into(), json!(api_version));
                map.insert("kind".into(), json!(kind));
                map.insert("metadata".into(), json!({ "name": format!("g{i}") }));
            }
            match agree(&reference, &object, &format!("a generated `{api_version}` `{kind}`")) {
                0 => valid += 1,
                _ => invalid += 1,
            }
        }
    }
    // Both outcomes must be common, or the comparison proves little.
    assert!(valid > 100 && invalid > 500, "{valid} valid and {invalid} invalid objects");
}

#[test]
fn every_pattern_compiles() {
    for (i, pattern) in super::compiled::PATTERNS.iter().enumerate() {
        assert!(super::compiled::TABLE.compiled.len() > i);
        let rust = super::table::rust_pattern(pattern);
        assert!(regex_lite::Regex::new(&rust).is_ok(), "the pattern `{pattern}` (`{rust}`) does not compile");
    }
}
