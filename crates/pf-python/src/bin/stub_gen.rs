//! Writes `python/pressure_forecast/_native.pyi` from the Rust definitions (`make stubs`); with `--check`, exits
//! with status 1 when the committed file differs from what would be written.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let text = match _native::stub_text() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("stub_gen: cannot gather the stubs: {e}");
            return ExitCode::from(2);
        }
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/pressure_forecast/_native.pyi");
    if std::env::args().any(|a| a == "--check") {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != text {
            eprintln!("stub_gen: {} is out of date: run `make stubs`", path.display());
            return ExitCode::from(1);
        }
        return ExitCode::SUCCESS;
    }
    match std::fs::write(&path, text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stub_gen: cannot write {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}
