//! Layered configuration: built-in defaults, then a TOML file, then `PRESSURE_FORECAST_*` environment
//! variables, then command-line flags; each layer overrides only what it sets.
//!
//! | key (file) | environment variable | flag | default |
//! |---|---|---|---|
//! | `listen` | `PRESSURE_FORECAST_LISTEN` | `--listen` | `127.0.0.1:50051` |
//! | `db` | `PRESSURE_FORECAST_DB` | `--db` | `var/pressure_forecast.sqlite3` |
//! | `model` | `PRESSURE_FORECAST_MODEL` | `--model` | the embedded default model |
//! | `max_message_bytes` | `PRESSURE_FORECAST_MAX_MESSAGE_BYTES` | `--max-message-bytes` | 4 MiB |
//! | `max_batch` | `PRESSURE_FORECAST_MAX_BATCH` | `--max-batch` | 10000 |
//! | `max_draws` | `PRESSURE_FORECAST_MAX_DRAWS` | `--max-draws` | 100000 |
//! | `seed_examples` | `PRESSURE_FORECAST_SEED_EXAMPLES` | `--seed-examples` | false |
//!
//! The file itself is named by `--config` or `PRESSURE_FORECAST_CONFIG`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The server's configuration, every layer applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to listen on (used by [`crate::cli::run`]; `serve` takes a bound listener).
    pub listen: SocketAddr,
    /// SQLite file of the store, created on first start.
    pub db: PathBuf,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            db: PathBuf::from("var/pressure_forecast.sqlite3"),
            model: None,
            max_message_bytes: 4 * 1024 * 1024,
            max_batch: 10_000,
            max_draws: 100_000,
            seed_examples: false,
        }
    }
}

/// One layer: every key optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// See [`Config::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Config::db`].
    pub db: Option<PathBuf>,
    /// See [`Config::model`].
    pub model: Option<PathBuf>,
    /// See [`Config::max_message_bytes`].
    pub max_message_bytes: Option<usize>,
    /// See [`Config::max_batch`].
    pub max_batch: Option<usize>,
    /// See [`Config::max_draws`].
    pub max_draws: Option<usize>,
    /// See [`Config::seed_examples`].
    pub seed_examples: Option<bool>,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key.
    #[error("invalid config file {}: {message}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable has a value of the wrong form.
    #[error("invalid environment variable {name}: expected {expected}, found {found:?}")]
    Env {
        /// The variable.
        name: String,
        /// The form expected.
        expected: &'static str,
        /// Its value.
        found: String,
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

impl Layer {
    /// Read a TOML config file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::File`].
    pub fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.into(),
            message: e.message().to_owned(),
        })
    }

    /// The layer of `PRESSURE_FORECAST_*` variables among `vars`.
    ///
    /// # Errors
    /// [`ConfigError::Env`] naming the variable.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Layer, ConfigError> {
        let mut l = Layer::default();
        for (k, v) in vars {
            let Some(key) = k.strip_prefix("PRESSURE_FORECAST_") else {
                continue;
            };
            let bad = |expected: &'static str| ConfigError::Env {
                name: k.clone(),
                expected,
                found: v.clone(),
            };
            match key {
                "LISTEN" => {
                    l.listen = Some(v.parse().map_err(|_| bad("an address such as 127.0.0.1:50051"))?)
                }
                "DB" => l.db = Some(PathBuf::from(&v)),
                "MODEL" => {
                    l.model = if v.is_empty() {
                        None
                    } else {
                        Some(PathBuf::from(&v))
                    }
                }
                "MAX_MESSAGE_BYTES" => {
                    l.max_message_bytes = Some(v.parse().map_err(|_| bad("a number of bytes"))?)
                }
                "MAX_BATCH" => l.max_batch = Some(v.parse().map_err(|_| bad("a number of signals"))?),
                "MAX_DRAWS" => l.max_draws = Some(v.parse().map_err(|_| bad("a number of draws"))?),
                "SEED_EXAMPLES" => {
                    l.seed_examples = Some(match v.to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" | "" => false,
                        _ => return Err(bad("true or false")),
                    });
                }
                _ => {}
            }
        }
        Ok(l)
    }

    /// Apply this layer over `c`.
    pub fn apply(&self, c: &mut Config) {
        let l = self.clone();
        if let Some(v) = l.listen {
            c.listen = v;
        }
        if let Some(v) = l.db {
            c.db = v;
        }
        if let Some(v) = l.model {
            c.model = Some(v);
        }
        if let Some(v) = l.max_message_bytes {
            c.max_message_bytes = v;
        }
        if let Some(v) = l.max_batch {
            c.max_batch = v;
        }
        if let Some(v) = l.max_draws {
            c.max_draws = v;
        }
        if let Some(v) = l.seed_examples {
            c.seed_examples = v;
        }
    }
}

impl Config {
    /// Defaults, then `file`, then the environment `vars`, then `flags`.
    ///
    /// # Errors
    /// The first bad layer, or a value out of range.
    pub fn layered(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        flags: &Layer,
    ) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(f) = file {
            Layer::from_file(f)?.apply(&mut c);
        }
        Layer::from_env(vars)?.apply(&mut c);
        flags.apply(&mut c);
        c.validate()?;
        Ok(c)
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "db = \"from-file.sqlite3\"\nmax_batch = 5\nlisten = \"127.0.0.1:1\"\n",
        )
        .unwrap();
        let env = vec![
            ("PRESSURE_FORECAST_MAX_BATCH".to_owned(), "7".to_owned()),
            ("PRESSURE_FORECAST_LISTEN".to_owned(), "127.0.0.1:2".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        let flags = Layer {
            listen: Some("127.0.0.1:3".parse().unwrap()),
            ..Layer::default()
        };
        let c = Config::layered(Some(&f), env, &flags).unwrap();
        assert_eq!(c.db, PathBuf::from("from-file.sqlite3"));
        assert_eq!(c.max_batch, 7);
        assert_eq!(c.listen, "127.0.0.1:3".parse().unwrap());
        assert_eq!(c.max_draws, Config::default().max_draws);
    }

    #[test]
    fn bad_values_are_named() {
        let e = Layer::from_env(vec![("PRESSURE_FORECAST_MAX_BATCH".into(), "many".into())]).unwrap_err();
        assert!(e.to_string().contains("PRESSURE_FORECAST_MAX_BATCH"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "nonsense = 1\n").unwrap();
        assert!(matches!(Layer::from_file(&f), Err(ConfigError::File { .. })));
        let e = Config::layered(
            None,
            Vec::new(),
            &Layer {
                max_batch: Some(0),
                ..Layer::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("max_batch"));
    }
}
