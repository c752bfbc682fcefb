//! Every invalid model file and signal record gives an error that names the field and the expected form, and
//! leaves the case unchanged.

mod common;

use common::d;
use pf_core::{Case, Error, Model, Signal, V1};
use serde_json::json;

fn default_text() -> String {
    Model::v1_toml().to_owned()
}

/// (description, model text, field the error must name, words the message must contain)
fn bad_models() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let t = default_text();
    vec![
        (
            "format version",
            t.replace("format_version = 1", "format_version = 9"),
            "format_version",
            "expected 1",
        ),
        (
            "missing name",
            t.replacen("name = \"maximum_pressure\"\n", "", 1),
            "name",
            "missing field",
        ),
        (
            "unknown outcome of a regime",
            t.replacen("outcome = \"stalemate\"", "outcome = \"victory\"", 1),
            "regimes[0].outcome",
            "one of deal, stalemate, wait_out",
        ),
        (
            "prior not summing to 1",
            t.replace(
                "probabilities = [0.36, 0.51, 0.13, 0.0]",
                "probabilities = [0.36, 0.51, 0.23, 0.0]",
            ),
            "prior.probabilities",
            "summing to 1",
        ),
        (
            "negative prior",
            t.replace(
                "probabilities = [0.36, 0.51, 0.13, 0.0]",
                "probabilities = [0.5, 0.6, -0.1, 0.0]",
            ),
            "prior.probabilities[2]",
            "[0, 1]",
        ),
        (
            "NaN in a matrix",
            t.replace(
                "[0.9972, 0.0015, 0.0001, 0.0012]",
                "[nan, 0.0015, 0.0001, 0.0012]",
            ),
            "transitions[0].matrix[0][0]",
            "[0, 1]",
        ),
        (
            "row not summing to 1",
            t.replace(
                "[0.9972, 0.0015, 0.0001, 0.0012]",
                "[0.9872, 0.0015, 0.0001, 0.0012]",
            ),
            "transitions[0].matrix[0]",
            "summing to 1 within 1e-9",
        ),
        (
            "probability > 1",
            t.replace(
                "[0.9972, 0.0015, 0.0001, 0.0012]",
                "[1.5, -0.4985, 0.0001, 0.0012]",
            ),
            "transitions[0].matrix[0][0]",
            "[0, 1]",
        ),
        (
            "wrong row count",
            t.replace("    [0.0030, 0.9968, 0.0001, 0.0001],\n", ""),
            "transitions[0].matrix",
            "4 rows",
        ),
        (
            "gap between buckets",
            t.replace("min_days_left = 365", "min_days_left = 366"),
            "min_days_left",
            "contiguous",
        ),
        (
            "buckets not reaching day 1",
            t.replace("min_days_left = 0\n", "min_days_left = 5\n"),
            "min_days_left",
            "from 1 upwards",
        ),
        (
            "missing vocabulary type",
            t.replace("[emissions.summit_held]", "[emissions.summit_hold]"),
            "emissions.summit_held",
            "every signal type",
        ),
        (
            "emission of zero",
            t.replace(
                "q = [0.010, 0.001, 0.0005, 0.008]",
                "q = [0.0, 0.001, 0.0005, 0.008]",
            ),
            "emissions.summit_held.q[0]",
            "(0, 1]",
        ),
        (
            "emission above one",
            t.replace(
                "q = [0.010, 0.001, 0.0005, 0.008]",
                "q = [1.2, 0.001, 0.0005, 0.008]",
            ),
            "emissions.summit_held.q[0]",
            "(0, 1]",
        ),
        (
            "negative concentration",
            t.replace("concentration = 10.0", "concentration = -1.0"),
            "prior.concentration",
            "> 0",
        ),
        (
            "unknown field",
            t.replace("format_version = 1", "format_version = 1\ncolour = \"blue\""),
            "",
            "unknown field",
        ),
    ]
}

#[test]
fn every_bad_model_is_rejected_with_its_field_and_expected_form() {
    for (what, text, field, words) in bad_models() {
        let err = Model::from_toml_str(&text).expect_err(what);
        let msg = err.to_string();
        assert!(msg.contains(field), "{what}: {msg:?} should name {field:?}");
        assert!(msg.contains(words), "{what}: {msg:?} should say {words:?}");
        match (&err, field.is_empty()) {
            (Error::InvalidModel { field: f, .. }, false) => assert!(f.contains(field), "{what}: {f}"),
            (Error::Parse { .. }, _) => {}
            (other, _) => panic!("{what}: unexpected variant {other:?}"),
        }
    }
}

fn case() -> Case {
    let mut c = Case::new("c", "USA", "IRN", d("2018-05-08"), d("2021-01-20")).unwrap();
    c.append(
        [Signal::new("sender_withdraws_from_agreement", d("2018-05-08")).with_id("exit")],
        &V1,
    )
    .unwrap();
    c
}

/// (description, record, field the error must name, words the message must contain)
fn bad_signals() -> Vec<(&'static str, serde_json::Value, &'static str, &'static str)> {
    vec![
        (
            "missing type",
            json!({"id": "a", "date": "2018-06-01"}),
            "type",
            "missing",
        ),
        (
            "missing date",
            json!({"id": "a", "type": "talks_held"}),
            "date",
            "missing",
        ),
        (
            "unknown type",
            json!({"id": "a", "type": "talks_hold", "date": "2018-06-01"}),
            "talks_hold",
            "expected one of",
        ),
        (
            "malformed date",
            json!({"id": "a", "type": "talks_held", "date": "2018-13-01"}),
            "date",
            "YYYY-MM-DD",
        ),
        (
            "date not a string",
            json!({"id": "a", "type": "talks_held", "date": 20180601}),
            "date",
            "a string",
        ),
        (
            "date before start",
            json!({"id": "a", "type": "talks_held", "date": "2018-05-07"}),
            "date",
            "within the case's span",
        ),
        (
            "date after term end",
            json!({"id": "a", "type": "talks_held", "date": "2021-01-21"}),
            "date",
            "within the case's span",
        ),
        (
            "reliability > 1",
            json!({"id": "a", "type": "talks_held", "date": "2018-06-01", "reliability": 1.5}),
            "reliability",
            "[0, 1]",
        ),
        (
            "negative reliability",
            json!({"id": "a", "type": "talks_held", "date": "2018-06-01", "reliability": -0.1}),
            "reliability",
            "[0, 1]",
        ),
        (
            "NaN reliability",
            json!({"id": "a", "type": "talks_held", "date": "2018-06-01", "reliability": "NaN"}),
            "reliability",
            "[0, 1]",
        ),
        (
            "zero weight",
            json!({"id": "a", "type": "talks_held", "date": "2018-06-01", "weight": 0}),
            "weight",
            "> 0",
        ),
        (
            "negative weight",
            json!({"id": "a", "type": "talks_held", "date": "2018-06-01", "weight": -2}),
            "weight",
            "> 0",
        ),
        (
            "weight not a number",
            json!({"id": "a", "type": "talks_held", "date": "2018-06-01", "weight": "heavy"}),
            "weight",
            "> 0",
        ),
        (
            "duplicate id, other content",
            json!({"id": "exit", "type": "talks_held", "date": "2018-06-01"}),
            "exit",
            "different content",
        ),
        ("not an object", json!(["talks_held"]), "record", "JSON object"),
    ]
}

#[test]
fn every_bad_signal_is_rejected_and_the_case_is_unchanged() {
    for (what, record, field, words) in bad_signals() {
        let mut c = case();
        let before = c.clone();
        let good = Signal::new("talks_held", d("2018-07-01")).with_id("good");
        let err = Signal::from_json(&record)
            .and_then(|s| c.append([good, s], &V1))
            .expect_err(what);
        let msg = err.to_string();
        assert!(msg.contains(field), "{what}: {msg:?} should name {field:?}");
        assert!(msg.contains(words), "{what}: {msg:?} should say {words:?}");
        assert_eq!(c, before, "{what}: the case changed");
    }
}

#[test]
fn retrying_a_signal_with_the_same_id_and_content_is_idempotent() {
    let mut c = case();
    let s = Signal::new("talks_held", d("2018-07-01")).with_id("t1");
    assert_eq!(c.append([s.clone()], &V1).unwrap().added, 1);
    let r = c.append([s.clone(), s], &V1).unwrap();
    assert_eq!((r.added, r.unchanged), (0, 2));
    assert_eq!(c.signals().len(), 2);
}

#[test]
fn bad_case_headers_name_their_field() {
    let cases = [
        (
            json!({"sender": "USA", "target": "IRN", "start": "2018-05-08", "term_end": "2021-01-20"}),
            "id",
        ),
        (
            json!({"id": "x", "sender": "USA", "target": "IRN", "start": "2018-5-8x", "term_end": "2021-01-20"}),
            "start",
        ),
        (
            json!({"id": "x", "sender": "USA", "target": "IRN", "start": "2021-05-08", "term_end": "2021-01-20"}),
            "term_end",
        ),
        (
            json!({"id": "x", "sender": "", "target": "IRN", "start": "2018-05-08", "term_end": "2021-01-20"}),
            "sender",
        ),
        (
            json!({"id": "x", "sender": "USA", "target": "IRN", "start": "2018-05-08", "term_end": "2021-01-20", "signals": [{"type": "talks_held", "date": "2018-06-01", "weight": 0}]}),
            "signals[0].weight",
        ),
    ];
    for (v, field) in cases {
        let msg = Case::from_json(&v, &V1).expect_err(field).to_string();
        assert!(msg.contains(field), "{msg:?} should name {field:?}");
    }
}

#[test]
fn signal_files_report_line_numbers() {
    let jsonl = "{\"type\": \"talks_held\", \"date\": \"2018-06-01\"}\n\n{\"type\": \"talks_held\", \"date\": \"2018-06-31\"}\n";
    let msg = pf_core::signal::read_jsonl(jsonl.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("line 3") && msg.contains("date"), "{msg}");
    let csv = "id,type,date,reliability\na,talks_held,2018-06-01,0.5\nb,talks_held,2018-06-02,2\n";
    let msg = pf_core::signal::read_csv(csv.as_bytes()).unwrap_err().to_string();
    assert!(msg.contains("line 3") && msg.contains("reliability"), "{msg}");
    let ok = pf_core::signal::read_csv("type,date,source\ntalks_held,2018-06-01,\n".as_bytes()).unwrap();
    assert_eq!(ok[0].source, None);
    let msg = pf_core::signal::read_csv("kind,date\ntalks_held,2018-06-01\n".as_bytes())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("type"), "{msg}");
}

#[test]
fn unknown_types_against_a_model_list_the_valid_ones() {
    let m = Model::v1_model();
    let mut c = case();
    let err = c.append([Signal::new("coup", d("2018-06-01"))], &m).unwrap_err();
    assert!(matches!(err, Error::UnknownSignalType { .. }));
    assert!(err.to_string().contains("summit_held"));
}
