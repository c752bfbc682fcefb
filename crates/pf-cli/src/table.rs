//! Plain-text tables for the terminal.
//!
//! Built with comfy-table (rather than tabled): rows are assembled at run time from the model's outcome and
//! regime names, which comfy-table takes as plain vectors of cells, while tabled is built around deriving a
//! row type per table. It is kept without its terminal feature (no crossterm): a fixed layout, no colours,
//! no wrapping to the terminal width, so output piped to a file reads the same as on screen.

use comfy_table::{Cell, CellAlignment, Table, presets};

use pf_core::backtest::{BacktestReport, Scores};
use pf_core::{Attribution, Case, DropOne, Forecast, Trajectory, ValueOfInformation, WhatIfResult};

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn signed(x: f64) -> String {
    format!("{:+.1}", 100.0 * x)
}

/// A borderless table with a header, the first `left` columns aligned left and the others right.
fn table(header: Vec<String>, left: usize) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    let n = header.len();
    t.set_header(header);
    for i in left..n {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// The table's text without the trailing blanks of the borderless preset.
fn render(t: &Table) -> String {
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn cells(v: impl IntoIterator<Item = String>) -> Vec<Cell> {
    v.into_iter().map(Cell::new).collect()
}

/// The case's header line: who presses whom, the leader's eligibility and the election date (given, or the
/// default 78 days before the term end).
pub fn case_header(case: &Case) -> String {
    format!(
        "case {} ({} -> {}), leader {}, election {}{}",
        case.id,
        case.sender,
        case.target,
        if case.reelection_eligible {
            "eligible for re-election"
        } else {
            "not eligible for re-election"
        },
        case.election_date(),
        if case.election_date_given.is_some() {
            ""
        } else {
            " (default: 78 days before the term end)"
        }
    )
}

/// A forecast: outcomes (with intervals when drawn) and the regime distribution now.
pub fn forecast(case: &Case, f: &Forecast) -> String {
    let mut s = format!(
        "{}, as of {}, term end {}\nsignals used: {}   log-likelihood: {:.4}\n\n",
        case_header(case),
        f.as_of,
        f.term_end,
        f.signals_used,
        f.log_likelihood
    );
    let mut header = vec!["outcome".to_owned(), "p".to_owned()];
    if let Some(iv) = &f.intervals {
        header.push("mean".to_owned());
        for i in &iv.intervals {
            header.push(format!("{:.0}% interval", 100.0 * i.level));
        }
    }
    let mut t = table(header, 1);
    for (o, name) in f.outcomes.iter().enumerate() {
        let mut row = vec![name.clone(), pct(f.probabilities[o])];
        if let Some(iv) = &f.intervals {
            row.push(pct(iv.mean[o]));
            for i in &iv.intervals {
                row.push(format!("{} - {}", pct(i.lower[o]), pct(i.upper[o])));
            }
        }
        t.add_row(cells(row));
    }
    s.push_str(&format!("{}\n", render(&t)));
    if let Some(iv) = &f.intervals {
        s.push_str(&format!("({} draws, seed {})\n", iv.draws, iv.seed));
    }
    let mut r = table(vec!["regime now".to_owned(), "p".to_owned()], 1);
    for (j, name) in f.regimes.iter().enumerate() {
        r.add_row(cells([name.clone(), pct(f.regime_probabilities[j])]));
    }
    s.push_str(&format!("\n{}\n", render(&r)));
    s
}

/// Outcome probabilities by day, with the signals of each day.
pub fn trajectory(case: &Case, tr: &Trajectory) -> String {
    let mut header = vec!["date".to_owned()];
    header.extend(tr.outcomes.iter().cloned());
    header.push("signals".to_owned());
    let n = header.len();
    let mut t = table(header, 1);
    if let Some(c) = t.column_mut(n - 1) {
        c.set_cell_alignment(CellAlignment::Left);
    }
    for p in &tr.points {
        let mut row = vec![p.date.to_string()];
        row.extend(p.probabilities.iter().map(|x| pct(*x)));
        row.push(p.signal_types.join(", "));
        t.add_row(cells(row));
    }
    format!("{}\n{}\n", case_header(case), render(&t))
}

/// Each signal's contribution in percentage points, in date order (and the drop-one table).
pub fn attribution(case: &Case, a: &Attribution, drops: Option<&[DropOne]>) -> String {
    let mut s = format!(
        "{}\nas of {}: change in percentage points by signal, in date order\n",
        case_header(case),
        a.as_of
    );
    let mut header = vec!["date".to_owned(), "signal".to_owned()];
    header.extend(a.outcomes.iter().cloned());
    let mut t = table(header.clone(), 2);
    let mut row = vec![String::new(), "(no signals)".to_owned()];
    row.extend(a.baseline.iter().map(|x| pct(*x)));
    t.add_row(cells(row));
    for c in &a.contributions {
        let mut row = vec![c.signal.date.to_string(), c.signal.signal_type.to_string()];
        row.extend(c.delta.iter().map(|x| signed(*x)));
        t.add_row(cells(row));
    }
    let mut row = vec![String::new(), "(all signals)".to_owned()];
    row.extend(a.total.iter().map(|x| pct(*x)));
    t.add_row(cells(row));
    s.push_str(&format!("{}\n", render(&t)));
    if let Some(drops) = drops {
        s.push_str("\nforecast without each signal (change in points)\n");
        let mut t = table(header, 2);
        for d in drops {
            let mut row = vec![d.signal.date.to_string(), d.signal.signal_type.to_string()];
            row.extend(d.delta.iter().map(|x| signed(*x)));
            t.add_row(cells(row));
        }
        s.push_str(&format!("{}\n", render(&t)));
    }
    s
}

/// The forecast now, with the hypothesis, and the change.
pub fn what_if(case: &Case, r: &WhatIfResult) -> String {
    let mut s = format!(
        "{}\nas of {}, term end {} -> {}\n",
        case_header(case),
        r.scenario.as_of,
        r.baseline.term_end,
        r.scenario.term_end
    );
    let mut t = table(
        ["outcome", "now", "what-if", "change"]
            .map(str::to_owned)
            .to_vec(),
        1,
    );
    for (o, name) in r.baseline.outcomes.iter().enumerate() {
        t.add_row(cells([
            name.clone(),
            pct(r.baseline.probabilities[o]),
            pct(r.scenario.probabilities[o]),
            signed(r.delta[o]),
        ]));
    }
    s.push_str(&format!("{}\n", render(&t)));
    s
}

/// One signal type of a model and its role (`model --types`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TypeRow {
    /// The type's name.
    pub name: String,
    /// Its role: action, context, evidence, deal or fate.
    pub role: String,
    /// Deal or action types: it repudiates a standing deal.
    pub repudiates: bool,
    /// Fate types: what it reveals.
    pub reveals: Option<pf_core::v2::Fate>,
    /// What it records.
    pub description: String,
}

/// The signal types of a model with their roles.
pub fn signal_types(model: &pf_core::Model, types: &[TypeRow]) -> String {
    let mut t = table(
        ["signal type", "role", "description"].map(str::to_owned).to_vec(),
        3,
    );
    for r in types {
        let mut role = r.role.clone();
        if r.repudiates {
            role.push_str(" (repudiates)");
        }
        if let Some(f) = r.reveals {
            role.push_str(match f {
                pf_core::v2::Fate::Stays => " (stays)",
                pf_core::v2::Fate::Leaves => " (leaves)",
            });
        }
        let first = r.description.lines().next().unwrap_or_default();
        t.add_row(cells([r.name.clone(), role, first.to_owned()]));
    }
    format!(
        "{} (format_version {}): {} signal types\n{}\n",
        model.name(),
        model.format_version(),
        types.len(),
        render(&t)
    )
}

/// A scenario's forecast beside the default future (no new actions), and the leader's fate under each.
pub fn scenario(
    case: &Case,
    what: &str,
    baseline: &Forecast,
    forecast: &Forecast,
    delta: &[f64],
    leader_stays: [f64; 2],
) -> String {
    let mut s = format!(
        "{}\nas of {}, term end {}{}\nscenario: {what}\n",
        case_header(case),
        forecast.as_of,
        baseline.term_end,
        if forecast.term_end == baseline.term_end {
            String::new()
        } else {
            format!(" -> {}", forecast.term_end)
        }
    );
    let mut t = table(
        ["outcome", "no new actions", "scenario", "change"]
            .map(str::to_owned)
            .to_vec(),
        1,
    );
    for (o, name) in baseline.outcomes.iter().enumerate() {
        t.add_row(cells([
            name.clone(),
            pct(baseline.probabilities[o]),
            pct(forecast.probabilities[o]),
            signed(delta[o]),
        ]));
    }
    t.add_row(cells([
        "(leader stays)".to_owned(),
        pct(leader_stays[0]),
        pct(leader_stays[1]),
        signed(leader_stays[1] - leader_stays[0]),
    ]));
    s.push_str(&format!("{}\n", render(&t)));
    s
}

/// Two policies for one case: both forecasts and b - a.
pub fn comparison(
    case: &Case,
    as_of: chrono::NaiveDate,
    what: [&str; 2],
    c: &pf_core::v2::PolicyComparison,
) -> String {
    let mut s = format!(
        "{}\nas of {as_of}\na: {}\nb: {}\n",
        case_header(case),
        what[0],
        what[1]
    );
    let mut t = table(["outcome", "a", "b", "b - a"].map(str::to_owned).to_vec(), 1);
    for (o, name) in c.a.outcomes.iter().enumerate() {
        t.add_row(cells([
            name.clone(),
            pct(c.a.probabilities[o]),
            pct(c.b.probabilities[o]),
            signed(c.difference[o]),
        ]));
    }
    s.push_str(&format!("{}\n", render(&t)));
    s
}

/// Signal types ranked by value of information.
pub fn value(case: &Case, v: &ValueOfInformation) -> String {
    let mut s = format!(
        "{}\nas of {}: what would move the forecast next\n",
        case_header(case),
        v.as_of
    );
    let mut header = ["signal type", "p(next)", "E|chg|"].map(str::to_owned).to_vec();
    header.extend(v.outcomes.iter().map(|o| format!("d {o}")));
    let mut t = table(header, 1);
    for x in &v.values {
        let mut row = vec![
            x.signal_type.clone(),
            format!("{:.5}", x.probability),
            format!("{:.5}", x.score),
        ];
        row.extend(x.delta.iter().map(|d| signed(*d)));
        t.add_row(cells(row));
    }
    s.push_str(&format!("{}\n", render(&t)));
    s
}

/// Scores of the model and the baselines, then per episode (and the episodes left out).
pub fn backtest(r: &BacktestReport) -> String {
    let mut s = format!(
        "backtest of {} on {} episodes{}\n",
        r.model,
        r.episodes,
        if r.loo { " (leave-one-out)" } else { "" }
    );
    let mut t = table(
        ["forecaster", "brier", "log score", "ece"]
            .map(str::to_owned)
            .to_vec(),
        1,
    );
    let row = |n: &str, x: &Scores| {
        cells([
            n.to_owned(),
            format!("{:.4}", x.brier),
            format!("{:.4}", x.log_score),
            format!("{:.4}", x.ece),
        ])
    };
    t.add_row(row("model", &r.scores));
    t.add_row(row("uniform", &r.baselines.uniform));
    t.add_row(row("base rate", &r.baselines.base_rate));
    t.add_row(row("prior only", &r.baselines.prior));
    s.push_str(&format!("{}\n\n", render(&t)));
    let mut t = table(
        ["episode", "outcome", "brier", "log score", "uniform"]
            .map(str::to_owned)
            .to_vec(),
        2,
    );
    for e in &r.per_episode {
        t.add_row(cells([
            e.id.clone(),
            e.outcome.clone(),
            format!("{:.4}", e.brier),
            format!("{:.4}", e.log_score),
            format!("{:.4}", e.baselines.uniform.brier),
        ]));
    }
    s.push_str(&format!("{}\n", render(&t)));
    s
}

/// The note on the episodes left out of a fit or a backtest because they are marked `exclude_from_training`.
pub fn excluded(what: &str, ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| {
        format!(
            "{} episode(s) marked exclude_from_training left out of the {what}: {}",
            ids.len(),
            ids.join(", ")
        )
    })
}
