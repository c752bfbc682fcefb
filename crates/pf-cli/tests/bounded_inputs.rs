//! Issue 12, finding 11: the CLI hung on `--case /dev/zero` and ran any number of `--draws`. Inputs are now read
//! with a bound on their size (a clear error naming the limit), and `--draws` is capped (a usage error naming
//! the cap, before any file is read). Both exit with status 2, as every error of the program does.
//!
//! The program bounds its own reads; these tests only run it and check how it fails. So that a regression is
//! a failing test rather than a hung one, each run is a child process polled until it exits, at most
//! [`POLLS`] times, and killed if it has not.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// At most this many polls, 50 ms apart, before a run counts as hung (a bounded read of 256 MiB from
/// /dev/zero takes well under a second, even on a busy machine).
const POLLS: u32 = 1200;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run the program; (exit code, stdout, stderr). Panics (after killing it) if it has not exited after
/// [`POLLS`] polls.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Drain both pipes beside the polling so that a chatty child never blocks on a full pipe.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut status = None;
    for _ in 0..POLLS {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("pressure-forecast {args:?} did not exit: an unbounded read?");
    };
    (status.code(), out.join().unwrap(), err.join().unwrap())
}

#[test]
fn a_case_file_of_endless_zeros_fails_fast_naming_the_limit() {
    for cmd in ["forecast", "trajectory", "explain", "value"] {
        let (code, out, err) = run(&[cmd, "--case", "/dev/zero"]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(out.is_empty(), "{cmd}: {out}");
        assert!(
            err.contains("case file /dev/zero is larger than the limit of 256 MiB"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn a_model_or_signals_file_of_endless_zeros_fails_fast_naming_the_limit() {
    let case = "data/cases/north_korea.json";
    let (code, _, err) = run(&["forecast", "--case", case, "--model", "/dev/zero"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("model file /dev/zero is larger than the limit of 64 MiB"),
        "{err}"
    );
    let (code, _, err) = run(&["what-if", "--case", case, "--signals-file", "/dev/zero"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("signals file /dev/zero is larger than the limit of 64 MiB"),
        "{err}"
    );
}

#[test]
fn a_billion_draws_are_refused_naming_the_cap() {
    // The case is /dev/zero on purpose: the cap is checked while the arguments are parsed, before any input
    // is read, so the refusal is immediate whatever the case file.
    for case in ["data/cases/north_korea.json", "/dev/zero"] {
        let (code, out, err) = run(&["forecast", "--case", case, "--draws", "1000000000"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("--draws"), "{err}");
        assert!(
            err.contains("expected at most 1000000 draws, found 1000000000"),
            "{err}"
        );
    }
    let (code, _, err) = run(&[
        "forecast",
        "--case",
        "data/cases/north_korea.json",
        "--draws",
        "lots",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("expected a whole number of draws from 0 to 1000000"),
        "{err}"
    );
}

#[test]
fn draws_at_a_small_count_still_run() {
    let (code, out, err) = run(&[
        "forecast",
        "--case",
        "data/cases/north_korea.json",
        "--as-of",
        "2018-10-31",
        "--draws",
        "20",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["intervals"]["draws"], 20);
}
