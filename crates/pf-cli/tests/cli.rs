//! The `pressure-forecast` program end to end: JSON shapes, tables, errors and exit codes.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = run(args);
    assert!(ok, "{args:?} failed: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn forecast_json_has_the_documented_shape() {
    let v = json(&[
        "forecast",
        "--case",
        "data/cases/north_korea.json",
        "--as-of",
        "2018-10-31",
        "--json",
    ]);
    assert_eq!(v["case"], "usa-prk-2017");
    assert_eq!(v["as_of"], "2018-10-31");
    assert_eq!(v["term_end"], "2021-01-20");
    // The engine's one serde form: values in the order of the name lists beside them.
    assert_eq!(
        v["outcomes"],
        serde_json::json!(["deal", "stalemate", "wait_out"])
    );
    let sum: f64 = v["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-12);
    assert_eq!(v["regimes"].as_array().unwrap().len(), 4);
    assert_eq!(v["regime_probabilities"].as_array().unwrap().len(), 4);
    assert!(v["log_likelihood"].as_f64().unwrap() < 0.0);
    let with_draws = json(&[
        "forecast",
        "--case",
        "data/cases/iran.json",
        "--as-of",
        "2018-10-31",
        "--draws",
        "50",
        "--json",
    ]);
    assert_eq!(with_draws["intervals"]["draws"], 50);
}

#[test]
fn tables_read_well() {
    let (ok, out, _) = run(&[
        "forecast",
        "--case",
        "data/cases/iran.json",
        "--as-of",
        "2018-10-31",
    ]);
    assert!(ok);
    assert!(out.contains("wait_out") && out.contains('%'), "{out}");
    let (ok, out, _) = run(&["trajectory", "--case", "data/cases/iran.json", "--signal-dates"]);
    assert!(ok && out.contains("sender_withdraws_from_agreement"), "{out}");
}

#[test]
fn every_analysis_command_answers() {
    let t = json(&[
        "trajectory",
        "--case",
        "data/cases/iran.json",
        "--json",
        "--to",
        "2018-12-31",
    ]);
    assert_eq!(t["points"].as_array().unwrap().len(), 238);
    let e = json(&[
        "explain",
        "--case",
        "data/cases/iran.json",
        "--as-of",
        "2018-10-31",
        "--drop-one",
        "--json",
    ]);
    assert!(!e["contributions"].as_array().unwrap().is_empty() && e["drop_one"].is_array());
    let w = json(&[
        "what-if",
        "--case",
        "data/cases/iran.json",
        "--as-of",
        "2018-10-31",
        "--signal",
        "talks_held@2018-12-01",
        "--json",
    ]);
    assert!(w["delta"][0].as_f64().unwrap() > 0.0);
    let v = json(&[
        "value",
        "--case",
        "data/cases/north_korea.json",
        "--as-of",
        "2018-10-31",
        "--json",
    ]);
    // The shipped v2 model ranks the evidence types (actions and context are inputs, not evidence).
    let evidence = v["values"].as_array().unwrap().len();
    assert!((5..19).contains(&evidence), "{evidence}");
    let v1 = json(&[
        "value",
        "--model",
        "models/maximum_pressure_v1.toml",
        "--case",
        "data/cases/north_korea.json",
        "--as-of",
        "2018-10-31",
        "--json",
    ]);
    assert_eq!(v1["values"].as_array().unwrap().len(), 19);
    // The v1 backtest's form (the v2 one is checked in pf-core's v2_learn tests).
    let b = json(&[
        "backtest",
        "--model",
        "models/maximum_pressure_v1.toml",
        "--episodes",
        "data/episodes/episodes.json",
        "--json",
    ]);
    for key in ["episodes", "scores", "baselines", "per_episode", "calibration"] {
        assert!(b.get(key).is_some(), "{key}");
    }
    for key in ["brier", "log_score", "ece"] {
        assert!(b["scores"][key].is_number(), "{key}");
    }
    for base in ["uniform", "base_rate", "prior"] {
        assert!(b["baselines"][base]["brier"].is_number(), "{base}");
    }
}

#[test]
fn fit_writes_a_model_file_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fitted.toml");
    let s = json(&[
        "fit",
        "--model",
        "models/maximum_pressure_v1.toml",
        "--episodes",
        "data/episodes/episodes.json",
        "--max-iterations",
        "5",
        "--output",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(s["iterations"], 5);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("[provenance]") && text.contains("usa-lby-2001"),
        "{text}"
    );
    let v = json(&[
        "forecast",
        "--case",
        "data/cases/iran.json",
        "--model",
        out.to_str().unwrap(),
        "--as-of",
        "2018-10-31",
        "--json",
    ]);
    assert!(v["probabilities"][0].is_number() && v["outcomes"][0] == "deal");
}

#[test]
fn bad_input_fails_with_a_message_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("case.json");
    std::fs::write(&bad, r#"{"id":"x","sender":"USA","target":"IRN","start":"2018-05-08","term_end":"2021-01-20","signals":[{"type":"talks_held","date":"2018-06-01","reliability":3}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(["forecast", "--case", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("reliability") && err.contains("[0, 1]"), "{err}");
    let (ok, _, err) = run(&[
        "forecast",
        "--case",
        "data/cases/iran.json",
        "--as-of",
        "2018-02-30",
    ]);
    assert!(!ok && err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn ingest_feeds_a_case_from_icews_events() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("prk.json");
    std::fs::write(
        &case,
        r#"{"id":"usa-prk-icews","sender":"USA","target":"PRK","start":"2017-01-20","term_end":"2021-01-20"}"#,
    )
    .unwrap();
    let file = "data/events/icews18_2018-01-01_to_10-31_usa_prk_irn.csv";
    for _ in 0..2 {
        let (ok, _, err) = run(&[
            "ingest",
            "--format",
            "csv",
            "--sender",
            "USA",
            "--target",
            "PRK",
            "--case",
            case.to_str().unwrap(),
            file,
        ]);
        assert!(ok, "{err}");
        assert!(err.contains("6994 rows read"), "{err}");
    }
    let c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&case).unwrap()).unwrap();
    let signals = c["signals"].as_array().unwrap();
    // Idempotent: the second run added nothing.
    let ids: std::collections::HashSet<_> = signals.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), signals.len());
    assert!(
        signals
            .iter()
            .any(|s| s["type"] == "summit_held" && s["date"] == "2018-06-12")
    );
    let v = json(&[
        "forecast",
        "--case",
        case.to_str().unwrap(),
        "--as-of",
        "2018-10-31",
        "--json",
    ]);
    assert!(v["signals_used"].as_u64().unwrap() > 100);
}

#[test]
fn backtest_leaves_out_signals_outside_an_episode_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let eps = dir.path().join("eps.json");
    std::fs::write(
        &eps,
        r#"[{"id":"e1","sender":"USA","target":"IRN","start":"2018-05-08","term_end":"2021-01-20","outcome":"wait_out",
            "confidence":"medium","signals":[{"id":"a","type":"talks_refused","date":"2018-07-30"},
                                             {"id":"before","type":"sanctions_tightened","date":"2017-01-01"}]},
           {"id":"e2","sender":"USA","target":"LBY","start":"2001-01-20","term_end":"2005-01-20","outcome":"deal",
            "signals":[{"id":"s","type":"agreement_signed","date":"2003-12-19"}]}]"#,
    )
    .unwrap();
    let (ok, out, err) = run(&["backtest", "--episodes", eps.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("episode e1: signal before (sanctions_tightened) dated 2017-01-01 is outside"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["episodes"], 2);
    // Anything else wrong still fails, naming the episode and field.
    std::fs::write(&eps, r#"[{"id":"e1","sender":"USA","target":"IRN","start":"2018-05-08","term_end":"2021-01-20","outcome":"wait_out","signals":[{"type":"talks_refused","date":"2018-07-30","reliability":2}]}]"#).unwrap();
    let (ok, _, err) = run(&["backtest", "--episodes", eps.to_str().unwrap()]);
    assert!(
        !ok && err.contains("episodes[0] (e1).signals[0].reliability"),
        "{err}"
    );
}

#[test]
fn the_case_shows_eligibility_and_election_date_and_exclusions_are_noted() {
    let (ok, out, err) = run(&[
        "forecast",
        "--case",
        "data/cases/iran.json",
        "--as-of",
        "2018-10-31",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(
            "leader eligible for re-election, election 2020-11-03 (default: 78 days before the term end)"
        ),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case.json");
    std::fs::write(
        &case,
        r#"{"format_version":2,"id":"c","sender":"USA","target":"IRN","start":"2018-05-08","term_end":"2021-01-20",
            "reelection_eligible":false,"election_date":"2020-11-03",
            "signals":[{"id":"f","type":"sender_leader_departing","date":"2020-11-07"}]}"#,
    )
    .unwrap();
    let (ok, out, err) = run(&["value", "--case", case.to_str().unwrap(), "--as-of", "2030-01-01"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("not eligible for re-election, election 2020-11-03\n"),
        "{out}"
    );
    // The one clamp rule: for the shipped v2 model's value of information, the last day a report still counts
    // (two days before the term end).
    assert!(out.contains("as of 2021-01-18"), "{out}");
    let eps = dir.path().join("eps.json");
    std::fs::write(
        &eps,
        r#"[{"id":"e1","sender":"USA","target":"IRN","start":"2018-05-08","term_end":"2021-01-20","outcome":"wait_out",
             "exclude_from_training":true,"signals":[]},
            {"id":"e2","sender":"USA","target":"LBY","start":"2001-01-20","term_end":"2005-01-20","outcome":"deal",
             "signals":[{"id":"s","type":"agreement_signed","date":"2003-12-19"}]}]"#,
    )
    .unwrap();
    let v1 = "models/maximum_pressure_v1.toml";
    let (ok, out, err) = run(&[
        "backtest",
        "--model",
        v1,
        "--episodes",
        eps.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("1 episode(s) marked exclude_from_training left out of the backtest: e1"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["episodes"], 1);
    assert_eq!(v["excluded"], serde_json::json!(["e1"]));
}

#[test]
fn dates_are_parsed_strictly_everywhere() {
    for bad in ["2018-1-1", "2018-01-01 ", "3018-01-01"] {
        let (ok, _, err) = run(&["forecast", "--case", "data/cases/iran.json", "--as-of", bad]);
        assert!(!ok && err.contains("YYYY-MM-DD"), "{bad:?}: {err}");
    }
}
