//! The `Campaign` aggregate (stream `campaign:<plan>/<campaign>`): a questionnaire sent
//! to the organisations that took part in the plan, and the pure decisions taken
//! against it: [`decide_draft`], [`decide_questions`], [`decide_open`],
//! [`decide_invite`], [`decide_replace_link`], [`decide_submit`] and [`decide_close`].
//!
//! The choices:
//! - A campaign lives `drafted → open → closed`. Its questions are set as a whole list
//!   and only while drafted, so every answer set of a campaign answers the same
//!   questions and results never mix two versions of a question.
//! - Organisations may be invited while drafted or open. An invitation records only the
//!   SHA-256 of the personal link's secret (made by the gateway, shown once); an answer
//!   set is accepted from whoever holds the secret, so the decision looks the
//!   invitation up by that hash, comparing every invitation's hash in full
//!   ([`LinkHash::same_as`]).
//! - One answer set per organisation: each submission is the whole set and replaces
//!   the previous one while the campaign is open (`submission` counts them).
//! - A question is about the plan, a strategy, an action, or a list of actions
//!   (`actions`): then it is answered once for each listed action the organisation
//!   picks, naming it; that is how results come per action and per strategy.
//! - The planned window (`opens`, `closes`) is informative: a decision has no clock,
//!   the editors open and close.
//!
//! Rules (codes: 404 [`ApiError::NotFound`], 409 [`ApiError::Rejected`], 422
//! [`ApiError::Validation`], each naming the JSON path at fault):
//! - **draft**: the plan exists (404); the id is a [`CampaignId`] not used yet in the
//!   plan (409); the title is not blank; texts within their limits; `opens` and
//!   `closes` are dates, `closes` not before `opens` (422).
//! - **questions**: the campaign exists (404) and is drafted (409); 1 to
//!   [`MAX_QUESTIONS`] questions with distinct ids; a kind, its own settings only (a
//!   scale's 2 to 11 whole numbers, a choice's 2 to 20 distinct options); a subject of
//!   the plan that is not retired (422 on `questions[i].…`).
//! - **open**: drafted with questions (409).
//! - **invite**: the campaign exists and is not closed (409); the organisation is not
//!   blank and not invited yet, whatever its case and spacing (409).
//! - **replace a link**: the campaign exists and is not closed (409); the organisation
//!   is invited, whatever its case and spacing (404); the new link is not in use
//!   (409). The previous link stops working; the answers stay.
//! - **submit**: the link is one of the campaign's (404); the campaign is open (409);
//!   every answer names a question (and, for `actions`, one of its actions), once; the
//!   value fits the question: a whole number in the scale, one of the options, a text
//!   of 1 to [`MAX_ANSWER_CHARS`] characters (422 on `answers[i].…`); every required
//!   question is answered (422 on `answers`).
//! - **close**: the campaign is open (409).

use std::collections::{BTreeMap, BTreeSet};

use metroplan_api::ApiError;
use metroplan_api::questionnaire::{
    AnswerValue, CampaignId, DraftCampaign, LinkHash, SetQuestions, SubmitAnswers,
};
use metroplan_api::values::{ItemCode, Level, PlanCode, parse_date};
use metroplan_events::{Aggregate, RecordedEvent, pb};

/// Most questions in a campaign.
pub const MAX_QUESTIONS: usize = 50;
/// Most actions one `actions` question lists.
pub const MAX_SUBJECTS: usize = 40;
/// Longest free-text answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 2000;
/// Longest title, question or option, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// Nothing recorded.
    #[default]
    None,
    Drafted,
    Open,
    Closed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::None => "none",
            Phase::Drafted => "drafted",
            Phase::Open => "open",
            Phase::Closed => "closed",
        }
    }
}

/// One invited organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub organisation: String,
    pub link_sha256: String,
    /// How many answer sets it submitted.
    pub submissions: u32,
}

/// A campaign as its stream adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Campaign {
    pub phase: Phase,
    pub questions: Vec<pb::Question>,
    pub invitations: Vec<Invitation>,
}

impl Campaign {
    /// Applies one event (what [`Aggregate::evolve`] does, without an envelope).
    pub fn apply(&mut self, event: &pb::CampaignEvent) {
        use pb::campaign_event::Event;
        match &event.event {
            Some(Event::CampaignDrafted(_)) => self.phase = Phase::Drafted,
            Some(Event::QuestionsSet(q)) => self.questions.clone_from(&q.questions),
            Some(Event::CampaignOpened(_)) => self.phase = Phase::Open,
            Some(Event::OrganisationInvited(i)) => self.invitations.push(Invitation {
                organisation: i.organisation.clone(),
                link_sha256: i.link_sha256.clone(),
                submissions: 0,
            }),
            Some(Event::InvitationLinkReplaced(r)) => {
                if let Some(i) = self
                    .invitations
                    .iter_mut()
                    .find(|i| i.organisation == r.organisation)
                {
                    i.link_sha256.clone_from(&r.link_sha256);
                }
            }
            Some(Event::AnswersSubmitted(a)) => {
                if let Some(i) = self
                    .invitations
                    .iter_mut()
                    .find(|i| i.organisation == a.organisation)
                {
                    i.submissions = a.submission;
                }
            }
            Some(Event::CampaignClosed(_)) => self.phase = Phase::Closed,
            None => {}
        }
    }

    /// The invitation whose link hashes to `link`, every hash compared in full.
    fn invitation(&self, link: &LinkHash) -> Option<&Invitation> {
        self.invitations
            .iter()
            .fold(None, |found, i| match link.same_as(&i.link_sha256) {
                true => Some(i),
                false => found,
            })
    }
}

impl Aggregate for Campaign {
    type Event = pb::CampaignEvent;

    fn evolve(&mut self, event: &pb::CampaignEvent, _recorded: &RecordedEvent) {
        self.apply(event);
    }
}

/// What a campaign's questions may be about, read from the plan's streams by the
/// service before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanSubjects {
    /// Strategy code -> retired.
    pub strategies: BTreeMap<String, bool>,
    /// Action code -> live (added and not retired), for the actions the questions
    /// name.
    pub actions: BTreeMap<String, bool>,
}

/// Where a campaign is, for the messages.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub plan: &'a PlanCode,
    pub campaign: &'a CampaignId,
}

impl std::fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "campaign {} of plan {}", self.campaign, self.plan)
    }
}

fn exists(state: &Campaign, at: Target<'_>) -> Result<(), ApiError> {
    match state.phase {
        Phase::None => Err(ApiError::not_found(at.to_string())),
        _ => Ok(()),
    }
}

fn text(field: &str, raw: &str, max: usize, required: bool) -> Result<String, ApiError> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(ApiError::validation(field, "must not be blank"));
    }
    if t.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// Decides a campaign's draft on a stream that should be empty.
///
/// # Errors
/// See the module's rules.
pub fn decide_draft(
    state: &Campaign,
    plan: &PlanCode,
    plan_exists: bool,
    body: &DraftCampaign,
) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    if !plan_exists {
        return Err(ApiError::not_found(format!("plan {plan}")));
    }
    let id: CampaignId = body
        .id
        .trim()
        .parse()
        .map_err(|m| ApiError::validation("id", m))?;
    if state.phase != Phase::None {
        return Err(ApiError::rejected(
            Some("id"),
            format!("campaign {id} of plan {plan} exists already"),
        ));
    }
    let title = text("title", &body.title, MAX_TEXT_CHARS, true)?;
    let description = text(
        "description",
        &body.description,
        MAX_DESCRIPTION_CHARS,
        false,
    )?;
    let opens = parse_date("opens", body.opens.trim())?;
    let closes = parse_date("closes", body.closes.trim())?;
    if closes < opens {
        return Err(ApiError::validation(
            "closes",
            format!("{closes} is before the opening {opens}"),
        ));
    }
    Ok(vec![
        pb::CampaignDrafted {
            plan: plan.to_string(),
            campaign: id.to_string(),
            title,
            description,
            opens: opens.to_string(),
            closes: closes.to_string(),
        }
        .into(),
    ])
}

fn question_id(field: &str, raw: &str) -> Result<String, ApiError> {
    let id = raw.trim();
    let ok = !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ApiError::validation(
            field,
            format!("{id:?} is not a question id: 1 to 40 letters, digits, '-' or '_'"),
        ))
    }
}

/// Decides the campaign's list of questions, replacing the previous one.
///
/// # Errors
/// See the module's rules.
pub fn decide_questions(
    state: &Campaign,
    at: Target<'_>,
    subjects: &PlanSubjects,
    body: &SetQuestions,
) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    exists(state, at)?;
    if state.phase != Phase::Drafted {
        return Err(ApiError::rejected(
            Some("questions"),
            format!(
                "{at} is {}: its questions change only while it is drafted",
                state.phase.as_str()
            ),
        ));
    }
    if body.questions.is_empty() || body.questions.len() > MAX_QUESTIONS {
        return Err(ApiError::validation(
            "questions",
            format!("a campaign has 1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut ids = BTreeSet::new();
    let mut questions = Vec::with_capacity(body.questions.len());
    for (i, q) in body.questions.iter().enumerate() {
        let f = |name: &str| format!("questions[{i}].{name}");
        let id = question_id(&f("id"), &q.id)?;
        if !ids.insert(id.clone()) {
            return Err(ApiError::validation(
                f("id"),
                format!("question {id} is asked twice"),
            ));
        }
        let question_text = text(&f("text"), &q.text, MAX_TEXT_CHARS, true)?;
        let about = match q.about.trim() {
            "" => "plan",
            other => other,
        };
        let mut codes = Vec::new();
        match about {
            "plan" => {
                if !q.subjects.is_empty() {
                    return Err(ApiError::validation(
                        f("subjects"),
                        "a question about the plan names no subject",
                    ));
                }
            }
            "strategy" => {
                let [code] = q.subjects.as_slice() else {
                    return Err(ApiError::validation(
                        f("subjects"),
                        "a question about a strategy names one strategy code",
                    ));
                };
                let code = ItemCode::parse_level(code.trim(), Level::Strategy)
                    .map_err(|m| ApiError::validation(f("subjects[0]"), m))?;
                match subjects.strategies.get(code.as_str()) {
                    Some(false) => codes.push(code.to_string()),
                    Some(true) => {
                        return Err(ApiError::validation(
                            f("subjects[0]"),
                            format!("strategy {code} of plan {} is retired", at.plan),
                        ));
                    }
                    None => {
                        return Err(ApiError::validation(
                            f("subjects[0]"),
                            format!("plan {} has no strategy {code}", at.plan),
                        ));
                    }
                }
            }
            "action" | "actions" => {
                let n = q.subjects.len();
                if about == "action" && n != 1 {
                    return Err(ApiError::validation(
                        f("subjects"),
                        "a question about an action names one action code",
                    ));
                }
                if n == 0 || n > MAX_SUBJECTS {
                    return Err(ApiError::validation(
                        f("subjects"),
                        format!("a question about actions names 1 to {MAX_SUBJECTS} of them"),
                    ));
                }
                for (j, raw) in q.subjects.iter().enumerate() {
                    let field = f(&format!("subjects[{j}]"));
                    let code = ItemCode::parse_level(raw.trim(), Level::Action)
                        .map_err(|m| ApiError::validation(field.clone(), m))?;
                    let code = code.to_string();
                    if subjects.actions.get(&code) != Some(&true) {
                        return Err(ApiError::validation(
                            field,
                            format!("plan {} has no live action {code}", at.plan),
                        ));
                    }
                    if codes.contains(&code) {
                        return Err(ApiError::validation(
                            field,
                            format!("action {code} is named twice"),
                        ));
                    }
                    codes.push(code);
                }
            }
            other => {
                return Err(ApiError::validation(
                    f("about"),
                    format!("{other:?} is not plan, strategy, action or actions"),
                ));
            }
        }
        let mut out = pb::Question {
            id,
            kind: q.kind.trim().to_owned(),
            text: question_text,
            about: about.to_owned(),
            subjects: codes,
            required: q.required,
            ..Default::default()
        };
        let scale_given = q.scale_min.is_some()
            || q.scale_max.is_some()
            || !q.min_label.trim().is_empty()
            || !q.max_label.trim().is_empty();
        match out.kind.as_str() {
            "scale" => {
                if !q.choices.is_empty() {
                    return Err(ApiError::validation(
                        f("choices"),
                        "a scale question offers no options",
                    ));
                }
                let (Some(min), Some(max)) = (q.scale_min, q.scale_max) else {
                    return Err(ApiError::validation(
                        f("scale_max"),
                        "a scale question gives scale_min and scale_max",
                    ));
                };
                if !(-100..=100).contains(&min) || !(-100..=100).contains(&max) {
                    return Err(ApiError::validation(
                        f("scale_min"),
                        "the ends of a scale are between -100 and 100",
                    ));
                }
                if max <= min || max - min > 10 {
                    return Err(ApiError::validation(
                        f("scale_max"),
                        format!("a scale has 2 to 11 points: {min} to {max} is not one"),
                    ));
                }
                out.scale_min = i32::try_from(min).unwrap_or_default();
                out.scale_max = i32::try_from(max).unwrap_or_default();
                out.min_label = text(&f("min_label"), &q.min_label, 100, false)?;
                out.max_label = text(&f("max_label"), &q.max_label, 100, false)?;
            }
            "choice" | "text" if scale_given => {
                return Err(ApiError::validation(
                    f("scale_min"),
                    format!("a {} question has no scale", out.kind),
                ));
            }
            "choice" => {
                if q.choices.len() < 2 || q.choices.len() > 20 {
                    return Err(ApiError::validation(
                        f("choices"),
                        "a choice question offers 2 to 20 options",
                    ));
                }
                for (j, c) in q.choices.iter().enumerate() {
                    let field = f(&format!("choices[{j}]"));
                    let c = text(&field, c, MAX_TEXT_CHARS, true)?;
                    if out.choices.contains(&c) {
                        return Err(ApiError::validation(
                            field,
                            format!("option {c:?} is offered twice"),
                        ));
                    }
                    out.choices.push(c);
                }
            }
            "text" => {
                if !q.choices.is_empty() {
                    return Err(ApiError::validation(
                        f("choices"),
                        "a text question offers no options",
                    ));
                }
            }
            other => {
                return Err(ApiError::validation(
                    f("kind"),
                    format!("{other:?} is not scale, choice or text"),
                ));
            }
        }
        questions.push(out);
    }
    Ok(vec![
        pb::QuestionsSet {
            plan: at.plan.to_string(),
            campaign: at.campaign.to_string(),
            questions,
        }
        .into(),
    ])
}

/// Decides opening the campaign to answers.
///
/// # Errors
/// See the module's rules.
pub fn decide_open(state: &Campaign, at: Target<'_>) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    exists(state, at)?;
    if state.phase != Phase::Drafted {
        return Err(ApiError::rejected(
            None,
            format!(
                "{at} is {}: only a drafted campaign opens",
                state.phase.as_str()
            ),
        ));
    }
    if state.questions.is_empty() {
        return Err(ApiError::rejected(
            Some("questions"),
            format!("{at} has no questions yet"),
        ));
    }
    Ok(vec![
        pb::CampaignOpened {
            plan: at.plan.to_string(),
            campaign: at.campaign.to_string(),
        }
        .into(),
    ])
}

/// An organisation's name as compared for a duplicate: case and spacing ignored.
fn same_organisation(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// Decides inviting `organisation` through a link whose secret hashes to `link`.
///
/// # Errors
/// See the module's rules.
pub fn decide_invite(
    state: &Campaign,
    at: Target<'_>,
    organisation: &str,
    link: &LinkHash,
) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    exists(state, at)?;
    if state.phase == Phase::Closed {
        return Err(ApiError::rejected(
            None,
            format!("{at} is closed: nobody more can be invited"),
        ));
    }
    let organisation = text("organisation", organisation, MAX_TEXT_CHARS, true)?;
    if let Some(i) = state
        .invitations
        .iter()
        .find(|i| same_organisation(&i.organisation, &organisation))
    {
        return Err(ApiError::rejected(
            Some("organisation"),
            format!("{} is invited to {at} already", i.organisation),
        ));
    }
    if state.invitation(link).is_some() {
        return Err(ApiError::rejected(
            None,
            "this link is in use: make another",
        ));
    }
    Ok(vec![
        pb::OrganisationInvited {
            plan: at.plan.to_string(),
            campaign: at.campaign.to_string(),
            organisation,
            link_sha256: link.as_str().to_owned(),
        }
        .into(),
    ])
}

/// Decides giving the invited `organisation` a new link whose secret hashes to `link`.
///
/// # Errors
/// See the module's rules.
pub fn decide_replace_link(
    state: &Campaign,
    at: Target<'_>,
    organisation: &str,
    link: &LinkHash,
) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    exists(state, at)?;
    if state.phase == Phase::Closed {
        return Err(ApiError::rejected(
            None,
            format!("{at} is closed: its links answer nothing any more"),
        ));
    }
    let Some(invited) = state
        .invitations
        .iter()
        .find(|i| same_organisation(&i.organisation, organisation))
    else {
        return Err(ApiError::not_found(format!(
            "invitation of {} to {at}",
            organisation.trim()
        )));
    };
    if state.invitation(link).is_some() {
        return Err(ApiError::rejected(
            None,
            "this link is in use: make another",
        ));
    }
    Ok(vec![
        pb::InvitationLinkReplaced {
            plan: at.plan.to_string(),
            campaign: at.campaign.to_string(),
            organisation: invited.organisation.clone(),
            link_sha256: link.as_str().to_owned(),
        }
        .into(),
    ])
}

/// Decides the answer set of the organisation whose link hashes to `link`.
///
/// # Errors
/// See the module's rules.
pub fn decide_submit(
    state: &Campaign,
    at: Target<'_>,
    link: &LinkHash,
    body: &SubmitAnswers,
) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    let Some(invitation) = state.invitation(link) else {
        return Err(ApiError::not_found("questionnaire link"));
    };
    match state.phase {
        Phase::Open => {}
        Phase::Closed => {
            return Err(ApiError::rejected(
                None,
                format!("{at} is closed: answers can no longer be sent or changed"),
            ));
        }
        _ => {
            return Err(ApiError::rejected(
                None,
                format!("{at} is not open to answers yet"),
            ));
        }
    }
    if body.answers.len() > MAX_QUESTIONS * MAX_SUBJECTS {
        return Err(ApiError::validation("answers", "too many answers"));
    }
    let mut seen: BTreeSet<(&str, String)> = BTreeSet::new();
    let mut answers = Vec::with_capacity(body.answers.len());
    for (i, a) in body.answers.iter().enumerate() {
        let f = |name: &str| format!("answers[{i}].{name}");
        let id = a.question.trim();
        let Some(q) = state.questions.iter().find(|q| q.id == id) else {
            return Err(ApiError::validation(
                f("question"),
                format!("{at} asks no question {id:?}"),
            ));
        };
        let action = match (q.about.as_str(), a.action.as_deref().map(str::trim)) {
            ("actions", Some(code)) if q.subjects.iter().any(|s| s == code) => code.to_owned(),
            ("actions", Some(code)) => {
                return Err(ApiError::validation(
                    f("action"),
                    format!(
                        "question {id} is about actions {}, not {code:?}",
                        q.subjects.join(", ")
                    ),
                ));
            }
            ("actions", None) => {
                return Err(ApiError::validation(
                    f("action"),
                    format!(
                        "question {id} is answered per action: name one of {}",
                        q.subjects.join(", ")
                    ),
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::validation(
                    f("action"),
                    format!("question {id} is not answered per action: leave action out"),
                ));
            }
            (_, None) => String::new(),
        };
        if !seen.insert((q.id.as_str(), action.clone())) {
            return Err(ApiError::validation(
                f("question"),
                match action.as_str() {
                    "" => format!("question {id} is answered twice"),
                    a => format!("question {id} is answered twice for action {a}"),
                },
            ));
        }
        let value = answer_value(q, &a.value).map_err(|m| ApiError::validation(f("value"), m))?;
        answers.push(pb::Answer {
            question: q.id.clone(),
            action,
            value,
        });
    }
    if let Some(q) = state
        .questions
        .iter()
        .find(|q| q.required && !answers.iter().any(|a| a.question == q.id))
    {
        return Err(ApiError::validation(
            "answers",
            format!("question {} is required: answer it", q.id),
        ));
    }
    Ok(vec![
        pb::AnswersSubmitted {
            plan: at.plan.to_string(),
            campaign: at.campaign.to_string(),
            organisation: invitation.organisation.clone(),
            answers,
            submission: invitation.submissions + 1,
        }
        .into(),
    ])
}

/// The canonical stored value of an answer to `q`, or why it does not fit.
fn answer_value(q: &pb::Question, value: &AnswerValue) -> Result<String, String> {
    match (q.kind.as_str(), value) {
        ("scale", AnswerValue::Number(n))
            if (i64::from(q.scale_min)..=i64::from(q.scale_max)).contains(n) =>
        {
            Ok(n.to_string())
        }
        ("scale", _) => Err(format!(
            "question {} takes a whole number from {} to {}",
            q.id, q.scale_min, q.scale_max
        )),
        ("choice", AnswerValue::Text(t)) if q.choices.iter().any(|c| c == t.trim()) => {
            Ok(t.trim().to_owned())
        }
        ("choice", _) => Err(format!(
            "question {} takes one of: {}",
            q.id,
            q.choices.join(", ")
        )),
        ("text", AnswerValue::Text(t)) => {
            let t = t.trim();
            if t.is_empty() {
                Err(format!(
                    "the answer to question {} is blank: leave it out instead",
                    q.id
                ))
            } else if t.chars().count() > MAX_ANSWER_CHARS {
                Err(format!("is longer than {MAX_ANSWER_CHARS} characters"))
            } else {
                Ok(t.to_owned())
            }
        }
        ("text", AnswerValue::Number(_)) => Err(format!("question {} takes a text", q.id)),
        (kind, _) => Err(format!("question {} has an unknown kind {kind:?}", q.id)),
    }
}

/// Decides closing the campaign.
///
/// # Errors
/// See the module's rules.
pub fn decide_close(state: &Campaign, at: Target<'_>) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    exists(state, at)?;
    if state.phase != Phase::Open {
        return Err(ApiError::rejected(
            None,
            format!(
                "{at} is {}: only an open campaign closes",
                state.phase.as_str()
            ),
        ));
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(vec![
        pb::CampaignClosed {
            plan: at.plan.to_string(),
            campaign: at.campaign.to_string(),
            invited: count(state.invitations.len()),
            answered: count(
                state
                    .invitations
                    .iter()
                    .filter(|i| i.submissions > 0)
                    .count(),
            ),
        }
        .into(),
    ])
}
