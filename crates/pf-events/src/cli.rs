//! The `ingest` subcommand: arguments and the function that runs it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;

use crate::{Format, IngestOptions, IngestReport, Mapping, ingest_path};

/// Bad rows listed one by one in the summary; the rest are counted.
const BAD_ROWS_LISTED: usize = 20;

/// A date argument, by the core's one parser (exactly `YYYY-MM-DD`).
fn date_arg(s: &str) -> Result<NaiveDate, String> {
    pf_core::dates::parse_date("date", s).map_err(|e| e.to_string())
}

/// Arguments of `pressure-forecast ingest`.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Input format: icews (raw, tab-separated), gdelt1, gdelt2 (GDELT exports) or csv (named columns).
    #[arg(long, value_name = "icews|gdelt1|gdelt2|csv")]
    pub format: Format,
    /// The case's sender, as an ISO3 country code (e.g. USA).
    #[arg(long)]
    pub sender: String,
    /// The case's target, as an ISO3 country code (e.g. PRK).
    #[arg(long)]
    pub target: String,
    /// Mapping file (TOML) from CAMEO codes to signal types; default: the embedded models/cameo_mapping.toml.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Keep events on or after this date (YYYY-MM-DD); with --case, default the case's start.
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub start: Option<NaiveDate>,
    /// Keep events on or before this date (YYYY-MM-DD); with --case, default the case's term end.
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub end: Option<NaiveDate>,
    /// Fail on the first bad row instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Append the signals into this case file (JSON, read and written in place; atomic: all or nothing).
    #[arg(long, value_name = "CASEFILE")]
    pub case: Option<PathBuf>,
    /// Write the signals as JSON Lines to this file (default: standard output, unless --case is given).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The event file to read.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

impl IngestArgs {
    /// The ingestion options these arguments describe.
    pub fn options(&self) -> IngestOptions {
        IngestOptions {
            format: self.format,
            sender: self.sender.clone(),
            target: self.target.clone(),
            start: self.start,
            end: self.end,
            strict: self.strict,
        }
    }
}

/// Run `ingest`: read the file, write the signals (JSON Lines, and/or into a case file), and print a summary
/// on standard error.
///
/// # Errors
/// A bad mapping file, an unreadable input, a bad row in strict mode, a case file that cannot be read or that
/// rejects the signals, or a failed write.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let mapping = match &args.mapping {
        Some(p) => Mapping::load(p).with_context(|| format!("cannot use mapping file `{}`", p.display()))?,
        None => Mapping::default_mapping(),
    };
    // With a case, events outside its span are left out unless the caller chose dates.
    let case = match &args.case {
        Some(p) => Some(
            pf_core::Case::load(p, &pf_core::V1)
                .with_context(|| format!("cannot read case file `{}`", p.display()))?,
        ),
        None => None,
    };
    let mut options = args.options();
    if let Some(c) = &case {
        options.start = options.start.or(Some(c.start));
        options.end = options.end.or(Some(c.term_end));
    }
    let report = ingest_path(&args.file, &mapping, &options)
        .with_context(|| format!("cannot ingest `{}` as {}", args.file.display(), args.format))?;

    if let (Some(case_path), Some(mut case)) = (&args.case, case) {
        let appended = case
            .append(report.signals.iter().cloned(), &pf_core::V1)
            .with_context(|| format!("cannot append the signals to case `{}`", case_path.display()))?;
        case.save(case_path)
            .with_context(|| format!("cannot write case file `{}`", case_path.display()))?;
        eprintln!(
            "case {}: {} signals added, {} already present",
            case_path.display(),
            appended.added,
            appended.unchanged
        );
    }
    match (&args.output, &args.case) {
        (Some(p), _) => {
            let f = std::fs::File::create(p).with_context(|| format!("cannot create `{}`", p.display()))?;
            let mut w = std::io::BufWriter::new(f);
            pf_core::signal::write_jsonl(&report.signals, &mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("cannot write `{}`", p.display()))?;
        }
        (None, None) => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            pf_core::signal::write_jsonl(&report.signals, &mut w)
                .and_then(|()| w.flush())
                .context("cannot write the signals to standard output")?;
        }
        (None, Some(_)) => {}
    }
    eprint!("{}", summary(&args.file.display().to_string(), &report));
    Ok(())
}

/// The summary printed on standard error: rows read, matched and bad (with line numbers), signals written.
pub fn summary(input: &str, report: &IngestReport) -> String {
    let mut s = format!(
        "{input}: {} rows read, {} matched, {} bad; {} signals\n",
        report.rows_read,
        report.rows_matched,
        report.bad_rows.len(),
        report.signals.len()
    );
    if !report.bad_rows.is_empty() {
        let lines: Vec<String> = report.bad_rows.iter().map(|b| b.line.to_string()).collect();
        s.push_str(&format!("bad rows skipped at lines: {}\n", lines.join(", ")));
        for b in report.bad_rows.iter().take(BAD_ROWS_LISTED) {
            s.push_str(&format!("  line {}: {}\n", b.line, b.reason));
        }
        if report.bad_rows.len() > BAD_ROWS_LISTED {
            s.push_str(&format!(
                "  ... and {} more\n",
                report.bad_rows.len() - BAD_ROWS_LISTED
            ));
        }
    }
    s
}
