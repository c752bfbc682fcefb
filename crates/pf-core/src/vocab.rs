//! The signal vocabulary (v1) and the default outcomes, as fixed by SIGNALS.md.

/// Signal types of vocabulary v1, with what each one records. Renaming one is a breaking change.
pub const SIGNAL_TYPES_V1: [(&str, &str); 19] = [
    (
        "sanctions_tightened",
        "the sender imposes, expands or enforces economic sanctions on the target, or threatens third parties that trade with it",
    ),
    (
        "sanctions_relief",
        "the sender lifts, waives or suspends sanctions",
    ),
    (
        "diplomatic_isolation",
        "the sender isolates the target diplomatically: expulsions, closed channels, campaigns in international bodies",
    ),
    (
        "military_threat",
        "the sender threatens force or shows force against the target",
    ),
    (
        "upfront_surrender_demanded",
        "the sender demands the target's complete concession before any reciprocity (a \"Libya model\")",
    ),
    (
        "concession_offered_by_sender",
        "the sender offers step-by-step reciprocity: relief, a peace declaration, security guarantees",
    ),
    (
        "concession_offered_by_target",
        "the target freezes, dismantles or hands over part of what is at stake, or releases detainees",
    ),
    ("summit_held", "the two leaders meet"),
    (
        "talks_held",
        "official negotiations below leader level take place",
    ),
    ("talks_refused", "the target refuses talks or breaks them off"),
    (
        "demands_rejected_by_target",
        "the target publicly rejects the sender's core demand while leaving talks open",
    ),
    (
        "precondition_demanded_by_target",
        "the target conditions talks on a prior step by the sender (for instance rejoining an earlier deal)",
    ),
    (
        "provocation_by_target",
        "a missile or nuclear test, an attack, a seizure, an expansion of the contested programme",
    ),
    (
        "third_party_circumvention",
        "other states evade or undermine the sanctions: payment channels, trade, waivers refused",
    ),
    (
        "sender_isolated_internationally",
        "the sender fails to rally allies or international bodies behind its pressure",
    ),
    (
        "agreement_framework_announced",
        "a joint statement or framework agreement is announced",
    ),
    ("agreement_signed", "a final agreement is concluded"),
    (
        "sender_withdraws_from_agreement",
        "the sender leaves or breaches an existing agreement with the target",
    ),
    (
        "leadership_change_expected",
        "the sender's leader faces an election or term end that the target openly bets on",
    ),
];

/// Outcomes of vocabulary v1.
pub const OUTCOMES_V1: [&str; 3] = ["deal", "stalemate", "wait_out"];

/// The names of the v1 signal types, in vocabulary order.
pub fn signal_types_v1() -> impl Iterator<Item = &'static str> {
    SIGNAL_TYPES_V1.iter().map(|(n, _)| *n)
}

/// The description of a v1 signal type, if it is one.
pub fn describe_v1(name: &str) -> Option<&'static str> {
    SIGNAL_TYPES_V1.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}
