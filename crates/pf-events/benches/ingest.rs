//! Rows per second of each reader plus the mapping and merging, on the real samples of `data/events/`
//! repeated in memory (about 20,000 rows per input).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pf_events::{Format, IngestOptions, Mapping, ingest};

const TARGET_ROWS: usize = 20_000;

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/events")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Header (if `keep_header`) plus the body repeated until about `TARGET_ROWS` rows; returns (bytes, rows).
fn repeated(name: &str, keep_header: bool) -> (Vec<u8>, u64) {
    let text = data(name);
    let (header, body) = text.split_once('\n').expect("a header line");
    let rows = body.lines().filter(|l| !l.is_empty()).count();
    let times = TARGET_ROWS.div_ceil(rows);
    let mut out = Vec::with_capacity(text.len() * times);
    if keep_header {
        out.extend_from_slice(header.as_bytes());
        out.push(b'\n');
    }
    for _ in 0..times {
        out.extend_from_slice(body.as_bytes());
        if !body.ends_with('\n') {
            out.push(b'\n');
        }
    }
    (out, (rows * times) as u64)
}

fn bench(c: &mut Criterion) {
    let mapping = Mapping::default_mapping();
    let inputs = [
        (
            Format::Icews,
            "icews_events_2018-06-01_to_06-02_sample.tab",
            true,
            "USA",
            "PRK",
        ),
        (
            Format::Gdelt1,
            "gdelt1_events_sample_50rows.tsv",
            false,
            "IRN",
            "SAU",
        ),
        (
            Format::Gdelt2,
            "gdelt2_events_sample_50rows.tsv",
            false,
            "SAU",
            "EGY",
        ),
        (
            Format::Csv,
            "icews18_2018-01-01_to_10-31_usa_prk_irn.csv",
            true,
            "USA",
            "PRK",
        ),
    ];
    let mut group = c.benchmark_group("ingest");
    for (format, file, header, sender, target) in inputs {
        let (bytes, rows) = repeated(file, header);
        let opts = IngestOptions::new(format, sender, target);
        group.throughput(Throughput::Elements(rows));
        group.bench_function(format.name(), |b| {
            b.iter(|| {
                let r = ingest(black_box(bytes.as_slice()), &mapping, &opts).expect("valid input");
                assert_eq!(r.rows_read, rows);
                black_box(r)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
