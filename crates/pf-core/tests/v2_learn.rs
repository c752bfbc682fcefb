//! Learning for v2 models: the objective is the filter's own, the penalised objective never decreases, fit
//! recovers hazard bases and betas from synthetic episodes with errors shrinking in the number of episodes,
//! and a fitted model file loads back and forecasts the same. Also the v2 backtest and its baselines.

use pf_core::v2::baselines::{self, BASELINES, BacktestOptionsV2};
use pf_core::v2::learn::{self, EpisodeSet, FitOptionsV2};
use pf_core::v2::{self, ModelV2, SampleOptions, Terms, sample_episodes};
use pf_core::{Episode, Silent};

/// A small v2 model for recovery: engaged, resisting, settled; one bucket; pressure raises resisting ->
/// engaged, reciprocity raises engaged -> settled. `shift` moves every prior centre (rates by a factor
/// `e^shift`, betas by `-shift`) and `sd` sets the priors' widths.
fn small_model(shift: f64, sd: f64) -> ModelV2 {
    let r = |x: f64| x * shift.exp();
    let text = format!(
        r#"
format_version = 2
name = "small"
deal_repudiated_to = "resisting"
exponent_range = [-5.0, 5.0]
evidence_concentration = 50.0
[[regimes]]
name = "engaged"
[[regimes]]
name = "resisting"
[[regimes]]
name = "settled"
deal = true
[prior]
probabilities = [0.3, 0.7, 0.0]
concentration = 10.0
[fate]
incumbency_rate = 0.7
concentration = 20.0
[[buckets]]
name = "all"
min_days_left = 0
[inputs.pressure]
types = ["sanctions_tightened"]
half_life_days = 180.0
tau_days = 730.0
[inputs.reciprocity]
types = ["sanctions_relief"]
half_life_days = 90.0
[[hazards]]
from = "engaged"
to = "settled"
rate_per_year = {es}
rate_sd_log = {sd}
betas.reciprocity = {{ mean = {br}, sd = {sd} }}
[[hazards]]
from = "engaged"
to = "resisting"
rate_per_year = {er}
rate_sd_log = {sd}
[[hazards]]
from = "resisting"
to = "engaged"
rate_per_year = {re}
rate_sd_log = {sd}
betas.pressure = {{ mean = {bp}, sd = {sd} }}
[signals.sanctions_tightened]
role = "action"
[signals.sanctions_relief]
role = "action"
[signals.talks_held]
role = "evidence"
q = [0.6, 0.2, 0.5]
[signals.talks_refused]
role = "evidence"
q = [0.1, 0.5, 0.1]
[signals.provocation_by_target]
role = "evidence"
q = [0.3, 0.3, 0.4]
[signals.agreement_signed]
role = "deal"
[signals.sender_leader_reelected]
role = "fate"
reveals = "stays"
[signals.sender_leader_departing]
role = "fate"
reveals = "leaves"
"#,
        es = r(0.4),
        er = r(1.5),
        re = r(0.5),
        br = 1.0 - shift,
        bp = 1.0 - shift,
    );
    ModelV2::from_toml_str(&text).unwrap()
}

/// `(ln rate per year of each hazard, betas)` of the small model, read back from its TOML.
fn params(m: &ModelV2) -> Vec<f64> {
    let spec = m.spec();
    let mut out = Vec::new();
    for h in &spec.hazards {
        match &h.rate_per_year {
            v2::Rates::One(x) => out.push(x.ln()),
            v2::Rates::Many(v) => out.push(v[0].ln()),
        }
    }
    for h in &spec.hazards {
        for b in h.betas.values() {
            out.push(b.value.unwrap_or(b.mean));
        }
    }
    out
}

/// Synthetic episodes of two-year terms (four-year ones in the bigger run), a report a month.
fn synthetic(m: &ModelV2, n: usize, seed: u64) -> Vec<Episode> {
    synthetic_days(m, n, seed, 730)
}

fn synthetic_days(m: &ModelV2, n: usize, seed: u64, days: u32) -> Vec<Episode> {
    sample_episodes(
        m,
        &SampleOptions {
            n,
            seed,
            days,
            evidence_per_year: 12.0,
            ..SampleOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn objective_without_penalty_is_the_sum_of_episode_objectives() {
    for model in [ModelV2::default_model(), small_model(0.0, 0.5)] {
        let eps = synthetic(&model, 12, 7);
        let eps2 = synthetic(&model, 5, 8);
        let sets = vec![
            EpisodeSet::new("a", 1.0, eps.clone()),
            EpisodeSet::new("b", 0.2, eps2.clone()),
        ];
        let got = learn::weighted_objective(&model, &sets).unwrap();
        let mut want = 0.0;
        for (w, set) in [(1.0, &eps), (0.2, &eps2)] {
            for e in set {
                let t = Terms::of_case(&e.case);
                want += w * v2::episode_objective(&model, &t, e.case.signals(), &e.outcome).unwrap();
            }
        }
        assert!((got - want).abs() < 1e-9 * (1.0 + want.abs()), "{got} vs {want}");
        assert!(want.is_finite());
    }
}

#[test]
fn penalised_objective_never_decreases_and_excluded_episodes_are_left_out() {
    let truth = small_model(0.0, 0.5);
    let base = small_model(0.4, 0.5);
    let mut eps = synthetic(&truth, 30, 3);
    // An excluded episode with an impossible outcome would make the objective -inf if it were used.
    let mut bad = eps[0].clone();
    bad.outcome = if bad.outcome == "deal" {
        "stalemate".into()
    } else {
        "deal".into()
    };
    bad.exclude_from_training = true;
    eps.push(bad);
    let sets = vec![EpisodeSet::new("synthetic", 1.0, eps)];
    let opts = FitOptionsV2 {
        max_iterations: 6,
        ..FitOptionsV2::default()
    };
    let rep = learn::fit(&base, &sets, &opts, &Silent).unwrap();
    let tr = &rep.record.trace;
    println!("objective trace: {tr:?}");
    assert!(tr.len() >= 2);
    for w in tr.windows(2) {
        assert!(w[1] >= w[0], "objective decreased: {tr:?}");
    }
    assert!(tr.last().unwrap() > &tr[0], "no progress: {tr:?}");
    assert_eq!(rep.record.data[0].excluded, 1);
    assert_eq!(rep.record.data[0].episodes, 30);
    // The recorded objective is that of the model returned.
    let o = learn::weighted_objective(&rep.model, &sets).unwrap();
    assert!(
        (o - rep.record.objective).abs() < 1e-6 * (1.0 + o.abs()),
        "{o} vs {}",
        rep.record.objective
    );
}

fn rms(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

fn recovery(ns: &[usize], iterations: u32) -> Vec<f64> {
    recovery_tol(ns, iterations, FitOptionsV2::default().tolerance)
}

fn recovery_tol(ns: &[usize], iterations: u32, tolerance: f64) -> Vec<f64> {
    let truth = small_model(0.0, 0.5);
    let want = params(&truth);
    // The prior is centred off the truth (rates x e^0.6, betas -0.6) and wide, so that only the data can
    // bring the fit back.
    let base = small_model(0.6, 2.0);
    let opts = FitOptionsV2 {
        max_iterations: iterations,
        fit_evidence: false,
        tolerance,
        ..FitOptionsV2::default()
    };
    let mut errs = Vec::new();
    for &n in ns {
        let eps = synthetic(&truth, n, 11);
        let rep = learn::fit(&base, &[EpisodeSet::new("synthetic", 1.0, eps)], &opts, &Silent).unwrap();
        let got = params(&rep.model);
        let e = rms(&got, &want);
        println!(
            "n = {n}: rms error {e:.3} (ln rates, betas) fitted {got:.3?} truth {want:.3?}; {} iterations, converged {}",
            rep.record.iterations, rep.record.converged
        );
        errs.push(e);
    }
    errs
}

#[test]
fn fit_recovers_hazards_and_betas_with_errors_shrinking() {
    let e = recovery(&[25, 100, 400], 25);
    let start = rms(&params(&small_model(0.6, 2.0)), &params(&small_model(0.0, 0.5)));
    println!("error of the starting point: {start:.3}");
    // Measured (seed 11): 0.619, 0.196, 0.054 against 0.600 at the start. Twenty-five episodes are too few to
    // move the fit reliably closer than the shifted start (the error there is about the start's); a hundred
    // and more are.
    assert!(e[1] < start, "{e:?} vs start {start}");
    assert!(e[1] < e[0] && e[2] < e[1], "errors do not shrink: {e:?}");
    assert!(e[2] < 0.25, "{e:?}");
}

/// The bigger run: six samples (seeds 21 to 26) at 400 and at 1,600 episodes, fitted from the shifted start.
///
/// One sample is not enough to see the error shrink: with seed 11 alone the error went 0.062 -> 0.112 from 400 to
/// 1,600 episodes. The fit is not the cause: started from the truth, it ends at the same point (to 0.003), with a
/// higher objective than the truth's. Over seeds 21 to 26 (measured): mean RMS error 0.220 at 400 episodes and
/// 0.082 at 1,600; mean likelihood-ratio statistic 2 (J(fit) - J(truth)) 7.1 and 4.0. For a consistent estimator
/// of five parameters that statistic is chi-squared with 5 degrees of freedom whatever the number of episodes (a
/// bias would make it grow with n): the mean of six is below 8.5 with probability 0.99.
#[test]
#[ignore = "minutes in release: cargo test --release -p pf-core --test v2_learn -- --ignored --nocapture"]
fn fit_recovers_hazards_and_betas_bigger_run() {
    let truth = small_model(0.0, 0.5);
    let want = params(&truth);
    let base = small_model(0.6, 2.0);
    let opts = FitOptionsV2 {
        max_iterations: 80,
        fit_evidence: false,
        tolerance: 1e-10,
        ..FitOptionsV2::default()
    };
    let seeds = [21u64, 22, 23, 24, 25, 26];
    let mut mean_err = Vec::new();
    let mut mean_lr = Vec::new();
    for n in [400usize, 1600] {
        let (mut e, mut l) = (0.0, 0.0);
        for &seed in &seeds {
            let sets = [EpisodeSet::new("synthetic", 1.0, synthetic(&truth, n, seed))];
            let rep = learn::fit(&base, &sets, &opts, &Silent).unwrap();
            let err = rms(&params(&rep.model), &want);
            let lr = 2.0
                * (learn::weighted_objective(&rep.model, &sets).unwrap()
                    - learn::weighted_objective(&truth, &sets).unwrap());
            println!("n = {n}, seed {seed}: rms error {err:.3}, 2 (J(fit) - J(truth)) = {lr:.2}");
            e += err / seeds.len() as f64;
            l += lr / seeds.len() as f64;
        }
        println!("n = {n}: mean rms error {e:.3}, mean likelihood-ratio statistic {l:.2}");
        mean_err.push(e);
        mean_lr.push(l);
    }
    assert!(mean_err[1] < mean_err[0], "errors do not shrink: {mean_err:?}");
    assert!(
        mean_lr[1] < 8.5,
        "the fit at 1,600 episodes is further from the truth than chance: {mean_lr:?}"
    );
    assert!(
        mean_lr.iter().all(|l| *l > 0.0),
        "the fit is below the truth's objective: {mean_lr:?}"
    );
}

#[test]
fn evidence_rows_move_toward_the_truth() {
    let truth = small_model(0.0, 0.5);
    // Same hazards, rows flattened: EM must bring them toward the truth.
    let text = truth
        .to_toml_string()
        .replace("q = [0.6, 0.2, 0.5]", "q = [0.34, 0.33, 0.34]")
        .replace("q = [0.1, 0.5, 0.1]", "q = [0.33, 0.34, 0.33]")
        .replace("q = [0.3, 0.3, 0.4]", "q = [0.33, 0.33, 0.33]");
    let flat = ModelV2::from_toml_str(&text).unwrap();
    let eps = synthetic(&truth, 60, 5);
    let opts = FitOptionsV2 {
        max_iterations: 4,
        fit_hazards: false,
        ..FitOptionsV2::default()
    };
    let rep = learn::fit(&flat, &[EpisodeSet::new("s", 1.0, eps)], &opts, &Silent).unwrap();
    for w in rep.record.trace.windows(2) {
        assert!(w[1] >= w[0], "{:?}", rep.record.trace);
    }
    let q = |m: &ModelV2, t: &str| m.evidence_likelihood(t).unwrap().to_vec();
    let before = rms(&q(&flat, "talks_refused"), &q(&truth, "talks_refused"));
    let after = rms(&q(&rep.model, "talks_refused"), &q(&truth, "talks_refused"));
    println!(
        "talks_refused rows: before {before:.3} after {after:.3}; trace {:?}",
        rep.record.trace
    );
    assert!(after < before);
}

#[test]
fn fitted_file_loads_back_and_forecasts_the_same() {
    let base_text = ModelV2::default_toml();
    let base = ModelV2::default_model();
    let eps = synthetic(&base, 4, 2);
    let opts = FitOptionsV2 {
        max_iterations: 1,
        ..FitOptionsV2::default()
    };
    let (text, rep) = learn::fit_to_toml(
        base_text,
        &[EpisodeSet::new("tiny", 1.0, eps.clone())],
        &opts,
        &Silent,
    )
    .unwrap();
    assert!(text.contains("[fit]"), "{text}");
    assert!(text.contains("prior_rate_per_year"));
    assert!(text.contains("# the prior's centre"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fitted.toml");
    std::fs::write(&path, &text).unwrap();
    let back = ModelV2::load(&path).unwrap();
    assert_eq!(back.hash(), rep.model.hash());
    for e in &eps {
        let at = e.case.start + chrono::Days::new(500);
        let a = v2::forecast(&back, &e.case, at).unwrap();
        let b = v2::forecast(&rep.model, &e.case, at).unwrap();
        assert_eq!(a.probabilities, b.probabilities);
    }
    // Refitting the fitted file keeps the base model's priors.
    let again = learn::fit_to_toml(&text, &[EpisodeSet::new("tiny", 1.0, eps)], &opts, &Silent).unwrap();
    let p0 = &base.spec().hazards[0].rate_per_year;
    let p2 = again.1.model.spec().hazards[0]
        .prior_rate_per_year
        .clone()
        .unwrap();
    assert_eq!(&p2, p0);
}

#[test]
fn backtest_scores_the_model_beside_every_baseline() {
    let truth = small_model(0.0, 0.5);
    let eps = synthetic(&truth, 8, 21);
    let sets = vec![EpisodeSet::new("synthetic", 1.0, eps.clone())];
    let rep = baselines::backtest(&truth, &sets, 0, &BacktestOptionsV2::default(), &Silent).unwrap();
    assert_eq!(rep.scores.len(), BASELINES.len() + 1);
    let uniform = rep.scores.iter().find(|s| s.name == "uniform").unwrap();
    assert!((uniform.brier - 2.0 / 3.0).abs() < 1e-12);
    for s in &rep.scores {
        assert!(s.brier.is_finite() && s.log_score.is_finite(), "{s:?}");
    }
    // The codebook baselines: after a deal signal the deal is certain, so a deal episode's final forecast is 1.
    for e in &rep.per_episode {
        if e.outcome == "deal" {
            assert_eq!(e.final_probabilities[0], 1.0);
        }
    }
    // Leave-one-out: each episode a pure refit; pooling the per-episode results gives the same report.
    let opts = BacktestOptionsV2 {
        loo: true,
        fit: FitOptionsV2 {
            max_iterations: 2,
            fit_evidence: false,
            ..FitOptionsV2::default()
        },
        ..BacktestOptionsV2::default()
    };
    let small = vec![EpisodeSet::new("synthetic", 1.0, eps[..3].to_vec())];
    let rep = baselines::backtest(&truth, &small, 0, &opts, &Silent).unwrap();
    let per: Vec<_> = (0..3)
        .map(|i| baselines::loo_one(&truth, &small, 0, i, &opts).unwrap())
        .collect();
    let pooled = baselines::report(truth.name(), "synthetic", "leave-one-out", per, 10);
    assert_eq!(pooled.scores, rep.scores);
}
