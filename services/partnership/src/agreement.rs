//! The `Agreement` aggregate (stream `agreement:<id>`): an intesa, accordo or
//! partnership of a plan, with its parties, linked actions, commitments, signing,
//! amendments and termination, and the pure decisions taken against it.
//!
//! The choice: one stream per agreement holds its whole life, drafted to terminated,
//! so every rule below is checked against one consistent state under optimistic
//! concurrency. Ids (agreement, commitment) and today's date are passed in by the
//! service, so the decisions stay pure and a retried decision produces the same ids.
//!
//! Rules:
//! - an agreement is drafted for a plan that exists, of a kind from
//!   [`AGREEMENT_KINDS`], with a title and a subject; its expiry, when it has one, is
//!   after its drafting date;
//! - commands on an agreement never drafted answer [`ApiError::NotFound`]; a
//!   terminated agreement accepts nothing more ([`ApiError::Rejected`]);
//! - an organisation is a party once; a party with a live commitment cannot be removed
//!   (withdraw the commitment first);
//! - linked actions are actions of the agreement's plan that exist and are not
//!   retired; an action is linked once, and only a linked action can be unlinked;
//! - only a party commits; amounts are euro cents, 0 or more; the funding source is one
//!   of [`FUNDING_SOURCES`], and `OTHER` needs a `funding_detail`; a commitment is
//!   withdrawn once;
//! - signing needs at least two parties; the signatories (every party by default) are
//!   parties, at least two, none twice; an agreement is signed once, not before its
//!   drafting date nor after its expiry;
//! - amendments only after signing, numbered 1, 2, ...; dated not before the signing
//!   nor the previous amendment, and not after the expiry in force; a new expiry is
//!   after the amendment's date;
//! - termination is dated not before the drafting, the signing or the last amendment,
//!   and gives a reason.

use std::collections::{BTreeMap, BTreeSet};

use metroplan_api::ApiError;
use metroplan_api::partnership::{
    AddParty, AmendAgreement, DraftAgreement, LinkAction, MakeCommitment, RemoveParty,
    SignAgreement, TerminateAgreement, UnlinkAction, WithdrawCommitment,
};
use metroplan_api::values::{Cents, Date, ItemCode, Level, PlanCode, parse_date};
use metroplan_events::{Aggregate, RecordedEvent, pb};

use crate::fields::{MAX_NAME_CHARS, MAX_TEXT_CHARS, one_of, optional, required};
use crate::plan_facts::KnownActions;
use crate::table::live_action;

/// `intesa` (a protocol of understanding), `accordo` (a binding agreement between
/// public bodies), `partnership` (with economic and social parties, associations,
/// holders of diffuse interests).
pub const AGREEMENT_KINDS: [&str; 3] = ["intesa", "accordo", "partnership"];

/// The roles of a party: the promoter (usually the Città metropolitana), an ordinary
/// party, a funder, an implementer of the linked actions.
pub const PARTY_ROLES: [&str; 4] = ["promoter", "party", "funder", "implementer"];

/// Where a commitment's money comes from: the PNRR, the European structural funds
/// 2021-2027, the committing body's own budget, the Region, private money, or another
/// source named in `funding_detail`.
pub const FUNDING_SOURCES: [&str; 6] = [
    "PNRR",
    "EU-2021-2027",
    "OWN",
    "REGIONAL",
    "PRIVATE",
    "OTHER",
];

/// A commitment as the agreement remembers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Commitment {
    pub party: String,
    pub description: String,
    pub amount_cents: i64,
    pub funding_source: String,
    pub funding_detail: String,
    pub withdrawn: bool,
}

/// The signing of an agreement.
#[derive(Debug, Clone, PartialEq)]
pub struct Signing {
    pub signed_on: Date,
    pub signatories: Vec<String>,
}

/// An agreement as its events add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Agreement {
    /// False until `AgreementDrafted`.
    pub created: bool,
    pub id: String,
    pub plan: String,
    pub kind: String,
    pub title: String,
    pub subject: String,
    pub drafted_on: Option<Date>,
    /// The last day in force, as last set by the draft or an amendment.
    pub expires_on: Option<Date>,
    /// Current parties and their roles.
    pub parties: BTreeMap<String, String>,
    pub actions: BTreeSet<String>,
    /// Every commitment ever made, by id, withdrawn ones included.
    pub commitments: BTreeMap<String, Commitment>,
    pub signed: Option<Signing>,
    /// How many amendments were made.
    pub amendments: u32,
    pub last_amended_on: Option<Date>,
    pub terminated_on: Option<Date>,
}

fn date(s: &str) -> Option<Date> {
    parse_date("", s).ok()
}

impl Aggregate for Agreement {
    type Event = pb::AgreementEvent;

    fn evolve(&mut self, event: &pb::AgreementEvent, _recorded: &RecordedEvent) {
        use pb::agreement_event::Event;
        match &event.event {
            Some(Event::AgreementDrafted(e)) => {
                self.created = true;
                self.id.clone_from(&e.id);
                self.plan.clone_from(&e.plan);
                self.kind.clone_from(&e.kind);
                self.title.clone_from(&e.title);
                self.subject.clone_from(&e.subject);
                self.drafted_on = date(&e.drafted_on);
                self.expires_on = date(&e.expires_on);
            }
            Some(Event::AgreementPartyAdded(e)) => {
                self.parties.insert(e.organisation.clone(), e.role.clone());
            }
            Some(Event::AgreementPartyRemoved(e)) => {
                self.parties.remove(&e.organisation);
            }
            Some(Event::AgreementActionLinked(e)) => {
                self.actions.insert(e.action.clone());
            }
            Some(Event::AgreementActionUnlinked(e)) => {
                self.actions.remove(&e.action);
            }
            Some(Event::CommitmentMade(e)) => {
                self.commitments.insert(
                    e.commitment_id.clone(),
                    Commitment {
                        party: e.party.clone(),
                        description: e.description.clone(),
                        amount_cents: e.amount_cents,
                        funding_source: e.funding_source.clone(),
                        funding_detail: e.funding_detail.clone(),
                        withdrawn: false,
                    },
                );
            }
            Some(Event::CommitmentWithdrawn(e)) => {
                if let Some(c) = self.commitments.get_mut(&e.commitment_id) {
                    c.withdrawn = true;
                }
            }
            Some(Event::AgreementSigned(e)) => {
                self.signed = date(&e.signed_on).map(|signed_on| Signing {
                    signed_on,
                    signatories: e.signatories.clone(),
                });
            }
            Some(Event::AgreementAmended(e)) => {
                self.amendments = self.amendments.max(e.amendment_number);
                self.last_amended_on = date(&e.amended_on).or(self.last_amended_on);
                if let Some(expiry) = e.new_expires_on.as_deref().and_then(date) {
                    self.expires_on = Some(expiry);
                }
            }
            Some(Event::AgreementTerminated(e)) => {
                self.terminated_on = date(&e.terminated_on).or(Some(Date::MIN));
            }
            None => {}
        }
    }
}

impl Agreement {
    /// The agreement exists and still accepts commands.
    fn require_open(&self) -> Result<(), ApiError> {
        if !self.created {
            return Err(ApiError::not_found("agreement"));
        }
        if let Some(on) = self.terminated_on {
            return Err(ApiError::rejected(
                None,
                format!("the agreement was terminated on {on} and accepts nothing more"),
            ));
        }
        Ok(())
    }

    /// Commitments not withdrawn, by id.
    pub fn live_commitments(&self) -> impl Iterator<Item = (&String, &Commitment)> {
        self.commitments.iter().filter(|(_, c)| !c.withdrawn)
    }

    /// The latest date the agreement's history has reached: drafting, signing, last
    /// amendment.
    fn latest_date(&self) -> Option<(Date, &'static str)> {
        [
            self.drafted_on.map(|d| (d, "drafted")),
            self.signed.as_ref().map(|s| (s.signed_on, "signed")),
            self.last_amended_on.map(|d| (d, "last amended")),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|(d, _)| *d)
    }
}

/// Drafts agreement `id` for `plan`; `today` is the drafting date when the body gives
/// none.
///
/// # Errors
/// [`ApiError::NotFound`] when the plan does not exist, [`ApiError::Validation`] for an
/// unknown kind, a blank title or subject, a malformed date or an expiry not after the
/// drafting date, [`ApiError::Rejected`] when the agreement exists.
pub fn decide_draft(
    state: &Agreement,
    id: &str,
    plan: &PlanCode,
    plan_exists: bool,
    body: &DraftAgreement,
    today: Date,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    if !plan_exists {
        return Err(ApiError::not_found(format!("plan {plan}")));
    }
    if state.created {
        return Err(ApiError::rejected(
            None,
            format!("agreement {id} exists already"),
        ));
    }
    let kind = one_of("kind", &body.kind, &AGREEMENT_KINDS)?;
    let title = required("title", &body.title, MAX_NAME_CHARS)?;
    let subject = required("subject", &body.subject, MAX_TEXT_CHARS)?;
    let drafted_on = match body.drafted_on.as_deref() {
        Some(d) => parse_date("drafted_on", d)?,
        None => today,
    };
    let expires_on = match body
        .expires_on
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => String::new(),
        Some(d) => {
            let expires_on = parse_date("expires_on", d)?;
            if expires_on <= drafted_on {
                return Err(ApiError::validation(
                    "expires_on",
                    format!("{expires_on} is not after the drafting date {drafted_on}"),
                ));
            }
            expires_on.to_string()
        }
    };
    Ok(vec![
        pb::AgreementDrafted {
            id: id.to_owned(),
            plan: plan.to_string(),
            kind: kind.to_owned(),
            title,
            subject,
            expires_on,
            drafted_on: drafted_on.to_string(),
        }
        .into(),
    ])
}

/// An organisation becomes a party.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a blank organisation or an
/// unknown role, [`ApiError::Rejected`] when terminated or already a party.
pub fn decide_add_party(
    state: &Agreement,
    body: &AddParty,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let organisation = required("organisation", &body.organisation, MAX_NAME_CHARS)?;
    let role = one_of("role", &body.role, &PARTY_ROLES)?;
    if let Some(current) = state.parties.get(&organisation) {
        return Err(ApiError::rejected(
            Some("organisation"),
            format!("{organisation} is already a party, as {current}"),
        ));
    }
    Ok(vec![
        pb::AgreementPartyAdded {
            id: state.id.clone(),
            plan: state.plan.clone(),
            organisation,
            role: role.to_owned(),
        }
        .into(),
    ])
}

/// An organisation stops being a party.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a blank organisation,
/// [`ApiError::Rejected`] when terminated, not a party, or the party has live
/// commitments.
pub fn decide_remove_party(
    state: &Agreement,
    body: &RemoveParty,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let organisation = required("organisation", &body.organisation, MAX_NAME_CHARS)?;
    if !state.parties.contains_key(&organisation) {
        return Err(ApiError::rejected(
            Some("organisation"),
            format!("{organisation} is not a party"),
        ));
    }
    let live = state
        .live_commitments()
        .filter(|(_, c)| c.party == organisation)
        .count();
    if live > 0 {
        return Err(ApiError::rejected(
            Some("organisation"),
            format!(
                "{organisation} has {live} live commitment(s): withdraw them before removing the party"
            ),
        ));
    }
    Ok(vec![
        pb::AgreementPartyRemoved {
            id: state.id.clone(),
            plan: state.plan.clone(),
            organisation,
        }
        .into(),
    ])
}

/// Links an action of the agreement's plan.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a malformed code or one the
/// plan does not have, [`ApiError::Rejected`] when terminated, the action is retired,
/// or already linked.
pub fn decide_link_action(
    state: &Agreement,
    body: &LinkAction,
    actions: &KnownActions,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let action = live_action("action", &body.action, &state.plan, actions)?;
    if state.actions.contains(&action) {
        return Err(ApiError::rejected(
            Some("action"),
            format!("action {action} is already linked"),
        ));
    }
    Ok(vec![
        pb::AgreementActionLinked {
            id: state.id.clone(),
            plan: state.plan.clone(),
            action,
        }
        .into(),
    ])
}

/// Unlinks a linked action (retired or not).
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a malformed code,
/// [`ApiError::Rejected`] when terminated or the action is not linked.
pub fn decide_unlink_action(
    state: &Agreement,
    body: &UnlinkAction,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let action = ItemCode::parse_level(body.action.trim(), Level::Action)
        .map_err(|m| ApiError::validation("action", m))?
        .to_string();
    if !state.actions.contains(&action) {
        return Err(ApiError::rejected(
            Some("action"),
            format!("action {action} is not linked"),
        ));
    }
    Ok(vec![
        pb::AgreementActionUnlinked {
            id: state.id.clone(),
            plan: state.plan.clone(),
            action,
        }
        .into(),
    ])
}

/// A party commits; the commitment gets `commitment_id`.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a blank description, a
/// negative amount, an unknown funding source or `OTHER` without detail,
/// [`ApiError::Rejected`] when terminated or the committing organisation is not a
/// party.
pub fn decide_make_commitment(
    state: &Agreement,
    commitment_id: &str,
    body: &MakeCommitment,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let party = required("party", &body.party, MAX_NAME_CHARS)?;
    let description = required("description", &body.description, MAX_TEXT_CHARS)?;
    let amount =
        Cents::try_from(body.amount_cents).map_err(|m| ApiError::validation("amount_cents", m))?;
    let funding_source = one_of("funding_source", &body.funding_source, &FUNDING_SOURCES)?;
    let funding_detail = optional(
        "funding_detail",
        body.funding_detail.as_deref().unwrap_or_default(),
        MAX_NAME_CHARS,
    )?;
    if funding_source == "OTHER" && funding_detail.is_empty() {
        return Err(ApiError::validation(
            "funding_detail",
            "is needed to say what an OTHER funding source is",
        ));
    }
    if !state.parties.contains_key(&party) {
        return Err(ApiError::rejected(
            Some("party"),
            format!("{party} is not a party to the agreement: only parties commit"),
        ));
    }
    if state.commitments.contains_key(commitment_id) {
        return Err(ApiError::rejected(
            None,
            format!("commitment {commitment_id} exists already"),
        ));
    }
    Ok(vec![
        pb::CommitmentMade {
            id: state.id.clone(),
            plan: state.plan.clone(),
            commitment_id: commitment_id.to_owned(),
            party,
            description,
            amount_cents: amount.get(),
            funding_source: funding_source.to_owned(),
            funding_detail,
        }
        .into(),
    ])
}

/// Withdraws a live commitment.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Rejected`] when terminated, the commitment is
/// unknown or already withdrawn.
pub fn decide_withdraw_commitment(
    state: &Agreement,
    body: &WithdrawCommitment,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let commitment_id = body.commitment_id.trim();
    let Some(commitment) = state.commitments.get(commitment_id) else {
        return Err(ApiError::rejected(
            Some("commitment_id"),
            format!("the agreement has no commitment {commitment_id}"),
        ));
    };
    if commitment.withdrawn {
        return Err(ApiError::rejected(
            Some("commitment_id"),
            format!("commitment {commitment_id} was withdrawn already"),
        ));
    }
    Ok(vec![
        pb::CommitmentWithdrawn {
            id: state.id.clone(),
            plan: state.plan.clone(),
            commitment_id: commitment_id.to_owned(),
            party: commitment.party.clone(),
        }
        .into(),
    ])
}

/// Records the signing.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a malformed date, a blank or
/// repeated signatory, fewer than two signatories, [`ApiError::Rejected`] when
/// terminated, signed already, with fewer than two parties, a signatory that is not a
/// party, or a date before drafting or after expiry.
pub fn decide_sign(
    state: &Agreement,
    body: &SignAgreement,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    if let Some(signing) = &state.signed {
        return Err(ApiError::rejected(
            None,
            format!("the agreement was signed already on {}", signing.signed_on),
        ));
    }
    if state.parties.len() < 2 {
        return Err(ApiError::rejected(
            None,
            format!(
                "an agreement needs at least two parties to be signed, this one has {}",
                state.parties.len()
            ),
        ));
    }
    let signed_on = parse_date("signed_on", &body.signed_on)?;
    let signatories = match &body.signatories {
        None => state.parties.keys().cloned().collect(),
        Some(given) => {
            let mut signatories: Vec<String> = Vec::with_capacity(given.len());
            for (i, s) in given.iter().enumerate() {
                let field = format!("signatories[{i}]");
                let s = required(&field, s, MAX_NAME_CHARS)?;
                if signatories.contains(&s) {
                    return Err(ApiError::validation(field, format!("{s} is listed twice")));
                }
                if !state.parties.contains_key(&s) {
                    return Err(ApiError::rejected(
                        Some(&field),
                        format!("{s} is not a party to the agreement"),
                    ));
                }
                signatories.push(s);
            }
            if signatories.len() < 2 {
                return Err(ApiError::validation(
                    "signatories",
                    "an agreement is signed by at least two parties",
                ));
            }
            signatories
        }
    };
    if let Some(drafted_on) = state.drafted_on
        && signed_on < drafted_on
    {
        return Err(ApiError::rejected(
            Some("signed_on"),
            format!("{signed_on} is before the drafting date {drafted_on}"),
        ));
    }
    if let Some(expires_on) = state.expires_on
        && signed_on > expires_on
    {
        return Err(ApiError::rejected(
            Some("signed_on"),
            format!("{signed_on} is after the agreement's expiry {expires_on}"),
        ));
    }
    Ok(vec![
        pb::AgreementSigned {
            id: state.id.clone(),
            plan: state.plan.clone(),
            signed_on: signed_on.to_string(),
            signatories,
        }
        .into(),
    ])
}

/// Records an amendment of the signed agreement; it gets the next number.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a blank description, a
/// malformed date or a new expiry not after the amendment, [`ApiError::Rejected`] when
/// terminated, not signed, or dated before the signing or the previous amendment or
/// after the expiry in force.
pub fn decide_amend(
    state: &Agreement,
    body: &AmendAgreement,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    if state.signed.is_none() {
        return Err(ApiError::rejected(
            None,
            "only a signed agreement can be amended",
        ));
    }
    let description = required("description", &body.description, MAX_TEXT_CHARS)?;
    let amended_on = parse_date("amended_on", &body.amended_on)?;
    let new_expires_on = match body.new_expires_on.as_deref() {
        None => None,
        Some(d) => {
            let d = parse_date("new_expires_on", d)?;
            if d <= amended_on {
                return Err(ApiError::validation(
                    "new_expires_on",
                    format!("{d} is not after the amendment's date {amended_on}"),
                ));
            }
            Some(d)
        }
    };
    if let Some((latest, what)) = state.latest_date()
        && amended_on < latest
    {
        return Err(ApiError::rejected(
            Some("amended_on"),
            format!("{amended_on} is before the date the agreement was {what}, {latest}"),
        ));
    }
    if let Some(expires_on) = state.expires_on
        && amended_on > expires_on
    {
        return Err(ApiError::rejected(
            Some("amended_on"),
            format!("the agreement expired on {expires_on}: it cannot be amended on {amended_on}"),
        ));
    }
    Ok(vec![
        pb::AgreementAmended {
            id: state.id.clone(),
            plan: state.plan.clone(),
            amendment_number: state.amendments + 1,
            description,
            amended_on: amended_on.to_string(),
            new_expires_on: new_expires_on.map(|d| d.to_string()),
        }
        .into(),
    ])
}

/// Ends the agreement.
///
/// # Errors
/// [`ApiError::NotFound`], [`ApiError::Validation`] for a malformed date or a blank
/// reason, [`ApiError::Rejected`] when terminated already or dated before the
/// drafting, the signing or the last amendment.
pub fn decide_terminate(
    state: &Agreement,
    body: &TerminateAgreement,
) -> Result<Vec<pb::AgreementEvent>, ApiError> {
    state.require_open()?;
    let terminated_on = parse_date("terminated_on", &body.terminated_on)?;
    let reason = required("reason", &body.reason, MAX_TEXT_CHARS)?;
    if let Some((latest, what)) = state.latest_date()
        && terminated_on < latest
    {
        return Err(ApiError::rejected(
            Some("terminated_on"),
            format!("{terminated_on} is before the date the agreement was {what}, {latest}"),
        ));
    }
    Ok(vec![
        pb::AgreementTerminated {
            id: state.id.clone(),
            plan: state.plan.clone(),
            terminated_on: terminated_on.to_string(),
            reason,
        }
        .into(),
    ])
}
