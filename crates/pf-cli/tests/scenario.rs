//! `scenario`, `compare`, `model --types` and the v2 backtest's baselines, end to end, checked against the
//! engine's own numbers (`pf_core::v2`).

use std::path::PathBuf;
use std::process::Command;

use chrono::NaiveDate;
use pf_core::v2::{self, Fate, Scenario};
use pf_core::{Case, Model, Signal};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> (bool, String, String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (ok, out, err, _) = run(args);
    assert!(ok, "{args:?} failed: {err}");
    serde_json::from_str(&out).unwrap()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const CASE: &str = "data/cases/north_korea.json";

fn north_korea() -> Case {
    let text = std::fs::read_to_string(root().join(CASE)).unwrap();
    Case::from_json(&serde_json::from_str(&text).unwrap(), &Model::default_model()).unwrap()
}

fn model() -> v2::ModelV2 {
    Model::default_model().as_v2().unwrap().clone()
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12, "{a:?} vs {b:?}");
    }
}

/// The scenario the flags of [`scenario_flags`] give.
fn the_scenario() -> Scenario {
    Scenario {
        signals: vec![Signal::new("sanctions_relief", d("2019-03-01"))],
        monthly: vec!["sanctions_tightened".into()],
        policy_continues: true,
        fate: Some(Fate::Leaves),
        term_end: Some(d("2020-12-31")),
        reelection_eligible: None,
        name: String::new(),
    }
}

const SCENARIO_FLAGS: [&str; 9] = [
    "--action",
    "sanctions_relief@2019-03-01",
    "--monthly",
    "sanctions_tightened",
    "--policy-continues",
    "--fate",
    "leaves",
    "--term-end",
    "2020-12-31",
];

#[test]
fn scenario_equals_the_engine() {
    let mut args = vec!["scenario", "--case", CASE, "--as-of", "2018-10-31", "--json"];
    args.extend(SCENARIO_FLAGS);
    let v = json(&args);
    let (m, case) = (model(), north_korea());
    let sc = the_scenario();
    let want = v2::scenario_forecast(&m, &case, d("2018-10-31"), &sc).unwrap();
    let base = v2::forecast(&m, &case, d("2018-10-31")).unwrap();
    assert_close(&numbers(&v["forecast"]["probabilities"]), &want.probabilities);
    assert_close(&numbers(&v["baseline"]["probabilities"]), &base.probabilities);
    let delta: Vec<f64> = want
        .probabilities
        .iter()
        .zip(&base.probabilities)
        .map(|(a, b)| a - b)
        .collect();
    assert_close(&numbers(&v["delta"]), &delta);
    assert_eq!(v["forecast"]["term_end"], "2020-12-31");
    assert_eq!(v["forecast"]["model"]["hash"], m.hash());
    let stays = v2::analysis::scenario_state(&m, &case, d("2018-10-31"), &sc)
        .unwrap()
        .leader_stays;
    assert!((v["leader_stays"]["scenario"].as_f64().unwrap() - stays).abs() <= 1e-12);
    assert_eq!(v["scenario"]["fate"], "leaves");
    assert_eq!(v["scenario"]["monthly"][0], "sanctions_tightened");

    // The same scenario from a TOML file (bare dates) and from a JSON file.
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("sc.toml");
    std::fs::write(
        &toml,
        "monthly = [\"sanctions_tightened\"]\npolicy_continues = true\nfate = \"leaves\"\nterm_end = 2020-12-31\n\
         [[signals]]\ntype = \"sanctions_relief\"\ndate = 2019-03-01\n",
    )
    .unwrap();
    let js = dir.path().join("sc.json");
    std::fs::write(
        &js,
        r#"{"monthly": ["sanctions_tightened"], "policy_continues": true, "fate": "leaves",
            "term_end": "2020-12-31", "signals": [{"type": "sanctions_relief", "date": "2019-03-01"}]}"#,
    )
    .unwrap();
    for f in [&toml, &js] {
        let v = json(&[
            "scenario",
            "--case",
            CASE,
            "--as-of",
            "2018-10-31",
            "--scenario",
            f.to_str().unwrap(),
            "--json",
        ]);
        assert_close(&numbers(&v["forecast"]["probabilities"]), &want.probabilities);
    }

    // The table names the scenario and the leader's fate.
    let mut args = vec!["scenario", "--case", CASE, "--as-of", "2018-10-31"];
    args.extend(SCENARIO_FLAGS);
    let (ok, out, err, _) = run(&args);
    assert!(ok, "{err}");
    for want in [
        "no new actions",
        "scenario",
        "future sanctions_relief on 2019-03-01",
        "monthly sanctions_tightened",
        "policy continues",
        "leader leaves",
        "(leader stays)",
        "term end 2021-01-20 -> 2020-12-31",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
}

#[test]
fn compare_gives_both_policies_and_their_difference() {
    let v = json(&[
        "compare",
        "--case",
        CASE,
        "--as-of",
        "2018-10-31",
        "--a",
        "action=sanctions_relief@2019-03-01",
        "--b",
        "monthly=sanctions_tightened,fate=leaves",
        "--json",
    ]);
    let (m, case) = (model(), north_korea());
    let a = Scenario {
        signals: vec![Signal::new("sanctions_relief", d("2019-03-01"))],
        ..Scenario::default()
    };
    let b = Scenario {
        monthly: vec!["sanctions_tightened".into()],
        fate: Some(Fate::Leaves),
        ..Scenario::default()
    };
    let want = v2::compare(&m, &case, d("2018-10-31"), &a, &b).unwrap();
    let (pa, pb) = (
        numbers(&v["a"]["probabilities"]),
        numbers(&v["b"]["probabilities"]),
    );
    assert_close(&pa, &want.a.probabilities);
    assert_close(&pb, &want.b.probabilities);
    let diff: Vec<f64> = pb.iter().zip(&pa).map(|(x, y)| x - y).collect();
    assert_close(&numbers(&v["difference"]), &diff);
    assert_eq!(
        v["outcomes"],
        serde_json::json!(["deal", "stalemate", "wait_out"])
    );
    let (ok, out, err, _) = run(&[
        "compare",
        "--case",
        CASE,
        "--as-of",
        "2018-10-31",
        "--b",
        "monthly=sanctions_tightened",
    ]);
    assert!(ok, "{err}");
    for want in ["a: no new actions", "b: monthly sanctions_tightened", "b - a"] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
}

/// The essay's claim (a) through the CLI: monthly sanctions from now raise P(deal) above no new actions.
#[test]
fn monthly_sanctions_raise_the_chance_of_a_deal() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(
        &empty,
        r#"{"id": "synthetic", "sender": "USA", "target": "PRK", "start": "2017-01-20",
            "term_end": "2021-01-20", "signals": []}"#,
    )
    .unwrap();
    for (case, as_of) in [(empty.to_str().unwrap(), "2017-02-20"), (CASE, "2018-10-31")] {
        let v = json(&[
            "compare",
            "--case",
            case,
            "--as-of",
            as_of,
            "--a",
            "none",
            "--b",
            "monthly=sanctions_tightened",
            "--json",
        ]);
        let diff = numbers(&v["difference"]);
        assert!(diff[0] > 0.0, "{case} at {as_of}: {diff:?}");
    }
}

#[test]
fn invalid_scenarios_fail_with_a_message_and_leave_the_case_file_alone() {
    let before = std::fs::read(root().join(CASE)).unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--action", "talks_held@2019-03-01"], "evidence role"),
        (&["--action", "agreement_signed@2019-03-01"], "deal role"),
        (
            &[
                "--action",
                "sanctions_relief@2019-09-01",
                "--term-end",
                "2019-06-01",
            ],
            "not before the term end 2019-06-01",
        ),
        (
            &["--action", "sanctions_relief@2021-01-20"],
            "not before the term end",
        ),
        (&["--fate", "maybe"], "maybe"),
        (&["--monthly", "talks_held"], "monthly"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["scenario", "--case", CASE, "--as-of", "2018-10-31"];
        args.extend(flags);
        let (ok, _, err, code) = run(&args);
        assert!(!ok, "{flags:?} was accepted");
        assert_eq!(code, Some(2), "{flags:?}: {err}");
        assert!(err.contains(message), "{message:?} not in {err}");
    }
    let (ok, _, err, _) = run(&["compare", "--case", CASE, "--b", "fate=maybe"]);
    assert!(!ok && err.contains("--b"), "{err}");
    let (ok, _, err, _) = run(&[
        "scenario",
        "--model",
        "models/maximum_pressure_v1.toml",
        "--case",
        CASE,
        "--monthly",
        "sanctions_tightened",
    ]);
    assert!(!ok && err.contains("needs a v2 model"), "{err}");
    assert_eq!(std::fs::read(root().join(CASE)).unwrap(), before);
}

#[test]
fn model_types_show_each_role() {
    let v = json(&["model", "--types", "--json"]);
    let m = model();
    let types = v["types"].as_array().unwrap();
    assert_eq!(types.len(), m.signal_types().len());
    for t in types {
        let name = t["name"].as_str().unwrap();
        let role = m.role(name).unwrap();
        assert_eq!(t["role"], serde_json::to_value(role).unwrap(), "{name}");
    }
    let (ok, out, _, _) = run(&["model", "--types"]);
    assert!(ok);
    for want in [
        "sanctions_tightened              action",
        "third_party_circumvention        context",
        "talks_held                       evidence",
        "agreement_signed                 deal",
        "sender_leader_reelected          fate (stays)",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    let v1 = json(&[
        "model",
        "--model",
        "models/maximum_pressure_v1.toml",
        "--types",
        "--json",
    ]);
    assert_eq!(v1["format_version"], 1);
    assert!(
        v1["types"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["role"] == "evidence")
    );
}

/// The v2 backtest shows the model beside the five baselines, in the table and in the JSON.
#[test]
fn backtest_shows_the_five_baselines() {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(root().join("data/episodes/episodes.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let eps = dir.path().join("few.json");
    std::fs::write(&eps, serde_json::to_string(&all[..3]).unwrap()).unwrap();
    let names = [
        "model",
        "uniform",
        "base_rate",
        "prior_only",
        "codebook_base_rate",
        "constant_deal_hazard",
    ];
    let v = json(&["backtest", "--episodes", eps.to_str().unwrap(), "--json"]);
    let scores = v["scores"].as_array().unwrap();
    let got: Vec<&str> = scores.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(got, names);
    for s in scores {
        for k in ["brier", "log_score", "ece"] {
            assert!(s[k].is_number(), "{s}");
        }
    }
    // The uniform baseline's Brier is 2/3 whatever happened.
    assert!((scores[1]["brier"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    let (ok, out, err, _) = run(&["backtest", "--episodes", eps.to_str().unwrap()]);
    assert!(ok, "{err}");
    for n in names {
        assert!(out.lines().any(|l| l.starts_with(n)), "{n} not in\n{out}");
    }
}
