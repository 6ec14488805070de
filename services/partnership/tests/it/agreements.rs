//! Given an agreement's events, when a command is decided, then these events or this
//! error.

use metroplan_api::partnership::{
    AddParty, AmendAgreement, DraftAgreement, LinkAction, MakeCommitment, RemoveParty,
    SignAgreement, TerminateAgreement, UnlinkAction, WithdrawCommitment,
};
use metroplan_api::values::{Date, PlanCode};
use metroplan_events::pb;
use metroplan_partnership::agreement::{
    Agreement, decide_add_party, decide_amend, decide_draft, decide_link_action,
    decide_make_commitment, decide_remove_party, decide_sign, decide_terminate,
    decide_unlink_action, decide_withdraw_commitment,
};
use metroplan_partnership::plan_facts::{ActionStanding, KnownActions};

use crate::support::{apply, assert_not_found, assert_rejected, assert_validation};

const ID: &str = "0190f5d2-7a7e-7000-8000-0000000000a1";
const CMTO: &str = "Città metropolitana di Torino";
const UNIONE: &str = "Unione montana Valle Susa";

fn plan() -> PlanCode {
    "PSM-2021-2023".parse().unwrap()
}

fn today() -> Date {
    "2022-03-01".parse().unwrap()
}

fn draft() -> DraftAgreement {
    DraftAgreement {
        kind: "accordo".into(),
        title: "Accordo per il Gran Bosco Torino".into(),
        subject: "Programma metropolitano di forestazione".into(),
        expires_on: Some("2025-12-31".into()),
        drafted_on: Some("2022-02-15".into()),
    }
}

fn party(organisation: &str, role: &str) -> AddParty {
    AddParty {
        organisation: organisation.into(),
        role: role.into(),
    }
}

fn commitment(party: &str, amount_cents: i64, source: &str) -> MakeCommitment {
    MakeCommitment {
        party: party.into(),
        description: "Cofinanziamento della forestazione".into(),
        amount_cents,
        funding_source: source.into(),
        funding_detail: Some("M2C4 Investimento 3.1".into()),
    }
}

fn sign(on: &str) -> SignAgreement {
    SignAgreement {
        signed_on: on.into(),
        signatories: None,
    }
}

fn amend(on: &str, new_expiry: Option<&str>) -> AmendAgreement {
    AmendAgreement {
        description: "Proroga".into(),
        amended_on: on.into(),
        new_expires_on: new_expiry.map(Into::into),
    }
}

fn terminate(on: &str) -> TerminateAgreement {
    TerminateAgreement {
        terminated_on: on.into(),
        reason: "Obiettivi raggiunti".into(),
    }
}

/// Applies a decision that must succeed.
fn then(
    state: Agreement,
    decided: Result<Vec<pb::AgreementEvent>, metroplan_api::ApiError>,
) -> Agreement {
    apply(state, &decided.expect("given step is valid"))
}

fn drafted() -> Agreement {
    then(
        Agreement::default(),
        decide_draft(&Agreement::default(), ID, &plan(), true, &draft(), today()),
    )
}

fn with_two_parties() -> Agreement {
    let s = drafted();
    let s = then(s.clone(), decide_add_party(&s, &party(CMTO, "promoter")));
    then(
        s.clone(),
        decide_add_party(&s, &party(UNIONE, "implementer")),
    )
}

fn signed() -> Agreement {
    let s = with_two_parties();
    then(s.clone(), decide_sign(&s, &sign("2022-04-01")))
}

fn only<E: std::fmt::Debug>(events: &[E]) -> &E {
    assert_eq!(events.len(), 1, "{events:?}");
    &events[0]
}

#[test]
fn a_draft_carries_its_id_plan_and_dates() {
    let events = decide_draft(&Agreement::default(), ID, &plan(), true, &draft(), today()).unwrap();
    let Some(pb::agreement_event::Event::AgreementDrafted(d)) = &only(&events).event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (d.id.as_str(), d.plan.as_str(), d.kind.as_str()),
        (ID, "PSM-2021-2023", "accordo")
    );
    assert_eq!(
        (d.drafted_on.as_str(), d.expires_on.as_str()),
        ("2022-02-15", "2025-12-31")
    );
}

#[test]
fn a_draft_without_dates_is_drafted_today_with_no_expiry() {
    let body = DraftAgreement {
        expires_on: None,
        drafted_on: None,
        ..draft()
    };
    let events = decide_draft(&Agreement::default(), ID, &plan(), true, &body, today()).unwrap();
    let Some(pb::agreement_event::Event::AgreementDrafted(d)) = &only(&events).event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (d.drafted_on.as_str(), d.expires_on.as_str()),
        ("2022-03-01", "")
    );
}

#[test]
fn a_draft_needs_a_plan_a_known_kind_and_an_expiry_after_drafting() {
    let none = Agreement::default();
    assert_not_found(decide_draft(&none, ID, &plan(), false, &draft(), today()));
    let kind = DraftAgreement {
        kind: "contratto".into(),
        ..draft()
    };
    assert_validation(
        decide_draft(&none, ID, &plan(), true, &kind, today()),
        "kind",
    );
    let early = DraftAgreement {
        expires_on: Some("2022-02-15".into()),
        ..draft()
    };
    assert_validation(
        decide_draft(&none, ID, &plan(), true, &early, today()),
        "expires_on",
    );
    let subject = DraftAgreement {
        subject: String::new(),
        ..draft()
    };
    assert_validation(
        decide_draft(&none, ID, &plan(), true, &subject, today()),
        "subject",
    );
}

#[test]
fn commands_on_an_agreement_never_drafted_are_not_found() {
    assert_not_found(decide_add_party(
        &Agreement::default(),
        &party(CMTO, "promoter"),
    ));
}

#[test]
fn an_organisation_is_a_party_once() {
    let s = with_two_parties();
    assert_rejected(
        decide_add_party(&s, &party(CMTO, "funder")),
        Some("organisation"),
    );
    assert_validation(
        decide_add_party(&s, &party("Regione Piemonte", "sponsor")),
        "role",
    );
}

#[test]
fn signing_needs_two_parties() {
    let s = drafted();
    let s = then(s.clone(), decide_add_party(&s, &party(CMTO, "promoter")));
    assert_rejected(decide_sign(&s, &sign("2022-04-01")), None);
}

#[test]
fn every_party_signs_by_default() {
    let events = decide_sign(&with_two_parties(), &sign("2022-04-01")).unwrap();
    let Some(pb::agreement_event::Event::AgreementSigned(e)) = &only(&events).event else {
        panic!("{events:?}")
    };
    assert_eq!(e.signatories, vec![CMTO.to_owned(), UNIONE.to_owned()]);
    assert_eq!(e.signed_on, "2022-04-01");
}

#[test]
fn named_signatories_are_parties_at_least_two_none_twice() {
    let s = with_two_parties();
    let body = |names: &[&str]| SignAgreement {
        signed_on: "2022-04-01".into(),
        signatories: Some(names.iter().map(|n| (*n).to_owned()).collect()),
    };
    assert_rejected(
        decide_sign(&s, &body(&[CMTO, "Comune di Susa"])),
        Some("signatories[1]"),
    );
    assert_validation(decide_sign(&s, &body(&[CMTO, CMTO])), "signatories[1]");
    assert_validation(decide_sign(&s, &body(&[CMTO])), "signatories");
    assert!(decide_sign(&s, &body(&[UNIONE, CMTO])).is_ok());
}

#[test]
fn signing_is_dated_between_drafting_and_expiry_and_happens_once() {
    let s = with_two_parties();
    assert_rejected(decide_sign(&s, &sign("2022-02-14")), Some("signed_on"));
    assert_rejected(decide_sign(&s, &sign("2026-01-01")), Some("signed_on"));
    assert_validation(decide_sign(&s, &sign("1 aprile")), "signed_on");
    assert_rejected(decide_sign(&signed(), &sign("2022-05-01")), None);
}

#[test]
fn only_a_party_commits_and_amounts_are_not_negative() {
    let s = with_two_parties();
    assert_rejected(
        decide_make_commitment(&s, "c1", &commitment("Regione Piemonte", 100, "REGIONAL")),
        Some("party"),
    );
    assert_validation(
        decide_make_commitment(&s, "c1", &commitment(CMTO, -1, "OWN")),
        "amount_cents",
    );
    assert_validation(
        decide_make_commitment(&s, "c1", &commitment(CMTO, 100, "FESR")),
        "funding_source",
    );
    let other = MakeCommitment {
        funding_detail: None,
        ..commitment(CMTO, 100, "OTHER")
    };
    assert_validation(decide_make_commitment(&s, "c1", &other), "funding_detail");
    assert!(
        decide_make_commitment(&s, "c1", &commitment(CMTO, 0, "OWN")).is_ok(),
        "a commitment in kind"
    );
}

#[test]
fn a_commitment_carries_who_how_much_and_from_where() {
    let events = decide_make_commitment(
        &with_two_parties(),
        "c1",
        &commitment(UNIONE, 150_000_000, "PNRR"),
    )
    .unwrap();
    let Some(pb::agreement_event::Event::CommitmentMade(c)) = &only(&events).event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (c.id.as_str(), c.plan.as_str(), c.commitment_id.as_str()),
        (ID, "PSM-2021-2023", "c1")
    );
    assert_eq!(
        (c.party.as_str(), c.amount_cents, c.funding_source.as_str()),
        (UNIONE, 150_000_000, "PNRR")
    );
    assert_eq!(c.funding_detail, "M2C4 Investimento 3.1");
}

#[test]
fn a_party_with_a_live_commitment_stays_until_it_is_withdrawn() {
    let s = with_two_parties();
    let s = then(
        s.clone(),
        decide_make_commitment(&s, "c1", &commitment(UNIONE, 500, "OWN")),
    );
    let remove = RemoveParty {
        organisation: UNIONE.into(),
    };
    assert_rejected(decide_remove_party(&s, &remove), Some("organisation"));

    let withdraw = WithdrawCommitment {
        commitment_id: "c1".into(),
    };
    let s = then(s.clone(), decide_withdraw_commitment(&s, &withdraw));
    assert_rejected(
        decide_withdraw_commitment(&s, &withdraw),
        Some("commitment_id"),
    );
    let s = then(s.clone(), decide_remove_party(&s, &remove));
    assert!(!s.parties.contains_key(UNIONE));
    assert_rejected(decide_remove_party(&s, &remove), Some("organisation"));
    assert_rejected(
        decide_withdraw_commitment(
            &s,
            &WithdrawCommitment {
                commitment_id: "c9".into(),
            },
        ),
        Some("commitment_id"),
    );
}

#[test]
fn linked_actions_are_live_actions_of_the_plan_linked_once() {
    let mut known = KnownActions::live(["2.1.3"]);
    known.insert("2.1.2", ActionStanding::Retired);
    let s = drafted();
    let link = |a: &str| LinkAction { action: a.into() };
    assert_validation(decide_link_action(&s, &link("9.9.9"), &known), "action");
    assert_validation(decide_link_action(&s, &link("2.1"), &known), "action");
    assert_rejected(
        decide_link_action(&s, &link("2.1.2"), &known),
        Some("action"),
    );

    let s = then(s.clone(), decide_link_action(&s, &link("2.1.3"), &known));
    assert!(s.actions.contains("2.1.3"));
    assert_rejected(
        decide_link_action(&s, &link("2.1.3"), &known),
        Some("action"),
    );

    let unlink = UnlinkAction {
        action: "2.1.3".into(),
    };
    let s = then(s.clone(), decide_unlink_action(&s, &unlink));
    assert_rejected(decide_unlink_action(&s, &unlink), Some("action"));
}

#[test]
fn amendments_only_after_signing_numbered_in_order() {
    assert_rejected(
        decide_amend(&with_two_parties(), &amend("2022-06-01", None)),
        None,
    );

    let s = signed();
    let s = then(
        s.clone(),
        decide_amend(&s, &amend("2023-01-10", Some("2026-12-31"))),
    );
    assert_eq!(s.expires_on, Some("2026-12-31".parse().unwrap()));
    let events = decide_amend(&s, &amend("2023-02-01", None)).unwrap();
    let Some(pb::agreement_event::Event::AgreementAmended(a)) = &only(&events).event else {
        panic!("{events:?}")
    };
    assert_eq!(a.amendment_number, 2);
    assert_eq!(a.new_expires_on, None);
}

#[test]
fn an_amendment_is_dated_after_signing_and_the_previous_one_and_before_expiry() {
    let s = signed();
    assert_rejected(
        decide_amend(&s, &amend("2022-03-31", None)),
        Some("amended_on"),
    );
    assert_rejected(
        decide_amend(&s, &amend("2026-01-01", None)),
        Some("amended_on"),
    );
    assert_validation(
        decide_amend(&s, &amend("2023-01-10", Some("2023-01-10"))),
        "new_expires_on",
    );
    let s = then(s.clone(), decide_amend(&s, &amend("2023-01-10", None)));
    assert_rejected(
        decide_amend(&s, &amend("2023-01-09", None)),
        Some("amended_on"),
    );
}

#[test]
fn a_terminated_agreement_accepts_nothing_more() {
    let s = signed();
    assert_rejected(
        decide_terminate(&s, &terminate("2022-03-31")),
        Some("terminated_on"),
    );
    let events = decide_terminate(&s, &terminate("2024-06-30")).unwrap();
    let Some(pb::agreement_event::Event::AgreementTerminated(t)) = &only(&events).event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (t.id.as_str(), t.plan.as_str(), t.reason.as_str()),
        (ID, "PSM-2021-2023", "Obiettivi raggiunti")
    );
    let s = apply(s, &events);

    assert_rejected(
        decide_add_party(&s, &party("Regione Piemonte", "funder")),
        None,
    );
    assert_rejected(
        decide_make_commitment(&s, "c2", &commitment(CMTO, 1, "OWN")),
        None,
    );
    assert_rejected(decide_amend(&s, &amend("2024-07-01", None)), None);
    assert_rejected(decide_terminate(&s, &terminate("2024-07-01")), None);
    assert_rejected(
        decide_link_action(
            &s,
            &LinkAction {
                action: "2.1.3".into(),
            },
            &KnownActions::live(["2.1.3"]),
        ),
        None,
    );
}

#[test]
fn a_draft_may_be_terminated_with_a_reason() {
    let s = drafted();
    let blank = TerminateAgreement {
        reason: " ".into(),
        ..terminate("2022-03-01")
    };
    assert_validation(decide_terminate(&s, &blank), "reason");
    assert!(decide_terminate(&s, &terminate("2022-03-01")).is_ok());
}
