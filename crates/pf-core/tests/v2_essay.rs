//! The essay checks (issue 11, "Checked by", a to g) on the shipped v2 model `models/maximum_pressure_v2.toml`,
//! each on a synthetic case. Run with `--nocapture` to see the numbers.

mod common;

use chrono::{Months, NaiveDate};
use common::d;
use pf_core::Signal;
use pf_core::v2::{self, ModelV2, Terms};

/// The essay checks run on the reasoned priors (`models/maximum_pressure_v2.toml`) and on the shipped model
/// fitted from them (`models/maximum_pressure.toml`, `make model`).
fn models() -> Vec<(&'static str, ModelV2)> {
    let shipped = pf_core::Model::default_model()
        .as_v2()
        .expect("the shipped default model is a v2 model")
        .clone();
    vec![("priors", ModelV2::default_model()), ("shipped", shipped)]
}

fn months(start: NaiveDate, n: u32) -> NaiveDate {
    start.checked_add_months(Months::new(n)).unwrap()
}

fn terms(start: &str, end: &str, eligible: bool) -> Terms {
    let t = d(end);
    Terms {
        start: d(start),
        term_end: t,
        reelection_eligible: eligible,
        election_date: v2::default_election_date(t),
    }
}

fn p(m: &ModelV2, tm: &Terms, sigs: &[Signal], as_of: NaiveDate) -> [f64; 3] {
    v2::forecast_terms(m, tm, sigs, as_of, &[]).unwrap().0
}

fn monthly(ty: &str, from: NaiveDate, n: u32) -> Vec<Signal> {
    (0..n).map(|i| Signal::new(ty, months(from, i))).collect()
}

#[test]
fn a_monthly_sanctions_raise_the_chance_of_a_deal() {
    for (which, m) in models() {
        println!("[{which}]");
        let tm = terms("2017-01-20", "2021-01-20", true);
        let at = months(tm.start, 7);
        let pressure = monthly("sanctions_tightened", tm.start, 6);
        let with = p(&m, &tm, &pressure, at);
        let without = p(&m, &tm, &[], at);
        println!(
            "essay check a: P(deal) at month 7 with six monthly sanctions {:.4}, without {:.4} (diff {:+.4})",
            with[0],
            without[0],
            with[0] - without[0]
        );
        assert!(with[0] > without[0]);
    }
}

#[test]
fn b_pressure_loses_value_as_the_campaign_ages() {
    for (which, m) in models() {
        println!("[{which}]");
        let at = d("2020-01-20");
        let end = "2021-01-20";
        // Young: started three months before, two monthly reports so far.
        let young = terms("2019-10-20", end, true);
        let young_sigs = vec![
            Signal::new("sanctions_tightened", d("2019-11-20")),
            Signal::new("sanctions_tightened", d("2019-12-20")),
        ];
        // Old: started 36 months before, a report every month since.
        let old = terms("2017-01-20", end, true);
        let old_sigs = monthly("sanctions_tightened", d("2017-02-20"), 35);
        let one_more = Signal::new("sanctions_tightened", at);
        let gain = |tm: &Terms, sigs: &[Signal]| {
            let before = p(&m, tm, sigs, at)[0];
            let mut more = sigs.to_vec();
            more.push(one_more.clone());
            let after = p(&m, tm, &more, at)[0];
            (before, after, after - before)
        };
        let (yb, ya, yg) = gain(&young, &young_sigs);
        let (ob, oa, og) = gain(&old, &old_sigs);
        println!(
            "essay check b: one more sanctions report on {at}: young campaign P(deal) {yb:.4} -> {ya:.4} ({yg:+.5}); \
             36-month campaign {ob:.4} -> {oa:.4} ({og:+.5})"
        );
        assert!(yg > 0.0);
        assert!(yg > og);
    }
}

#[test]
fn c_circumvention_lowers_the_chance_of_a_deal() {
    for (which, m) in models() {
        println!("[{which}]");
        let tm = terms("2017-01-20", "2021-01-20", true);
        let at = months(tm.start, 7);
        let pressure = monthly("sanctions_tightened", tm.start, 6);
        let mut circumvented = pressure.clone();
        circumvented.extend(monthly("third_party_circumvention", tm.start, 6));
        let with = p(&m, &tm, &circumvented, at);
        let without = p(&m, &tm, &pressure, at);
        println!(
            "essay check c: P(deal) at month 7 with six monthly sanctions and monthly circumvention {:.4}, \
             without circumvention {:.4} (diff {:+.4})",
            with[0],
            without[0],
            with[0] - without[0]
        );
        assert!(with[0] < without[0]);
    }
}

#[test]
fn d_no_news_the_deal_recedes_and_waiting_out_grows() {
    for (which, m) in models() {
        println!("[{which}]");
        let eligible = terms("2017-01-20", "2021-01-20", true);
        let ineligible = terms("2017-01-20", "2021-01-20", false);
        let dates = [
            "2017-01-20",
            "2018-01-20",
            "2019-01-20",
            "2020-01-20",
            "2020-07-20",
            "2020-11-01",
            "2021-01-10",
        ];
        let mut last_deal = f64::INFINITY;
        let mut last_wait = f64::NEG_INFINITY;
        for s in dates {
            let pe = p(&m, &eligible, &[], d(s));
            let pi = p(&m, &ineligible, &[], d(s));
            println!(
                "essay check d: no signals, as of {s}: eligible [deal {:.4}, stalemate {:.4}, wait_out {:.4}]; \
                 ineligible [deal {:.4}, stalemate {:.4}, wait_out {:.4}]",
                pe[0], pe[1], pe[2], pi[0], pi[1], pi[2]
            );
            assert!(pe[0] < last_deal && pi[0] <= pe[0] + 1e-12);
            assert!(pi[2] > last_wait);
            assert_eq!(pi[1], 0.0);
            last_deal = pe[0];
            last_wait = pi[2];
        }
    }
}

#[test]
fn e_an_upfront_surrender_demand_lowers_the_chance_of_a_deal() {
    for (which, m) in models() {
        println!("[{which}]");
        let tm = terms("2017-01-20", "2021-01-20", true);
        let at = months(tm.start, 7);
        let pressure = monthly("sanctions_tightened", tm.start, 6);
        let mut demand = pressure.clone();
        demand.push(Signal::new("upfront_surrender_demanded", months(tm.start, 1)));
        let with = p(&m, &tm, &demand, at);
        let without = p(&m, &tm, &pressure, at);
        let alone = p(&m, &tm, &demand[6..], at);
        let none = p(&m, &tm, &[], at);
        println!(
            "essay check e: P(deal) at month 7, sanctions with an up-front surrender demand {:.4}, without {:.4} \
             (diff {:+.4}); the demand alone {:.4} vs nothing {:.4}",
            with[0],
            without[0],
            with[0] - without[0],
            alone[0],
            none[0]
        );
        assert!(with[0] < without[0]);
        assert!(alone[0] < none[0]);
    }
}

#[test]
fn f_a_target_betting_on_the_leaders_departure_raises_waiting_out() {
    for (which, m) in models() {
        println!("[{which}]");
        let tm = terms("2017-01-20", "2021-01-20", true);
        let at = d("2020-04-01");
        let bet = vec![Signal::new("leadership_change_expected", d("2020-03-01"))];
        let with = p(&m, &tm, &bet, at);
        let without = p(&m, &tm, &[], at);
        println!(
            "essay check f: P(wait_out) on {at} (eligible, before the election) after leadership_change_expected {:.4}, \
             without {:.4} (diff {:+.4})",
            with[2],
            without[2],
            with[2] - without[2]
        );
        assert!(with[2] > without[2]);
    }
}

#[test]
fn g_exact_zeros_and_ones() {
    for (which, m) in models() {
        println!("[{which}]");
        let inel = terms("2017-01-20", "2021-01-20", false);
        let sigs = monthly("sanctions_tightened", inel.start, 12);
        let pi = p(&m, &inel, &sigs, d("2019-01-01"));
        let el = terms("2017-01-20", "2021-01-20", true);
        let mut re = sigs.clone();
        re.push(Signal::new("sender_leader_reelected", d("2020-11-04")));
        let pr = p(&m, &el, &re, d("2020-11-10"));
        let mut deal = sigs.clone();
        deal.push(Signal::new("agreement_signed", d("2019-02-28")));
        let pd = p(&m, &el, &deal, d("2019-03-01"));
        println!(
            "essay check g: ineligible leader stalemate = {:e}; after sender_leader_reelected wait_out = {:e} \
             (stalemate {:.4}); after agreement_signed (reliability 1) deal = {}",
            pi[1], pr[2], pr[1], pd[0]
        );
        assert_eq!(pi[1], 0.0);
        assert_eq!(pr[2], 0.0);
        assert_eq!(pd[0], 1.0);
    }
}
