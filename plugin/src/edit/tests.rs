//! Round-trip property test of the spec editor: random specs in random styles, random requests, read back with the plugin's own spec parser.

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use crate::diagnostic::Position;
use crate::edit::{EditError, EditRequest, edit_spec, verify};
use crate::model::percent::Percent;
use crate::model::spec::ModelDeployment;
use crate::yaml::decoder::decode;
use crate::yaml::stream::parse_stream;

/// How a scalar is quoted.
#[derive(Clone, Copy, Debug)]
enum Quote {
    /// Plain, when the value reads back as a string that way.
    Plain,
    /// `'...'`.
    Single,
    /// `"..."`.
    Double,
}

/// Which lines an edit may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    /// Nothing any request may change.
    Fixed,
    /// A line of `spec.model` holding the named field (or the whole flow mapping: all of them).
    Model(&'static str),
    /// `spec.canary.trafficPercent` (or the whole flow canary).
    Weight,
    /// Any other line of the canary.
    Canary,
}

/// One generated spec and where its parts are written.
#[derive(Clone, Debug)]
struct Generated {
    /// The file.
    text: String,
    /// The tag of each line of the file.
    tags: Vec<Tag>,
}

/// The shape of a generated spec: each flag is one independent choice of style.
#[derive(Clone, Debug)]
#[expect(clippy::struct_excessive_bools, reason = "independent random choices")]
struct Shape {
    crlf: bool,
    step: usize,
    model_flow: bool,
    canary: Option<bool>,
    quotes: [Quote; 3],
    comments: bool,
    documents_before: bool,
    documents_after: bool,
    model_uri: bool,
    model_image: bool,
    canary_uri: bool,
    canary_image: bool,
    weight: u8,
    stable: String,
    candidate: String,
}

/// A scalar as `quote` writes it (plain only where it reads back as the same string).
fn scalar(value: &str, quote: Quote, flow: bool) -> String {
    let context = if flow { crate::edit::scalar::Context::Flow } else { crate::edit::scalar::Context::Block };
    match quote {
        Quote::Plain if crate::edit::scalar::plain_safe(value, context) => value.to_owned(),
        Quote::Single => format!("'{}'", value.replace('\'', "''")),
        _ => crate::edit::scalar::double_quoted(value),
    }
}

/// The spec `shape` describes, with its lines tagged.
fn generate(shape: &Shape) -> Generated {
    let mut lines: Vec<(String, Tag)> = Vec::new();
    let fixed = |lines: &mut Vec<(String, Tag)>, text: String| lines.push((text, Tag::Fixed));
    let other = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: other}\nspec:\n  model: {version: v1, storageUri: s3://b/o}\n  canary:\n    version: v2\n    trafficPercent: 10";
    if shape.documents_before {
        for line in other.lines() {
            fixed(&mut lines, line.to_owned());
        }
        fixed(&mut lines, "---".to_owned());
    }
    let pad = " ".repeat(shape.step);
    let deep = " ".repeat(shape.step * 2);
    let [qv, qu, qi] = shape.quotes;
    if shape.comments {
        fixed(&mut lines, "# The model under test.".to_owned());
    }
    fixed(&mut lines, "apiVersion: modelgen.dev/v1alpha1".to_owned());
    fixed(&mut lines, "kind: ModelDeployment".to_owned());
    fixed(&mut lines, "metadata:".to_owned());
    fixed(&mut lines, format!("{pad}name: target"));
    fixed(&mut lines, "spec:".to_owned());
    let fields = |flow: bool, version: &str, uri: bool, image: bool, tag: fn(&'static str) -> Tag| {
        let mut out =
            vec![("format", "sklearn".to_owned(), Tag::Fixed), ("version", scalar(version, qv, flow), tag("version"))];
        if uri {
            out.push(("storageUri", scalar(&format!("s3://b/{version},x"), qu, flow), tag("storageUri")));
        }
        if image {
            out.push(("image", scalar(&format!("r.example/m:{version}"), qi, flow), tag("image")));
        }
        out
    };
    let model = fields(shape.model_flow, &shape.stable, shape.model_uri, shape.model_image, Tag::Model);
    if shape.model_flow {
        let inner: Vec<String> = model.iter().map(|(k, v, _)| format!("{k}: {v}")).collect();
        lines.push((format!("{pad}model: {{{}}}", inner.join(", ")), Tag::Model("*")));
    } else {
        fixed(&mut lines, format!("{pad}model:"));
        for (k, v, tag) in model {
            let comment = if shape.comments { " # as built" } else { "" };
            lines.push((format!("{deep}{k}: {v}{comment}"), if tag == Tag::Fixed { Tag::Fixed } else { tag }));
        }
    }
    if shape.comments {
        fixed(&mut lines, String::new());
        fixed(&mut lines, format!("{pad}# The canary, if any."));
    }
    if let Some(flow) = shape.canary {
        let mut canary = fields(flow, &shape.candidate, shape.canary_uri, shape.canary_image, |_| Tag::Canary);
        canary.retain(|(k, _, _)| *k != "format");
        canary.push(("trafficPercent", shape.weight.to_string(), Tag::Weight));
        if flow {
            let inner: Vec<String> = canary.iter().map(|(k, v, _)| format!("{k}: {v}")).collect();
            lines.push((format!("{pad}canary: {{{}}}", inner.join(", ")), Tag::Weight));
        } else {
            lines.push((format!("{pad}canary:"), Tag::Canary));
            for (k, v, tag) in canary {
                if shape.comments && tag == Tag::Weight {
                    lines.push((format!("{deep}# by hand"), Tag::Canary));
                }
                lines.push((format!("{deep}{k}: {v}"), tag));
            }
            if shape.comments {
                lines.push((format!("{deep}# (end of canary)"), Tag::Canary));
            }
        }
    }
    if shape.comments {
        fixed(&mut lines, format!("{pad}# Scaling."));
    }
    fixed(&mut lines, format!("{pad}scaling: {{minReplicas: 1}}"));
    if shape.documents_after {
        fixed(&mut lines, "---".to_owned());
        for line in other.lines() {
            fixed(&mut lines, line.replace("other", "third"));
        }
    }
    let eol = if shape.crlf { "\r\n" } else { "\n" };
    let text = lines.iter().map(|(l, _)| [l.as_str(), eol].concat()).collect();
    Generated { text, tags: lines.into_iter().map(|(_, t)| t).collect() }
}

/// Versions that test quoting: plain words, numbers-looking strings, quotes.
fn version() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["v1", "v2", "1.10", "2", "v1.2.3-rc.1", "true", "release-7", "it's", "a#b", "0x1F"])
        .prop_map(str::to_owned)
}

/// A random spec shape.
fn shape() -> impl Strategy<Value = Shape> {
    (
        (any::<bool>(), prop::sample::select(vec![2usize, 4]), any::<bool>(), prop::option::of(any::<bool>())),
        prop::array::uniform3(prop::sample::select(vec![Quote::Plain, Quote::Single, Quote::Double])),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (0u8..=100, version(), version()),
    )
        .prop_map(
            |(
                (crlf, step, model_flow, canary),
                quotes,
                (comments, before, after),
                (mu, mi, cu, ci),
                (weight, stable, candidate),
            )| Shape {
                crlf,
                step,
                model_flow,
                canary,
                quotes,
                comments,
                documents_before: before,
                documents_after: after,
                model_uri: mu,
                model_image: mi,
                canary_uri: cu,
                canary_image: ci,
                weight,
                stable,
                candidate,
            },
        )
}

/// A random request.
fn request() -> impl Strategy<Value = EditRequest> {
    let percent = (0u64..=100).prop_map(|n| Percent::new(n).unwrap_or(Percent::NONE));
    prop_oneof![
        percent.clone().prop_map(EditRequest::SetCanaryWeight),
        Just(EditRequest::Promote),
        any::<bool>().prop_map(|keep| EditRequest::Rollback { keep }),
        (version(), prop::option::of(version()), prop::option::of(version()), prop::option::of(percent)).prop_map(
            |(version, uri, image, canary)| EditRequest::Bump {
                version,
                storage_uri: uri.map(|u| format!("gs://b/{u}")),
                image: image.map(|i| format!("r.example/m@sha256:{i}")),
                canary,
            }
        ),
    ]
}

/// The target document as `request` should leave it; `None` when the request must be refused.
fn apply(doc: &Json, request: &EditRequest) -> Option<Json> {
    let mut doc = doc.clone();
    let spec = doc.get_mut("spec")?.as_object_mut()?;
    let has_canary = spec.contains_key("canary");
    match request {
        EditRequest::SetCanaryWeight(w) => {
            spec.get_mut("canary")?.as_object_mut()?.insert("trafficPercent".into(), json!(w.get()));
        }
        EditRequest::Rollback { keep: true } => {
            spec.get_mut("canary")?.as_object_mut()?.insert("trafficPercent".into(), json!(0));
        }
        EditRequest::Rollback { keep: false } => {
            spec.remove("canary")?;
        }
        EditRequest::Promote => {
            let canary = spec.remove("canary")?;
            let model = spec.get_mut("model")?.as_object_mut()?;
            for field in ["version", "storageUri", "image"] {
                if let Some(value) = canary.get(field) {
                    model.insert(field.into(), value.clone());
                }
            }
            if canary.get("storageUri").is_none() {
                model.remove("storageUri");
            }
        }
        EditRequest::Bump { version, storage_uri, image, canary: None } => {
            let model = spec.get_mut("model")?.as_object_mut()?;
            model.insert("version".into(), json!(version));
            if let Some(uri) = storage_uri {
                model.insert("storageUri".into(), json!(uri));
            }
            if let Some(image) = image {
                model.insert("image".into(), json!(image));
            }
        }
        EditRequest::Bump { version, storage_uri, image, canary: Some(weight) } => {
            if has_canary {
                return None;
            }
            let mut canary = serde_json::Map::new();
            canary.insert("version".into(), json!(version));
            if let Some(uri) = storage_uri {
                canary.insert("storageUri".into(), json!(uri));
            }
            if let Some(image) = image {
                canary.insert("image".into(), json!(image));
            }
            canary.insert("trafficPercent".into(), json!(weight.get()));
            spec.insert("canary".into(), Json::Object(canary));
        }
    }
    Some(doc)
}

/// Whether an edit by `request` may touch a line tagged `tag`.
fn may_touch(tag: Tag, request: &EditRequest) -> bool {
    let model_field = |field: &str| matches!(tag, Tag::Model(f) if f == field || f == "*");
    match request {
        EditRequest::SetCanaryWeight(_) | EditRequest::Rollback { keep: true } => tag == Tag::Weight,
        EditRequest::Rollback { keep: false } => matches!(tag, Tag::Weight | Tag::Canary),
        EditRequest::Promote => matches!(tag, Tag::Weight | Tag::Canary | Tag::Model(_)),
        EditRequest::Bump { storage_uri, image, canary: None, .. } => {
            model_field("version")
                || (storage_uri.is_some() && model_field("storageUri"))
                || (image.is_some() && model_field("image"))
                // A field the model lacks is added after its last line.
                || matches!(tag, Tag::Model(_))
        }
        EditRequest::Bump { canary: Some(_), .. } => false,
    }
}

#[test]
fn an_edit_that_would_read_back_otherwise_is_refused() {
    let before = parse_stream("a: 1\n---\nb: 2\n").expect("valid");
    let expected = json!({"a": 2});
    let at = Position::default();
    assert_eq!(verify(&before, 0, &expected, "a: 2 # edited\n---\nb: 2\n", at), Ok(()));
    for (text, why) in [
        ("a: '2'\n---\nb: 2\n", "a string, not a number"),
        ("a: 2\n---\nb: 3\n", "another document changed"),
        ("a: 2\n", "a document lost"),
        ("a: [2\n", "not YAML"),
    ] {
        let err = verify(&before, 0, &expected, text, at).expect_err(why);
        assert!(matches!(err, EditError::Unfaithful { ref field, .. } if field == "spec"), "{why}: {err:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn edits_read_back_as_intended_and_touch_only_their_lines(shape in shape(), request in request()) {
        let generated = generate(&shape);
        let before = parse_stream(&generated.text).expect("generated specs are valid YAML");
        let index = usize::from(shape.documents_before);
        let expected = apply(&before[index].to_json(), &request);
        let result = edit_spec(&generated.text, "target", &request);
        let Some(expected) = expected else {
            let refused = matches!(result, Err(EditError::NoCanary { .. } | EditError::CanaryExists { .. }));
            prop_assert!(refused, "{:?}", result);
            return Ok(());
        };
        let edited = result.map_err(|e| TestCaseError::fail(format!("{e}\n{}", generated.text)))?;

        // Read back with the plugin's own reader and spec decoder.
        let after = parse_stream(&edited.text).expect("the edited file is valid YAML");
        prop_assert_eq!(after.len(), before.len());
        for (i, (old, new)) in before.iter().zip(&after).enumerate() {
            let want = if i == index { expected.clone() } else { old.to_json() };
            prop_assert_eq!(new.to_json(), want, "document {}:\n{}", i, edited.text);
        }
        let spec: ModelDeployment = decode(&after[index]).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let model = &expected["spec"]["model"];
        prop_assert_eq!(Some(spec.spec.model.version.as_str()), model["version"].as_str());
        prop_assert_eq!(spec.spec.model.storage_uri.as_deref(), model["storageUri"].as_str());
        prop_assert_eq!(spec.spec.model.image.as_deref(), model["image"].as_str());
        let canary = spec.spec.canary.as_ref().map(|c| (c.version.clone(), c.storage_uri.clone(), c.image.clone(), c.traffic_percent));
        let want = expected["spec"].get("canary").map(|c| {
            let text = |k: &str| c[k].as_str().map(str::to_owned);
            (text("version").unwrap_or_default(), text("storageUri"), text("image"), u32::try_from(c["trafficPercent"].as_u64().unwrap_or(999)).unwrap_or(999))
        });
        prop_assert_eq!(canary, want);

        // Every line an edit may not touch is still there, byte for byte and in order.
        let eol = if shape.crlf { "\r\n" } else { "\n" };
        let old_lines: Vec<&str> = generated.text.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = edited.text.split_inclusive('\n').collect();
        let mut cursor = new_lines.iter();
        for (line, tag) in old_lines.iter().zip(&generated.tags) {
            if !may_touch(*tag, &request) {
                prop_assert!(cursor.any(|l| l == line), "line {:?} was changed:\n{}", line, edited.text);
            }
        }
        let kept = generated.tags.iter().filter(|t| !may_touch(**t, &request)).count();
        prop_assert!(new_lines.len() <= kept + 8, "{} new lines for {} kept", new_lines.len(), kept);
        prop_assert!(new_lines.iter().all(|l| l.ends_with(eol)), "line breaks kept:\n{:?}", edited.text);
        if shape.crlf {
            prop_assert!(!edited.text.replace("\r\n", "").contains('\n'), "no bare LF in a CRLF file");
        }
    }
}
