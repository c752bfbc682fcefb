//! Quick look at the default model's prior-only forecast.
use chrono::NaiveDate;
use pf_core::{Case, Model};
fn main() {
    let m = Model::default_model();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let c = Case::new("x", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    for a in ["2017-01-20", "2018-01-20", "2019-01-20", "2020-01-20", "2021-01-20"] {
        let f = m.forecast(&c, d(a)).unwrap();
        println!("{a} {:?} {:?}", f.probabilities, f.regime_probabilities);
    }
}
