//! The store backends the integration tests run against, and a throw-away PostgreSQL cluster for them.
//!
//! One cluster per test binary, started on first use: PostgreSQL's binaries are found under
//! `/usr/lib/postgresql/<version>/bin` (or on PATH); when they are missing and we are root, the distribution's
//! `postgresql` package is installed with apt-get. The cluster lives in a temporary directory owned by the
//! `postgres` system user when we are root (the server refuses to run as root), listens on a free port of
//! 127.0.0.1 and on a socket in that directory, trusts local connections, and keeps PostgreSQL's default
//! durability (fsync, synchronous_commit on). A detached watchdog stops it and removes the directory when the
//! test process has exited, however it exits. Each test gets a database of its own.
//!
//! When no cluster can be started, the PostgreSQL half of a test is skipped with a loud line on stderr; under
//! CI (`CI=true`) that is a failure instead. `PF_TEST_POSTGRES_URL` (a server URL without a database name,
//! `postgres://user@host:port`) uses a running server instead of starting one.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A store backend of the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in the test's temporary directory.
    Sqlite,
    /// A fresh database on the test binary's PostgreSQL cluster.
    Postgres,
}

impl Backend {
    /// The `db` of a new, empty store for one test: a file under `dir`, or a new database's URL.
    pub fn db(self, dir: &tempfile::TempDir) -> PathBuf {
        match self {
            Backend::Sqlite => dir.path().join("store.sqlite3"),
            Backend::Postgres => PathBuf::from(
                shared()
                    .expect("checked by skip_postgres before the test")
                    .new_database(),
            ),
        }
    }
}

/// Generate `sqlite::NAME` and `postgres::NAME` tests from each `async fn NAME(backend: Backend)`.
#[allow(
    unused_macros,
    reason = "not every test binary that includes this module parametrises tests"
)]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::backend::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if super::backend::skip_postgres(stringify!($name)) {
                        return;
                    }
                    super::$name(super::backend::Backend::Postgres).await;
                }
            )*
        }
    };
}
#[allow(unused_imports, reason = "as the macro")]
pub(crate) use backend_tests;

/// True (after saying so on stderr) when the PostgreSQL half of `test` cannot run; panics under `CI=true`.
pub fn skip_postgres(test: &str) -> bool {
    match shared() {
        Ok(_) => false,
        Err(reason) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL tests cannot run under CI=true: {reason}");
            }
            eprintln!("SKIPPED {test} on PostgreSQL: {reason} (set CI=true to make this a failure)");
            true
        }
    }
}

/// The test binary's cluster.
pub fn shared() -> Result<&'static Cluster, String> {
    static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| match std::env::var("PF_TEST_POSTGRES_URL") {
            Ok(url) => Ok(Cluster::external(url)),
            Err(_) => Cluster::start(),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A PostgreSQL cluster for tests.
#[derive(Debug)]
pub struct Cluster {
    /// The server's URL without a database (`postgres://postgres@127.0.0.1:PORT`).
    pub url: String,
    /// The temporary directory (data in `data/`, socket, log); none for an external server.
    pub dir: Option<PathBuf>,
    /// The binaries.
    bin: PathBuf,
    /// Run the binaries as the `postgres` user (we are root).
    as_postgres: bool,
    port: u16,
}

fn run(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The directory of `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/*/bin`, else PATH's.
fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.parent().filter(|_| out.status.success()).map(Path::to_path_buf)
}

impl Cluster {
    fn external(url: String) -> Cluster {
        Cluster {
            url: url.trim_end_matches('/').to_owned(),
            dir: None,
            bin: find_bin().unwrap_or_default(),
            as_postgres: false,
            port: 0,
        }
    }

    /// Start a new throw-away cluster (installing PostgreSQL first when it is missing and we are root).
    ///
    /// # Errors
    /// Why it cannot start, in words.
    pub fn start() -> Result<Cluster, String> {
        let root = is_root();
        let bin = match find_bin() {
            Some(b) => b,
            None if root => {
                eprintln!("PostgreSQL is not installed: installing the distribution's package (apt-get)");
                let mut update = Command::new("apt-get");
                update.args(["update", "-q"]);
                let _ = run(update, "apt-get update");
                let mut install = Command::new("apt-get");
                install
                    .args(["install", "-y", "-q", "postgresql"])
                    .env("DEBIAN_FRONTEND", "noninteractive");
                run(install, "apt-get install postgresql")?;
                find_bin().ok_or("no initdb after installing postgresql")?
            }
            None => return Err("PostgreSQL is not installed (no initdb) and we are not root".into()),
        };
        let dir = tempfile::Builder::new()
            .prefix("pf-pg-")
            .tempdir_in(std::env::temp_dir())
            .map_err(|e| format!("temporary directory: {e}"))?
            .keep();
        if root {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(&dir);
            run(chown, "chown to the postgres user")?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let cluster = Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}"),
            dir: Some(dir.clone()),
            bin,
            as_postgres: root,
            port,
        };
        // The watchdog first, so that nothing is left behind even if the start fails half-way.
        let data = dir.join("data");
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            ctl = cluster.command_line("pg_ctl"),
            data = data.display(),
            dir = dir.display(),
        );
        Command::new("setsid")
            .args(["sh", "-c", &watchdog])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        let mut initdb = cluster.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        run(initdb, "initdb")?;
        cluster.pg_start()?;
        Ok(cluster)
    }

    fn command_line(&self, program: &str) -> String {
        let p = self.bin.join(program);
        if self.as_postgres {
            format!("runuser -u postgres -- {}", p.display())
        } else {
            p.display().to_string()
        }
    }

    fn command(&self, program: &str) -> Command {
        let p = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(p);
            c
        } else {
            Command::new(p)
        }
    }

    /// Start the server (again): waits until it accepts connections.
    ///
    /// # Errors
    /// pg_ctl's message.
    pub fn pg_start(&self) -> Result<(), String> {
        let dir = self
            .dir
            .as_ref()
            .ok_or("an external server is not started here")?;
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
                self.port,
                dir.display()
            ))
            .arg("start");
        run(start, "pg_ctl start").map(drop)
    }

    /// Stop the server (fast: connections are closed, committed work is kept); waits until it is down.
    ///
    /// # Errors
    /// pg_ctl's message.
    pub fn pg_stop(&self) -> Result<(), String> {
        let dir = self
            .dir
            .as_ref()
            .ok_or("an external server is not stopped here")?;
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(dir.join("data"))
            .args(["-w", "-t", "60", "-m", "fast", "stop"]);
        run(stop, "pg_ctl stop").map(drop)
    }

    /// Run SQL on database `db` with psql; its output (unaligned, tuples only).
    ///
    /// # Errors
    /// psql's message.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let mut psql = self.command("psql");
        psql.arg(format!("{}/{db}", self.url)).args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]);
        run(psql, "psql")
    }

    /// A new, empty database; its URL.
    pub fn new_database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        format!("{}/{name}", self.url)
    }
}
