//! `pressure-forecast serve`: flags, runtime, signals.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;

/// Flags of `pressure-forecast serve`. Each overrides the config file and the `PRESSURE_FORECAST_*`
/// environment variables (see [`crate::config`]).
/// Unset flags are not serialized, so they leave the lower layers alone; `config` is not a key.
#[derive(Debug, Clone, Default, clap::Args, serde::Serialize)]
pub struct ServeArgs {
    /// TOML config file (keys: listen, db, model, max_message_bytes, max_batch, max_draws, seed_examples)
    #[arg(long, value_name = "FILE", env = "PRESSURE_FORECAST_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051]
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<std::net::SocketAddr>,
    /// The store: an SQLite file, created on first start, or a PostgreSQL URL
    /// (postgres://user:password@host:port/dbname) shared by replicas [default: var/pressure_forecast.sqlite3]
    #[arg(long, value_name = "PATH|URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<PathBuf>,
    /// Model file (TOML) [default: the embedded default model]
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// Largest request or response message in bytes [default: 4194304]
    #[arg(long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<usize>,
    /// Largest number of signals in one call [default: 10000]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<usize>,
    /// Largest number of parameter draws in one GetForecast [default: 100000]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_draws: Option<usize>,
    /// Create the example cases (North Korea, Iran) if they are missing, and print their forecasts
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub seed_examples: bool,
}

/// `pressure-forecast store`: check, repair or back up a store.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum StoreCommand {
    /// List every unreadable record (read-only; works beside a running server). Exit status 1 when any.
    Check {
        /// The store file.
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        /// Model file the records must fit [default: the embedded default model].
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Report the unreadable records, then move them to the store's `quarantine` table (never deleting them).
    /// Needs the store's lock: stop the server first.
    Repair {
        /// The store file.
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        /// Model file the records must fit [default: the embedded default model].
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Write a consistent copy of the store to a new file, online (while a server writes to it).
    Backup {
        /// The store file.
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        /// The new file.
        dest: PathBuf,
    },
}

fn store_model(path: Option<&std::path::Path>) -> anyhow::Result<pf_core::Model> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the model file {}", p.display()))?;
            Ok(pf_core::Model::from_toml_str(&text)?)
        }
        None => Ok(pf_core::Model::default_model()),
    }
}

/// Run `pressure-forecast store ...`.
///
/// # Errors
/// A store that cannot be opened; `check` finding unreadable records; a backup that cannot be written.
pub fn store(args: StoreArgs) -> anyhow::Result<()> {
    use crate::store::Store;
    let db = match &args.command {
        StoreCommand::Check { db, .. }
        | StoreCommand::Repair { db, .. }
        | StoreCommand::Backup { db, .. } => db,
    };
    if let Some(url) = db
        .to_str()
        .filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
    {
        anyhow::bail!(
            "`store` works on an SQLite file, not on a PostgreSQL database ({}): expected a file path; use \
             PostgreSQL's own tools (pg_dump, amcheck) there",
            crate::pg::redact(url)
        );
    }
    match args.command {
        StoreCommand::Check { db, model } => {
            let model = store_model(model.as_deref())?;
            let st = Store::open_read_only(&db).with_context(|| format!("store {}", db.display()))?;
            st.quick_check()
                .with_context(|| format!("store {}", db.display()))?;
            let (cases, problems) = st.scan(&model)?;
            let signals: usize = cases.iter().map(|c| c.case.signal_count()).sum();
            println!(
                "{}: {} cases, {signals} signals readable; {} unreadable record(s); {} quarantined",
                db.display(),
                cases.len(),
                problems.len(),
                st.quarantined()?
            );
            for line in migration_lines(&st)? {
                println!("{line}");
            }
            for p in &problems {
                println!("unreadable: {p}");
            }
            if !problems.is_empty() {
                anyhow::bail!(
                    "{} unreadable record(s): `pressure-forecast store repair --db {}` quarantines them",
                    problems.len(),
                    db.display()
                );
            }
            Ok(())
        }
        StoreCommand::Repair { db, model } => {
            let model = store_model(model.as_deref())?;
            let mut st = Store::open(&db).with_context(|| format!("store {}", db.display()))?;
            let (_, problems) = st.scan(&model)?;
            for p in &problems {
                println!("quarantining: {p}");
            }
            let moved = st.repair(&problems)?;
            println!(
                "{} unreadable record(s) found, {moved} row(s) moved to the quarantine table",
                problems.len()
            );
            st.close()?;
            Ok(())
        }
        StoreCommand::Backup { db, dest } => {
            let st = Store::open_read_only(&db).with_context(|| format!("store {}", db.display()))?;
            st.backup(&dest)
                .with_context(|| format!("backing up {} to {}", db.display(), dest.display()))?;
            println!("backed up {} to {}", db.display(), dest.display());
            Ok(())
        }
    }
}

/// What `store check` says about the store's schema: its version, each migration applied (with what it
/// merged, per case), and a migration still pending (a store written by an older build that no server has opened
/// since: what the next start will do).
///
/// # Errors
/// [`crate::StoreError`] reading the store.
pub fn migration_lines(st: &crate::store::Store) -> anyhow::Result<Vec<String>> {
    let mut out = vec![format!("schema version {}", st.schema_version()?)];
    for (version, at, report) in st.migrations()? {
        out.push(format!("migrated to schema {version} at {at}: {report}"));
    }
    if let Some(pending) = st.pending_migration()? {
        out.push(format!(
            "migration pending (applied when a server next opens the store): {pending}"
        ));
    }
    Ok(out)
}

/// SIGINT (Ctrl-C) and SIGTERM, caught from the moment this is made: made before the server says it listens,
/// so that a supervisor's SIGTERM sent as soon as it reads that line starts a graceful shutdown instead of
/// killing the process with the default action.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn register() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
        })
    }

    /// Resolves when the next SIGINT or SIGTERM arrives.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => tracing::info!("SIGINT received"),
            _ = self.terminate.recv() => tracing::info!("SIGTERM received"),
        }
    }
}

/// Ctrl-C elsewhere.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> anyhow::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C received");
    }
}

/// Run the service until SIGINT or SIGTERM: layered config, logging (`PRESSURE_FORECAST_LOG` or `RUST_LOG`,
/// default `info`), tokio runtime, store, seeding, and the address and example forecasts printed on start.
///
/// # Errors
/// Bad configuration, a store that cannot be opened, an address that cannot be bound, a transport error.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let filter = std::env::var("PRESSURE_FORECAST_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let config = Config::layered(args.config.as_deref(), std::env::vars(), &args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let db = config.db_display();
        let mut signals = Signals::register()?;
        let server = crate::Server::open(config).await?;
        for f in server.example_forecasts().await? {
            let probs: Vec<String> = f
                .outcomes
                .iter()
                .zip(&f.probabilities)
                .map(|(o, p)| format!("{o} {p:.3}"))
                .collect();
            println!(
                "{} (as of {}, {} signals): {}",
                f.case,
                f.as_of,
                f.signals_used,
                probs.join(", ")
            );
        }
        println!("pressure_forecast gRPC service listening on {addr} (store {db})");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // The first signal starts a graceful shutdown (bounded by drain_timeout_ms); a second one exits at once.
        let first = async {
            signals.next().await;
            tokio::spawn(async move {
                signals.next().await;
                tracing::warn!("second signal: exiting without draining");
                #[allow(
                    clippy::disallowed_methods,
                    reason = "the operator asked twice: exit now, without waiting for the calls in flight; \
                              SQLite's WAL keeps every committed write"
                )]
                std::process::exit(130);
            });
        };
        server.serve(listener, first).await
    })
}
