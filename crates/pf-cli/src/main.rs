//! `pressure-forecast`: forecasts, explanations, learning and backtests from the command line, and the gRPC
//! service. Thin: every number comes from `pf-core`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use pf_core::backtest::{BacktestOptions, backtest};
use pf_core::learn::{FitOptions, fit};
use pf_core::v2;
use pf_core::{Case, DrawOptions, Episode, Model, Progress, Resolution, Signal, WhatIf};

mod remote;
mod scenario;
mod table;

/// Bayesian forecasts of how a coercive-diplomacy campaign ends: deal, stalemate or the target waiting out
/// the sender's term.
#[derive(Parser, Debug)]
#[command(name = "pressure-forecast", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Forecast a case's outcomes by its term end.
    Forecast(ForecastArgs),
    /// Outcome probabilities for every day (or every signal date).
    Trajectory(TrajectoryArgs),
    /// What moved the forecast: each signal's contribution, in date order (and drop-one).
    Explain(ExplainArgs),
    /// The forecast with hypothetical signals or another term end (the case is not changed).
    WhatIf(WhatIfArgs),
    /// The forecast under a scenario (v2 models): future sender actions, actions repeated monthly, "policy
    /// continues", the leader's fate, a term end, eligibility; beside the default future (no new actions).
    Scenario(ScenarioArgs),
    /// Two policies (scenarios) for one case compared in one call (v2 models): both forecasts and b - a.
    Compare(CompareArgs),
    /// Signal types ranked by how much observing them next would move the forecast.
    Value(CaseArgs),
    /// Fit a model to finished episodes (expected-count EM) and write it as a model file.
    Fit(FitArgs),
    /// Replay episodes day by day and score the forecasts against what happened.
    Backtest(BacktestArgs),
    /// Print a model file (the embedded default unless --model is given).
    Model(ModelArgs),
    /// Run the gRPC service (embedded SQLite store; health and reflection on).
    Serve(pf_server::cli::ServeArgs),
    /// Check, repair or back up a service's store (works beside a running server, except repair).
    Store(pf_server::cli::StoreArgs),
    /// Turn CAMEO-coded event data (ICEWS, GDELT 1.0/2.0, CSV) into signals (JSON Lines, or into a case file).
    Ingest(pf_events::cli::IngestArgs),
    /// Watch a directory for new event files (e.g. the GDELT 2.0 feed) and ingest each once into case files, or
    /// into the cases of a running service (`--server`).
    Follow(pf_events::cli::FollowArgs),
}

#[derive(Args, Debug)]
struct CaseArgs {
    /// Case file (JSON: id, sender, target, start, term_end, signals).
    #[arg(long)]
    case: PathBuf,
    /// Model file (TOML); the embedded default model when absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Use only signals dated on or before this day (YYYY-MM-DD); default today (UTC). After the term end the
    /// forecast is the resolved distribution at the term end; `value` uses the day before the term end.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ForecastArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// Parameter draws for credible intervals (0: none; at most 1000000).
    #[arg(long, default_value_t = 0, value_parser = parse_draws)]
    draws: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Credible interval level (repeatable).
    #[arg(long = "level", default_values_t = vec![0.9])]
    levels: Vec<f64>,
}

#[derive(Args, Debug)]
struct TrajectoryArgs {
    /// Case file.
    #[arg(long)]
    case: PathBuf,
    /// Model file; the embedded default when absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// First day (default: the case's start).
    #[arg(long, value_parser = parse_date)]
    from: Option<NaiveDate>,
    /// Last day (default: the term end).
    #[arg(long, value_parser = parse_date)]
    to: Option<NaiveDate>,
    /// Report only the start and the days with signals.
    #[arg(long)]
    signal_dates: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// Also show the forecast with each signal removed.
    #[arg(long)]
    drop_one: bool,
}

#[derive(Args, Debug)]
struct WhatIfArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// A hypothetical signal TYPE@DATE or TYPE@DATE@RELIABILITY (repeatable).
    #[arg(long = "signal")]
    signals: Vec<String>,
    /// A file of hypothetical signals (JSON Lines or CSV).
    #[arg(long)]
    signals_file: Option<PathBuf>,
    /// Another term end.
    #[arg(long, value_parser = parse_date)]
    term_end: Option<NaiveDate>,
}

#[derive(Args, Debug)]
struct ScenarioArgs {
    #[command(flatten)]
    case: CaseArgs,
    #[command(flatten)]
    scenario: scenario::ScenarioFlags,
}

#[derive(Args, Debug)]
struct CompareArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// The first policy: `none` (no new actions), a scenario file (JSON or TOML), or comma-separated items
    /// `action=TYPE@DATE`, `monthly=TYPE`, `policy-continues`, `fate=stays|leaves`, `term-end=DATE`,
    /// `eligible=true|false`, `name=TEXT`.
    #[arg(long, default_value = "none")]
    a: String,
    /// The second policy, in the same forms.
    #[arg(long)]
    b: String,
}

#[derive(Args, Debug)]
struct FitArgs {
    /// Episodes file (JSON array, one object, or JSON Lines). A v2 model takes several, each with its
    /// `--episodes-weight`.
    #[arg(long, required = true)]
    episodes: Vec<PathBuf>,
    /// Weight of each `--episodes` file, in the same order (v2 models; 1.0 for a file without one).
    #[arg(long)]
    episodes_weight: Vec<f64>,
    /// Starting model (its numbers are the prior pseudo-counts); the embedded default when absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where to write the fitted model file.
    #[arg(long, short)]
    output: PathBuf,
    /// Stop when the penalised log-likelihood improves by less than this.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
    /// Maximum EM iterations.
    #[arg(long, default_value_t = 200)]
    max_iterations: u32,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct BacktestArgs {
    /// Episodes file (JSON array, one object, or JSON Lines). Extra fields are ignored. A v2 model takes
    /// several (the training sets of its refits), each with its `--episodes-weight`; `--score` picks the one
    /// scored.
    #[arg(long, required = true)]
    episodes: Vec<PathBuf>,
    /// Weight of each `--episodes` file in the refits (v2 models; 1.0 for a file without one).
    #[arg(long)]
    episodes_weight: Vec<f64>,
    /// Which `--episodes` file to score (0 = the first; v2 models).
    #[arg(long, default_value_t = 0)]
    score: usize,
    /// k-fold cross-validation of `fit` instead of leave-one-out (v2 models).
    #[arg(long)]
    folds: Option<usize>,
    /// Maximum iterations of each refit (v2 models).
    #[arg(long, default_value_t = 40)]
    max_iterations: u32,
    /// Model file; the embedded default when absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Leave-one-out cross-validation of `fit`.
    #[arg(long)]
    loo: bool,
    /// Reliability bins.
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ModelArgs {
    /// Model file; the embedded default when absent.
    #[arg(long)]
    model: Option<PathBuf>,
    /// List the signal types with their roles (action, context, evidence, deal, fate) instead of the file.
    #[arg(long)]
    types: bool,
    /// With --types: print JSON instead of a table.
    #[arg(long, requires = "types")]
    json: bool,
}

/// A date argument, by the one parser of the core (exactly `YYYY-MM-DD`).
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    pf_core::dates::parse_date("date", s).map_err(|e| e.to_string())
}

fn load_model(path: Option<&Path>) -> Result<Model> {
    match path {
        Some(p) => {
            let text =
                String::from_utf8(read_bounded(p, "model file", MAX_INPUT_FILE_BYTES)?).map_err(|_| {
                    anyhow::anyhow!("model file {} is not UTF-8 text: expected TOML", p.display())
                })?;
            Model::from_toml_str(&text).with_context(|| format!("loading model {}", p.display()))
        }
        None => Ok(Model::default_model()),
    }
}

// --- harden (issue 12, finding 11): bounded reads of case files and a cap on --draws ---

/// Largest case file read, in bytes.
const MAX_CASE_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Largest model file or what-if signals file read, in bytes.
const MAX_INPUT_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most parameter draws the CLI runs.
const MAX_DRAWS: usize = 1_000_000;

fn parse_draws(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("expected a whole number of draws from 0 to {MAX_DRAWS}, found {s:?}"))?;
    if n > MAX_DRAWS {
        return Err(format!("expected at most {MAX_DRAWS} draws, found {n}"));
    }
    Ok(n)
}

/// The bytes of an input file, read with a bound on its size: a device such as /dev/zero, or a file far larger
/// than any input this program reads, fails at once with a message naming the limit instead of hanging or
/// exhausting memory. `what` names the input in the message (`case file`, `model file`, ...).
fn read_bounded(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open the {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        anyhow::bail!(
            "{what} {} is larger than the limit of {} MiB: expected a {what} of at most {limit} bytes",
            path.display(),
            limit / (1024 * 1024)
        );
    }
    Ok(bytes)
}

/// A case file read with a bound on its size (a device such as /dev/zero fails instead of hanging). A regular
/// file is streamed ([`Case::from_json_reader`]: neither its text nor a JSON tree of it is held, so a case of a
/// million signals costs the case's own 144 bytes a signal, not the file's 75 more); anything else (a pipe, a
/// device) is read whole within the bound first.
fn load_case(path: &Path, model: &Model) -> Result<Case> {
    use std::io::Read as _;
    let open =
        || std::fs::File::open(path).with_context(|| format!("cannot open the case file {}", path.display()));
    let file = open()?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read the case file {}", path.display()))?;
    let read = if meta.is_file() {
        if meta.len() > MAX_CASE_FILE_BYTES {
            bail!(
                "case file {} is larger than the limit of {} MiB: expected a case file of at most {} bytes",
                path.display(),
                MAX_CASE_FILE_BYTES / (1024 * 1024),
                MAX_CASE_FILE_BYTES
            );
        }
        Case::from_json_reader(file.take(MAX_CASE_FILE_BYTES), model)
    } else {
        drop(file);
        let bytes = read_bounded(path, "case file", MAX_CASE_FILE_BYTES)?;
        if std::str::from_utf8(&bytes).is_err() {
            bail!(
                "case file {} is not UTF-8 text: expected a JSON case file",
                path.display()
            );
        }
        Case::from_json_slice(&bytes, model)
    };
    match read {
        Ok(case) => Ok(case),
        // The JSON parser's message (it names the line and column).
        Err(pf_core::Error::Parse { message, .. }) => Err(anyhow::anyhow!(message))
            .with_context(|| format!("case file {}: expected JSON", path.display())),
        Err(e) => Err(e).with_context(|| format!("loading case {}", path.display())),
    }
}
// --- end harden ---

/// Episodes for `fit` and `backtest`: signals dated outside their episode are left out with a warning.
fn load_episodes(path: &Path, model: &Model) -> Result<Vec<Episode>> {
    let (episodes, warnings) = Episode::load_many_lenient(path, model)
        .with_context(|| format!("loading episodes {}", path.display()))?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(episodes)
}

/// The default as-of date: today in UTC ([`pf_core::dates::today`]).
fn today() -> NaiveDate {
    pf_core::dates::today()
}

/// A terminal progress bar (hidden when stderr is not a terminal).
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Bar {
        let pb = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({elapsed})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar(pb)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, what: &str) {
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(what.to_owned());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialise")
    );
}

fn parse_hypothetical(spec: &str) -> Result<Signal> {
    let parts: Vec<&str> = spec.split('@').collect();
    if parts.len() < 2 || parts.len() > 3 {
        bail!("--signal {spec:?}: expected TYPE@YYYY-MM-DD or TYPE@YYYY-MM-DD@RELIABILITY");
    }
    let date = parse_date(parts[1]).map_err(|e| anyhow::anyhow!("--signal {spec:?}: {e}"))?;
    let mut s = Signal::new(parts[0], date)
        .with_id(format!("what-if-{}", spec))
        .with_source("what-if");
    if let Some(r) = parts.get(2) {
        let r: f64 = r
            .parse()
            .with_context(|| format!("--signal {spec:?}: reliability must be a number in [0, 1]"))?;
        s = s.with_reliability(r)?;
    }
    Ok(s)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Forecast(a) => {
            let model = load_model(a.case.model.as_deref())?;
            let case = load_case(&a.case.case, &model)?;
            let as_of = a.case.as_of.unwrap_or_else(today);
            let f = if a.draws > 0 {
                let opts = DrawOptions {
                    draws: a.draws,
                    seed: a.seed,
                    levels: a.levels,
                };
                model.forecast_with_intervals(&case, as_of, &opts, &Bar::new())?
            } else {
                model.forecast(&case, as_of)?
            };
            if a.case.json {
                print_json(&f.to_json());
            } else {
                print!("{}", table::forecast(&case, &f));
            }
        }
        Command::Trajectory(a) => {
            let model = load_model(a.model.as_deref())?;
            let case = load_case(&a.case, &model)?;
            let res = if a.signal_dates {
                Resolution::SignalDates
            } else {
                Resolution::Daily
            };
            let t = model.trajectory(&case, a.from, a.to, res)?;
            if a.json {
                print_json(&t.to_json());
            } else {
                print!("{}", table::trajectory(&case, &t));
            }
        }
        Command::Explain(a) => {
            let model = load_model(a.case.model.as_deref())?;
            let case = load_case(&a.case.case, &model)?;
            let as_of = a.case.as_of.unwrap_or_else(today);
            let at = model.attribution(&case, as_of)?;
            let drops = if a.drop_one {
                Some(model.drop_one(&case, as_of)?)
            } else {
                None
            };
            if a.case.json {
                let mut v = at.to_json();
                if let Some(d) = &drops {
                    v["drop_one"] = serde_json::to_value(d)?;
                }
                print_json(&v);
            } else {
                print!("{}", table::attribution(&case, &at, drops.as_deref()));
            }
        }
        Command::WhatIf(a) => {
            let model = load_model(a.case.model.as_deref())?;
            let case = load_case(&a.case.case, &model)?;
            let as_of = a.case.as_of.unwrap_or_else(today);
            let mut signals = a
                .signals
                .iter()
                .map(|s| parse_hypothetical(s))
                .collect::<Result<Vec<_>>>()?;
            if let Some(p) = &a.signals_file {
                let bytes = read_bounded(p, "signals file", MAX_INPUT_FILE_BYTES)?;
                let read = if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
                    pf_core::signal::read_csv(&bytes[..])
                } else {
                    pf_core::signal::read_jsonl(&bytes[..])
                };
                signals.extend(read.with_context(|| format!("signals file {}", p.display()))?);
            }
            if signals.is_empty() && a.term_end.is_none() {
                bail!(
                    "what-if needs at least one --signal TYPE@DATE, --signals-file FILE or --term-end DATE"
                );
            }
            let r = model.what_if(
                &case,
                as_of,
                &WhatIf {
                    signals,
                    term_end: a.term_end,
                },
            )?;
            if a.case.json {
                print_json(&r.to_json());
            } else {
                print!("{}", table::what_if(&case, &r));
            }
        }
        Command::Value(a) => {
            let model = load_model(a.model.as_deref())?;
            let case = load_case(&a.case, &model)?;
            // On or after the term end, the engine clamps to the day before it (pf_core::dates::clamp_as_of).
            let as_of = a.as_of.unwrap_or_else(today);
            let v = model.value_of_information(&case, as_of)?;
            if a.json {
                print_json(&v.to_json());
            } else {
                print!("{}", table::value(&case, &v));
            }
        }
        Command::Fit(a) => {
            let model = load_model(a.model.as_deref())?;
            if model.as_v2().is_some() {
                return fit_v2(&a);
            }
            if a.episodes.len() != 1 {
                anyhow::bail!(
                    "a v1 model is fitted on one episodes file, got {}",
                    a.episodes.len()
                );
            }
            let episodes = load_episodes(&a.episodes[0], &model)?;
            let opts = FitOptions {
                tolerance: a.tolerance,
                max_iterations: a.max_iterations,
                ..FitOptions::default()
            };
            let report = fit(&model, &episodes, &opts, &Bar::new())?;
            report.model.save(&a.output)?;
            if let Some(note) = table::excluded("fit", &report.excluded) {
                eprintln!("note: {note}");
            }
            if a.json {
                print_json(&report.to_json());
            } else {
                println!(
                    "fitted {} on {} episodes: {} iterations ({}), log-likelihood {:.3} -> {:.3}; written to {}",
                    model.name(),
                    episodes.len() - report.excluded.len(),
                    report.iterations,
                    if report.converged {
                        "converged"
                    } else {
                        "not converged"
                    },
                    report.log_likelihood.first().copied().unwrap_or(f64::NAN),
                    report.log_likelihood.last().copied().unwrap_or(f64::NAN),
                    a.output.display()
                );
            }
        }
        Command::Backtest(a) => {
            let model = load_model(a.model.as_deref())?;
            if let Some(m) = model.as_v2() {
                return backtest_v2(m, &a);
            }
            if a.episodes.len() != 1 {
                anyhow::bail!(
                    "a v1 model is backtested on one episodes file, got {}",
                    a.episodes.len()
                );
            }
            let episodes = load_episodes(&a.episodes[0], &model)?;
            let opts = BacktestOptions {
                loo: a.loo,
                bins: a.bins,
                ..BacktestOptions::default()
            };
            let r = backtest(&model, &episodes, &opts, &Bar::new())?;
            if let Some(note) = table::excluded("backtest", &r.excluded) {
                eprintln!("note: {note}");
            }
            if a.json {
                print_json(&r.to_json());
            } else {
                print!("{}", table::backtest(&r));
            }
        }
        Command::Ingest(a) => pf_events::cli::run(&a)?,
        Command::Follow(a) => match &a.server {
            Some(url) => {
                let ids = a.case.iter().map(|p| p.display().to_string()).collect();
                let store = remote::RemoteCases::connect(url, ids, a.token.as_deref())?;
                pf_events::cli::run_follow_with(&a, Box::new(store))?;
            }
            None => pf_events::cli::run_follow(&a)?,
        },
        Command::Serve(a) => pf_server::cli::run(a)?,
        Command::Store(a) => pf_server::cli::store(a)?,
        Command::Model(a) if a.types => {
            let model = load_model(a.model.as_deref())?;
            let types = signal_types(&model);
            if a.json {
                print_json(&serde_json::json!({
                    "model": model.name(),
                    "format_version": model.format_version(),
                    "types": types,
                }));
            } else {
                print!("{}", table::signal_types(&model, &types));
            }
        }
        Command::Model(a) => match a.model {
            Some(p) => print!("{}", load_model(Some(&p))?.to_toml()),
            None => print!("{}", Model::default_toml()),
        },
        Command::Scenario(a) => run_scenario(&a)?,
        Command::Compare(a) => run_compare(&a)?,
    }
    Ok(())
}

/// Each signal type of a model with its role (every type of a v1 model is evidence), as `model --types`
/// and the service's ListSignalTypes give them.
fn signal_types(model: &Model) -> Vec<table::TypeRow> {
    model
        .signal_types()
        .into_iter()
        .map(|name| {
            let spec = model.as_v2().and_then(|m| m.spec().signals.get(&name));
            table::TypeRow {
                role: match model.as_v2() {
                    Some(m) => m.role(&name).map_or("", scenario::role_name),
                    None => "evidence",
                }
                .to_owned(),
                repudiates: spec.is_some_and(|t| t.repudiates),
                reveals: spec.and_then(|t| t.reveals),
                description: model.describe_signal_type(&name).unwrap_or_default().to_owned(),
                name,
            }
        })
        .collect()
}

/// The model, case and as-of date of a scenario command; the model must be v2.
fn scenario_inputs(a: &CaseArgs, what: &str) -> Result<(Model, Case, NaiveDate)> {
    let model = load_model(a.model.as_deref())?;
    if model.as_v2().is_none() {
        bail!(
            "{what} needs a v2 model (format_version = 2); {} is format_version {}",
            model.name(),
            model.format_version()
        );
    }
    let case = load_case(&a.case, &model)?;
    Ok((model, case, a.as_of.unwrap_or_else(today)))
}

/// `scenario`: the forecast under a scenario beside the default future, and the leader's fate under each.
fn run_scenario(a: &ScenarioArgs) -> Result<()> {
    let (model, case, as_of) = scenario_inputs(&a.case, "scenario")?;
    let m = model.as_v2().expect("checked by scenario_inputs");
    let sc = a.scenario.scenario()?;
    scenario::check(m, &case, as_of, &sc)?;
    let none = v2::Scenario::default();
    let baseline = v2::scenario_forecast(m, &case, as_of, &none)?;
    let forecast = v2::scenario_forecast(m, &case, as_of, &sc)?;
    let stays = [
        v2::analysis::scenario_state(m, &case, as_of, &none)?.leader_stays,
        v2::analysis::scenario_state(m, &case, as_of, &sc)?.leader_stays,
    ];
    let delta: Vec<f64> = forecast
        .probabilities
        .iter()
        .zip(&baseline.probabilities)
        .map(|(x, y)| x - y)
        .collect();
    if a.case.json {
        print_json(&serde_json::json!({
            "case": case.id,
            "as_of": as_of,
            "outcomes": baseline.outcomes,
            "scenario": sc,
            "baseline": baseline.to_json(),
            "forecast": forecast.to_json(),
            "delta": delta,
            "leader_stays": {"baseline": stays[0], "scenario": stays[1]},
        }));
    } else {
        print!(
            "{}",
            table::scenario(
                &case,
                &scenario::describe(&sc, as_of),
                &baseline,
                &forecast,
                &delta,
                stays
            )
        );
    }
    Ok(())
}

/// `compare`: two policies for one case in one call.
fn run_compare(a: &CompareArgs) -> Result<()> {
    let (model, case, as_of) = scenario_inputs(&a.case, "compare")?;
    let m = model.as_v2().expect("checked by scenario_inputs");
    let pa = scenario::parse_policy("--a", &a.a)?;
    let pb = scenario::parse_policy("--b", &a.b)?;
    scenario::check(m, &case, as_of, &pa).context("--a")?;
    scenario::check(m, &case, as_of, &pb).context("--b")?;
    let c = v2::compare(m, &case, as_of, &pa, &pb)?;
    if a.case.json {
        print_json(&serde_json::json!({
            "case": case.id,
            "as_of": as_of,
            "outcomes": c.a.outcomes,
            "scenarios": {"a": pa, "b": pb},
            "a": c.a.to_json(),
            "b": c.b.to_json(),
            "difference": c.difference,
        }));
    } else {
        print!(
            "{}",
            table::comparison(
                &case,
                as_of,
                [&scenario::describe(&pa, as_of), &scenario::describe(&pb, as_of)],
                &c
            )
        );
    }
    Ok(())
}

/// The episode sets of a v2 fit or backtest: each `--episodes` file with its `--episodes-weight`.
fn episode_sets(m: &v2::ModelV2, files: &[PathBuf], weights: &[f64]) -> Result<Vec<v2::EpisodeSet>> {
    if weights.len() > files.len() {
        anyhow::bail!(
            "{} --episodes-weight for {} --episodes files: give one weight per file, in order",
            weights.len(),
            files.len()
        );
    }
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let w = weights.get(i).copied().unwrap_or(1.0);
            let (set, warnings) =
                v2::EpisodeSet::load(f, w, m).with_context(|| format!("loading episodes {}", f.display()))?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            Ok(set)
        })
        .collect()
}

/// `fit` for a v2 model: MAP of the filter's own episode objective over weighted episode sets; the fitted
/// file keeps the base file's comments and records the data, weights and objective.
fn fit_v2(a: &FitArgs) -> Result<()> {
    let text = match &a.model {
        Some(p) => String::from_utf8(read_bounded(p, "model file", MAX_INPUT_FILE_BYTES)?)
            .map_err(|_| anyhow::anyhow!("model file {} is not UTF-8 text: expected TOML", p.display()))?,
        None => v2::ModelV2::default_toml().to_owned(),
    };
    let base = v2::ModelV2::from_toml_str(&text)?;
    let sets = episode_sets(&base, &a.episodes, &a.episodes_weight)?;
    let opts = v2::FitOptionsV2 {
        tolerance: a.tolerance,
        max_iterations: a.max_iterations,
        ..v2::FitOptionsV2::default()
    };
    let (out, rep) = v2::learn::fit_to_toml(&text, &sets, &opts, &Bar::new())?;
    std::fs::write(&a.output, &out).with_context(|| format!("writing {}", a.output.display()))?;
    for s in &rep.skipped {
        eprintln!("warning: skipped {s}");
    }
    if a.json {
        print_json(&serde_json::json!({"fit": rep.record, "skipped": rep.skipped, "output": a.output}));
    } else {
        for (i, j) in rep.record.trace.iter().enumerate() {
            println!("iteration {i:>3}: penalised objective {j:.6}");
        }
        for d in &rep.record.data {
            println!(
                "data {} (weight {}): {} episodes used, {} excluded from training",
                d.source, d.weight, d.episodes, d.excluded
            );
        }
        println!(
            "fitted {} in {} iterations ({}): objective {:.6}, penalised {:.6}; written to {}",
            base.name(),
            rep.record.iterations,
            if rep.record.converged {
                "converged"
            } else {
                "not converged"
            },
            rep.record.objective,
            rep.record.penalised_objective,
            a.output.display()
        );
    }
    Ok(())
}

/// `backtest` for a v2 model: the scored set beside the five baselines, with leave-one-out or k-fold refits.
fn backtest_v2(m: &v2::ModelV2, a: &BacktestArgs) -> Result<()> {
    let sets = episode_sets(m, &a.episodes, &a.episodes_weight)?;
    if a.score >= sets.len() {
        anyhow::bail!("--score {}: there are {} --episodes files", a.score, sets.len());
    }
    let opts = v2::baselines::BacktestOptionsV2 {
        loo: a.loo,
        folds: a.folds,
        bins: a.bins,
        fit: v2::FitOptionsV2 {
            max_iterations: a.max_iterations,
            ..v2::FitOptionsV2::default()
        },
    };
    let r = v2::baselines::backtest(m, &sets, a.score, &opts, &Bar::new())?;
    if a.json {
        print_json(&serde_json::to_value(&r)?);
    } else {
        println!(
            "{} on {} ({} episodes, model {})",
            r.model, r.set, r.episodes, r.refit
        );
        println!(
            "{:<22} {:>8} {:>10} {:>8}",
            "forecaster", "brier", "log score", "ece"
        );
        for s in &r.scores {
            println!(
                "{:<22} {:>8.4} {:>10.4} {:>8.4}",
                s.name, s.brier, s.log_score, s.ece
            );
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
