//! `cli::run`: JSON Lines output and appending into a case file.

mod common;

use clap::Parser;
use common::*;
use pf_events::cli::{IngestArgs, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    ingest: IngestArgs,
}

fn args(extra: &[&str]) -> IngestArgs {
    let mut v = vec!["ingest", "--format", "csv", "--sender", "USA", "--target", "PRK"];
    v.extend_from_slice(extra);
    Cli::try_parse_from(v).unwrap().ingest
}

#[test]
fn writes_jsonl_and_appends_to_case() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prk.jsonl");
    let input = data(ICEWS18_USA);
    let a = args(&[
        "--start",
        "2018-06-01",
        "--end",
        "2018-06-30",
        "--output",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    run(&a).unwrap();
    let signals =
        pf_core::signal::read_jsonl(std::io::BufReader::new(std::fs::File::open(&out).unwrap())).unwrap();
    assert!(
        signals
            .iter()
            .any(|s| s.id.as_deref() == Some("csv-2018-06-12-summit_held"))
    );
    assert!(
        signals
            .iter()
            .all(|s| s.reports.is_some() && !s.event_ids.is_empty())
    );

    let case_path = dir.path().join("case.json");
    let case_src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/cases/north_korea.json");
    std::fs::copy(&case_src, &case_path).unwrap();
    let before = pf_core::Case::load(&case_path, &pf_core::V1)
        .unwrap()
        .signals()
        .len();
    let a = args(&[
        "--start",
        "2018-06-01",
        "--end",
        "2018-06-30",
        "--case",
        case_path.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    run(&a).unwrap();
    let after = pf_core::Case::load(&case_path, &pf_core::V1).unwrap();
    assert_eq!(after.signals().len(), before + signals.len());
    // Appending the same signals again is idempotent (same ids, same content).
    run(&a).unwrap();
    assert_eq!(
        pf_core::Case::load(&case_path, &pf_core::V1)
            .unwrap()
            .signals()
            .len(),
        before + signals.len()
    );
}

#[test]
fn bad_arguments() {
    let err = Cli::try_parse_from([
        "ingest", "--format", "xml", "--sender", "USA", "--target", "PRK", "f",
    ])
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("expected one of icews, gdelt1, gdelt2, csv"),
        "{err}"
    );
    let a = args(&["--mapping", "/nonexistent/m.toml", "x.csv"]);
    let msg = format!("{:#}", run(&a).unwrap_err());
    assert!(msg.contains("/nonexistent/m.toml"), "{msg}");
    let a = args(&["--strict", data(ICEWS_RAW).to_str().unwrap()]);
    let msg = format!("{:#}", run(&a).unwrap_err());
    assert!(
        msg.contains("csv header") || msg.contains("bad event row"),
        "{msg}"
    );
}

#[test]
fn summary_lists_bad_lines() {
    let r = pf_events::IngestReport {
        signals: vec![],
        rows_read: 3,
        rows_matched: 0,
        bad_rows: vec![pf_events::BadRow {
            line: 2,
            reason: "expected 20 columns, found 3".into(),
        }],
    };
    let s = pf_events::cli::summary("f.tab", &r);
    assert!(s.starts_with("f.tab: 3 rows read, 0 matched, 1 bad; 0 signals\n"));
    assert!(s.contains("bad rows skipped at lines: 2\n") && s.contains("line 2: expected 20 columns"));
}
