//! Shared helpers of the integration tests (included with `mod common;`).
#![allow(dead_code, missing_docs)]

use std::path::PathBuf;

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/events")
        .join(name)
}

pub const ICEWS_RAW: &str = "icews_events_2018-06-01_to_06-02_sample.tab";
pub const ICEWS18_USA: &str = "icews18_2018-01-01_to_10-31_usa_prk_irn.csv";
pub const ICEWS18_THIRD: &str = "icews18_2018-01-01_to_10-31_prk_irn_thirdparty.csv";
pub const GDELT1: &str = "gdelt1_events_sample_50rows.tsv";
pub const GDELT2: &str = "gdelt2_events_sample_50rows.tsv";
