//! The readers on the real ICEWS and GDELT samples of `data/events/`: rows counted exactly, known events found
//! on their dates, every signal traceable to rows of the input.

mod common;

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use common::*;
use pf_core::Signal;
use pf_events::{Format, IngestOptions, IngestReport, Mapping, ingest, ingest_path};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn run(format: Format, file: &str, sender: &str, target: &str) -> IngestReport {
    let opts = IngestOptions::new(format, sender, target);
    ingest_path(&data(file), &Mapping::default_mapping(), &opts).unwrap()
}

fn find<'a>(r: &'a IngestReport, date: &str, ty: &str) -> Option<&'a Signal> {
    r.signals
        .iter()
        .find(|s| s.date == d(date) && s.signal_type == ty)
}

/// Rows of a CSV file as maps column -> value, keyed by line number (header = line 1).
fn csv_rows(file: &str) -> HashMap<u64, HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(data(file)).unwrap();
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let line = r.position().unwrap().line();
            (
                line,
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect(),
            )
        })
        .collect()
}

/// Checks shared by every report: ids deterministic and unique, counts consistent, reliability by formula.
fn check_consistency(r: &IngestReport, prefix: &str) {
    let m = Mapping::default_mapping();
    let mut ids = HashSet::new();
    let mut total = 0u64;
    for s in &r.signals {
        let id = s.id.as_deref().unwrap();
        assert_eq!(id, format!("{prefix}-{}-{}", s.date, s.signal_type));
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
        assert!(pf_core::vocab::describe_v1(&s.signal_type).is_some());
        assert_eq!(s.source.as_deref(), Some(prefix));
        let n = s.reports.unwrap();
        assert_eq!(n as usize, s.event_ids.len());
        assert!(s.reliability >= m.reliability(1) && s.reliability <= m.cap());
        assert!(s.note.as_deref().unwrap().starts_with("CAMEO codes "));
        s.validate().unwrap();
        total += u64::from(n);
    }
    assert_eq!(
        total, r.rows_matched,
        "every matched row is in exactly one signal"
    );
    let mut sorted = r.signals.clone();
    sorted.sort_by(|a, b| (a.date, &a.signal_type).cmp(&(b.date, &b.signal_type)));
    assert_eq!(sorted, r.signals, "signals in date, type order");
}

#[test]
fn icews_raw_sample_rows_and_white_house_visit() {
    let r = run(Format::Icews, ICEWS_RAW, "USA", "PRK");
    assert_eq!(r.rows_read, 3705);
    assert!(
        r.bad_rows.is_empty(),
        "{:?}",
        &r.bad_rows[..r.bad_rows.len().min(3)]
    );
    assert!(r.rows_matched > 0);
    check_consistency(&r, "icews");
    // Kim Yong-chol at the White House on 2018-06-01 (046 engage in negotiation, 042/043 visits).
    let talks = find(&r, "2018-06-01", "talks_held").expect("talks on 2018-06-01");
    assert!(talks.reports.unwrap() >= 2);

    // Traceability: every event id is an `Event ID` of the file whose row links USA and PRK on that date.
    let text = std::fs::read_to_string(data(ICEWS_RAW)).unwrap();
    let rows: HashMap<&str, Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0], f)
        })
        .collect();
    for s in &r.signals {
        for id in &s.event_ids {
            let f = rows
                .get(id.as_str())
                .unwrap_or_else(|| panic!("event id {id} not in the input"));
            assert_eq!(f[1], s.date.to_string());
            // USA with PRK, or a third country in a third-party rule (e.g. USA -> CHN 163, secondary sanctions).
            let pair = [f[4], f[10]];
            let case_pair = pair.contains(&"United States") && pair.contains(&"North Korea");
            let third = s.signal_type.starts_with("third_party")
                || s.signal_type == "sender_isolated_internationally"
                || (s.signal_type == "sanctions_tightened" && f[4] == "United States");
            assert!(case_pair || third, "{pair:?} for {}", s.describe());
            assert!(s.note.as_deref().unwrap().contains(f[6]), "code {} in note", f[6]);
        }
    }
    // The reliability counts distinct Story IDs, not rows.
    for s in &r.signals {
        let stories: HashSet<&str> = s.event_ids.iter().map(|id| rows[id.as_str()][11]).collect();
        assert_eq!(
            s.reliability,
            Mapping::default_mapping().reliability(stories.len()),
            "{}",
            s.describe()
        );
    }
}

#[test]
fn icews18_singapore_summit_and_iran_sanctions() {
    let prk = run(Format::Csv, ICEWS18_USA, "USA", "PRK");
    assert_eq!(prk.rows_read, 6994);
    assert!(prk.bad_rows.is_empty());
    check_consistency(&prk, "csv");
    let summit = find(&prk, "2018-06-12", "summit_held").expect("Singapore summit on 2018-06-12");
    assert!(summit.reports.unwrap() >= 4, "{summit:?}");
    assert!(summit.reliability >= 0.9);
    assert_eq!(summit.id.as_deref(), Some("csv-2018-06-12-summit_held"));

    let irn = run(Format::Csv, ICEWS18_USA, "USA", "IRN");
    assert_eq!(irn.rows_read, 6994);
    check_consistency(&irn, "csv");
    // 2018-05-08: the US leaves the nuclear deal and re-imposes sanctions (163 impose sanctions).
    let sanctions = find(&irn, "2018-05-08", "sanctions_tightened").expect("sanctions on Iran on 2018-05-08");
    assert!(sanctions.note.as_deref().unwrap().contains("163"));
    assert!(prk.signals.iter().all(|s| !s.event_ids.is_empty()));

    // Traceability: each `line:N` id is a row of the file, on the signal's date, between the two countries.
    let rows = csv_rows(ICEWS18_USA);
    for (r, target) in [(&prk, "PRK"), (&irn, "IRN")] {
        for s in &r.signals {
            for id in &s.event_ids {
                let line: u64 = id.strip_prefix("line:").unwrap().parse().unwrap();
                let row = &rows[&line];
                assert_eq!(row["event_date"], s.date.to_string());
                let pair = [
                    row["source_country_iso3"].as_str(),
                    row["target_country_iso3"].as_str(),
                ];
                assert!(
                    pair.contains(&"USA") && pair.contains(&target),
                    "line {line}: {pair:?}"
                );
                assert!(s.note.as_deref().unwrap().contains(&row["cameo_code"]));
            }
        }
    }
}

#[test]
fn icews18_third_parties() {
    let r = run(Format::Csv, ICEWS18_THIRD, "USA", "PRK");
    assert_eq!(r.rows_read, 5052);
    assert!(r.bad_rows.is_empty());
    check_consistency(&r, "csv");
    let circ: Vec<&Signal> = r
        .signals
        .iter()
        .filter(|s| s.signal_type == "third_party_circumvention")
        .collect();
    assert!(!circ.is_empty());
    let rows = csv_rows(ICEWS18_THIRD);
    for s in circ {
        for id in &s.event_ids {
            let row = &rows[&id.strip_prefix("line:").unwrap().parse::<u64>().unwrap()];
            assert_eq!(row["target_country_iso3"], "PRK");
            assert!(["CHN", "RUS", "KOR", "JPN"].contains(&row["source_country_iso3"].as_str()));
            assert!(
                row["cameo_code"].starts_with("06")
                    || row["cameo_code"].starts_with("07")
                    || ["0311", "0331"].contains(&row["cameo_code"].as_str())
            );
        }
    }
}

#[test]
fn date_limits() {
    let mut opts = IngestOptions::new(Format::Csv, "USA", "PRK");
    opts.start = Some(d("2018-06-01"));
    opts.end = Some(d("2018-06-30"));
    let r = ingest_path(&data(ICEWS18_USA), &Mapping::default_mapping(), &opts).unwrap();
    assert_eq!(r.rows_read, 6994);
    assert!(!r.signals.is_empty());
    assert!(
        r.signals
            .iter()
            .all(|s| s.date >= d("2018-06-01") && s.date <= d("2018-06-30"))
    );
    assert!(find(&r, "2018-06-12", "summit_held").is_some());
}

#[test]
fn gdelt1_sample() {
    let r = run(Format::Gdelt1, GDELT1, "IRN", "SAU");
    assert_eq!(r.rows_read, 50, "the header row is not counted");
    assert!(r.bad_rows.is_empty(), "{:?}", r.bad_rows);
    check_consistency(&r, "gdelt1");
    // IRN -> SAU 042 (twice) and SAU -> IRN 043 (twice) on 2017-02-10.
    assert_eq!(r.rows_matched, 4);
    let t = find(&r, "2017-02-10", "talks_held").unwrap();
    assert_eq!(t.reports, Some(4));
    let text = std::fs::read_to_string(data(GDELT1)).unwrap();
    let ids: HashSet<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert!(t.event_ids.iter().all(|id| ids.contains(id.as_str())));
}

#[test]
fn gdelt_raw_exports_without_header() {
    for (format, file, n) in [(Format::Gdelt1, GDELT1, 58), (Format::Gdelt2, GDELT2, 61)] {
        let text = std::fs::read_to_string(data(file)).unwrap();
        let body = text.split_once('\n').unwrap().1;
        assert!(body.lines().all(|l| l.split('\t').count() == n));
        let r = ingest(
            body.as_bytes(),
            &Mapping::default_mapping(),
            &IngestOptions::new(format, "SAU", "EGY"),
        )
        .unwrap();
        assert_eq!(r.rows_read, 50);
        assert!(r.bad_rows.is_empty());
    }
    // GDELT 1.0 before April 2013 has 57 columns (no SOURCEURL).
    let text = std::fs::read_to_string(data(GDELT1)).unwrap();
    let body: String = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once('\t').unwrap().0.to_owned() + "\n")
        .collect();
    let r = ingest(
        body.as_bytes(),
        &Mapping::default_mapping(),
        &IngestOptions::new(Format::Gdelt1, "IRN", "SAU"),
    )
    .unwrap();
    assert_eq!((r.rows_read, r.rows_matched, r.bad_rows.len()), (50, 4, 0));
    // Without SOURCEURL each event is its own story: 4 stories.
    assert_eq!(
        r.signals[0].reliability,
        Mapping::default_mapping().reliability(4)
    );
}

#[test]
fn gdelt2_sample() {
    let r = run(Format::Gdelt2, GDELT2, "SAU", "EGY");
    assert_eq!(r.rows_read, 50);
    assert!(r.bad_rows.is_empty(), "{:?}", r.bad_rows);
    check_consistency(&r, "gdelt2");
    // EGY -> SAU 043 and SAU -> EGY 042 on 2016-07-01.
    let t = find(&r, "2016-07-01", "talks_held").unwrap();
    assert_eq!(t.reports, Some(2));
    // A wrong reader on the same file: every row has the wrong column count, reported, none dropped silently.
    let wrong = run(Format::Gdelt1, GDELT2, "SAU", "EGY");
    assert_eq!(wrong.rows_read, 50);
    assert_eq!(wrong.bad_rows.len(), 50);
    assert!(
        wrong.bad_rows[0]
            .reason
            .contains("expected 57 or 58 columns, found 61")
    );
    assert_eq!(wrong.bad_rows[0].line, 2);
}

#[test]
fn deterministic() {
    let a = run(Format::Icews, ICEWS_RAW, "USA", "PRK");
    let b = run(Format::Icews, ICEWS_RAW, "USA", "PRK");
    assert_eq!(a, b);
}
