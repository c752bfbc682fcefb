//! Time `pf_events::ingest` on a file repeated in memory; used by `scripts/bench_ingest.py`.
//!
//! ```text
//! cargo run --release -p pf-events --example ingest_bench -- --format csv --sender USA --target PRK \
//!     --repeat 20 --runs 5 data/events/icews18_2018-01-01_to_10-31_usa_prk_irn.csv
//! ```
//! Prints one JSON object: rows per run, best seconds, rows per second, signals, matched and bad rows.

use std::time::Instant;

use anyhow::{Context, bail};
use pf_events::{Format, IngestOptions, Mapping, ingest};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut format, mut sender, mut target) = (Format::Csv, "USA".to_owned(), "PRK".to_owned());
    let (mut repeat, mut runs, mut file) = (1usize, 5usize, None);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--format" => format = val()?.parse()?,
            "--sender" => sender = val()?,
            "--target" => target = val()?,
            "--repeat" => repeat = val()?.parse()?,
            "--runs" => runs = val()?.parse()?,
            s if s.starts_with("--") => {
                bail!("unknown option {s}: expected --format, --sender, --target, --repeat, --runs")
            }
            _ => file = Some(a),
        }
    }
    let file = file.context("expected an event file")?;
    let text = std::fs::read(&file).with_context(|| format!("cannot read {file}"))?;
    // Header rows (ICEWS, CSV and the GDELT samples) are written once; the body is repeated.
    let has_header = matches!(format, Format::Icews | Format::Csv) || text.starts_with(b"GLOBALEVENTID");
    let (header, body) = if has_header {
        let cut = text
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| i + 1);
        text.split_at(cut)
    } else {
        (&text[..0], &text[..])
    };
    let mut data = header.to_vec();
    for _ in 0..repeat {
        data.extend_from_slice(body);
        if !body.ends_with(b"\n") {
            data.push(b'\n');
        }
    }
    let mapping = Mapping::default_mapping();
    let opts = IngestOptions::new(format, sender, target);
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let r = ingest(data.as_slice(), &mapping, &opts)?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    let r = last.expect("at least one run");
    println!(
        "{{\"format\": \"{format}\", \"rows\": {}, \"seconds\": {best:.6}, \"rows_per_s\": {:.0}, \"matched\": {}, \"bad\": {}, \"signals\": {}}}",
        r.rows_read,
        r.rows_read as f64 / best,
        r.rows_matched,
        r.bad_rows.len(),
        r.signals.len()
    );
    Ok(())
}
