//! Byte-exact tests of the spec editor: each request on block, flow, quoted, multi-document, CRLF and two-model files.

use modelgen_plugin::{EditError, EditRequest, Percent, edit_spec};
use similar::{DiffTag, TextDiff};

/// A percentage that is one.
fn pct(n: u64) -> Percent {
    Percent::new(n).expect("a percentage")
}

/// Applies `request` to `model` in `input` and checks the exact output, and
/// that the line diff deletes exactly the old lines `removed` (0-based) and
/// inserts exactly `added` lines.
fn check(
    input: &str,
    model: &str,
    request: &EditRequest,
    expected: &str,
    removed: &[usize],
    added: usize,
) -> modelgen_plugin::Edited {
    let edited = edit_spec(input, model, request).unwrap_or_else(|e| panic!("{request:?}: {e}"));
    assert_eq!(edited.text, expected, "{request:?}\n--- got:\n{}", edited.text);
    let diff = TextDiff::from_lines(input, &edited.text);
    let mut deleted = Vec::new();
    let mut inserted = 0;
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        if matches!(tag, DiffTag::Delete | DiffTag::Replace) {
            deleted.extend(old);
        }
        if matches!(tag, DiffTag::Insert | DiffTag::Replace) {
            inserted += new.len();
        }
    }
    assert_eq!(deleted, removed, "{request:?}: old lines changed");
    assert_eq!(inserted, added, "{request:?}: new lines");
    edited
}

const BLOCK: &str = "\
# The fraud model.
apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud # owned by risk
spec:
  backend: kserve
  model:
    format: sklearn
    version: \"v1\"   # pinned
    storageUri: 's3://models/fraud/v1'

  # The canary under test.
  canary:
    version: v2
    storageUri: s3://models/fraud/v2
    # Raised by hand.
    trafficPercent: 10
    # (still the canary)
  # Scaling follows.
  scaling:
    minReplicas: 1
";

#[test]
fn set_weight_changes_one_line_in_block_style() {
    let expected = BLOCK.replace("trafficPercent: 10", "trafficPercent: 25");
    let edited = check(BLOCK, "fraud", &EditRequest::SetCanaryWeight(pct(25)), &expected, &[17], 1);
    assert_eq!(edited.changes.len(), 1);
    assert_eq!(edited.changes[0].field, "spec.canary.trafficPercent");
    assert_eq!((edited.changes[0].old.as_deref(), edited.changes[0].new.as_deref()), (Some("10"), Some("25")));
    assert_eq!(
        edited.message,
        "Set the canary of `fraud` to 25%\n\n\
         - `spec.canary.trafficPercent`: `10` -> `25`\n\n\
         Modelgen-Model: fraud\n\
         Modelgen-Action: set-weight\n\
         Modelgen-From: v1 90%, v2 10%\n\
         Modelgen-To: v1 75%, v2 25%\n"
    );
}

#[test]
fn promote_moves_fields_keeps_quoting_and_removes_the_canary_lines() {
    let expected = "\
# The fraud model.
apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud # owned by risk
spec:
  backend: kserve
  model:
    format: sklearn
    version: \"v2\"   # pinned
    storageUri: 's3://models/fraud/v2'

  # The canary under test.
  # Scaling follows.
  scaling:
    minReplicas: 1
";
    let edited = check(BLOCK, "fraud", &EditRequest::Promote, expected, &[9, 10, 13, 14, 15, 16, 17, 18], 2);
    let fields: Vec<&str> = edited.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["spec.model.version", "spec.model.storageUri", "spec.canary"]);
    assert_eq!(
        edited.changes[2].old.as_deref(),
        Some("{version: v2, storageUri: s3://models/fraud/v2, trafficPercent: 10}")
    );
    assert!(
        edited.message.ends_with("Modelgen-Action: promote\nModelgen-From: v1 90%, v2 10%\nModelgen-To: v2 100%\n")
    );
}

#[test]
fn rollback_removes_the_canary_and_keep_sets_it_to_zero() {
    let expected = BLOCK.replace(
        "  canary:\n    version: v2\n    storageUri: s3://models/fraud/v2\n    # Raised by hand.\n    trafficPercent: 10\n    # (still the canary)\n",
        "",
    );
    let edited = check(BLOCK, "fraud", &EditRequest::Rollback { keep: false }, &expected, &[13, 14, 15, 16, 17, 18], 0);
    assert!(
        edited.message.contains("Modelgen-Action: rollback\nModelgen-From: v1 90%, v2 10%\nModelgen-To: v1 100%\n")
    );
    let expected = BLOCK.replace("trafficPercent: 10", "trafficPercent: 0");
    let edited = check(BLOCK, "fraud", &EditRequest::Rollback { keep: true }, &expected, &[17], 1);
    assert!(edited.message.contains("Modelgen-To: v1 100%, v2 0%\n"));
}

#[test]
fn bump_replaces_the_stable_model_and_quotes_what_would_change_type() {
    let request = EditRequest::Bump {
        version: "1.10".to_owned(),
        storage_uri: Some("s3://models/fraud/1.10".to_owned()),
        image: None,
        canary: None,
    };
    let expected = BLOCK
        .replace("version: \"v1\"", "version: \"1.10\"")
        .replace("'s3://models/fraud/v1'", "'s3://models/fraud/1.10'");
    let edited = check(BLOCK, "fraud", &request, &expected, &[9, 10], 2);
    assert!(edited.message.ends_with("Modelgen-To: 1.10 90%, v2 10%\nModelgen-Version: 1.10\n"), "{}", edited.message);

    // A plain version that would read as a number is double-quoted.
    let plain = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model:\n    version: v1\n    storageUri: s3://b/v1\n";
    let request = EditRequest::Bump { version: "1.10".to_owned(), storage_uri: None, image: None, canary: None };
    check(plain, "m", &request, &plain.replace("version: v1", "version: \"1.10\""), &[5], 1);
}

#[test]
fn bump_adds_an_image_the_model_did_not_have() {
    let plain = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model:\n    version: v1 # old\n  scaling: {minReplicas: 1}\n";
    let request = EditRequest::Bump {
        version: "v2".to_owned(),
        storage_uri: None,
        image: Some("registry.example/m@sha256:0123".to_owned()),
        canary: None,
    };
    let expected = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model:\n    version: v2 # old\n    image: registry.example/m@sha256:0123\n  scaling: {minReplicas: 1}\n";
    check(plain, "m", &request, expected, &[5], 2);
}

#[test]
fn bump_with_canary_inserts_a_block_at_the_models_indentation() {
    let input = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n    name: m\nspec:\n    model:\n        format: onnx\n        version: 'v1'\n        storageUri: \"s3://b/v1\"\n        # model notes\n    # scaling notes\n    scaling:\n        minReplicas: 1\n";
    let request = EditRequest::Bump {
        version: "v2".to_owned(),
        storage_uri: Some("s3://b/v2".to_owned()),
        image: None,
        canary: Some(pct(10)),
    };
    let expected = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n    name: m\nspec:\n    model:\n        format: onnx\n        version: 'v1'\n        storageUri: \"s3://b/v1\"\n        # model notes\n    canary:\n        version: 'v2'\n        storageUri: \"s3://b/v2\"\n        trafficPercent: 10\n    # scaling notes\n    scaling:\n        minReplicas: 1\n";
    let edited = check(input, "m", &request, expected, &[], 4);
    assert!(edited.message.starts_with("Start canary `v2` of `m` at 10%\n"));
    assert!(edited.message.ends_with(
        "Modelgen-Action: bump\nModelgen-From: v1 100%\nModelgen-To: v1 90%, v2 10%\nModelgen-Version: v2\n"
    ));
}

const FLOW: &str = "\
apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {name: fraud}
spec:
  model: {format: sklearn, version: v1, storageUri: \"s3://b/v1\"}
  canary: {version: v2, storageUri: \"s3://b/v2\", trafficPercent: 10}   # try
  scaling: {minReplicas: 1}
";

#[test]
fn flow_mappings_change_in_place() {
    let expected = FLOW.replace("trafficPercent: 10", "trafficPercent: 5");
    check(FLOW, "fraud", &EditRequest::SetCanaryWeight(pct(5)), &expected, &[5], 1);

    let expected = FLOW
        .replace(
            "model: {format: sklearn, version: v1, storageUri: \"s3://b/v1\"}",
            "model: {format: sklearn, version: v2, storageUri: \"s3://b/v2\"}",
        )
        .replace("  canary: {version: v2, storageUri: \"s3://b/v2\", trafficPercent: 10}   # try\n", "");
    check(FLOW, "fraud", &EditRequest::Promote, &expected, &[4, 5], 1);

    let expected = FLOW.replace("  canary: {version: v2, storageUri: \"s3://b/v2\", trafficPercent: 10}   # try\n", "");
    check(FLOW, "fraud", &EditRequest::Rollback { keep: false }, &expected, &[5], 0);
}

#[test]
fn flow_specs_insert_and_remove_entries_with_their_comma() {
    let input = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec: {model: {version: v1, storageUri: 's3://b/v1'}, scaling: {minReplicas: 1}}\n";
    let request = EditRequest::Bump {
        version: "v2".to_owned(),
        storage_uri: Some("s3://b/v2".to_owned()),
        image: None,
        canary: Some(pct(20)),
    };
    let with_canary = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec: {model: {version: v1, storageUri: 's3://b/v1'}, canary: {version: v2, storageUri: 's3://b/v2', trafficPercent: 20}, scaling: {minReplicas: 1}}\n";
    check(input, "m", &request, with_canary, &[3], 1);
    // Rolling back removes exactly the entry and one comma: the input again.
    check(with_canary, "m", &EditRequest::Rollback { keep: false }, input, &[3], 1);
    // The canary last in its mapping takes the comma before it.
    let last = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec: {model: {version: v1}, canary: {version: v2, trafficPercent: 1}}";
    let expected =
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec: {model: {version: v2}}";
    check(last, "m", &EditRequest::Promote, expected, &[3], 1);
}

#[test]
fn crlf_files_stay_crlf() {
    let input = BLOCK.replace('\n', "\r\n");
    let request = EditRequest::Bump { version: "v3".to_owned(), storage_uri: None, image: None, canary: None };
    let expected = input.replace("version: \"v1\"", "version: \"v3\"");
    check(&input, "fraud", &request, &expected, &[9], 1);
    let expected = input.replace(
        "  canary:\r\n    version: v2\r\n    storageUri: s3://models/fraud/v2\r\n    # Raised by hand.\r\n    trafficPercent: 10\r\n    # (still the canary)\r\n",
        "",
    );
    check(&input, "fraud", &EditRequest::Rollback { keep: false }, &expected, &[13, 14, 15, 16, 17, 18], 0);

    let no_canary = "apiVersion: modelgen.dev/v1alpha1\r\nkind: ModelDeployment\r\nmetadata:\r\n  name: m\r\nspec:\r\n  model:\r\n    version: v1\r\n";
    let request = EditRequest::Bump { version: "v2".to_owned(), storage_uri: None, image: None, canary: Some(pct(50)) };
    let expected = format!("{no_canary}  canary:\r\n    version: v2\r\n    trafficPercent: 50\r\n");
    check(no_canary, "m", &request, &expected, &[], 3);
}

#[test]
fn only_the_target_document_and_model_change() {
    let other = "---\n# another model, same shape\napiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: churn\nspec:\n  model:\n    version: v1\n    storageUri: s3://b/churn/v1\n  canary:\n    version: v2\n    trafficPercent: 10\n";
    let config = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: fraud}\ndata: {a: 'b'}\n";
    let input = format!("{BLOCK}{other}{config}");
    let expected = format!("{}{other}{config}", BLOCK.replace("trafficPercent: 10", "trafficPercent: 30"));
    check(&input, "fraud", &EditRequest::SetCanaryWeight(pct(30)), &expected, &[17], 1);
    let expected =
        format!("{BLOCK}{}{config}", other.replace("  canary:\n    version: v2\n    trafficPercent: 10\n", ""));
    check(&input, "churn", &EditRequest::Rollback { keep: false }, &expected, &[32, 33, 34], 0);
    // A file without a final line break keeps ending without one.
    let trimmed = format!("{BLOCK}{}", other.trim_end_matches('\n'));
    assert!(trimmed.ends_with("trafficPercent: 10"));
    let expected = trimmed.trim_end_matches("\n  canary:\n    version: v2\n    trafficPercent: 10").to_owned();
    // (the line before the canary loses its line break, so the diff counts it)
    check(&trimmed, "churn", &EditRequest::Rollback { keep: false }, &expected, &[31, 32, 33, 34], 1);
}

#[test]
fn refusals_name_the_problem_and_where() {
    let unknown = edit_spec(BLOCK, "nope", &EditRequest::Promote).expect_err("unknown");
    assert_eq!(unknown, EditError::UnknownModel { model: "nope".to_owned() });
    assert_eq!(unknown.to_string(), "no ModelDeployment named `nope` in this file");

    let twice = format!("{BLOCK}---\n{BLOCK}");
    let err = edit_spec(&twice, "fraud", &EditRequest::Promote).expect_err("duplicate");
    assert!(
        matches!(err, EditError::DuplicateModel { ref model, first, second } if model == "fraud" && first.line == 1 && second.line == 24),
        "{err:?}"
    );

    let no_canary = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model: {version: v1}\n";
    for request in [
        EditRequest::SetCanaryWeight(pct(5)),
        EditRequest::Promote,
        EditRequest::Rollback { keep: false },
        EditRequest::Rollback { keep: true },
    ] {
        let err = edit_spec(no_canary, "m", &request).expect_err("no canary");
        assert!(
            matches!(err, EditError::NoCanary { ref model, position } if model == "m" && position.line == 3 && position.column == 0),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "model `m` has no canary (`spec.canary`)");
    }

    let request = EditRequest::Bump { version: "v3".to_owned(), storage_uri: None, image: None, canary: Some(pct(5)) };
    let err = edit_spec(BLOCK, "fraud", &request).expect_err("canary exists");
    assert!(
        matches!(err, EditError::CanaryExists { ref version, position, .. } if version == "v2" && position.line == 13 && position.column == 2),
        "{err:?}"
    );

    let err = edit_spec("a: [1, 2}\n", "m", &EditRequest::Promote).expect_err("unparseable");
    assert!(matches!(err, EditError::Unparseable { position: Some(p), .. } if p.line == 0), "{err:?}");

    let err = edit_spec(
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model: v1\n",
        "m",
        &EditRequest::Promote,
    )
    .expect_err("malformed");
    assert!(
        matches!(err, EditError::Malformed { ref field, position, .. } if field == "spec.model" && position.line == 4),
        "{err:?}"
    );
}

#[test]
fn what_cannot_be_edited_in_place_is_refused() {
    let head = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\n";
    let cases: [(&str, EditRequest, &str, u32); 7] = [
        // A version shared with another node through an anchor.
        (
            "spec:\n  model:\n    version: &v v1\n  canary: {version: v2, trafficPercent: 1}\n",
            EditRequest::Promote,
            "spec.model.version",
            5,
        ),
        // A canary weight that is an alias.
        (
            "x: &w 10\nspec:\n  model: {version: v1}\n  canary:\n    version: v2\n    trafficPercent: *w\n",
            EditRequest::SetCanaryWeight(pct(20)),
            "spec.canary.trafficPercent",
            8,
        ),
        // A model that merges its fields from elsewhere.
        (
            "base: &b {version: v1}\nspec:\n  model:\n    <<: *b\n",
            EditRequest::Bump { version: "v2".to_owned(), storage_uri: None, image: None, canary: None },
            "spec.model",
            6,
        ),
        // A version written as a block scalar (the parser places it at its content).
        (
            "spec:\n  model:\n    version: |-\n      v1\n",
            EditRequest::Bump { version: "v2".to_owned(), storage_uri: None, image: None, canary: None },
            "spec.model.version",
            6,
        ),
        // A plain version folded over two lines.
        (
            "spec:\n  model:\n    version: v1\n      b\n",
            EditRequest::Bump { version: "v2".to_owned(), storage_uri: None, image: None, canary: None },
            "spec.model.version",
            5,
        ),
        // A comment between flow entries that removing the canary would take with it.
        (
            "spec: {\n  model: {version: v1},  # stable\n  canary: {version: v2, trafficPercent: 1}\n}\n",
            EditRequest::Rollback { keep: false },
            "spec.canary",
            5,
        ),
        // A canary holding an anchor others may use.
        (
            "spec:\n  model: {version: v1}\n  canary:\n    version: &cv v2\n    trafficPercent: 1\n",
            EditRequest::Rollback { keep: false },
            "spec.canary",
            6,
        ),
    ];
    for (body, request, field, line) in cases {
        let input = format!("{head}{body}");
        let err = edit_spec(&input, "m", &request).expect_err(body);
        assert!(
            matches!(err, EditError::Unfaithful { field: ref f, position, .. } if f == field && position.line == line),
            "{body}: {err:?}"
        );
        assert!(err.to_string().starts_with(&format!("field `{field}` cannot be edited in place: ")), "{err}");
    }
}

#[test]
fn credentials_are_withheld_from_changes_and_messages() {
    let input = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model:\n    version: v1\n    storageUri: https://u:hunter2@host/v1\n";
    let request = EditRequest::Bump {
        version: "v2".to_owned(),
        storage_uri: Some("https://u:hunter3@host/v2".to_owned()),
        image: None,
        canary: None,
    };
    let edited = edit_spec(input, "m", &request).expect("edits");
    assert!(edited.text.contains("hunter3"), "the file gets what was asked");
    let shown = format!("{:?}{}", edited.changes, edited.message);
    assert!(!shown.contains("hunter"), "{shown}");
    assert!(shown.contains("withheld"), "{shown}");
}

#[test]
fn promoting_an_image_canary_without_artifacts_drops_the_models_artifacts() {
    let input = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: cats}\nspec:\n  model:\n    version: v1\n    image: r.example/cats@sha256:aa\n    storageUri: s3://b/cats/v1 # weights\n    port: 8080\n  canary:\n      version: v2\n      image: r.example/cats@sha256:bb\n      trafficPercent: 50\n";
    // (the canary's fields sit deeper, so that the line diff cannot pair them with the new model lines)
    let expected = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: cats}\nspec:\n  model:\n    version: v2\n    image: r.example/cats@sha256:bb\n    port: 8080\n";
    let edited = check(input, "cats", &EditRequest::Promote, expected, &[5, 6, 7, 9, 10, 11, 12], 2);
    let fields: Vec<&str> = edited.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["spec.model.storageUri", "spec.model.version", "spec.model.image", "spec.canary"]);
    assert_eq!(edited.changes[0].new, None);

    // The removed storageUri was the model's last line: the image goes after the line that stays.
    let input = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: cats}\nspec:\n  model:\n    version: v1\n    storageUri: s3://b/cats/v1\n  canary:\n      version: v2\n      image: r.example/cats@sha256:bb\n      trafficPercent: 50\n";
    let expected = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: cats}\nspec:\n  model:\n    version: v2\n    image: r.example/cats@sha256:bb\n";
    check(input, "cats", &EditRequest::Promote, expected, &[5, 6, 7, 8, 9, 10], 2);
}

#[test]
fn lone_carriage_returns_are_refused() {
    let input = "apiVersion: modelgen.dev/v1alpha1\rkind: ModelDeployment\rmetadata: {name: m}\rspec:\r  model: {version: v1}\r  canary: {version: v2, trafficPercent: 1}\r";
    let err = edit_spec(input, "m", &EditRequest::Rollback { keep: false }).expect_err("lone CR");
    assert!(matches!(err, EditError::Unfaithful { ref field, .. } if field == "(file)"), "{err:?}");
    assert_eq!(err.field(), Some("(file)"));
    assert_eq!(err.position().map(|p| p.line), Some(0));
}

#[test]
fn multi_line_flow_mappings_lose_only_the_entry() {
    let input = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec: {\n  model: {version: v1},\n  canary: {version: v2, trafficPercent: 1},\n  scaling: {minReplicas: 1}\n}\n";
    let expected = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec: {\n  model: {version: v1},\n  scaling: {minReplicas: 1}\n}\n";
    check(input, "m", &EditRequest::Rollback { keep: false }, expected, &[5], 0);
}
