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
            pf_core::Case::load(p, &pf_core::V2)
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
            .append(report.signals.iter().cloned(), &pf_core::V2)
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

// --- `follow` (issue 13, part 7) ---

/// Arguments of `pressure-forecast follow`.
#[derive(Debug, Clone, clap::Args)]
pub struct FollowArgs {
    /// Input format of the event files: icews, gdelt1, gdelt2 (GDELT 2.0 publishes an export every 15 minutes) or
    /// csv.
    #[arg(long, value_name = "icews|gdelt1|gdelt2|csv")]
    pub format: Format,
    /// A case file (JSON) to append the signals to, read and written in place (repeatable); its sender and
    /// target (ISO3 codes) select the events and its span their dates. With `--server`, a case id of the service.
    #[arg(long, value_name = "CASEFILE|CASE_ID", required = true)]
    pub case: Vec<PathBuf>,
    /// Append through a running `pressure-forecast serve` at this address (e.g. `http://127.0.0.1:50051`)
    /// instead of to case files: each case is read with GetCase/ListSignals and the new signals are sent with
    /// AppendSignals (atomic and idempotent by id). The checkpoint stays a local file.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for the service (a token with the `write` scope), when it requires one.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "PRESSURE_FORECAST_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Mapping file (TOML) from CAMEO codes to signal types; default: the embedded models/cameo_mapping.toml.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Checkpoint file recording the files done (default: `.pressure-forecast-follow.json` in DIR).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Only take files whose name ends with this (e.g. `.export.CSV`).
    #[arg(long, value_name = "SUFFIX")]
    pub suffix: Option<String>,
    /// Seconds between two looks at the directory.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub interval: f64,
    /// Process the files there now and exit (for scripts and tests); otherwise watch until interrupted.
    #[arg(long)]
    pub once: bool,
    /// Fail a file on its first bad row instead of reporting and skipping the row.
    #[arg(long)]
    pub strict: bool,
    /// The directory to watch.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

impl FollowArgs {
    /// The follower's configuration these arguments describe.
    ///
    /// # Errors
    /// A bad mapping file or interval.
    pub fn config(&self) -> anyhow::Result<crate::follow::FollowConfig> {
        let mapping = match &self.mapping {
            Some(p) => {
                Mapping::load(p).with_context(|| format!("cannot use mapping file `{}`", p.display()))?
            }
            None => Mapping::default_mapping(),
        };
        if !(self.interval.is_finite() && self.interval > 0.0) {
            anyhow::bail!(
                "invalid --interval: expected a number of seconds > 0, found {}",
                self.interval
            );
        }
        Ok(crate::follow::FollowConfig {
            dir: self.dir.clone(),
            format: self.format,
            mapping,
            cases: if self.server.is_some() {
                Vec::new()
            } else {
                self.case.clone()
            },
            checkpoint: self
                .checkpoint
                .clone()
                .unwrap_or_else(|| self.dir.join(".pressure-forecast-follow.json")),
            strict: self.strict,
            suffix: self.suffix.clone(),
        })
    }
}

/// Run `follow`: ingest each new file of the directory once into the case files, logging each file's counts on
/// standard error. With `--once`, one pass over the files there (taken as they are) and exit, failing when a
/// file failed; otherwise poll every `--interval` seconds until the process is stopped (every write is atomic, so
/// stopping it at any moment is safe), taking a file once its size is stable across two polls.
///
/// # Errors
/// A bad mapping, checkpoint or directory; with `--once`, a file that could not be ingested.
pub fn run_follow(args: &FollowArgs) -> anyhow::Result<()> {
    if args.server.is_some() {
        anyhow::bail!(
            "invalid --server: this program was built without a gRPC client (run_follow_with takes a store)"
        );
    }
    let files = crate::follow::CaseFiles {
        paths: args.case.clone(),
    };
    run_follow_with(args, Box::new(files))
}

/// Run `follow` as [`run_follow`] does, with the cases in `store` (the command-line program passes a store
/// that talks to the service when `--server` is given).
///
/// # Errors
/// As [`run_follow`].
pub fn run_follow_with(args: &FollowArgs, store: Box<dyn crate::follow::CaseStore>) -> anyhow::Result<()> {
    let config = args.config()?;
    let mut follower = crate::follow::Follower::with_store(config, store)?;
    let log = |results: Vec<Result<crate::follow::FileOutcome, crate::follow::FollowError>>| {
        let mut failed = 0usize;
        for r in results {
            match r {
                Ok(o) => eprintln!("follow: {}", o.log_line()),
                Err(e) => {
                    failed += 1;
                    eprintln!("follow: error: {e}");
                }
            }
        }
        failed
    };
    if args.once {
        let failed = log(follower.poll(false)?);
        if failed > 0 {
            anyhow::bail!(
                "{failed} file(s) could not be ingested (see above); they are not in the checkpoint"
            );
        }
        return Ok(());
    }
    eprintln!(
        "follow: watching `{}` every {} s ({} files in the checkpoint)",
        args.dir.display(),
        args.interval,
        follower.checkpoint().files.len()
    );
    let pause = std::time::Duration::from_secs_f64(args.interval);
    loop {
        match follower.poll(true) {
            Ok(results) => {
                log(results);
            }
            Err(e) => eprintln!("follow: error: {e}"),
        }
        std::thread::sleep(pause);
    }
}
