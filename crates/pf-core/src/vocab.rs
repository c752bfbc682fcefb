//! The signal vocabulary and the default outcomes (`docs/signals.md`, `docs/outcomes.md`).
//!
//! Vocabulary v1 is the 19 types every v1 model file must give a likelihood for; vocabulary v2 adds three types
//! (`target_withdraws_from_agreement`, `sender_leader_reelected`, `sender_leader_departing`) and gives every type
//! a [`Role`], the data the v2 engine reads. `agreement_signed` and `leadership_change_expected` carry their v2
//! meanings in both lists (the names are stable; the codebook sharpened what they record).

use serde::{Deserialize, Serialize};

/// What a signal type does in the model (`docs/signals.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Something the sender does: changes the transition rates from its date on.
    Action,
    /// The circumstances of the campaign: changes the transition rates from its date on.
    Context,
    /// Evidence of the target's posture: a likelihood over the hidden regimes.
    Evidence,
    /// The deal itself, or its repudiation: moves the case into (or out of) the settled state.
    Deal,
    /// Settles whether the sender's leader stays in office after the term end.
    Fate,
}

impl Role {
    /// The role's name as written in files (`action`, `context`, `evidence`, `deal`, `fate`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Action => "action",
            Role::Context => "context",
            Role::Evidence => "evidence",
            Role::Deal => "deal",
            Role::Fate => "fate",
        }
    }
}

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
    (
        "agreement_signed",
        "the deal: a final or interim agreement with concrete commitments on both sides is concluded, or the sender formally recognises the target's compliance with the core demand (docs/outcomes.md)",
    ),
    (
        "sender_withdraws_from_agreement",
        "the sender leaves or breaches an existing agreement with the target; if a deal of this episode stands, it is repudiated",
    ),
    (
        "leadership_change_expected",
        "the target openly bets on the sender leader's departure (statements that it will wait for the next administration); an election by itself is not this signal",
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

/// The roles of the v1 types, in [`SIGNAL_TYPES_V1`] order.
const ROLES_V1: [Role; 19] = [
    Role::Action,   // sanctions_tightened
    Role::Action,   // sanctions_relief
    Role::Action,   // diplomatic_isolation
    Role::Action,   // military_threat
    Role::Action,   // upfront_surrender_demanded
    Role::Action,   // concession_offered_by_sender
    Role::Evidence, // concession_offered_by_target
    Role::Evidence, // summit_held
    Role::Evidence, // talks_held
    Role::Evidence, // talks_refused
    Role::Evidence, // demands_rejected_by_target
    Role::Evidence, // precondition_demanded_by_target
    Role::Evidence, // provocation_by_target
    Role::Context,  // third_party_circumvention
    Role::Context,  // sender_isolated_internationally
    Role::Evidence, // agreement_framework_announced
    Role::Deal,     // agreement_signed
    Role::Action,   // sender_withdraws_from_agreement (also a repudiation)
    Role::Evidence, // leadership_change_expected
];

/// The types vocabulary v2 adds to v1, with their roles and what each records.
pub const SIGNAL_TYPES_ADDED_V2: [(&str, Role, &str); 3] = [
    (
        "target_withdraws_from_agreement",
        Role::Deal,
        "the target formally leaves or declares void an agreement reached with the sender (a repudiation of the deal)",
    ),
    (
        "sender_leader_reelected",
        Role::Fate,
        "the sender's leader secures another term after the term end (dated when the result is known)",
    ),
    (
        "sender_leader_departing",
        Role::Fate,
        "it is settled that the sender's leader leaves office at the term end: election lost, successor elected, decision not to stand",
    ),
];

/// The type that makes a deal (`docs/outcomes.md`).
pub const DEAL_TYPE: &str = "agreement_signed";

/// The types that repudiate a deal reached before them.
pub const REPUDIATION_TYPES: [&str; 2] = [
    "sender_withdraws_from_agreement",
    "target_withdraws_from_agreement",
];

/// The fate type saying the leader stays after the term end.
pub const REELECTED_TYPE: &str = "sender_leader_reelected";

/// The fate type saying the leader leaves at the term end.
pub const DEPARTING_TYPE: &str = "sender_leader_departing";

/// Every type of vocabulary v2 with its role and description: the v1 types first, in v1 order, then the
/// added ones.
pub fn signal_types_v2() -> impl Iterator<Item = (&'static str, Role, &'static str)> {
    SIGNAL_TYPES_V1
        .iter()
        .zip(ROLES_V1)
        .map(|((n, d), r)| (*n, r, *d))
        .chain(SIGNAL_TYPES_ADDED_V2.iter().copied())
}

/// The role of a type of vocabulary v2, if it is one.
pub fn role(name: &str) -> Option<Role> {
    signal_types_v2().find(|(n, _, _)| *n == name).map(|(_, r, _)| r)
}

/// The description of a type of vocabulary v2, if it is one.
pub fn describe_v2(name: &str) -> Option<&'static str> {
    signal_types_v2().find(|(n, _, _)| *n == name).map(|(_, _, d)| d)
}

/// Whether a type is one of the types vocabulary v2 adds (a v1 model file need not give them a likelihood).
pub fn is_added_in_v2(name: &str) -> bool {
    SIGNAL_TYPES_ADDED_V2.iter().any(|(n, _, _)| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_one_role_and_the_roles_follow_the_codebook() {
        let all: Vec<_> = signal_types_v2().collect();
        assert_eq!(all.len(), 22);
        let mut names: Vec<_> = all.iter().map(|t| t.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 22);
        assert_eq!(role("sender_leader_reelected"), Some(Role::Fate));
        assert_eq!(role("sender_leader_departing"), Some(Role::Fate));
        assert_eq!(role("target_withdraws_from_agreement"), Some(Role::Deal));
        assert_eq!(role("agreement_signed"), Some(Role::Deal));
        assert_eq!(role("third_party_circumvention"), Some(Role::Context));
        assert_eq!(role("sanctions_tightened"), Some(Role::Action));
        assert_eq!(role("summit_held"), Some(Role::Evidence));
        assert_eq!(role("nonsense"), None);
        assert!(
            describe_v2("leadership_change_expected")
                .unwrap()
                .contains("an election by itself is not")
        );
        assert_eq!(serde_json::to_string(&Role::Fate).unwrap(), "\"fate\"");
    }
}
