//! Read models of questionnaire campaigns (streams `campaign:<plan>/<campaign>`): each
//! campaign with its questions and invitations, the look-up of a personal link by its
//! hash, and the aggregated results.
//!
//! # Choices
//!
//! - **Links are found by hash.** The models hold the SHA-256 of each link's secret
//!   (all the log has) in a map to its campaign and organisation; the gateway hashes the
//!   secret from the URL and asks [`Campaigns::by_link`]. No view ever shows a hash.
//! - **One answer set per organisation**: the last one submitted; earlier ones stay in
//!   the log (and in the audit views), not in the results.
//! - **Results rule `campaign-results-v1`**, computed on demand over the current answer
//!   sets, in invitation order:
//!   - every answer counts for its question overall; an answer about an action (a
//!     question about `action`, or about `actions` naming the action) also counts for
//!     that action and for the action's strategy (its code without the last part:
//!     `2.1.3` → `2.1`); an answer to a question about a strategy counts for that
//!     strategy; a question about the plan only overall;
//!   - scale: how many answered, the sum, the mean as an exact reduced fraction
//!     (`"37/10"`) and as a decimal string rounded half away from zero to two places
//!     (`"3.70"`), and the distribution over every point of the scale (zeros
//!     included); choice: the count of every option (zeros included) in the order
//!     offered; text: every answer with its organisation (and action);
//!   - results are shown while the campaign is open too, marked `final: false`:
//!     every answer is an event that every reader of the log (auditors, the live
//!     feed) sees anyway, so hiding the tally would hide nothing; the figures are
//!     final once the campaign is closed.

use std::collections::BTreeMap;
use std::sync::Arc;

use metroplan_events::{EventPayload, RecordedEvent, pb};
use serde::Serialize;
use utoipa::ToSchema;

/// The version of the results rule every results answer carries.
pub const RESULTS_RULE: &str = "campaign-results-v1";

/// Every campaign of every plan, and the links that lead to them.
#[derive(Debug, Default, Clone)]
pub struct Campaigns {
    by_id: BTreeMap<(String, String), Arc<CampaignState>>,
    /// Link hash -> (plan, campaign).
    links: BTreeMap<String, (String, String)>,
}

#[derive(Debug, Default, Clone)]
struct CampaignState {
    drafted: pb::CampaignDrafted,
    version: u64,
    state: &'static str,
    drafted_at: String,
    opened_at: Option<String>,
    closed_at: Option<String>,
    questions: Vec<pb::Question>,
    invitations: Vec<InvitationState>,
}

#[derive(Debug, Clone)]
struct InvitationState {
    organisation: String,
    link_sha256: String,
    invited_at: String,
    link_replaced_at: Option<String>,
    answers: Option<(pb::AnswersSubmitted, String)>,
}

/// One campaign of `GET /api/v1/plans/{plan}/campaigns`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignSummary {
    pub plan: String,
    pub id: String,
    pub title: String,
    /// `drafted` | `open` | `closed`.
    pub state: String,
    pub opens: String,
    pub closes: String,
    pub questions: u64,
    pub invited: u64,
    /// Organisations that submitted an answer set.
    pub answered: u64,
    pub version: u64,
}

/// A question as asked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionView {
    pub id: String,
    /// `scale` | `choice` | `text`.
    pub kind: String,
    pub text: String,
    /// `plan` | `strategy` | `action` | `actions` (answered per action picked among
    /// `subjects`).
    pub about: String,
    pub subjects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_min: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_max: Option<i32>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub min_label: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub max_label: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    pub required: bool,
}

/// An invited organisation (never its link).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationView {
    pub organisation: String,
    pub invited_at: String,
    /// When its link was last replaced by a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_replaced_at: Option<String>,
    pub answered: bool,
    /// How many answer sets it submitted (the last one counts).
    pub submissions: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
}

/// `GET /api/v1/plans/{plan}/campaigns/{campaign}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    pub plan: String,
    pub id: String,
    pub title: String,
    pub description: String,
    pub opens: String,
    pub closes: String,
    pub state: String,
    pub drafted_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub questions: Vec<QuestionView>,
    pub invitations: Vec<InvitationView>,
    pub invited: u64,
    pub answered: u64,
    pub version: u64,
    pub position: u64,
}

/// One answer as stored: `value` is a number for a scale question, a string otherwise.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerView {
    pub question: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// `GET /api/v1/questionnaire/{secret}`: what the organisation holding the link sees.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionnaireView {
    pub plan: String,
    pub campaign: String,
    pub title: String,
    pub description: String,
    pub opens: String,
    pub closes: String,
    pub state: String,
    /// Whether answers are accepted now (the campaign is open).
    pub accepting_answers: bool,
    pub organisation: String,
    pub questions: Vec<QuestionView>,
    /// Its current answer set (empty before the first).
    pub answers: Vec<AnswerView>,
    pub submissions: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    pub position: u64,
}

/// A scale question's figures.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ScaleResult {
    pub min: i32,
    pub max: i32,
    pub count: u64,
    pub sum: i64,
    /// Exact mean, a reduced fraction `p/q` (`"37/10"`); absent with no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_fraction: Option<String>,
    /// Mean rounded half away from zero to two decimals (`"3.70"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<String>,
    /// Answers per point of the scale, every point present.
    pub distribution: Vec<PointCount>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointCount {
    pub value: i32,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionCount {
    pub option: String,
    pub count: u64,
}

/// A free-text answer with who gave it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TextAnswer {
    pub organisation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub text: String,
}

/// One question's results in one scope (overall, an action, a strategy).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionResult {
    pub question: String,
    pub kind: String,
    pub text: String,
    pub about: String,
    /// How many answers count here.
    pub answers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<OptionCount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<TextAnswer>>,
}

/// The results about one action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionResults {
    pub action: String,
    pub strategy: String,
    pub questions: Vec<QuestionResult>,
}

/// The results about one strategy: its own questions and those of its actions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StrategyResults {
    pub strategy: String,
    pub questions: Vec<QuestionResult>,
}

/// `GET /api/v1/plans/{plan}/campaigns/{campaign}/results`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignResults {
    pub plan: String,
    pub campaign: String,
    pub title: String,
    pub state: String,
    /// True once the campaign is closed: the figures no longer change.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub invited: u64,
    pub answered: u64,
    /// The aggregation rule (see the README).
    pub rule: String,
    /// Every question, over every answer set.
    pub questions: Vec<QuestionResult>,
    /// Per strategy, in code order.
    pub by_strategy: Vec<StrategyResults>,
    /// Per action, in code order.
    pub by_action: Vec<ActionResults>,
    pub version: u64,
    pub position: u64,
}

/// One campaign in the read models' dump.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignDump {
    pub campaign: CampaignView,
    pub results: CampaignResults,
}

fn code_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// The strategy an action code belongs to: `2.1.3` → `2.1`.
fn strategy_of(action: &str) -> String {
    action
        .rsplit_once('.')
        .map_or_else(|| action.to_owned(), |(s, _)| s.to_owned())
}

fn question_view(q: &pb::Question) -> QuestionView {
    let scale = q.kind == "scale";
    QuestionView {
        id: q.id.clone(),
        kind: q.kind.clone(),
        text: q.text.clone(),
        about: q.about.clone(),
        subjects: q.subjects.clone(),
        scale_min: scale.then_some(q.scale_min),
        scale_max: scale.then_some(q.scale_max),
        min_label: q.min_label.clone(),
        max_label: q.max_label.clone(),
        choices: q.choices.clone(),
        required: q.required,
    }
}

fn answer_view(q: Option<&pb::Question>, a: &pb::Answer) -> AnswerView {
    let value = match (q.map(|q| q.kind.as_str()), a.value.parse::<i64>()) {
        (Some("scale"), Ok(n)) => serde_json::Value::from(n),
        _ => serde_json::Value::from(a.value.clone()),
    };
    AnswerView {
        question: a.question.clone(),
        action: (!a.action.is_empty()).then(|| a.action.clone()),
        value,
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `sum / count` as a reduced fraction and rounded half away from zero to two places.
fn mean(sum: i64, count: u64) -> (String, String) {
    let negative = sum < 0;
    let abs = sum.unsigned_abs();
    let g = gcd(abs, count).max(1);
    let sign = if negative && abs != 0 { "-" } else { "" };
    let fraction = format!("{sign}{}/{}", abs / g, count / g);
    let hundredths = (u128::from(abs) * 200 + u128::from(count)) / (u128::from(count) * 2);
    let decimal = format!("{sign}{}.{:02}", hundredths / 100, hundredths % 100);
    (fraction, decimal)
}

/// Adds up the answers to one question in one scope.
#[derive(Debug, Clone)]
struct Tally<'a> {
    question: &'a pb::Question,
    answers: u64,
    sum: i64,
    points: BTreeMap<i32, u64>,
    options: Vec<u64>,
    texts: Vec<TextAnswer>,
}

impl<'a> Tally<'a> {
    fn new(question: &'a pb::Question) -> Self {
        Self {
            question,
            answers: 0,
            sum: 0,
            points: BTreeMap::new(),
            options: vec![0; question.choices.len()],
            texts: Vec::new(),
        }
    }

    fn add(&mut self, organisation: &str, answer: &pb::Answer) {
        match self.question.kind.as_str() {
            "scale" => {
                let Ok(n) = answer.value.parse::<i32>() else {
                    return;
                };
                self.sum += i64::from(n);
                *self.points.entry(n).or_default() += 1;
            }
            "choice" => {
                let Some(i) = self
                    .question
                    .choices
                    .iter()
                    .position(|c| *c == answer.value)
                else {
                    return;
                };
                self.options[i] += 1;
            }
            _ => self.texts.push(TextAnswer {
                organisation: organisation.to_owned(),
                action: (!answer.action.is_empty()).then(|| answer.action.clone()),
                text: answer.value.clone(),
            }),
        }
        self.answers += 1;
    }

    fn result(self) -> QuestionResult {
        let q = self.question;
        let mut r = QuestionResult {
            question: q.id.clone(),
            kind: q.kind.clone(),
            text: q.text.clone(),
            about: q.about.clone(),
            answers: self.answers,
            scale: None,
            choices: None,
            texts: None,
        };
        match q.kind.as_str() {
            "scale" => {
                let (mean_fraction, mean) = if self.answers == 0 {
                    (None, None)
                } else {
                    let (f, d) = mean(self.sum, self.answers);
                    (Some(f), Some(d))
                };
                r.scale = Some(ScaleResult {
                    min: q.scale_min,
                    max: q.scale_max,
                    count: self.answers,
                    sum: self.sum,
                    mean_fraction,
                    mean,
                    distribution: (q.scale_min..=q.scale_max)
                        .map(|value| PointCount {
                            value,
                            count: self.points.get(&value).copied().unwrap_or(0),
                        })
                        .collect(),
                });
            }
            "choice" => {
                r.choices = Some(
                    q.choices
                        .iter()
                        .zip(self.options)
                        .map(|(option, count)| OptionCount {
                            option: option.clone(),
                            count,
                        })
                        .collect(),
                );
            }
            _ => r.texts = Some(self.texts),
        }
        r
    }
}

/// The tallies of one scope, by question index.
type Scope<'a> = BTreeMap<usize, Tally<'a>>;

fn tally<'a>(scope: &mut Scope<'a>, index: usize, q: &'a pb::Question, org: &str, a: &pb::Answer) {
    scope
        .entry(index)
        .or_insert_with(|| Tally::new(q))
        .add(org, a);
}

fn results(scope: Scope<'_>) -> Vec<QuestionResult> {
    scope.into_values().map(Tally::result).collect()
}

impl CampaignState {
    fn answered(&self) -> u64 {
        self.invitations
            .iter()
            .filter(|i| i.answers.is_some())
            .count() as u64
    }

    fn summary(&self) -> CampaignSummary {
        CampaignSummary {
            plan: self.drafted.plan.clone(),
            id: self.drafted.campaign.clone(),
            title: self.drafted.title.clone(),
            state: self.state.to_owned(),
            opens: self.drafted.opens.clone(),
            closes: self.drafted.closes.clone(),
            questions: self.questions.len() as u64,
            invited: self.invitations.len() as u64,
            answered: self.answered(),
            version: self.version,
        }
    }

    fn question(&self, id: &str) -> Option<(usize, &pb::Question)> {
        self.questions.iter().enumerate().find(|(_, q)| q.id == id)
    }
}

impl Campaigns {
    /// Applies one event of a `campaign:` stream.
    pub fn apply(&mut self, event: &RecordedEvent) {
        use pb::campaign_event::Event;
        let Some(e) = pb::CampaignEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let Some((plan, id)) = event
            .stream_id
            .trim_start_matches("campaign:")
            .split_once('/')
        else {
            return;
        };
        let key = (plan.to_owned(), id.to_owned());
        let at = event.recorded_at.to_rfc3339();
        let c = Arc::make_mut(self.by_id.entry(key.clone()).or_default());
        c.version = event.stream_version;
        match e {
            Event::CampaignDrafted(x) => {
                c.drafted = x;
                c.state = "drafted";
                c.drafted_at = at;
            }
            Event::QuestionsSet(x) => c.questions = x.questions,
            Event::CampaignOpened(_) => {
                c.state = "open";
                c.opened_at = Some(at);
            }
            Event::OrganisationInvited(x) => {
                self.links.insert(x.link_sha256.clone(), key);
                c.invitations.push(InvitationState {
                    organisation: x.organisation,
                    link_sha256: x.link_sha256,
                    invited_at: at,
                    link_replaced_at: None,
                    answers: None,
                });
            }
            Event::InvitationLinkReplaced(x) => {
                if let Some(i) = c
                    .invitations
                    .iter_mut()
                    .find(|i| i.organisation == x.organisation)
                {
                    self.links.remove(&i.link_sha256);
                    self.links.insert(x.link_sha256.clone(), key);
                    i.link_sha256 = x.link_sha256;
                    i.link_replaced_at = Some(at);
                }
            }
            Event::AnswersSubmitted(x) => {
                if let Some(i) = c
                    .invitations
                    .iter_mut()
                    .find(|i| i.organisation == x.organisation)
                {
                    i.answers = Some((x, at));
                }
            }
            Event::CampaignClosed(_) => {
                c.state = "closed";
                c.closed_at = Some(at);
            }
        }
    }

    /// Every campaign of every plan with its results, by plan then id.
    pub fn dump(&self, position: u64) -> Vec<CampaignDump> {
        self.by_id
            .keys()
            .filter_map(|(plan, id)| {
                Some(CampaignDump {
                    campaign: self.view(plan, id, position)?,
                    results: self.results(plan, id, position)?,
                })
            })
            .collect()
    }

    /// Every campaign of `plan`, by id.
    pub fn list(&self, plan: &str) -> Vec<CampaignSummary> {
        self.by_id
            .iter()
            .filter(|((p, _), _)| p == plan)
            .map(|(_, c)| c.summary())
            .collect()
    }

    fn get(&self, plan: &str, id: &str) -> Option<&CampaignState> {
        self.by_id
            .get(&(plan.to_owned(), id.to_owned()))
            .map(AsRef::as_ref)
            .filter(|c| !c.state.is_empty())
    }

    /// One campaign; `None` when it does not exist.
    pub fn view(&self, plan: &str, id: &str, position: u64) -> Option<CampaignView> {
        let c = self.get(plan, id)?;
        Some(CampaignView {
            plan: c.drafted.plan.clone(),
            id: c.drafted.campaign.clone(),
            title: c.drafted.title.clone(),
            description: c.drafted.description.clone(),
            opens: c.drafted.opens.clone(),
            closes: c.drafted.closes.clone(),
            state: c.state.to_owned(),
            drafted_at: c.drafted_at.clone(),
            opened_at: c.opened_at.clone(),
            closed_at: c.closed_at.clone(),
            questions: c.questions.iter().map(question_view).collect(),
            invitations: c
                .invitations
                .iter()
                .map(|i| InvitationView {
                    organisation: i.organisation.clone(),
                    invited_at: i.invited_at.clone(),
                    link_replaced_at: i.link_replaced_at.clone(),
                    answered: i.answers.is_some(),
                    submissions: i.answers.as_ref().map_or(0, |(a, _)| a.submission),
                    answered_at: i.answers.as_ref().map(|(_, at)| at.clone()),
                })
                .collect(),
            invited: c.invitations.len() as u64,
            answered: c.answered(),
            version: c.version,
            position,
        })
    }

    /// What the holder of the link whose secret hashes to `link` sees; `None` for a
    /// link no campaign issued.
    pub fn by_link(&self, link: &str, position: u64) -> Option<QuestionnaireView> {
        let (plan, id) = self.links.get(link)?;
        let c = self.get(plan, id)?;
        let i = c.invitations.iter().find(|i| i.link_sha256 == link)?;
        Some(QuestionnaireView {
            plan: plan.clone(),
            campaign: id.clone(),
            title: c.drafted.title.clone(),
            description: c.drafted.description.clone(),
            opens: c.drafted.opens.clone(),
            closes: c.drafted.closes.clone(),
            state: c.state.to_owned(),
            accepting_answers: c.state == "open",
            organisation: i.organisation.clone(),
            questions: c.questions.iter().map(question_view).collect(),
            answers: i.answers.as_ref().map_or_else(Vec::new, |(a, _)| {
                a.answers
                    .iter()
                    .map(|x| answer_view(c.question(&x.question).map(|(_, q)| q), x))
                    .collect()
            }),
            submissions: i.answers.as_ref().map_or(0, |(a, _)| a.submission),
            answered_at: i.answers.as_ref().map(|(_, at)| at.clone()),
            position,
        })
    }

    /// The results of one campaign under [`RESULTS_RULE`]; `None` when it does not exist.
    pub fn results(&self, plan: &str, id: &str, position: u64) -> Option<CampaignResults> {
        let c = self.get(plan, id)?;
        let mut overall: Scope<'_> = c
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| (i, Tally::new(q)))
            .collect();
        let mut actions: BTreeMap<Vec<u32>, (String, Scope<'_>)> = BTreeMap::new();
        let mut strategies: BTreeMap<Vec<u32>, (String, Scope<'_>)> = BTreeMap::new();
        for inv in &c.invitations {
            let Some((set, _)) = &inv.answers else {
                continue;
            };
            let org = inv.organisation.as_str();
            for a in &set.answers {
                let Some((index, q)) = c.question(&a.question) else {
                    continue;
                };
                tally(&mut overall, index, q, org, a);
                let (action, strategy) = match q.about.as_str() {
                    "actions" => (Some(a.action.clone()), Some(strategy_of(&a.action))),
                    "action" => {
                        let code = q.subjects.first().cloned().unwrap_or_default();
                        let strategy = strategy_of(&code);
                        (Some(code), Some(strategy))
                    }
                    "strategy" => (None, q.subjects.first().cloned()),
                    _ => (None, None),
                };
                if let Some(code) = action.filter(|c| !c.is_empty()) {
                    let entry = actions
                        .entry(code_key(&code))
                        .or_insert_with(|| (code, Scope::new()));
                    tally(&mut entry.1, index, q, org, a);
                }
                if let Some(code) = strategy.filter(|c| !c.is_empty()) {
                    let entry = strategies
                        .entry(code_key(&code))
                        .or_insert_with(|| (code, Scope::new()));
                    tally(&mut entry.1, index, q, org, a);
                }
            }
        }
        Some(CampaignResults {
            plan: plan.to_owned(),
            campaign: id.to_owned(),
            title: c.drafted.title.clone(),
            state: c.state.to_owned(),
            is_final: c.state == "closed",
            invited: c.invitations.len() as u64,
            answered: c.answered(),
            rule: RESULTS_RULE.to_owned(),
            questions: results(overall),
            by_strategy: strategies
                .into_values()
                .map(|(strategy, scope)| StrategyResults {
                    strategy,
                    questions: results(scope),
                })
                .collect(),
            by_action: actions
                .into_values()
                .map(|(action, scope)| ActionResults {
                    strategy: strategy_of(&action),
                    action,
                    questions: results(scope),
                })
                .collect(),
            version: c.version,
            position,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metroplan_events::{EventMetadata, NewEvent};

    const STREAM: &str = "campaign:P/c";

    fn event(version: u64, e: impl Into<pb::CampaignEvent>) -> RecordedEvent {
        let payload: pb::CampaignEvent = e.into();
        let new = NewEvent::new(&payload, EventMetadata::default());
        RecordedEvent {
            event_id: new.event_id,
            stream_id: STREAM.to_owned(),
            stream_version: version,
            position: version,
            event_type: new.event_type,
            schema_version: new.schema_version,
            recorded_at: "2022-03-01T09:00:00Z".parse().unwrap(),
            metadata: new.metadata,
            payload: new.payload,
            hash: Vec::new(),
        }
    }

    fn q(id: &str, kind: &str, about: &str, subjects: &[&str]) -> pb::Question {
        pb::Question {
            id: id.into(),
            kind: kind.into(),
            text: id.into(),
            about: about.into(),
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn answers(org: &str, submission: u32, list: &[(&str, &str, &str)]) -> pb::AnswersSubmitted {
        pb::AnswersSubmitted {
            plan: "P".into(),
            campaign: "c".into(),
            organisation: org.into(),
            answers: list
                .iter()
                .map(|(question, action, value)| pb::Answer {
                    question: (*question).into(),
                    action: (*action).into(),
                    value: (*value).into(),
                })
                .collect(),
            submission,
        }
    }

    fn invited(org: &str, hash: &str) -> pb::OrganisationInvited {
        pb::OrganisationInvited {
            plan: "P".into(),
            campaign: "c".into(),
            organisation: org.into(),
            link_sha256: hash.into(),
        }
    }

    /// Two organisations: A answers twice (the second set counts), B once; A's link is
    /// replaced.
    fn campaigns() -> Campaigns {
        let mut c = Campaigns::default();
        let events: Vec<pb::CampaignEvent> = vec![
            pb::CampaignDrafted {
                plan: "P".into(),
                campaign: "c".into(),
                title: "Esempio".into(),
                ..Default::default()
            }
            .into(),
            pb::QuestionsSet {
                plan: "P".into(),
                campaign: "c".into(),
                questions: vec![
                    pb::Question {
                        scale_min: 1,
                        scale_max: 3,
                        ..q("s", "scale", "actions", &["2.1.1", "3.1.1"])
                    },
                    pb::Question {
                        choices: vec!["sì".into(), "no".into()],
                        ..q("c", "choice", "strategy", &["2.1"])
                    },
                    q("t", "text", "action", &["2.1.2"]),
                    q("p", "text", "plan", &[]),
                ],
            }
            .into(),
            invited("A", "aa").into(),
            invited("B", "bb").into(),
            pb::CampaignOpened::default().into(),
            answers("A", 1, &[("s", "2.1.1", "1")]).into(),
            answers(
                "A",
                2,
                &[("s", "2.1.1", "3"), ("s", "3.1.1", "2"), ("c", "", "sì")],
            )
            .into(),
            answers(
                "B",
                1,
                &[("s", "2.1.1", "2"), ("t", "", "vivai"), ("p", "", "ok")],
            )
            .into(),
            pb::InvitationLinkReplaced {
                organisation: "A".into(),
                link_sha256: "cc".into(),
                ..Default::default()
            }
            .into(),
        ];
        for (i, e) in events.into_iter().enumerate() {
            c.apply(&event(i as u64 + 1, e));
        }
        c
    }

    #[test]
    fn results_count_each_organisations_last_set_per_question_action_and_strategy() {
        let r = campaigns().results("P", "c", 9).unwrap();
        assert!(!r.is_final);
        assert_eq!((r.invited, r.answered), (2, 2));
        let s = r.questions[0].scale.as_ref().unwrap();
        assert_eq!(
            (s.count, s.sum),
            (3, 7),
            "A's 3 and 2, B's 2; A's first set left out"
        );
        assert_eq!(s.mean_fraction.as_deref(), Some("7/3"));
        assert_eq!(s.mean.as_deref(), Some("2.33"));
        let points: Vec<u64> = s.distribution.iter().map(|p| p.count).collect();
        assert_eq!(points, [0, 2, 1]);
        let actions: Vec<&str> = r.by_action.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["2.1.1", "2.1.2", "3.1.1"]);
        let a211 = &r.by_action[0].questions[0].scale.as_ref().unwrap();
        assert_eq!(a211.mean.as_deref(), Some("2.50"));
        let strategies: Vec<&str> = r.by_strategy.iter().map(|s| s.strategy.as_str()).collect();
        assert_eq!(strategies, ["2.1", "3.1"]);
        let s21: Vec<&str> = r.by_strategy[0]
            .questions
            .iter()
            .map(|q| q.question.as_str())
            .collect();
        assert_eq!(
            s21,
            ["s", "c", "t"],
            "its actions' questions and its own, not the plan's"
        );
        assert_eq!(r.by_strategy[0].questions[0].answers, 2);
        let choices = r.questions[1].choices.as_ref().unwrap();
        assert_eq!((choices[0].count, choices[1].count), (1, 0));
        let texts = r.questions[3].texts.as_ref().unwrap();
        assert_eq!(
            (texts[0].organisation.as_str(), texts[0].text.as_str()),
            ("B", "ok")
        );
    }

    #[test]
    fn a_replaced_link_finds_nothing_and_views_show_no_link() {
        let c = campaigns();
        assert!(c.by_link("aa", 9).is_none());
        let mine = c.by_link("cc", 9).unwrap();
        assert_eq!((mine.organisation.as_str(), mine.submissions), ("A", 2));
        assert_eq!(mine.answers[0].value, serde_json::json!(3));
        assert_eq!(c.by_link("bb", 9).unwrap().organisation, "B");
        let view = serde_json::to_string(&c.view("P", "c", 9).unwrap()).unwrap();
        assert!(!view.contains("\"cc\"") && !view.contains("\"bb\""));
        assert!(c.view("P", "d", 9).is_none());
        assert_eq!(c.list("P").len(), 1);
        assert!(c.list("Q").is_empty());
    }

    #[test]
    fn a_mean_is_exact_and_rounded_half_away_from_zero() {
        assert_eq!(mean(37, 10), ("37/10".into(), "3.70".into()));
        assert_eq!(mean(10, 3), ("10/3".into(), "3.33".into()));
        assert_eq!(mean(11, 6), ("11/6".into(), "1.83".into()));
        assert_eq!(mean(1, 8), ("1/8".into(), "0.13".into()));
        assert_eq!(mean(-1, 8), ("-1/8".into(), "-0.13".into()));
        assert_eq!(mean(8, 2), ("4/1".into(), "4.00".into()));
        assert_eq!(mean(0, 3), ("0/1".into(), "0.00".into()));
    }

    #[test]
    fn an_action_belongs_to_the_strategy_of_its_code() {
        assert_eq!(strategy_of("2.1.3"), "2.1");
        assert_eq!(strategy_of("10.12.1"), "10.12");
    }
}
