//! `pressure-forecast serve` without the CLI crate: `cargo run -p pf-server --example serve -- --db x.sqlite3`.

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    serve: pf_server::cli::ServeArgs,
}

fn main() -> anyhow::Result<()> {
    pf_server::cli::run(Args::parse().serve)
}
