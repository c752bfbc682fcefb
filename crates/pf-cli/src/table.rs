//! Plain-text tables for the terminal.

use std::fmt::Write;

use pf_core::backtest::BacktestReport;
use pf_core::{Attribution, Case, DropOne, Forecast, Trajectory, ValueOfInformation, WhatIfResult};

fn pct(x: f64) -> String {
    format!("{:>6.1}%", 100.0 * x)
}

fn signed(x: f64) -> String {
    format!("{:>+7.1}", 100.0 * x)
}

pub fn forecast(case: &Case, f: &Forecast) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "case {} ({} -> {}), as of {}, term end {}",
        case.id, case.sender, case.target, f.as_of, f.term_end
    );
    let _ = writeln!(
        s,
        "signals used: {}   log-likelihood: {:.4}",
        f.signals_used, f.log_likelihood
    );
    let _ = write!(s, "\n{:<12} {:>8}", "outcome", "p");
    if let Some(iv) = &f.intervals {
        let _ = write!(s, " {:>8}", "mean");
        for i in &iv.intervals {
            let _ = write!(s, "  {:>17}", format!("{:.0}% interval", 100.0 * i.level));
        }
    }
    let _ = writeln!(s);
    for (o, name) in f.outcomes.iter().enumerate() {
        let _ = write!(s, "{:<12} {:>8}", name, pct(f.probabilities[o]));
        if let Some(iv) = &f.intervals {
            let _ = write!(s, " {:>8}", pct(iv.mean[o]));
            for i in &iv.intervals {
                let _ = write!(s, "  {} - {}", pct(i.lower[o]), pct(i.upper[o]));
            }
        }
        let _ = writeln!(s);
    }
    if let Some(iv) = &f.intervals {
        let _ = writeln!(s, "({} draws, seed {})", iv.draws, iv.seed);
    }
    let _ = writeln!(s, "\n{:<12} {:>8}", "regime now", "p");
    for (r, name) in f.regimes.iter().enumerate() {
        let _ = writeln!(s, "{:<12} {:>8}", name, pct(f.regime_probabilities[r]));
    }
    s
}

pub fn trajectory(t: &Trajectory) -> String {
    let mut s = String::new();
    let _ = write!(s, "{:<10}", "date");
    for o in &t.outcomes {
        let _ = write!(s, " {:>9}", o);
    }
    let _ = writeln!(s, "  signals");
    for p in &t.points {
        let _ = write!(s, "{:<10}", p.date.to_string());
        for x in &p.probabilities {
            let _ = write!(s, " {:>9}", pct(*x));
        }
        let _ = writeln!(s, "  {}", p.signal_types.join(", "));
    }
    s
}

pub fn attribution(a: &Attribution, drops: Option<&[DropOne]>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "case {} as of {}: change in percentage points by signal, in date order",
        a.case, a.as_of
    );
    let _ = write!(s, "{:<10} {:<34}", "date", "signal");
    for o in &a.outcomes {
        let _ = write!(s, " {:>9}", o);
    }
    let _ = writeln!(s);
    let _ = write!(s, "{:<10} {:<34}", "", "(no signals)");
    for x in &a.baseline {
        let _ = write!(s, " {:>9}", pct(*x));
    }
    let _ = writeln!(s);
    for c in &a.contributions {
        let _ = write!(
            s,
            "{:<10} {:<34}",
            c.signal.date.to_string(),
            c.signal.signal_type
        );
        for d in &c.delta {
            let _ = write!(s, " {:>9}", signed(*d));
        }
        let _ = writeln!(s);
    }
    let _ = write!(s, "{:<10} {:<34}", "", "(all signals)");
    for x in &a.total {
        let _ = write!(s, " {:>9}", pct(*x));
    }
    let _ = writeln!(s);
    if let Some(drops) = drops {
        let _ = writeln!(s, "\nforecast without each signal (change in points)");
        for d in drops {
            let _ = write!(
                s,
                "{:<10} {:<34}",
                d.signal.date.to_string(),
                d.signal.signal_type
            );
            for x in &d.delta {
                let _ = write!(s, " {:>9}", signed(*x));
            }
            let _ = writeln!(s);
        }
    }
    s
}

pub fn what_if(r: &WhatIfResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "as of {}, term end {} -> {}",
        r.scenario.as_of, r.baseline.term_end, r.scenario.term_end
    );
    let _ = writeln!(
        s,
        "{:<12} {:>9} {:>9} {:>9}",
        "outcome", "now", "what-if", "change"
    );
    for (o, name) in r.baseline.outcomes.iter().enumerate() {
        let _ = writeln!(
            s,
            "{:<12} {:>9} {:>9} {:>9}",
            name,
            pct(r.baseline.probabilities[o]),
            pct(r.scenario.probabilities[o]),
            signed(r.delta[o])
        );
    }
    s
}

pub fn value(v: &ValueOfInformation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "case {} as of {}: what would move the forecast next",
        v.case, v.as_of
    );
    let _ = write!(s, "{:<34} {:>9} {:>9}", "signal type", "p(next)", "E|chg|");
    for o in &v.outcomes {
        let _ = write!(s, " {:>9}", format!("d {o}"));
    }
    let _ = writeln!(s);
    for x in &v.values {
        let _ = write!(s, "{:<34} {:>9.5} {:>9.5}", x.signal_type, x.probability, x.score);
        for d in &x.delta {
            let _ = write!(s, " {:>9}", signed(*d));
        }
        let _ = writeln!(s);
    }
    s
}

pub fn backtest(r: &BacktestReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "backtest of {} on {} episodes{}",
        r.model,
        r.episodes,
        if r.loo { " (leave-one-out)" } else { "" }
    );
    let _ = writeln!(
        s,
        "{:<12} {:>8} {:>10} {:>8}",
        "forecaster", "brier", "log score", "ece"
    );
    let row = |s: &mut String, n: &str, x: &pf_core::backtest::Scores| {
        let _ = writeln!(
            s,
            "{:<12} {:>8.4} {:>10.4} {:>8.4}",
            n, x.brier, x.log_score, x.ece
        );
    };
    row(&mut s, "model", &r.scores);
    row(&mut s, "uniform", &r.baselines.uniform);
    row(&mut s, "base rate", &r.baselines.base_rate);
    row(&mut s, "prior only", &r.baselines.prior);
    let _ = writeln!(
        s,
        "\n{:<28} {:<10} {:>8} {:>10} {:>8}",
        "episode", "outcome", "brier", "log score", "uniform"
    );
    for e in &r.per_episode {
        let _ = writeln!(
            s,
            "{:<28} {:<10} {:>8.4} {:>10.4} {:>8.4}",
            e.id, e.outcome, e.brier, e.log_score, e.baselines.uniform.brier
        );
    }
    s
}
