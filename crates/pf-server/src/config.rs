//! Layered configuration from one struct, [`Config`], by figment: its defaults, then a TOML file, then
//! `PRESSURE_FORECAST_<KEY>` environment variables, then command-line flags; each layer overrides only what it
//! sets. The keys are the fields of [`Config`] (the file's keys, the variables' suffixes in upper case, the
//! flags in kebab case):
//!
//! | key | default |
//! |---|---|
//! | `listen` | `127.0.0.1:50051` |
//! | `db` | `var/pressure_forecast.sqlite3`: an SQLite file, or a PostgreSQL URL `postgres://user:password@host:port/dbname` (also `postgresql://`) |
//! | `case_cache_bytes` | 256 MiB (the cases kept in memory, loaded from the store on first use) |
//! | `model` | the embedded default model |
//! | `max_message_bytes` | 4 MiB |
//! | `max_batch` | 10000 |
//! | `max_draws` | 100000 |
//! | `seed_examples` | false |
//! | `max_cost` | 1000000000 (units of [`crate::limits`]: one filter step over one day or one signal) |
//! | `cache_bytes` | 64 MiB (the forecast cache) |
//! | `min_date`, `max_date` | 1900-01-01, 2100-12-31 (every date of every request) |
//! | `drain_timeout_ms` | 30000 (how long shutdown waits for calls in flight) |
//! | `max_concurrency` | 64 calls in flight over all connections (more wait) |
//! | `max_concurrency_per_connection` | 16 |
//! | `rate_per_second`, `rate_burst` | 0 (off), 100: a token bucket per credential |
//! | `tls_cert`, `tls_key` | none: PEM files of the server's certificate chain and key (TLS on when set) |
//! | `tls_client_ca` | none: PEM file of the CA that client certificates must chain to (then required) |
//! | `tokens` | none: `[[tokens]] name, sha256 (hex of the token's SHA-256), scopes = ["read","write","admin"]` |
//! | `allow_insecure` | false: serve off loopback without TLS or tokens anyway |
//! | `reflection` | true |
//! | `metrics_listen` | none: address of the Prometheus `/metrics`, `/livez`, `/readyz` endpoint |
//!
//! The file itself is named by `--config` or `PRESSURE_FORECAST_CONFIG`. An unknown key in the file is an
//! error; other `PRESSURE_FORECAST_*` variables are left to the programs that read them (`_LOG`, `_CONFIG`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::{Figment, Provider};
use serde::{Deserialize, Serialize};

/// The prefix of the environment variables.
pub const ENV_PREFIX: &str = "PRESSURE_FORECAST_";

/// The server's configuration, every layer applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on (used by [`crate::cli::run`]; `serve` takes a bound listener).
    pub listen: SocketAddr,
    /// The store: an SQLite file, created on first start, or a PostgreSQL URL (`postgres://…` or
    /// `postgresql://…`; see [`Config::database`]).
    pub db: PathBuf,
    /// Largest size of the case cache in bytes (estimated): the cases kept in memory, each loaded from the store
    /// (SQLite or PostgreSQL) on first use.
    pub case_cache_bytes: usize,
    /// Model file; `None` is the embedded default model.
    pub model: Option<PathBuf>,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Largest number of signals in one AppendSignals, CreateCase or ImportEvents call.
    pub max_batch: usize,
    /// Largest number of parameter draws in one GetForecast call.
    pub max_draws: usize,
    /// Create the example cases (`data/cases/*.json`, embedded) when they are missing.
    pub seed_examples: bool,
    /// Largest cost of one request, in the units of [`crate::limits`] (estimated before the work starts).
    pub max_cost: u64,
    /// Largest size of the forecast cache in bytes (estimated).
    pub cache_bytes: usize,
    /// Earliest date any request may carry.
    pub min_date: chrono::NaiveDate,
    /// Latest date any request may carry.
    pub max_date: chrono::NaiveDate,
    /// How long shutdown waits for the calls in flight before it gives up on them, in milliseconds.
    pub drain_timeout_ms: u64,
    /// Calls in flight over all connections; more wait for a slot.
    pub max_concurrency: usize,
    /// Calls in flight on one connection (HTTP/2 concurrent streams).
    pub max_concurrency_per_connection: u32,
    /// Calls per second per credential (0: no rate limit); a token bucket of `rate_burst` calls.
    pub rate_per_second: u32,
    /// The bucket of the rate limit.
    pub rate_burst: u32,
    /// PEM certificate chain of the server; TLS is on when this and `tls_key` are set.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the server.
    pub tls_key: Option<PathBuf>,
    /// PEM certificate of the CA client certificates must chain to; when set, clients must present one.
    pub tls_client_ca: Option<PathBuf>,
    /// Bearer tokens, by the SHA-256 of the token (never the token itself); empty: no authentication.
    pub tokens: Vec<TokenConfig>,
    /// Serve on an address other than loopback without TLS or without tokens.
    pub allow_insecure: bool,
    /// Serve gRPC reflection (v1 and v1alpha).
    pub reflection: bool,
    /// Address of the metrics and probe endpoint (`/metrics`, `/livez`, `/readyz`); none: off.
    pub metrics_listen: Option<SocketAddr>,
}

/// One bearer token, as configured: its name (logged), the hex SHA-256 of the token, and its scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenConfig {
    /// A name for logs and metrics (never the token).
    pub name: String,
    /// Lower-case hex of the SHA-256 of the token's text.
    pub sha256: String,
    /// Any of `read`, `write`, `admin`.
    pub scopes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            db: PathBuf::from("var/pressure_forecast.sqlite3"),
            case_cache_bytes: 256 * 1024 * 1024,
            model: None,
            max_message_bytes: 4 * 1024 * 1024,
            max_batch: 10_000,
            max_draws: 100_000,
            seed_examples: false,
            max_cost: 1_000_000_000,
            cache_bytes: 64 * 1024 * 1024,
            min_date: chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date"),
            max_date: chrono::NaiveDate::from_ymd_opt(2100, 12, 31).expect("a date"),
            drain_timeout_ms: 30_000,
            max_concurrency: 64,
            max_concurrency_per_connection: 16,
            rate_per_second: 0,
            rate_burst: 100,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tokens: Vec::new(),
            allow_insecure: false,
            reflection: true,
            metrics_listen: None,
        }
    }
}

/// Where the store is, as `db` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Config {
    /// The store `db` names: a PostgreSQL URL when it starts with `postgres://` or `postgresql://`, else an
    /// SQLite file.
    pub fn database(&self) -> Database {
        match self.db.to_str() {
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                Database::Postgres(s.to_owned())
            }
            _ => Database::Sqlite(self.db.clone()),
        }
    }

    /// The store for messages and logs (a URL without its password).
    pub fn db_display(&self) -> String {
        match self.database() {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => crate::pg::redact(&url),
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer cannot be read or has a value of the wrong form (figment names the key and the layer).
    #[error("invalid configuration: {0}")]
    Layer(Box<figment::Error>),
    /// The file has a key that is not a field of [`Config`].
    #[error("invalid config file {}: unknown key `{key}`: expected one of {expected}", .path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The known keys.
        expected: String,
    },
    /// A value out of range.
    #[error("invalid config `{key}`: expected {expected}, found {found}")]
    Value {
        /// The key.
        key: &'static str,
        /// The form expected.
        expected: &'static str,
        /// The value.
        found: String,
    },
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        ConfigError::Layer(Box::new(e))
    }
}

impl Config {
    /// The keys: the fields of [`Config`], read from its serialized defaults.
    fn keys() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Defaults, then `file`, then the `PRESSURE_FORECAST_*` variables among `vars`, then `flags` (a
    /// serializable value whose fields are keys of [`Config`]; fields serialized as nothing are not set).
    ///
    /// # Errors
    /// The first bad layer, an unknown key in the file, or a value out of range.
    pub fn layered(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        flags: &impl Serialize,
    ) -> Result<Config, ConfigError> {
        let keys = Config::keys();
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(figment::Error::from(format!(
                    "cannot read the config file {}: expected a TOML file",
                    path.display()
                ))
                .into());
            }
            let toml = Figment::from(Toml::file_exact(path));
            for key in toml.data()?.values().flat_map(|d| d.keys()) {
                if !keys.contains(key) {
                    return Err(ConfigError::UnknownKey {
                        path: path.into(),
                        key: key.clone(),
                        expected: keys.join(", "),
                    });
                }
            }
            fig = fig.merge(toml);
        }
        // The `PRESSURE_FORECAST_<KEY>` variables, each value parsed as figment's `Env` provider parses one.
        let mut env = figment::value::Dict::new();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX).map(str::to_ascii_lowercase) else {
                continue;
            };
            if keys.contains(&key) {
                let v: figment::value::Value = value
                    .parse()
                    .unwrap_or_else(|_| figment::value::Value::from(value.clone()));
                env.insert(key, v);
            }
        }
        let env = Serialized::defaults(env);
        let config: Config = fig.merge(env).merge(Serialized::defaults(flags)).extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Check ranges.
    ///
    /// # Errors
    /// [`ConfigError::Value`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_message_bytes < 1024 {
            return Err(ConfigError::Value {
                key: "max_message_bytes",
                expected: "at least 1024",
                found: self.max_message_bytes.to_string(),
            });
        }
        if self.max_batch == 0 {
            return Err(ConfigError::Value {
                key: "max_batch",
                expected: "at least 1",
                found: "0".into(),
            });
        }
        if self.max_draws == 0 {
            return Err(ConfigError::Value {
                key: "max_draws",
                expected: "at least 1",
                found: "0".into(),
            });
        }
        if self.max_cost == 0 {
            return Err(ConfigError::Value {
                key: "max_cost",
                expected: "at least 1",
                found: "0".into(),
            });
        }
        if self.min_date >= self.max_date {
            return Err(ConfigError::Value {
                key: "max_date",
                expected: "a date after min_date",
                found: self.max_date.to_string(),
            });
        }
        if self.max_concurrency == 0 || self.max_concurrency_per_connection == 0 {
            return Err(ConfigError::Value {
                key: "max_concurrency",
                expected: "at least 1 (and at least 1 per connection)",
                found: "0".into(),
            });
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Value {
                key: "tls_key",
                expected: "tls_cert and tls_key both set, or neither",
                found: "only one of them".into(),
            });
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            return Err(ConfigError::Value {
                key: "tls_client_ca",
                expected: "tls_cert and tls_key set too (client certificates need TLS)",
                found: "no tls_cert".into(),
            });
        }
        for t in &self.tokens {
            crate::auth::check_token_config(t).map_err(|found| ConfigError::Value {
                key: "tokens",
                expected: "name, sha256 (64 hex digits of the token's SHA-256) and scopes among read, write, admin",
                found,
            })?;
        }
        let loopback = self.listen.ip().is_loopback();
        if !loopback && !self.allow_insecure && (self.tls_cert.is_none() || self.tokens.is_empty()) {
            return Err(ConfigError::Value {
                key: "listen",
                expected: "a loopback address, or TLS (tls_cert, tls_key) and tokens off loopback (or allow_insecure = true)",
                found: self.listen.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags layer as the CLI gives it: unset flags are not serialized.
    #[derive(Serialize, Default)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        listen: Option<SocketAddr>,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_batch: Option<usize>,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "db = \"from-file.sqlite3\"\nmax_batch = 5\nlisten = \"127.0.0.1:1\"\nmodel = \"m.toml\"\n",
        )
        .unwrap();
        let vars = env(&[
            ("PRESSURE_FORECAST_MAX_BATCH", "7"),
            ("PRESSURE_FORECAST_LISTEN", "127.0.0.1:2"),
            ("PRESSURE_FORECAST_SEED_EXAMPLES", "true"),
            ("PRESSURE_FORECAST_LOG", "warn"),
            ("OTHER", "x"),
        ]);
        let flags = Flags {
            listen: Some("127.0.0.1:3".parse().unwrap()),
            ..Flags::default()
        };
        let c = Config::layered(Some(&f), vars, &flags).unwrap();
        assert_eq!(c.db, PathBuf::from("from-file.sqlite3"));
        assert_eq!(c.model, Some(PathBuf::from("m.toml")));
        assert_eq!(c.max_batch, 7);
        assert!(c.seed_examples);
        assert_eq!(c.listen, "127.0.0.1:3".parse().unwrap());
        assert_eq!(c.max_draws, Config::default().max_draws);
        assert_eq!(
            Config::layered(None, Vec::new(), &Flags::default()).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn a_postgres_url_in_any_layer_selects_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "db = \"postgresql://app:secret@db:5432/pf\"\n").unwrap();
        let c = Config::layered(Some(&f), Vec::new(), &Flags::default()).unwrap();
        assert_eq!(
            c.database(),
            Database::Postgres("postgresql://app:secret@db:5432/pf".into())
        );
        assert_eq!(c.db_display(), "postgresql://app:***@db:5432/pf");
        let vars = env(&[("PRESSURE_FORECAST_DB", "postgres://u@h/d")]);
        let c = Config::layered(Some(&f), vars, &Flags::default()).unwrap();
        assert_eq!(c.database(), Database::Postgres("postgres://u@h/d".into()));
        // The default stays the embedded SQLite file.
        assert_eq!(
            Config::default().database(),
            Database::Sqlite("var/pressure_forecast.sqlite3".into())
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::layered(
            None,
            env(&[("PRESSURE_FORECAST_MAX_BATCH", "many")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("max_batch"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "nonsense = 1\n").unwrap();
        let e = Config::layered(Some(&f), Vec::new(), &Flags::default()).unwrap_err();
        assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
        assert!(e.to_string().contains("nonsense"), "{e}");
        let flags = Flags {
            max_batch: Some(0),
            ..Flags::default()
        };
        let e = Config::layered(None, Vec::new(), &flags).unwrap_err();
        assert!(e.to_string().contains("max_batch"), "{e}");
    }
}
