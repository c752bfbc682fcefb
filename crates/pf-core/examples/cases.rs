//! Forecast the example cases at a few dates (a quick look while developing).
use pf_core::{Case, Model};
fn main() {
    let m = Model::v1_model();
    for p in std::env::args().skip(1) {
        let c = Case::load(&p, &m).expect("case");
        for a in [
            "2017-06-01",
            "2018-01-01",
            "2018-05-08",
            "2018-06-13",
            "2018-10-31",
        ] {
            let f = m.forecast(&c, a.parse().unwrap()).unwrap();
            println!(
                "{} {a} {:?}",
                c.id,
                f.probabilities
                    .iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
            );
        }
    }
}
