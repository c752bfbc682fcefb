//! Property test standing in for the fuzz targets in the normal test suite: arbitrary bytes into every reader
//! never panic, and every data row is either read cleanly or reported as bad.

use pf_events::{Format, IngestOptions, Mapping, ingest};
use proptest::prelude::*;

fn check(bytes: &[u8]) {
    let m = Mapping::default_mapping();
    for f in Format::ALL {
        let opts = IngestOptions::new(f, "USA", "PRK");
        if let Ok(r) = ingest(bytes, &m, &opts) {
            assert!(r.rows_matched + r.bad_rows.len() as u64 <= r.rows_read);
            assert!(r.bad_rows.windows(2).all(|w| w[0].line <= w[1].line));
        }
        let strict = IngestOptions { strict: true, ..opts };
        let _ = ingest(bytes, &m, &strict);
    }
}

/// Bytes that look like event rows: digits, dates, codes, country codes, tabs, commas, quotes, newlines and
/// invalid UTF-8.
fn eventish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\t".to_vec()),
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"2018-06-12".to_vec()),
        Just(b"20180612".to_vec()),
        Just(b"USA".to_vec()),
        Just(b"PRK".to_vec()),
        Just(b"North Korea".to_vec()),
        Just(b"044".to_vec()),
        Just(b"163".to_vec()),
        Just(b"date,source_country,target_country,cameo_code,story_id\n".to_vec()),
        Just(b"Event ID".to_vec()),
        Just(b"GLOBALEVENTID".to_vec()),
        Just(vec![0xff, 0xfe, 0xc3]),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..200).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn eventish_bytes_never_panic(bytes in eventish()) {
        check(&bytes);
    }
}

#[test]
fn real_gdelt_row_with_every_field_shuffled_does_not_panic() {
    let base = "635942246\t20160312\t201603\t2016\t2016.1973\t\t\tUSA\t\t\t\t\t\t\t\tCAN\tONTARIO\tPRK";
    for cut in 0..base.len() {
        check(&base.as_bytes()[..cut]);
    }
}
