//! Fuzz the icews reader: arbitrary bytes into `pf_events::ingest` (non-strict) must never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pf_events::{Format, IngestOptions, Mapping, ingest};

fuzz_target!(|data: &[u8]| {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    let mapping = MAPPING.get_or_init(Mapping::default_mapping);
    let opts = IngestOptions::new(Format::Icews, "USA", "PRK");
    if let Ok(r) = ingest(data, mapping, &opts) {
        assert!(r.rows_matched + r.bad_rows.len() as u64 <= r.rows_read);
    }
});
