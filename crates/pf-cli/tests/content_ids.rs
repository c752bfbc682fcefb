//! Content-derived ids from the command line (issue 13, part 2): a case file whose signals carry no ids, with
//! every record repeated three times, forecasts exactly as the file with each record once.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn forecast(case: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(["forecast", "--as-of", "2018-10-31", "--json", "--case"])
        .arg(case)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn repeated_id_less_records_forecast_as_one() {
    let text = std::fs::read_to_string(root().join("data/cases/north_korea.json")).unwrap();
    let mut case: serde_json::Value = serde_json::from_str(&text).unwrap();
    let signals: Vec<serde_json::Value> = case["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().unwrap().remove("id");
            s
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    case["signals"] = serde_json::Value::Array(signals.clone());
    let once = dir.path().join("once.json");
    std::fs::write(&once, case.to_string()).unwrap();
    case["signals"] =
        serde_json::Value::Array(signals.iter().chain(&signals).chain(&signals).cloned().collect());
    let thrice = dir.path().join("thrice.json");
    std::fs::write(&thrice, case.to_string()).unwrap();

    let a = forecast(&once);
    assert_eq!(a, forecast(&thrice));
    // And as the original file with its own ids, up to rounding (ids only break ties in the signal order).
    let original = forecast(&root().join("data/cases/north_korea.json"));
    for (x, y) in a["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .zip(original["probabilities"].as_array().unwrap())
    {
        assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-12);
    }
}
