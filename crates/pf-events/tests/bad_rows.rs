//! Bad rows are reported with their line numbers and skipped, or rejected in strict mode; mapping files with
//! unknown codes, roles or signal types are rejected with a message naming the rule.

use pf_events::{Error, Format, IngestOptions, Mapping, ingest};

fn opts(format: Format, strict: bool) -> IngestOptions {
    IngestOptions {
        strict,
        ..IngestOptions::new(format, "USA", "PRK")
    }
}

fn icews_row(date: &str, src: &str, code: &str, tgt: &str, story: &str) -> String {
    format!(
        "1\t{date}\tDonald Trump\tGovernment\t{src}\tText\t{code}\t1\tKim Jong-Un\tGovernment\t{tgt}\t{story}\t1\tPub\tCity\tNA\tProv\tCountry\t1.0\t2.0\n"
    )
}

const ICEWS_HEADER: &str = "Event ID\tEvent Date\tSource Name\tSource Sectors\tSource Country\tEvent Text\tCAMEO Code\tIntensity\tTarget Name\tTarget Sectors\tTarget Country\tStory ID\tSentence Number\tPublisher\tCity\tDistrict\tProvince\tCountry\tLatitude\tLongitude\n";

#[test]
fn csv_bad_rows_reported_with_lines() {
    let mut input = b"date,source_country,target_country,cameo_code,goldstein,event_id,story_id\n".to_vec();
    input.extend_from_slice(b"2018-06-12,USA,PRK,044,1,e1,s1\n"); // line 2: good
    input.extend_from_slice(b"2018-06-12,USA,PRK\n"); // line 3: too few columns
    input.extend_from_slice(b"2018-13-45,USA,PRK,044,1,e3,s3\n"); // line 4: bad date
    input.extend_from_slice(b"2018-06-12,USA,PRK,999,1,e4,s4\n"); // line 5: unknown code
    input.extend_from_slice(b"2018-06-12,USA,PRK,044,1,e5,s\xff\xfe\n"); // line 6: not UTF-8
    input.extend_from_slice(b"2018-06-12,USA,PRK,044,lots,e6,s6\n"); // line 7: bad Goldstein
    input.extend_from_slice(b"\"2018-06-12\",\"USA\",\"PRK\",\"044\",,e7,s1\n"); // line 8: good, quoted
    let r = ingest(
        input.as_slice(),
        &Mapping::default_mapping(),
        &opts(Format::Csv, false),
    )
    .unwrap();
    assert_eq!(r.rows_read, 7);
    assert_eq!(r.rows_matched, 2);
    let lines: Vec<u64> = r.bad_rows.iter().map(|b| b.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7]);
    let reasons: Vec<&str> = r.bad_rows.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].contains("columns"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("expected a date") && reasons[1].contains("2018-13-45"),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("CAMEO") && reasons[2].contains("999"),
        "{}",
        reasons[2]
    );
    assert!(reasons[3].contains("UTF-8"), "{}", reasons[3]);
    assert!(reasons[4].contains("Goldstein"), "{}", reasons[4]);
    assert_eq!(r.signals.len(), 1);
    let s = &r.signals[0];
    assert_eq!(s.event_ids[..], ["e1", "e7"]);
    assert_eq!(s.reports, Some(2));
    // Both rows have story s1: one independent story.
    assert_eq!(s.reliability, 0.5);

    let err = ingest(
        input.as_slice(),
        &Mapping::default_mapping(),
        &opts(Format::Csv, true),
    )
    .unwrap_err();
    match &err {
        Error::BadRow { line, reason } => {
            assert_eq!(*line, 3);
            assert!(reason.contains("columns"));
        }
        other => panic!("expected a bad row error, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("bad event row at line 3: expected"),
        "{err}"
    );
}

#[test]
fn icews_bad_rows_reported_with_lines() {
    let mut input = ICEWS_HEADER.as_bytes().to_vec();
    input.extend_from_slice(icews_row("2018-06-12", "United States", "044", "North Korea", "1").as_bytes()); // 2
    input.extend_from_slice(b"1\t2018-06-12\tonly\tfour columns\n"); // 3
    input.extend_from_slice(icews_row("12/06/2018", "United States", "044", "North Korea", "2").as_bytes()); // 4
    input.extend_from_slice(icews_row("2018-06-12", "United States", "44", "North Korea", "3").as_bytes()); // 5
    let mut bad = icews_row("2018-06-12", "United States", "044", "North Korea", "4").into_bytes();
    bad[20] = 0xC3; // a lone UTF-8 lead byte inside "Donald Trump"
    input.extend_from_slice(&bad); // 6
    input.extend_from_slice(icews_row("2018-06-12", "North Korea", "044", "United States", "5").as_bytes()); // 7
    let r = ingest(
        input.as_slice(),
        &Mapping::default_mapping(),
        &opts(Format::Icews, false),
    )
    .unwrap();
    assert_eq!(r.rows_read, 6);
    assert_eq!(r.rows_matched, 2);
    let lines: Vec<u64> = r.bad_rows.iter().map(|b| b.line).collect();
    assert_eq!(lines, [3, 4, 5, 6]);
    assert!(r.bad_rows[0].reason.contains("expected 20 columns, found 4"));
    assert!(r.bad_rows[1].reason.contains("YYYY-MM-DD"));
    assert!(
        r.bad_rows[2].reason.contains("\"44\""),
        "codes keep their leading zeros"
    );
    assert!(r.bad_rows[3].reason.contains("UTF-8"));
    assert_eq!(r.signals[0].signal_type, "summit_held");
    assert_eq!(r.signals[0].reliability, 0.75);

    let err = ingest(
        input.as_slice(),
        &Mapping::default_mapping(),
        &opts(Format::Icews, true),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadRow { line: 3, .. }), "{err:?}");
}

#[test]
fn gdelt_bad_rows_reported_with_lines() {
    let good = |date: &str, code: &str| {
        let mut f = vec![""; 58];
        f[0] = "100";
        f[1] = date;
        f[7] = "USA";
        f[17] = "PRK";
        f[26] = code;
        f[30] = "-8.0";
        f[57] = "http://example.invalid/a";
        f.join("\t") + "\n"
    };
    let mut input = String::new();
    input += &good("20180612", "163"); // 1
    input += &good("2018-06-12", "163"); // 2: GDELT dates are YYYYMMDD
    input += "1\t2\t3\n"; // 3
    input += &good("20180612", "1630"); // 4: not a CAMEO code
    input += &good("20180612", "163"); // 5
    let r = ingest(
        input.as_bytes(),
        &Mapping::default_mapping(),
        &opts(Format::Gdelt1, false),
    )
    .unwrap();
    assert_eq!((r.rows_read, r.rows_matched), (5, 2));
    let lines: Vec<u64> = r.bad_rows.iter().map(|b| b.line).collect();
    assert_eq!(lines, [2, 3, 4]);
    assert!(r.bad_rows[0].reason.contains("YYYYMMDD"));
    assert!(
        r.bad_rows[1]
            .reason
            .contains("expected 57 or 58 columns, found 3")
    );
    let s = &r.signals[0];
    assert_eq!(
        (s.signal_type.as_str(), s.reports),
        ("sanctions_tightened", Some(2))
    );
    assert_eq!(s.reliability, 0.5, "the same SOURCEURL is one story");
    let err = ingest(
        input.as_bytes(),
        &Mapping::default_mapping(),
        &opts(Format::Gdelt2, true),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::BadRow { line: 1, reason } if reason.contains("expected 61 columns")),
        "{err}"
    );
}

#[test]
fn csv_header_without_required_columns() {
    let err = ingest(
        &b"day,from,to,code\n2018-01-01,USA,PRK,044\n"[..],
        &Mapping::default_mapping(),
        &opts(Format::Csv, false),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Format { .. }));
    assert!(
        msg.contains("date or event_date") && msg.contains("\"day\""),
        "{msg}"
    );
}

#[test]
fn empty_inputs() {
    for f in Format::ALL {
        let r = ingest(&b""[..], &Mapping::default_mapping(), &opts(f, true)).unwrap();
        assert_eq!((r.rows_read, r.signals.len()), (0, 0));
    }
}

#[test]
fn format_names() {
    assert_eq!("gdelt2".parse::<Format>().unwrap(), Format::Gdelt2);
    assert_eq!("ICEWS".parse::<Format>().unwrap(), Format::Icews);
    let msg = "xml".parse::<Format>().unwrap_err().to_string();
    assert_eq!(
        msg,
        "invalid format name: expected one of icews, gdelt1, gdelt2, csv, found \"xml\""
    );
}

const RULE: &str = r#"
[roles]
allies = ["GBR", "FRA"]

[[rule]]
name = "good"
from = "sender"
to = "target"
codes = ["163"]
signal = "sanctions_tightened"
"#;

#[test]
fn mapping_rejects_unknown_code_naming_the_rule() {
    let text = format!(
        "{RULE}\n[[rule]]\nname = \"made_up\"\nfrom = \"sender\"\nto = \"target\"\ncodes = [\"06\", \"999\"]\nsignal = \"talks_held\"\n"
    );
    let err = Mapping::from_toml_str(&text).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Mapping { .. }));
    assert!(
        msg.contains("rule[1] (made_up).codes") && msg.contains("\"999\"") && msg.contains("CAMEO"),
        "{msg}"
    );
}

#[test]
fn mapping_rejects_unknown_signal_type_naming_the_rule() {
    let text = format!(
        "{RULE}\n[[rule]]\nname = \"bad_type\"\nfrom = \"allies\"\nto = \"target\"\ncodes = [\"06\"]\nsignal = \"trade_war\"\n"
    );
    let msg = Mapping::from_toml_str(&text).unwrap_err().to_string();
    assert!(
        msg.contains("rule[1] (bad_type).signal") && msg.contains("trade_war"),
        "{msg}"
    );
    assert!(
        msg.contains("sanctions_tightened, sanctions_relief"),
        "names the valid types: {msg}"
    );
}

#[test]
fn mapping_rejects_unknown_role_and_bad_settings() {
    let text = format!(
        "{RULE}\n[[rule]]\nname = \"r2\"\nfrom = \"enemies\"\nto = \"target\"\ncodes = [\"06\"]\nsignal = \"talks_held\"\n"
    );
    let msg = Mapping::from_toml_str(&text).unwrap_err().to_string();
    assert!(
        msg.contains("rule[1] (r2).from") && msg.contains("sender, target, allies"),
        "{msg}"
    );
    let msg = Mapping::from_toml_str(&format!("[reliability]\nr0 = 1.5\n{RULE}"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("reliability.r0"), "{msg}");
    let msg = Mapping::from_toml_str("[[rule]]\nname = 1\n")
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("invalid mapping: `file`"), "{msg}");
    let msg = Mapping::from_toml_str("[roles]\nallies = [\"gb\"]\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("roles.allies") && msg.contains("\"gb\""), "{msg}");
    let dup = format!(
        "{RULE}\n[[rule]]\nname = \"good\"\nfrom = \"sender\"\nto = \"target\"\ncodes = [\"06\"]\nsignal = \"talks_held\"\n"
    );
    assert!(
        Mapping::from_toml_str(&dup)
            .unwrap_err()
            .to_string()
            .contains("rule[1] (good).name")
    );
}

#[test]
fn default_mapping_and_most_specific_rule() {
    let m = Mapping::default_mapping();
    assert!(m.rule_names().count() >= 30);
    assert_eq!((m.r0(), m.cap()), (0.5, 0.99));
    let mapping_file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/cameo_mapping.toml");
    assert_eq!(Mapping::load(&mapping_file).unwrap(), m);
    // Every rule carries a comment: the line before `[[rule]]`'s `name` is a `#` line.
    let text = std::fs::read_to_string(&mapping_file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if *l == "[[rule]]" {
            assert!(
                lines[i + 1].starts_with('#'),
                "rule at line {} has no comment",
                i + 1
            );
        }
    }
    // 0354 (intent to ease sanctions) matches both `035` (concession) and `0354` (relief): the longer wins.
    let row =
        |code: &str| format!("date,source_country,target_country,cameo_code\n2018-01-01,USA,PRK,{code}\n");
    let sig = |code: &str| {
        ingest(row(code).as_bytes(), &m, &opts(Format::Csv, true))
            .unwrap()
            .signals
            .first()
            .map(|s| s.signal_type.clone())
    };
    assert_eq!(sig("0354").as_deref(), Some("sanctions_relief"));
    assert_eq!(sig("0353").as_deref(), Some("concession_offered_by_sender"));
    assert_eq!(sig("1384").as_deref(), Some("military_threat"));
    assert_eq!(sig("040"), None);
    // Country names work in the CSV reader too.
    let named = "date,source_country,target_country,cameo_code\n2018-01-01,United States,North Korea,163\n";
    let r = ingest(named.as_bytes(), &m, &opts(Format::Csv, true)).unwrap();
    assert_eq!(r.signals[0].signal_type, "sanctions_tightened");
}

#[test]
fn error_paths_name_the_file() {
    let missing = std::path::Path::new("/nonexistent/events.tsv");
    let err = pf_events::ingest_path(missing, &Mapping::default_mapping(), &opts(Format::Gdelt2, false))
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/events.tsv"), "{err}");
    let err = Mapping::load("/nonexistent/mapping.toml").unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
}
