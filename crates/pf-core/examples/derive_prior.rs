//! Derive the default model's prior over regimes from the outcome base rates.
//!
//! The prior is the start distribution over the non-absorbing regimes that, run through the model's dynamics
//! with no signals over a four-year term, reproduces the target base rates of `data/sanctions/base_rates.json`
//! (the subset named on the command line). It solves the 3 x 3 linear system `R π = b`, where column `i` of `R`
//! is the outcome distribution of a campaign that starts in regime `i`, and reports the solution, clipped to the
//! simplex if the base rates lie outside what the dynamics can produce.
//!
//! ```text
//! cargo run -p pf-core --example derive_prior -- [MODEL.toml] [deal stalemate wait_out]
//! ```
use chrono::NaiveDate;
use pf_core::{Case, Model};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = match args.first() {
        Some(p) if p.ends_with(".toml") => Model::load(p).expect("model file"),
        _ => Model::v1_model(),
    };
    let nums: Vec<f64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    // TIES v4.1, US main sender, sanctions imposed (data/sanctions/base_rates.json).
    let target = if nums.len() == 3 {
        nums
    } else {
        vec![0.530, 0.291, 0.179]
    };
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let case = Case::new("prior", "S", "T", d("2017-01-20"), d("2021-01-20")).unwrap();
    let k = model.n_regimes();
    let start_regimes: Vec<usize> = (0..k).filter(|&i| model.regimes()[i] != "settled").collect();
    let mut cols = Vec::new();
    for &i in &start_regimes {
        let t = model
            .transition(case.start, case.term_end, case.term_end)
            .unwrap();
        let mut p = vec![0.0; model.n_outcomes()];
        for j in 0..k {
            p[model.outcome_of()[j]] += t[i * k + j];
        }
        println!(
            "start in {:<10} -> {:?}",
            model.regimes()[i],
            p.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>()
        );
        cols.push(p);
    }
    // Solve R pi = b with R[o][i] = cols[i][o] (3 x 3, Cramer's rule).
    let r = |o: usize, i: usize| cols[i][o];
    let det3 = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let base = [
        [r(0, 0), r(0, 1), r(0, 2)],
        [r(1, 0), r(1, 1), r(1, 2)],
        [r(2, 0), r(2, 1), r(2, 2)],
    ];
    let dt = det3(base);
    let mut pi = vec![0.0; 3];
    for c in 0..3 {
        let mut m = base;
        for o in 0..3 {
            m[o][c] = target[o];
        }
        pi[c] = det3(m) / dt;
    }
    println!("target base rates {target:?}");
    println!(
        "exact solution over {:?}: {:?}",
        start_regimes
            .iter()
            .map(|&i| &model.regimes()[i])
            .collect::<Vec<_>>(),
        pi
    );
    let clipped: Vec<f64> = pi.iter().map(|x| x.max(0.0)).collect();
    let s: f64 = clipped.iter().sum();
    let clipped: Vec<f64> = clipped.iter().map(|x| x / s).collect();
    let mut implied = [0.0; 3];
    for (i, w) in clipped.iter().enumerate() {
        for o in 0..3 {
            implied[o] += w * cols[i][o];
        }
    }
    println!(
        "prior (clipped to the simplex): {:?}",
        clipped.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>()
    );
    println!(
        "prior-only forecast it implies: {:?}",
        implied.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>()
    );
}
