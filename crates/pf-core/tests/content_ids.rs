//! Content-derived ids (issue 13, part 2): a signal without an id gets `c-` + 24 hex digits of the SHA-256 of its
//! canonical form, so re-appending id-less records is idempotent and identical id-less reports are one signal.

use chrono::NaiveDate;
use pf_core::{Case, Model, Signal, V2};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn case() -> Case {
    Case::new("usa-prk", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap()
}

/// A batch of id-less records, with two identical reports among them.
fn batch() -> Vec<Signal> {
    vec![
        Signal::new("sanctions_tightened", d("2017-08-05"))
            .with_source("UN")
            .with_reliability(0.9)
            .unwrap(),
        Signal::new("military_threat", d("2017-08-08")).with_note("fire and fury"),
        Signal::new("summit_held", d("2018-06-12")),
        Signal::new("summit_held", d("2018-06-12")),
        Signal::new("talks_held", d("2018-07-06"))
            .with_weight(0.5)
            .unwrap(),
    ]
}

#[test]
fn appending_the_same_id_less_batch_three_times_changes_nothing() {
    let model = Model::v1_model();
    let as_of = d("2018-10-31");
    let mut c = case();
    let first = c.append(batch(), &V2).unwrap();
    // The two identical id-less reports are one signal.
    assert_eq!((first.added, first.unchanged), (4, 1));
    let after_first = c.clone();
    let forecast = model.forecast(&c, as_of).unwrap().probabilities;
    for _ in 0..2 {
        let again = c.append(batch(), &V2).unwrap();
        assert_eq!((again.added, again.unchanged), (0, 5));
        assert_eq!(c, after_first);
        assert_eq!(model.forecast(&c, as_of).unwrap().probabilities, forecast);
    }
    for s in c.signals() {
        assert_eq!(
            s.id.as_deref(),
            Some(s.clone().with_id("x").content_id().as_str())
        );
    }
}

#[test]
fn identical_reports_with_their_own_ids_stay_distinct() {
    let mut c = case();
    let s = Signal::new("summit_held", d("2018-06-12"));
    let r = c
        .append([s.clone().with_id("a"), s.clone().with_id("b")], &V2)
        .unwrap();
    assert_eq!(r.added, 2);
    // An id-less copy is a third signal: its id is the content id, neither `a` nor `b`.
    assert_eq!(c.append([s], &V2).unwrap().added, 1);
    assert_eq!(c.signals().len(), 3);
}

#[test]
fn loading_a_file_gives_content_ids_and_merges_identical_id_less_records() {
    let v = serde_json::json!({
        "id": "x", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20",
        "signals": [
            {"type": "summit_held", "date": "2018-06-12"},
            {"type": "summit_held", "date": "2018-06-12"},
            {"type": "talks_held", "date": "2018-07-06", "id": "own"}
        ]
    });
    let c = Case::from_json(&v, &V2).unwrap();
    let ids: Vec<_> = c.signals().iter().map(|s| s.id.clone().unwrap()).collect();
    assert_eq!(
        ids,
        [
            Signal::new("summit_held", d("2018-06-12")).content_id(),
            "own".into()
        ]
    );
    // Saved and loaded again, nothing moves.
    let again = Case::from_json(&c.to_json(), &V2).unwrap();
    assert_eq!(again, c);
}

/// The pinned record of the docs: a change of the canonical form or of the hash is caught here.
#[test]
fn the_id_of_a_pinned_record_is_pinned() {
    let s = Signal::new("summit_held", d("2018-06-12"))
        .with_reliability(0.9)
        .unwrap();
    assert_eq!(
        String::from_utf8(s.canonical_content()).unwrap(),
        "19:pf-signal-content/1,11:summit_held,10:2018-06-12,0:,0:,3:0.9,1:1,"
    );
    assert_eq!(s.content_id(), PINNED_ID);
    let full = Signal::new("sanctions_tightened", d("2017-08-05"))
        .with_source("UN Security Council")
        .with_note("resolution 2371, «coal, iron»")
        .with_reliability(0.95)
        .unwrap()
        .with_weight(0.0000001)
        .unwrap();
    assert_eq!(
        String::from_utf8(full.canonical_content()).unwrap(),
        "19:pf-signal-content/1,19:sanctions_tightened,10:2017-08-05,19:UN Security Council,\
         31:resolution 2371, «coal, iron»,4:0.95,9:0.0000001,"
    );
    assert_eq!(full.content_id(), PINNED_FULL_ID);
}

/// Computed independently with Python `hashlib` from the canonical form above.
const PINNED_ID: &str = "c-b56b4afbdc0e56bd0cf15441";
const PINNED_FULL_ID: &str = "c-ee61431a22227a28db4f150b";

#[test]
fn the_id_ignores_id_reports_and_event_ids_and_negative_zero() {
    let a = Signal::new("summit_held", d("2018-06-12"));
    let mut b = a.clone().with_id("mine");
    b.reports = Some(3);
    b.event_ids = vec!["e1".into()].into();
    assert_eq!(a.content_id(), b.content_id());
    let z = Signal::new("summit_held", d("2018-06-12"))
        .with_reliability(0.0)
        .unwrap();
    let nz = Signal::new("summit_held", d("2018-06-12"))
        .with_reliability(-0.0)
        .unwrap();
    assert_eq!(z.content_id(), nz.content_id());
}

#[test]
fn netstrings_keep_fields_apart() {
    // Moving text between source and note changes the id, though the concatenated text is the same.
    let base = Signal::new("summit_held", d("2018-06-12"));
    let a = base.clone().with_source("ab").with_note("c");
    let b = base.clone().with_source("a").with_note("bc");
    let c = base.clone().with_note("abc");
    assert_ne!(a.content_id(), b.content_id());
    assert_ne!(a.content_id(), c.content_id());
    // An absent source and an empty one are the same content.
    assert_eq!(base.content_id(), base.clone().with_source("").content_id());
}

fn arb_signal() -> impl Strategy<Value = Signal> {
    (
        prop::sample::select(vec![
            "summit_held",
            "talks_held",
            "sanctions_tightened",
            "military_threat",
        ]),
        0u64..1400,
        proptest::option::of("[a-zA-Z ,:0-9é]{0,12}"),
        proptest::option::of("[a-zA-Z ,:0-9é]{0,12}"),
        0.0f64..=1.0,
        0.001f64..10.0,
    )
        .prop_map(|(t, day, source, note, r, w)| {
            let mut s = Signal::new(t, d("2017-01-20") + chrono::Days::new(day));
            s.source = source.map(Into::into);
            s.note = note.map(Into::into);
            s.reliability = r;
            s.weight = w;
            s
        })
}

proptest! {
    /// Changing any one field of the canonical list changes the id; the id is a function of the content.
    #[test]
    fn every_canonical_field_counts(s in arb_signal(), which in 0usize..6, salt in 1u64..1000) {
        let mut t = s.clone();
        match which {
            0 => t.signal_type = format!("{}x", t.signal_type).into(),
            1 => t.date = t.date + chrono::Days::new(salt),
            2 => t.source = Some(format!("{}{salt}", t.source.clone().unwrap_or_default()).into()),
            3 => t.note = Some(format!("{}{salt}", t.note.clone().unwrap_or_default()).into()),
            4 => t.reliability = if t.reliability > 0.5 { t.reliability / 2.0 } else { t.reliability + 0.25 },
            _ => t.weight *= 1.0 + salt as f64 / 1000.0,
        }
        prop_assert_ne!(s.content_id(), t.content_id());
        prop_assert_eq!(s.content_id(), s.clone().content_id());
        let id = s.content_id();
        prop_assert!(id.starts_with("c-") && id.len() == 26 && id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
