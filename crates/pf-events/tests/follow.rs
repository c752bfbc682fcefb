//! Following a feed (issue 13, part 7): files dropped into a temporary directory are ingested once, a restart
//! with the checkpoint ingests nothing new, a new file is picked up, a file repeating events adds nothing.
//! The tests look at states (checkpoint, case files), never at times.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::*;
use pf_core::{Case, V2};
use pf_events::follow::{Checkpoint, FollowConfig, Follower, event_signal_id};
use pf_events::{Format, Mapping};

/// A GDELT 2.0 row: the first data row of the shipped sample with its id, date, countries, code and URL
/// replaced (columns 0, 1, 7, 17, 26 and 60 of the 61).
fn row(id: u64, date: &str, from: &str, to: &str, code: &str, url: &str) -> String {
    let text = std::fs::read_to_string(data(GDELT2)).unwrap();
    let template = text.lines().nth(1).unwrap();
    let mut f: Vec<String> = template.split('\t').map(str::to_owned).collect();
    assert_eq!(f.len(), 61);
    f[0] = id.to_string();
    f[1] = date.into();
    f[7] = from.into();
    f[17] = to.into();
    f[26] = code.into();
    f[60] = url.into();
    f.join("\t")
}

fn summit(id: u64, url: &str) -> String {
    row(id, "20180612", "USA", "PRK", "044", url)
}

fn sanctions(id: u64) -> String {
    row(
        id,
        "20180801",
        "USA",
        "PRK",
        "163",
        &format!("http://example.org/s{id}"),
    )
}

/// Drop a file the way a downloader should: write under a hidden name, then rename into place.
fn drop_file(dir: &Path, name: &str, rows: &[String]) {
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::write(&tmp, rows.join("\n") + "\n").unwrap();
    std::fs::rename(tmp, dir.join(name)).unwrap();
}

struct Setup {
    _tmp: tempfile::TempDir,
    feed: PathBuf,
    case: PathBuf,
    checkpoint: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    let case = tmp.path().join("prk.json");
    std::fs::write(
        &case,
        r#"{"id": "usa-prk", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20", "signals": []}"#,
    )
    .unwrap();
    let checkpoint = tmp.path().join("follow.json");
    Setup {
        _tmp: tmp,
        feed,
        case,
        checkpoint,
    }
}

fn follower(s: &Setup, cases: Vec<PathBuf>) -> Follower {
    Follower::new(FollowConfig {
        dir: s.feed.clone(),
        format: Format::Gdelt2,
        mapping: Mapping::default_mapping(),
        cases,
        checkpoint: s.checkpoint.clone(),
        strict: false,
        suffix: None,
    })
    .unwrap()
}

fn load(p: &Path) -> Case {
    Case::load(p, &V2).unwrap()
}

fn done(s: &Setup) -> Vec<String> {
    Checkpoint::load(&s.checkpoint)
        .unwrap()
        .files
        .into_keys()
        .collect()
}

#[test]
fn each_file_once_restart_new_file_and_repeats() {
    let s = setup();
    drop_file(
        &s.feed,
        "20180612.export.CSV",
        &[summit(1, "http://a"), summit(2, "http://b")],
    );
    drop_file(
        &s.feed,
        "20180801.export.CSV",
        &[sanctions(3), row(9, "20180801", "FRA", "DEU", "044", "x")],
    );

    let mut f = follower(&s, vec![s.case.clone()]);
    let out: Vec<_> = f.poll(false).unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(out.len(), 2);
    assert_eq!(
        (
            out[0].rows_read,
            out[0].cases[0].rows_matched,
            out[0].cases[0].added
        ),
        (2, 2, 1)
    );
    assert_eq!(
        (
            out[1].rows_read,
            out[1].cases[0].rows_matched,
            out[1].cases[0].added
        ),
        (2, 1, 1)
    );
    assert!(
        out[0].log_line().contains("1 signals added"),
        "{}",
        out[0].log_line()
    );
    assert_eq!(done(&s), ["20180612.export.CSV", "20180801.export.CSV"]);
    let cp = Checkpoint::load(&s.checkpoint).unwrap();
    let first = &cp.files["20180612.export.CSV"];
    assert_eq!(
        first.size,
        std::fs::metadata(s.feed.join("20180612.export.CSV"))
            .unwrap()
            .len()
    );
    assert_eq!(first.sha256.len(), 64);
    let after_first = load(&s.case);
    assert_eq!(after_first.signals().len(), 2);
    let summit_signal = &after_first.signals()[0];
    assert_eq!(
        summit_signal.id.as_deref(),
        Some(
            event_signal_id(
                Format::Gdelt2,
                "summit_held",
                summit_signal.date,
                &["2".into(), "1".into()]
            )
            .as_str()
        )
    );
    assert_eq!(summit_signal.reliability, 0.75); // two stories

    // The same follower again, and a restart with the checkpoint: nothing new.
    assert!(f.poll(false).unwrap().is_empty());
    let mut restarted = follower(&s, vec![s.case.clone()]);
    assert!(restarted.poll(false).unwrap().is_empty());
    assert_eq!(load(&s.case), after_first);

    // A new file with more reports of a day already recorded: one new signal, with its own id.
    drop_file(
        &s.feed,
        "20180613.export.CSV",
        &[summit(4, "http://c"), summit(1, "http://a")],
    );
    let out: Vec<_> = restarted
        .poll(false)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (
            out[0].cases[0].rows_matched,
            out[0].cases[0].already_counted,
            out[0].cases[0].added
        ),
        (1, 1, 1)
    );
    let c = load(&s.case);
    let summits: Vec<_> = c
        .signals()
        .iter()
        .filter(|x| x.signal_type == "summit_held")
        .collect();
    assert_eq!(summits.len(), 2);
    assert_eq!(
        summits.iter().map(|x| x.id.clone()).collect::<HashSet<_>>().len(),
        2
    );
    // Every event counts once in the case.
    let events: Vec<&String> = c.signals().iter().flat_map(|x| &x.event_ids).collect();
    assert_eq!(events.len(), events.iter().collect::<HashSet<_>>().len());
    assert_eq!(events.len(), 4);

    // A file that only repeats counted events adds nothing, and is recorded as done.
    drop_file(
        &s.feed,
        "20180614.export.CSV",
        &[summit(2, "http://b"), sanctions(3), summit(4, "http://c")],
    );
    let out: Vec<_> = restarted
        .poll(false)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!((out[0].cases[0].already_counted, out[0].cases[0].added), (3, 0));
    assert_eq!(load(&s.case), c);
    assert_eq!(done(&s).len(), 4);
}

#[test]
fn a_crash_between_append_and_checkpoint_re_ingests_idempotently() {
    let s = setup();
    drop_file(&s.feed, "a.CSV", &[summit(1, "http://a"), sanctions(3)]);
    follower(&s, vec![s.case.clone()]).poll(false).unwrap();
    let after = load(&s.case);
    assert_eq!(after.signals().len(), 2);
    // As if the process died after writing the case but before the checkpoint.
    std::fs::remove_file(&s.checkpoint).unwrap();
    let out = follower(&s, vec![s.case.clone()]).poll(false).unwrap();
    let o = out.into_iter().next().unwrap().unwrap();
    assert_eq!((o.cases[0].already_counted, o.cases[0].added), (2, 0));
    assert_eq!(load(&s.case), after);
    assert_eq!(done(&s), ["a.CSV"]);
}

#[test]
fn one_file_is_all_or_none_across_cases() {
    let s = setup();
    let broken = s.feed.parent().unwrap().join("broken.json");
    std::fs::write(&broken, "{ not a case").unwrap();
    drop_file(&s.feed, "a.CSV", &[summit(1, "http://a")]);
    let before = std::fs::read(&s.case).unwrap();
    let mut f = follower(&s, vec![s.case.clone(), broken.clone()]);
    let out = f.poll(false).unwrap();
    assert!(out[0].is_err());
    assert_eq!(std::fs::read(&s.case).unwrap(), before);
    assert!(done(&s).is_empty());
    // Not retried while unchanged; taken once the case is fixed and the file touched again... or by a restart.
    assert!(f.poll(false).unwrap().is_empty());
    std::fs::remove_file(&broken).unwrap();
    let mut g = follower(&s, vec![s.case.clone()]);
    assert_eq!(g.poll(false).unwrap().len(), 1);
    assert_eq!(done(&s), ["a.CSV"]);
}

#[test]
fn a_file_being_written_waits_for_a_stable_size_and_hidden_files_are_ignored() {
    let s = setup();
    std::fs::write(s.feed.join(".partial.tmp"), summit(1, "http://a")).unwrap();
    std::fs::write(s.feed.join("b.CSV"), summit(1, "http://a") + "\n").unwrap();
    let mut f = follower(&s, vec![s.case.clone()]);
    // First look: size not yet seen twice.
    assert!(f.poll(true).unwrap().is_empty());
    // Second look, same size: taken.
    assert_eq!(f.poll(true).unwrap().len(), 1);
    assert_eq!(done(&s), ["b.CSV"]);
}
