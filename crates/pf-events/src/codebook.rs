//! The CAMEO event codebook: which event codes exist.

use std::collections::HashSet;
use std::sync::OnceLock;

/// GDELT's CAMEO lookup file (`data/cameo/CAMEO.eventcodes.txt`, see its SOURCE.md), tab-separated
/// `CAMEOEVENTCODE<TAB>EVENTDESCRIPTION` with a header line.
pub(crate) const CAMEO_EVENTCODES: &str = include_str!("../../../data/cameo/CAMEO.eventcodes.txt");

/// Codes of the CAMEO 1.1b3 manual that ICEWS uses but GDELT's lookup file lacks.
const EXTRA_CODES: [(&str, &str); 1] = [("1213", "Reject judicial cooperation")];

fn table() -> &'static [(&'static str, &'static str)] {
    static TABLE: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Vec<(&str, &str)> = CAMEO_EVENTCODES
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (code, desc) = l.split_once('\t')?;
                let code = code.trim();
                (!code.is_empty()).then_some((code, desc.trim()))
            })
            .chain(EXTRA_CODES)
            .collect();
        t.sort_unstable();
        t.dedup_by(|a, b| a.0 == b.0);
        t
    })
}

fn set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| table().iter().map(|(c, _)| *c).collect())
}

/// Whether `code` is a CAMEO event code (root codes such as `06` included). Codes are strings: `010` is not `10`.
pub fn is_known_code(code: &str) -> bool {
    set().contains(code)
}

/// The codebook's description of a CAMEO event code (GDELT's wording), if the code exists.
pub fn describe_code(code: &str) -> Option<&'static str> {
    let t = table();
    t.binary_search_by(|(c, _)| (*c).cmp(code)).ok().map(|i| t[i].1)
}

/// Number of codes in the codebook.
pub fn code_count() -> usize {
    table().len()
}
