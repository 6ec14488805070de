//! The read models and how each event changes them. Everything here is derived: the
//! models can be dropped and rebuilt from the log at any time. Histories keep the
//! recorded events themselves (shared, not copied) and render their JSON on demand, so a
//! rebuild does no JSON work.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use metroplan_api::values::Status;
use metroplan_events::{EventPayload, RecordedEvent, pb, streams};

use crate::views::*;

/// How many recent changes a plan keeps for its dashboard.
const LATEST: usize = 20;

/// Every read model at one position. Cloning is cheap: each plan, action, table and
/// agreement sits behind an `Arc` and is copied on its first change after a clone
/// (`Arc::make_mut`), and histories are persistent vectors that share their past, so a
/// time-travel snapshot ([`crate::timeline`]) costs a few pointers per item.
#[derive(Debug, Default, Clone)]
pub struct ReadModels {
    position: u64,
    plans: BTreeMap<String, Arc<PlanState>>,
    actions: HashMap<(String, String), Arc<ActionState>>,
    tables: BTreeMap<String, Arc<TableView>>,
    agreements: BTreeMap<String, Arc<AgreementView>>,
    /// Context indicators by (plan, code).
    indicators: BTreeMap<(String, String), Arc<IndicatorState>>,
    /// Questionnaire campaigns and their links (see [`crate::campaigns`]).
    campaigns: crate::campaigns::Campaigns,
}

#[derive(Debug, Default, Clone)]
struct IndicatorState {
    /// The definition, edits applied.
    def: pb::IndicatorDefined,
    /// The reason, once retired.
    retired: Option<String>,
    version: u64,
    measurements: Vec<MeasurementState>,
}

#[derive(Debug, Clone)]
struct MeasurementState {
    recorded: pb::MeasurementRecorded,
    event: Arc<RecordedEvent>,
    /// The current value: the last correction's, or the recorded one.
    value: String,
    corrections: Vec<(pb::MeasurementCorrected, Arc<RecordedEvent>)>,
}

#[derive(Debug, Default, Clone)]
struct PlanState {
    header: pb::PlanCreated,
    version: u64,
    revisions: Vec<RevisionView>,
    axes: Vec<AxisState>,
    strategies: Vec<StrategyState>,
    actions: Vec<String>,
    latest: VecDeque<Arc<RecordedEvent>>,
}

#[derive(Debug, Default, Clone)]
struct AxisState {
    add: pb::AxisAdded,
    retired: bool,
}

#[derive(Debug, Default, Clone)]
struct StrategyState {
    add: pb::StrategyAdded,
    retired: bool,
}

#[derive(Debug, Default, Clone)]
struct ActionState {
    def: pb::ActionAdded,
    retired: bool,
    version: u64,
    report: Option<(pb::ActionProgressReported, Arc<RecordedEvent>)>,
    history: imbl::Vector<Arc<RecordedEvent>>,
    agreements: BTreeSet<String>,
}

impl ActionState {
    fn status(&self) -> &str {
        self.report
            .as_ref()
            .map_or("not_started", |(r, _)| r.status.as_str())
    }
    fn progress(&self) -> u32 {
        self.report.as_ref().map_or(0, |(r, _)| r.progress)
    }
}

mod funding;
mod instruments;
pub(crate) use funding::funding_line_view;
pub(crate) use instruments::instrument_link_view;

/// Sort key for dotted codes: `1.10` after `1.9`.
fn code_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// The payload of a stored event as JSON: the inner message of its family's `oneof`.
pub fn payload_json(event: &RecordedEvent) -> serde_json::Value {
    fn inner<E: EventPayload>(
        event: &RecordedEvent,
        pick: impl Fn(E) -> serde_json::Value,
    ) -> serde_json::Value {
        E::decode_recorded(event).map_or(serde_json::Value::Null, pick)
    }
    fn unwrap_oneof(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) if map.len() == 1 => map
                .into_iter()
                .next()
                .map_or(serde_json::Value::Null, |(_, v)| v),
            other => other,
        }
    }
    let to = |v: Result<serde_json::Value, serde_json::Error>| unwrap_oneof(v.unwrap_or_default());
    match streams::kind(&event.stream_id) {
        "plan" => inner(event, |e: pb::PlanEvent| to(serde_json::to_value(e.event))),
        "action" => inner(event, |e: pb::ActionEvent| {
            to(serde_json::to_value(e.event))
        }),
        "progress" => inner(event, |e: pb::ProgressEvent| {
            to(serde_json::to_value(e.event))
        }),
        "table" => inner(event, |e: pb::TableEvent| to(serde_json::to_value(e.event))),
        "agreement" => inner(event, |e: pb::AgreementEvent| {
            to(serde_json::to_value(e.event))
        }),
        "indicator" => inner(event, |e: pb::IndicatorEvent| {
            to(serde_json::to_value(e.event))
        }),
        "campaign" => inner(event, |e: pb::CampaignEvent| {
            to(serde_json::to_value(e.event))
        }),
        _ => serde_json::Value::Null,
    }
}

/// One event as a history entry.
pub fn history_entry(event: &RecordedEvent) -> HistoryEntry {
    HistoryEntry {
        position: event.position,
        stream: event.stream_id.clone(),
        stream_version: event.stream_version,
        event_type: event.event_type.clone(),
        recorded_at: event.recorded_at.to_rfc3339(),
        actor: event.metadata.actor.clone(),
        on_behalf_of: event.metadata.on_behalf_of.clone(),
        reason: event.metadata.reason.clone(),
        payload: payload_json(event),
    }
}

fn rollup<'a>(actions: impl Iterator<Item = &'a ActionState>) -> Rollup {
    let mut by_status: StatusCounts = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    let (mut n, mut counted, mut sum, mut completed, mut started) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for a in actions.filter(|a| !a.retired) {
        n += 1;
        let status = a.status();
        *by_status.entry(status.to_owned()).or_default() += 1;
        if status != "cancelled" {
            counted += 1;
            sum += u64::from(a.progress());
            if status == "completed" {
                completed += 1;
            }
            if status != "not_started" {
                started += 1;
            }
        }
    }
    let status = if counted > 0 && completed == counted {
        "completed"
    } else if started == 0 {
        "not_started"
    } else {
        "in_progress"
    };
    #[allow(clippy::cast_precision_loss)]
    let progress = if counted == 0 {
        0.0
    } else {
        ((sum as f64 / counted as f64) * 10.0).round() / 10.0
    };
    Rollup {
        actions: n,
        status: status.to_owned(),
        progress,
        by_status,
    }
}

impl ReadModels {
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Applies one event. Events the models do not know are skipped (they stay in the log).
    pub fn apply(&mut self, event: &RecordedEvent) {
        self.apply_shared(Arc::new(event.clone()));
    }

    /// Applies one event without copying it.
    pub fn apply_shared(&mut self, event: Arc<RecordedEvent>) {
        self.position = event.position;
        match streams::kind(&event.stream_id) {
            "plan" => self.apply_plan(&event),
            "action" => self.apply_action(&event),
            "progress" => self.apply_progress(&event),
            "table" => self.apply_table(&event),
            "agreement" => self.apply_agreement(&event),
            "indicator" => self.apply_indicator(&event),
            "campaign" => self.campaigns.apply(&event),
            _ => {}
        }
    }

    fn remember(&mut self, plan: &str, event: &Arc<RecordedEvent>) {
        if let Some(p) = self.plans.get_mut(plan).map(Arc::make_mut) {
            p.latest.push_front(Arc::clone(event));
            p.latest.truncate(LATEST);
        }
    }

    fn apply_plan(&mut self, event: &Arc<RecordedEvent>) {
        use pb::plan_event::Event;
        let Some(e) = pb::PlanEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let code = event.stream_id.trim_start_matches("plan:").to_owned();
        let plan = Arc::make_mut(self.plans.entry(code.clone()).or_default());
        plan.version = event.stream_version;
        match e {
            Event::PlanCreated(x) => plan.header = x,
            Event::AxisAdded(x) => plan.axes.push(AxisState {
                add: x,
                retired: false,
            }),
            Event::AxisEdited(x) => {
                if let Some(a) = plan.axes.iter_mut().find(|a| a.add.code == x.code) {
                    if let Some(v) = x.name {
                        a.add.name = v
                    }
                    if let Some(v) = x.slogan {
                        a.add.slogan = v
                    }
                    if let Some(v) = x.description {
                        a.add.description = v
                    }
                    if let Some(v) = x.pnrr_mission {
                        a.add.pnrr_mission = v
                    }
                }
            }
            Event::AxisMoved(x) => {
                if let Some(a) = plan.axes.iter_mut().find(|a| a.add.code == x.code) {
                    a.add.position = x.position;
                }
            }
            Event::AxisRetired(x) => {
                if let Some(a) = plan.axes.iter_mut().find(|a| a.add.code == x.code) {
                    a.retired = true;
                }
            }
            Event::StrategyAdded(x) => plan.strategies.push(StrategyState {
                add: x,
                retired: false,
            }),
            Event::StrategyEdited(x) => {
                if let Some(s) = plan.strategies.iter_mut().find(|s| s.add.code == x.code) {
                    if let Some(v) = x.name {
                        s.add.name = v
                    }
                    if let Some(v) = x.description {
                        s.add.description = v
                    }
                }
            }
            Event::StrategyMoved(x) => {
                if let Some(s) = plan.strategies.iter_mut().find(|s| s.add.code == x.code) {
                    s.add.axis = x.to_axis;
                    s.add.position = x.position;
                }
            }
            Event::StrategyRetired(x) => {
                if let Some(s) = plan.strategies.iter_mut().find(|s| s.add.code == x.code) {
                    s.retired = true;
                }
            }
            Event::RevisionAdopted(x) => plan.revisions.push(RevisionView {
                number: x.number,
                name: x.name,
                act: x.act,
                adopted_on: x.adopted_on,
                at_position: x.at_position,
            }),
        }
        self.remember(&code, event);
    }

    fn apply_action(&mut self, event: &Arc<RecordedEvent>) {
        use pb::action_event::Event;
        let Some(e) = pb::ActionEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let Some((plan, code)) = event
            .stream_id
            .trim_start_matches("action:")
            .split_once('/')
        else {
            return;
        };
        let key = (plan.to_owned(), code.to_owned());
        if !self.actions.contains_key(&key)
            && let Some(p) = self.plans.get_mut(plan).map(Arc::make_mut)
        {
            p.actions.push(code.to_owned());
        }
        let a = Arc::make_mut(self.actions.entry(key).or_default());
        a.version = event.stream_version;
        a.history.push_back(Arc::clone(event));
        match e {
            Event::ActionAdded(x) => a.def = x,
            Event::ActionEdited(x) => {
                let d = &mut a.def;
                if let Some(v) = x.title {
                    d.title = v
                }
                if let Some(v) = x.description {
                    d.description = v
                }
                if let Some(v) = x.competence {
                    d.competence = v
                }
                if let Some(v) = x.responsible_organisations {
                    d.responsible_organisations = v.values
                }
                if let Some(v) = x.partner_organisations {
                    d.partner_organisations = v.values
                }
                if let Some(v) = x.territorial_scope {
                    d.territorial_scope = v
                }
                if let Some(v) = x.planned_start {
                    d.planned_start = v
                }
                if let Some(v) = x.planned_end {
                    d.planned_end = v
                }
                if let Some(v) = x.actual_start {
                    d.actual_start = v
                }
                if let Some(v) = x.actual_end {
                    d.actual_end = v
                }
                if let Some(v) = x.funding_lines {
                    d.funding_lines = v.values
                }
                if let Some(v) = x.instrument_links {
                    d.instrument_links = v.values
                }
            }
            Event::ActionMoved(x) => a.def.strategy = x.to_strategy,
            Event::ActionRetired(_) => a.retired = true,
        }
        let plan = plan.to_owned();
        self.remember(&plan, event);
    }

    fn apply_progress(&mut self, event: &Arc<RecordedEvent>) {
        use pb::progress_event::Event;
        let Some(e) = pb::ProgressEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let Event::ActionProgressReported(x) = e;
        let key = (x.plan.clone(), x.action.clone());
        let plan = x.plan.clone();
        if let Some(a) = self.actions.get_mut(&key).map(Arc::make_mut) {
            a.history.push_back(Arc::clone(event));
            a.report = Some((x, Arc::clone(event)));
        }
        self.remember(&plan, event);
    }

    fn apply_indicator(&mut self, event: &Arc<RecordedEvent>) {
        use pb::indicator_event::Event;
        let Some(e) = pb::IndicatorEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let Some((plan, code)) = event
            .stream_id
            .trim_start_matches("indicator:")
            .split_once('/')
        else {
            return;
        };
        let key = (plan.to_owned(), code.to_owned());
        let i = Arc::make_mut(self.indicators.entry(key).or_default());
        i.version = event.stream_version;
        match e {
            Event::IndicatorDefined(x) => i.def = x,
            Event::IndicatorEdited(x) => {
                let d = &mut i.def;
                for (field, value) in [
                    (&mut d.name, x.name),
                    (&mut d.unit, x.unit),
                    (&mut d.source, x.source),
                    (&mut d.direction, x.direction),
                    (&mut d.baseline_value, x.baseline_value),
                    (&mut d.target_value, x.target_value),
                    (&mut d.territory, x.territory),
                ] {
                    if let Some(v) = value {
                        *field = v;
                    }
                }
                for (field, value) in [
                    (&mut d.baseline_year, x.baseline_year),
                    (&mut d.target_year, x.target_year),
                ] {
                    if let Some(v) = value {
                        *field = v;
                    }
                }
            }
            Event::IndicatorRetired(x) => i.retired = Some(x.reason),
            Event::MeasurementRecorded(x) => i.measurements.push(MeasurementState {
                value: x.value.clone(),
                recorded: x,
                event: Arc::clone(event),
                corrections: Vec::new(),
            }),
            Event::MeasurementCorrected(x) => {
                if let Some(m) = i
                    .measurements
                    .iter_mut()
                    .find(|m| m.recorded.measurement == x.measurement)
                {
                    m.value.clone_from(&x.value);
                    m.corrections.push((x, Arc::clone(event)));
                }
            }
        }
    }

    fn apply_table(&mut self, event: &Arc<RecordedEvent>) {
        use pb::table_event::Event;
        let Some(e) = pb::TableEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let id = event.stream_id.trim_start_matches("table:").to_owned();
        let plan = match &e {
            Event::TableCreated(x) => x.plan.clone(),
            Event::TableMemberJoined(x) => x.plan.clone(),
            Event::TableMemberLeft(x) => x.plan.clone(),
            Event::MeetingHeld(x) => x.plan.clone(),
        };
        let table = Arc::make_mut(self.tables.entry(id.clone()).or_insert_with(|| {
            Arc::new(TableView {
                id: id.clone(),
                plan: plan.clone(),
                name: String::new(),
                kind: String::new(),
                purpose: String::new(),
                members: Vec::new(),
                meetings: Vec::new(),
                version: 0,
            })
        }));
        table.version = event.stream_version;
        match e {
            Event::TableCreated(x) => {
                table.name = x.name;
                table.kind = x.kind;
                table.purpose = x.purpose;
            }
            Event::TableMemberJoined(x) => table.members.push(MemberView {
                organisation: x.organisation,
                person: x.person,
                role: x.role,
            }),
            Event::TableMemberLeft(x) => table
                .members
                .retain(|m| !(m.organisation == x.organisation && m.person == x.person)),
            Event::MeetingHeld(x) => {
                for action in x.decisions.iter().flat_map(|d| &d.actions) {
                    if let Some(a) = self
                        .actions
                        .get_mut(&(plan.clone(), action.clone()))
                        .map(Arc::make_mut)
                    {
                        a.history.push_back(Arc::clone(event));
                    }
                }
                table.meetings.push(MeetingView {
                    meeting_id: x.meeting_id,
                    held_on: x.held_on,
                    title: x.title,
                    decisions: x
                        .decisions
                        .into_iter()
                        .map(|d| DecisionView {
                            decision_id: d.decision_id,
                            text: d.text,
                            actions: d.actions,
                        })
                        .collect(),
                });
            }
        }
        self.remember(&plan, event);
    }

    fn apply_agreement(&mut self, event: &Arc<RecordedEvent>) {
        use pb::agreement_event::Event;
        let Some(e) = pb::AgreementEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        else {
            return;
        };
        let id = event.stream_id.trim_start_matches("agreement:").to_owned();
        let g = Arc::make_mut(self.agreements.entry(id.clone()).or_insert_with(|| {
            Arc::new(AgreementView {
                id: id.clone(),
                plan: String::new(),
                kind: String::new(),
                title: String::new(),
                subject: String::new(),
                status: "draft".into(),
                drafted_on: String::new(),
                expires_on: String::new(),
                signed_on: String::new(),
                terminated_on: String::new(),
                parties: Vec::new(),
                actions: Vec::new(),
                commitments: Vec::new(),
                committed_cents: 0,
                amendments: Vec::new(),
                version: 0,
            })
        }));
        g.version = event.stream_version;
        let mut touched: Option<(String, bool)> = None;
        match e {
            Event::AgreementDrafted(x) => {
                g.plan = x.plan;
                g.kind = x.kind;
                g.title = x.title;
                g.subject = x.subject;
                g.expires_on = x.expires_on;
                g.drafted_on = x.drafted_on;
            }
            Event::AgreementPartyAdded(x) => g.parties.push(PartyView {
                organisation: x.organisation,
                role: x.role,
            }),
            Event::AgreementPartyRemoved(x) => {
                g.parties.retain(|p| p.organisation != x.organisation)
            }
            Event::AgreementActionLinked(x) => {
                g.actions.push(x.action.clone());
                touched = Some((x.action, true));
            }
            Event::AgreementActionUnlinked(x) => {
                g.actions.retain(|a| *a != x.action);
                touched = Some((x.action, false));
            }
            Event::CommitmentMade(x) => g.commitments.push(CommitmentView {
                commitment_id: x.commitment_id,
                party: x.party,
                description: x.description,
                amount_cents: x.amount_cents,
                funding_source: x.funding_source,
                funding_detail: x.funding_detail,
            }),
            Event::CommitmentWithdrawn(x) => {
                g.commitments.retain(|c| c.commitment_id != x.commitment_id)
            }
            Event::AgreementSigned(x) => {
                g.status = "signed".into();
                g.signed_on = x.signed_on;
            }
            Event::AgreementAmended(x) => {
                if let Some(v) = x.new_expires_on {
                    g.expires_on = v;
                }
                g.amendments.push(AmendmentView {
                    amendment_number: x.amendment_number,
                    description: x.description,
                    amended_on: x.amended_on,
                });
            }
            Event::AgreementTerminated(x) => {
                g.status = "terminated".into();
                g.terminated_on = x.terminated_on;
            }
        }
        g.committed_cents = g.commitments.iter().map(|c| c.amount_cents).sum();
        let plan = g.plan.clone();
        let linked = g.actions.clone();
        if let Some((action, link)) = touched {
            if let Some(a) = self
                .actions
                .get_mut(&(plan.clone(), action.clone()))
                .map(Arc::make_mut)
            {
                if link {
                    a.agreements.insert(id.clone());
                } else {
                    a.agreements.remove(&id);
                }
                a.history.push_back(Arc::clone(event));
            }
        } else {
            for action in linked {
                if let Some(a) = self
                    .actions
                    .get_mut(&(plan.clone(), action))
                    .map(Arc::make_mut)
                {
                    a.history.push_back(Arc::clone(event));
                }
            }
        }
        self.remember(&plan, event);
    }

    // ---- queries ----

    pub fn plans(&self) -> Vec<PlanSummary> {
        self.plans
            .iter()
            .filter(|(_, p)| !p.header.code.is_empty())
            .map(|(code, p)| PlanSummary {
                code: code.clone(),
                title: p.header.title.clone(),
                short_title: p.header.short_title.clone(),
                owner: p.header.owner.clone(),
                period_from: p.header.period_from.clone(),
                period_to: p.header.period_to.clone(),
                revision: p.revisions.last().map_or(0, |r| r.number),
                version: p.version,
            })
            .collect()
    }

    fn plan_actions<'a>(&'a self, plan: &'a str) -> impl Iterator<Item = &'a ActionState> + 'a {
        self.plans.get(plan).into_iter().flat_map(move |p| {
            p.actions.iter().filter_map(move |c| {
                self.actions
                    .get(&(plan.to_owned(), c.clone()))
                    .map(AsRef::as_ref)
            })
        })
    }

    fn axis_of(&self, plan: &str, strategy: &str) -> String {
        self.plans
            .get(plan)
            .and_then(|p| p.strategies.iter().find(|s| s.add.code == strategy))
            .map_or_else(String::new, |s| s.add.axis.clone())
    }

    pub fn plan_tree(&self, plan: &str) -> Option<PlanTree> {
        let p = self.plans.get(plan).filter(|p| !p.header.code.is_empty())?;
        let mut axes: Vec<&AxisState> = p.axes.iter().filter(|a| !a.retired).collect();
        axes.sort_by_key(|a| (a.add.position, code_key(&a.add.code)));
        let mut strategies: Vec<&StrategyState> =
            p.strategies.iter().filter(|s| !s.retired).collect();
        strategies.sort_by_key(|s| (s.add.position, code_key(&s.add.code)));
        let mut actions: Vec<&ActionState> =
            self.plan_actions(plan).filter(|a| !a.retired).collect();
        actions.sort_by_key(|a| code_key(&a.def.code));
        let axes = axes
            .into_iter()
            .map(|axis| {
                let strategies: Vec<StrategyNode> = strategies
                    .iter()
                    .filter(|s| s.add.axis == axis.add.code)
                    .map(|s| {
                        let mine: Vec<&ActionState> = actions
                            .iter()
                            .copied()
                            .filter(|a| a.def.strategy == s.add.code)
                            .collect();
                        StrategyNode {
                            code: s.add.code.clone(),
                            axis: s.add.axis.clone(),
                            name: s.add.name.clone(),
                            description: s.add.description.clone(),
                            rollup: rollup(mine.iter().copied()),
                            actions: mine
                                .iter()
                                .map(|a| ActionNode {
                                    code: a.def.code.clone(),
                                    title: a.def.title.clone(),
                                    competence: a.def.competence.clone(),
                                    status: a.status().to_owned(),
                                    progress: a.progress(),
                                    version: a.version,
                                })
                                .collect(),
                        }
                    })
                    .collect();
                let codes: BTreeSet<&str> = strategies.iter().map(|s| s.code.as_str()).collect();
                AxisNode {
                    code: axis.add.code.clone(),
                    name: axis.add.name.clone(),
                    slogan: axis.add.slogan.clone(),
                    description: axis.add.description.clone(),
                    pnrr_mission: axis.add.pnrr_mission.clone(),
                    rollup: rollup(
                        actions
                            .iter()
                            .copied()
                            .filter(|a| codes.contains(a.def.strategy.as_str())),
                    ),
                    strategies,
                }
            })
            .collect();
        Some(PlanTree {
            code: plan.to_owned(),
            title: p.header.title.clone(),
            short_title: p.header.short_title.clone(),
            owner: p.header.owner.clone(),
            period_from: p.header.period_from.clone(),
            period_to: p.header.period_to.clone(),
            version: p.version,
            revisions: p.revisions.clone(),
            rollup: rollup(actions.iter().copied()),
            axes,
            position: self.position,
        })
    }

    pub fn action(&self, plan: &str, code: &str) -> Option<ActionView> {
        let a = self
            .actions
            .get(&(plan.to_owned(), code.to_owned()))
            .filter(|a| !a.def.code.is_empty())?;
        let d = &a.def;
        Some(ActionView {
            plan: plan.to_owned(),
            code: d.code.clone(),
            strategy: d.strategy.clone(),
            axis: self.axis_of(plan, &d.strategy),
            title: d.title.clone(),
            description: d.description.clone(),
            competence: d.competence.clone(),
            responsible_organisations: d.responsible_organisations.clone(),
            partner_organisations: d.partner_organisations.clone(),
            territorial_scope: d.territorial_scope.clone(),
            planned_start: d.planned_start.clone(),
            planned_end: d.planned_end.clone(),
            actual_start: d.actual_start.clone(),
            actual_end: d.actual_end.clone(),
            funding_lines: d.funding_lines.iter().map(funding_line_view).collect(),
            instrument_links: d
                .instrument_links
                .iter()
                .map(instrument_link_view)
                .collect(),
            retired: a.retired,
            version: a.version,
            status: a.status().to_owned(),
            progress: a.progress(),
            latest_report: a.report.as_ref().map(|(r, e)| ProgressView {
                status: r.status.clone(),
                progress: r.progress,
                note: r.note.clone(),
                evidence_url: r.evidence_url.clone(),
                reporting_organisation: r.reporting_organisation.clone(),
                as_of: r.as_of.clone(),
                reported_by: e.metadata.actor.clone(),
                reported_at: e.recorded_at.to_rfc3339(),
                version: e.stream_version,
            }),
            agreements: a
                .agreements
                .iter()
                .filter_map(|id| self.agreements.get(id))
                .map(|g| AgreementRef {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    status: g.status.clone(),
                    committed_cents: g.committed_cents,
                })
                .collect(),
        })
    }

    pub fn action_history(&self, plan: &str, code: &str) -> Option<Vec<HistoryEntry>> {
        let a = self.actions.get(&(plan.to_owned(), code.to_owned()))?;
        Some(a.history.iter().map(|e| history_entry(e)).collect())
    }

    pub fn agreements(&self, plan: Option<&str>) -> Vec<AgreementView> {
        self.agreements
            .values()
            .filter(|g| plan.is_none_or(|p| g.plan == p))
            .map(|g| g.as_ref().clone())
            .collect()
    }

    pub fn agreement(&self, id: &str) -> Option<AgreementView> {
        self.agreements.get(id).map(|g| g.as_ref().clone())
    }

    pub fn agreements_by_action(&self, plan: &str, action: &str) -> Vec<AgreementView> {
        self.agreements
            .values()
            .filter(|g| g.plan == plan && g.actions.iter().any(|a| a == action))
            .map(|g| g.as_ref().clone())
            .collect()
    }

    /// Agreements grouped by party organisation, each with what that party committed.
    pub fn agreements_by_party(&self, plan: Option<&str>) -> Vec<PartyAgreements> {
        let mut parties: BTreeMap<String, PartyAgreements> = BTreeMap::new();
        for g in self
            .agreements
            .values()
            .filter(|g| plan.is_none_or(|p| g.plan == p))
        {
            for party in &g.parties {
                let entry = parties
                    .entry(party.organisation.clone())
                    .or_insert_with(|| PartyAgreements {
                        organisation: party.organisation.clone(),
                        committed_cents: 0,
                        agreements: Vec::new(),
                    });
                entry.committed_cents += g
                    .commitments
                    .iter()
                    .filter(|c| c.party == party.organisation)
                    .map(|c| c.amount_cents)
                    .sum::<i64>();
                entry.agreements.push(g.as_ref().clone());
            }
        }
        parties.into_values().collect()
    }

    pub fn tables(&self, plan: Option<&str>) -> Vec<TableView> {
        self.tables
            .values()
            .filter(|t| plan.is_none_or(|p| t.plan == p))
            .map(|t| t.as_ref().clone())
            .collect()
    }

    pub fn table(&self, id: &str) -> Option<TableView> {
        self.tables.get(id).map(|t| t.as_ref().clone())
    }

    /// The global position revision `number` of `plan` froze.
    pub fn revision_position(&self, plan: &str, number: u32) -> Option<u64> {
        self.plans
            .get(plan)?
            .revisions
            .iter()
            .find(|r| r.number == number)
            .map(|r| r.at_position)
    }

    /// Every plan's adopted revisions, newest adoption first.
    pub fn adopted_revisions(&self) -> Vec<AdoptedRevision> {
        let mut all: Vec<AdoptedRevision> = self
            .plans
            .iter()
            .filter(|(_, p)| !p.header.code.is_empty())
            .flat_map(|(code, p)| {
                p.revisions.iter().map(move |r| AdoptedRevision {
                    plan: code.clone(),
                    plan_title: p.header.title.clone(),
                    revision: r.clone(),
                })
            })
            .collect();
        all.sort_by(|a, b| {
            (&b.revision.adopted_on, b.revision.at_position)
                .cmp(&(&a.revision.adopted_on, a.revision.at_position))
        });
        all
    }

    /// The plan's header and live items, for [`crate::diff`]; `None` when the plan does
    /// not exist.
    pub fn plan_items(&self, plan: &str) -> Option<Vec<crate::diff::Item>> {
        use crate::diff::Item;
        fn fields<T: serde::Serialize>(
            value: &T,
            drop: &[&str],
        ) -> serde_json::Map<String, serde_json::Value> {
            let mut map = match serde_json::to_value(value) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            for key in drop {
                map.remove(*key);
            }
            map
        }
        let p = self.plans.get(plan).filter(|p| !p.header.code.is_empty())?;
        let mut items = vec![Item {
            kind: "plan",
            code: plan.to_owned(),
            parent: String::new(),
            fields: fields(&p.header, &["code"]),
        }];
        items.extend(p.axes.iter().filter(|a| !a.retired).map(|a| Item {
            kind: "axis",
            code: a.add.code.clone(),
            parent: String::new(),
            fields: fields(&a.add, &["plan", "code"]),
        }));
        items.extend(p.strategies.iter().filter(|s| !s.retired).map(|s| Item {
            kind: "strategy",
            code: s.add.code.clone(),
            parent: s.add.axis.clone(),
            fields: fields(&s.add, &["plan", "code", "axis"]),
        }));
        for code in &p.actions {
            if let Some(view) = self.action(plan, code).filter(|a| !a.retired) {
                items.push(Item {
                    kind: "action",
                    code: view.code.clone(),
                    parent: view.strategy.clone(),
                    fields: fields(
                        &view,
                        &[
                            "plan",
                            "code",
                            "strategy",
                            "axis",
                            "retired",
                            "version",
                            "latest_report",
                            "agreements",
                        ],
                    ),
                });
            }
        }
        Some(items)
    }

    fn indicator_summary(i: &IndicatorState) -> IndicatorSummary {
        use metroplan_api::indicators::{Decimal, Period, same_territory};
        use metroplan_api::trend::{Goal, OnTrack, Trend, classify};
        let d = &i.def;
        let series: Vec<(Period, Decimal)> = i
            .measurements
            .iter()
            .filter(|m| same_territory(&m.recorded.territory, &d.territory))
            .filter_map(|m| Some((m.recorded.period.parse().ok()?, m.value.parse().ok()?)))
            .collect();
        let latest = i
            .measurements
            .iter()
            .filter(|m| same_territory(&m.recorded.territory, &d.territory))
            .filter_map(|m| Some((m.recorded.period.parse::<Period>().ok()?, m)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, m)| LatestValue {
                period: m.recorded.period.clone(),
                value: m.value.clone(),
            });
        let goal = (|| {
            Some(Goal {
                direction: d.direction.parse().ok()?,
                baseline: d.baseline_value.parse().ok()?,
                baseline_year: u16::try_from(d.baseline_year).ok()?,
                target: d.target_value.parse().ok()?,
                target_year: u16::try_from(d.target_year).ok()?,
            })
        })();
        let (trend, on_track) =
            goal.map_or((Trend::InsufficientData, OnTrack::NotAssessable), |g| {
                let c = classify(&g, &series);
                (c.trend, c.on_track)
            });
        IndicatorSummary {
            code: d.code.clone(),
            strategy: d.strategy.clone(),
            name: d.name.clone(),
            unit: d.unit.clone(),
            source: d.source.clone(),
            direction: d.direction.clone(),
            territory: d.territory.clone(),
            baseline_value: d.baseline_value.clone(),
            baseline_year: d.baseline_year,
            target_value: d.target_value.clone(),
            target_year: d.target_year,
            latest,
            trend: trend.as_str().to_owned(),
            on_track: on_track.as_str().to_owned(),
            rule_version: metroplan_api::trend::RULE_VERSION.to_owned(),
            measurements: i.measurements.len() as u64,
            retired: i.retired.is_some(),
            retired_reason: i.retired.clone(),
            version: i.version,
        }
    }

    /// Every indicator of `plan`, per strategy in code order; `None` for an unknown plan.
    pub fn plan_indicators(&self, plan: &str) -> Option<PlanIndicators> {
        let p = self.plans.get(plan)?;
        let mut by_strategy: BTreeMap<Vec<u32>, StrategyIndicators> = BTreeMap::new();
        for ((_, _), i) in self
            .indicators
            .range((plan.to_owned(), String::new())..)
            .take_while(|((p, _), _)| p == plan)
        {
            if i.def.code.is_empty() {
                continue;
            }
            let s = &i.def.strategy;
            by_strategy
                .entry(code_key(s))
                .or_insert_with(|| StrategyIndicators {
                    strategy: s.clone(),
                    name: p
                        .strategies
                        .iter()
                        .find(|x| &x.add.code == s)
                        .map(|x| x.add.name.clone())
                        .unwrap_or_default(),
                    indicators: Vec::new(),
                })
                .indicators
                .push(Self::indicator_summary(i));
        }
        Some(PlanIndicators {
            plan: plan.to_owned(),
            rule_version: metroplan_api::trend::RULE_VERSION.to_owned(),
            strategies: by_strategy.into_values().collect(),
            position: self.position,
        })
    }

    /// One indicator with its series; `None` when it is not defined.
    pub fn indicator(&self, plan: &str, code: &str) -> Option<IndicatorView> {
        let i = self.indicators.get(&(plan.to_owned(), code.to_owned()))?;
        if i.def.code.is_empty() {
            return None;
        }
        let mut series: Vec<MeasurementView> = i
            .measurements
            .iter()
            .map(|m| MeasurementView {
                measurement: m.recorded.measurement,
                period: m.recorded.period.clone(),
                territory: m.recorded.territory.clone(),
                value: m.value.clone(),
                original_value: m.recorded.value.clone(),
                source_note: m.recorded.source_note.clone(),
                actor: m.event.metadata.actor.clone(),
                on_behalf_of: m.event.metadata.on_behalf_of.clone(),
                recorded_at: m.event.recorded_at.to_rfc3339(),
                position: m.event.position,
                corrections: m
                    .corrections
                    .iter()
                    .map(|(c, e)| CorrectionView {
                        previous_value: c.previous_value.clone(),
                        value: c.value.clone(),
                        reason: c.reason.clone(),
                        actor: e.metadata.actor.clone(),
                        on_behalf_of: e.metadata.on_behalf_of.clone(),
                        recorded_at: e.recorded_at.to_rfc3339(),
                        position: e.position,
                    })
                    .collect(),
            })
            .collect();
        use metroplan_api::indicators::same_territory;
        let main = &i.def.territory;
        series.sort_by_cached_key(|m| {
            (
                !same_territory(&m.territory, main),
                m.territory.clone(),
                m.period.parse::<metroplan_api::indicators::Period>().ok(),
                m.measurement,
            )
        });
        Some(IndicatorView {
            plan: plan.to_owned(),
            summary: Self::indicator_summary(i),
            series,
            position: self.position,
        })
    }

    /// The questionnaire campaigns (see [`crate::campaigns`]).
    pub fn campaigns(&self) -> &crate::campaigns::Campaigns {
        &self.campaigns
    }

    /// Every read model in one canonical document: what a replay is compared with.
    pub fn dump(&self) -> ReadModelsDump {
        let mut actions: Vec<(&(String, String), &Arc<ActionState>)> =
            self.actions.iter().collect();
        actions.sort_by(|(a, _), (b, _)| (&a.0, code_key(&a.1)).cmp(&(&b.0, code_key(&b.1))));
        ReadModelsDump {
            position: self.position,
            plans: self
                .plans()
                .into_iter()
                .map(|summary| PlanDump {
                    tree: self.plan_tree(&summary.code),
                    dashboard: self.dashboard(&summary.code),
                    summary,
                })
                .collect(),
            actions: actions
                .into_iter()
                .filter_map(|((plan, code), _)| {
                    Some(ActionDump {
                        view: self.action(plan, code)?,
                        history: self.action_history(plan, code)?,
                    })
                })
                .collect(),
            tables: self.tables(None),
            agreements: self.agreements(None),
            indicators: self
                .indicators
                .keys()
                .filter_map(|(plan, code)| self.indicator(plan, code))
                .collect(),
            campaigns: self.campaigns.dump(self.position),
        }
    }

    pub fn dashboard(&self, plan: &str) -> Option<Dashboard> {
        let tree = self.plan_tree(plan)?;
        let p = self.plans.get(plan)?;
        let live: Vec<&ActionState> = self.plan_actions(plan).filter(|a| !a.retired).collect();
        let mut funding = FundingSummary {
            planned_cents: 0,
            committed_cents: 0,
            spent_cents: 0,
            agreements_committed_cents: self
                .agreements
                .values()
                .filter(|g| g.plan == plan && g.status != "terminated")
                .map(|g| g.committed_cents)
                .sum(),
            planned_by_source: BTreeMap::new(),
        };
        for f in live.iter().flat_map(|a| &a.def.funding_lines) {
            funding.planned_cents += f.planned_cents;
            funding.committed_cents += f.committed_cents;
            funding.spent_cents += f.spent_cents;
            *funding
                .planned_by_source
                .entry(f.source.clone())
                .or_default() += f.planned_cents;
        }
        let axes = tree
            .axes
            .iter()
            .map(|axis| {
                let codes: BTreeSet<&str> =
                    axis.strategies.iter().map(|s| s.code.as_str()).collect();
                let lines = live
                    .iter()
                    .filter(|a| codes.contains(a.def.strategy.as_str()))
                    .flat_map(|a| &a.def.funding_lines);
                let (planned, committed) = lines.fold((0, 0), |(p, c), f| {
                    (p + f.planned_cents, c + f.committed_cents)
                });
                AxisDashboard {
                    code: axis.code.clone(),
                    name: axis.name.clone(),
                    rollup: axis.rollup.clone(),
                    planned_cents: planned,
                    committed_cents: committed,
                }
            })
            .collect();
        Some(Dashboard {
            plan: plan.to_owned(),
            title: tree.title,
            rollup: tree.rollup,
            axes,
            funding,
            latest: p.latest.iter().map(|e| history_entry(e)).collect(),
            position: self.position,
        })
    }
}

#[cfg(test)]
mod tests {
    use metroplan_events::{EventMetadata, NewEvent};

    use super::*;

    struct Log {
        models: ReadModels,
        position: u64,
        versions: HashMap<String, u64>,
        events: Vec<RecordedEvent>,
        /// Recorded times: a minute apart from 2026-01-01, unless set.
        clock: chrono::DateTime<chrono::Utc>,
    }

    impl Log {
        fn new() -> Self {
            Self {
                models: ReadModels::default(),
                position: 0,
                versions: HashMap::new(),
                events: Vec::new(),
                clock: "2026-01-01T00:00:00Z".parse().unwrap(),
            }
        }

        fn add<E: EventPayload>(&mut self, stream: &str, payload: E) {
            let new = NewEvent::new(
                &payload,
                EventMetadata {
                    actor: "anna".into(),
                    on_behalf_of: "CMTo".into(),
                    ..Default::default()
                },
            );
            self.position += 1;
            let v = self.versions.entry(stream.to_owned()).or_default();
            *v += 1;
            self.clock += chrono::Duration::minutes(1);
            let event = RecordedEvent {
                event_id: new.event_id,
                stream_id: stream.to_owned(),
                stream_version: *v,
                position: self.position,
                event_type: new.event_type,
                schema_version: new.schema_version,
                recorded_at: self.clock,
                metadata: new.metadata,
                payload: new.payload,
                hash: Vec::new(),
            };
            self.models.apply(&event);
            self.events.push(event);
        }

        fn action(&mut self, code: &str, strategy: &str) {
            let e = pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionAdded(pb::ActionAdded {
                    plan: "P".into(),
                    code: code.into(),
                    strategy: strategy.into(),
                    title: format!("azione {code}"),
                    funding_lines: vec![pb::FundingLine {
                        source: "PNRR".into(),
                        planned_cents: 1000,
                        committed_cents: 400,
                        ..Default::default()
                    }],
                    ..Default::default()
                })),
            };
            self.add(&streams::action("P", code), e);
        }

        fn report(&mut self, code: &str, status: &str, progress: u32) {
            let e = pb::ProgressEvent {
                event: Some(pb::progress_event::Event::ActionProgressReported(
                    pb::ActionProgressReported {
                        plan: "P".into(),
                        action: code.into(),
                        status: status.into(),
                        progress,
                        ..Default::default()
                    },
                )),
            };
            self.add(&streams::progress("P", code), e);
        }
    }

    fn plan_event(e: pb::plan_event::Event) -> pb::PlanEvent {
        pb::PlanEvent { event: Some(e) }
    }

    fn given_a_plan() -> Log {
        use pb::plan_event::Event;
        let mut log = Log::new();
        log.add(
            "plan:P",
            plan_event(Event::PlanCreated(pb::PlanCreated {
                code: "P".into(),
                title: "Piano".into(),
                ..Default::default()
            })),
        );
        for axis in ["1", "2"] {
            log.add(
                "plan:P",
                plan_event(Event::AxisAdded(pb::AxisAdded {
                    plan: "P".into(),
                    code: axis.into(),
                    ..Default::default()
                })),
            );
            log.add(
                "plan:P",
                plan_event(Event::StrategyAdded(pb::StrategyAdded {
                    plan: "P".into(),
                    code: format!("{axis}.1"),
                    axis: axis.into(),
                    ..Default::default()
                })),
            );
        }
        for code in ["1.1.1", "1.1.2", "1.1.3"] {
            log.action(code, "1.1");
        }
        log.action("2.1.1", "2.1");
        log
    }

    #[test]
    fn progress_rolls_up_as_the_mean_of_live_uncancelled_actions() {
        let mut log = given_a_plan();
        log.report("1.1.1", "completed", 100);
        log.report("1.1.2", "in_progress", 50);
        log.report("1.1.3", "cancelled", 10);
        let tree = log.models.plan_tree("P").unwrap();
        let axis1 = &tree.axes[0];
        assert_eq!(axis1.rollup.actions, 3);
        assert!(
            (axis1.rollup.progress - 75.0).abs() < f64::EPSILON,
            "cancelled is left out of the mean"
        );
        assert_eq!(axis1.rollup.status, "in_progress");
        assert_eq!(axis1.rollup.by_status["cancelled"], 1);
        assert_eq!(tree.axes[1].rollup.status, "not_started");
        assert!(
            (tree.rollup.progress - 50.0).abs() < f64::EPSILON,
            "(100 + 50 + 0) / 3"
        );
    }

    #[test]
    fn a_strategy_is_completed_when_every_counted_action_is() {
        let mut log = given_a_plan();
        log.report("1.1.1", "completed", 100);
        log.report("1.1.2", "completed", 100);
        log.report("1.1.3", "cancelled", 0);
        let tree = log.models.plan_tree("P").unwrap();
        assert_eq!(tree.axes[0].strategies[0].rollup.status, "completed");
        assert_eq!(tree.rollup.status, "in_progress", "2.1.1 has not started");
    }

    #[test]
    fn the_dashboard_sums_funding_and_keeps_the_latest_changes_newest_first() {
        let mut log = given_a_plan();
        log.report("2.1.1", "started", 5);
        let d = log.models.dashboard("P").unwrap();
        assert_eq!(d.funding.planned_cents, 4000);
        assert_eq!(d.funding.committed_cents, 1600);
        assert_eq!(d.funding.planned_by_source["PNRR"], 4000);
        assert_eq!(d.latest[0].event_type, "ActionProgressReported");
        assert_eq!(d.latest[0].actor, "anna");
        assert_eq!(d.axes[1].rollup.by_status["started"], 1);
    }

    #[test]
    fn an_action_history_holds_its_definition_and_its_reports() {
        let mut log = given_a_plan();
        log.report("1.1.2", "started", 1);
        let h = log.models.action_history("P", "1.1.2").unwrap();
        let types: Vec<&str> = h.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["ActionAdded", "ActionProgressReported"]);
        assert_eq!(h[1].payload["status"], "started");
        assert_eq!(log.models.action("P", "1.1.2").unwrap().status, "started");
    }

    /// A fresh build of the models from the first `n` events.
    fn built(events: &[RecordedEvent]) -> ReadModels {
        let mut m = ReadModels::default();
        for e in events {
            m.apply(e);
        }
        m
    }

    fn dump_json(m: &ReadModels) -> serde_json::Value {
        serde_json::to_value(m.dump()).unwrap()
    }

    /// A plan with history: edits, reports, a move, a retirement.
    fn a_plan_with_history() -> Log {
        let mut log = given_a_plan();
        for i in 0..12u32 {
            log.report("1.1.1", "in_progress", i * 8);
            log.report("2.1.1", "in_progress", i * 5);
        }
        log.add(
            &streams::action("P", "1.1.2"),
            pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionEdited(pb::ActionEdited {
                    plan: "P".into(),
                    code: "1.1.2".into(),
                    title: Some("azione rinominata".into()),
                    ..Default::default()
                })),
            },
        );
        log.add(
            &streams::action("P", "1.1.3"),
            pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionMoved(pb::ActionMoved {
                    plan: "P".into(),
                    code: "1.1.3".into(),
                    to_strategy: "2.1".into(),
                    ..Default::default()
                })),
            },
        );
        log.add(
            &streams::action("P", "2.1.1"),
            pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionRetired(pb::ActionRetired {
                    plan: "P".into(),
                    code: "2.1.1".into(),
                    ..Default::default()
                })),
            },
        );
        log.action("1.1.4", "1.1");
        log.report("1.1.1", "completed", 100);
        an_indicator_measured_and_corrected(&mut log);
        log
    }

    /// An indicator of strategy 2.1 (example figures): 1000 in 2020 to 1300 by 2023,
    /// measured in 2021 and 2022, the 2022 figure corrected, one figure elsewhere.
    fn an_indicator_measured_and_corrected(log: &mut Log) {
        use pb::indicator_event::Event;
        let stream = streams::indicator("P", "IC-1");
        let add = |log: &mut Log, e: Event| {
            log.add(&stream, pb::IndicatorEvent { event: Some(e) });
        };
        add(
            log,
            Event::IndicatorDefined(pb::IndicatorDefined {
                plan: "P".into(),
                code: "IC-1".into(),
                strategy: "2.1".into(),
                name: "Esempio".into(),
                direction: "increase".into(),
                baseline_value: "1000".into(),
                baseline_year: 2020,
                target_value: "1300".into(),
                target_year: 2023,
                territory: "CMTo".into(),
                ..Default::default()
            }),
        );
        for (n, period, territory, value) in [
            (1, "2021", "CMTo", "1100"),
            (2, "2022", "CMTo", "1150"),
            (3, "2022", "Ivrea", "7"),
        ] {
            add(
                log,
                Event::MeasurementRecorded(pb::MeasurementRecorded {
                    plan: "P".into(),
                    indicator: "IC-1".into(),
                    measurement: n,
                    period: period.into(),
                    territory: territory.into(),
                    value: value.into(),
                    source_note: String::new(),
                }),
            );
        }
        add(
            log,
            Event::MeasurementCorrected(pb::MeasurementCorrected {
                plan: "P".into(),
                indicator: "IC-1".into(),
                measurement: 2,
                period: "2022".into(),
                territory: "CMTo".into(),
                previous_value: "1150".into(),
                value: "1210".into(),
                reason: "rettifica".into(),
            }),
        );
    }

    #[test]
    fn an_indicator_shows_both_values_of_a_correction_and_is_classified_on_its_territory() {
        let log = a_plan_with_history();
        let view = log.models.indicator("P", "IC-1").unwrap();
        let m = &view.series[1];
        assert_eq!(
            (
                m.period.as_str(),
                m.value.as_str(),
                m.original_value.as_str()
            ),
            ("2022", "1210", "1150")
        );
        assert_eq!(m.corrections[0].reason, "rettifica");
        assert_eq!(view.series[2].territory, "Ivrea");
        let s = &view.summary;
        assert_eq!(s.latest.as_ref().map(|l| l.value.as_str()), Some("1210"));
        // 210 of 300 after two of three years: on track (the uncorrected 1150 was not).
        assert_eq!(
            (s.trend.as_str(), s.on_track.as_str()),
            ("improving", "on_track")
        );
        assert_eq!(s.rule_version, metroplan_api::trend::RULE_VERSION);
        let before = log.models.clone();
        let list = before.plan_indicators("P").unwrap();
        assert_eq!(list.strategies.len(), 1);
        assert_eq!(list.strategies[0].strategy, "2.1");
        assert!(log.models.plan_indicators("Q").is_none());
        assert!(log.models.indicator("P", "IC-2").is_none());
        let mut replay = ReadModels::default();
        for e in &log.events[..log.events.len() - 1] {
            replay.apply(e);
        }
        let old = replay.indicator("P", "IC-1").unwrap();
        assert_eq!(old.series[1].value, "1150");
        assert_eq!(old.summary.on_track, "off_track");
    }

    #[test]
    fn an_edited_indicator_is_classified_on_its_new_definition_and_a_retired_one_still_reads() {
        use pb::indicator_event::Event;
        let mut log = a_plan_with_history();
        let stream = streams::indicator("P", "IC-1");
        let before_edit = log.events.len();
        log.add(
            &stream,
            pb::IndicatorEvent {
                event: Some(Event::IndicatorEdited(pb::IndicatorEdited {
                    plan: "P".into(),
                    code: "IC-1".into(),
                    name: Some("Esempio rinominato".into()),
                    target_value: Some("1200".into()),
                    target_year: Some(2024),
                    ..Default::default()
                })),
            },
        );
        let view = log.models.indicator("P", "IC-1").unwrap();
        let s = &view.summary;
        assert_eq!(
            (
                s.name.as_str(),
                s.target_value.as_str(),
                s.target_year,
                s.strategy.as_str(),
                s.baseline_value.as_str()
            ),
            ("Esempio rinominato", "1200", 2024, "2.1", "1000")
        );
        // 1210 is past the new target 1200: achieved (it was on_track towards 1300).
        assert_eq!(s.on_track, "achieved");
        assert_eq!(s.version, 6);
        assert!(!s.retired && s.retired_reason.is_none());

        log.add(
            &stream,
            pb::IndicatorEvent {
                event: Some(Event::IndicatorRetired(pb::IndicatorRetired {
                    plan: "P".into(),
                    code: "IC-1".into(),
                    reason: "sostituito (esempio)".into(),
                })),
            },
        );
        let view = log.models.indicator("P", "IC-1").unwrap();
        assert!(view.summary.retired);
        assert_eq!(
            view.summary.retired_reason.as_deref(),
            Some("sostituito (esempio)")
        );
        assert_eq!(view.series.len(), 3, "the series stays");
        let listed = &log.models.plan_indicators("P").unwrap().strategies[0].indicators[0];
        assert_eq!(
            (listed.retired, listed.retired_reason.as_deref()),
            (true, Some("sostituito (esempio)"))
        );

        // As it stood before the edit.
        let old = built(&log.events[..before_edit]);
        let old = old.indicator("P", "IC-1").unwrap().summary;
        assert_eq!(
            (
                old.name.as_str(),
                old.target_value.as_str(),
                old.target_year
            ),
            ("Esempio", "1300", 2023)
        );
        assert_eq!((old.on_track.as_str(), old.retired), ("on_track", false));
        assert_eq!(
            dump_json(&built(&log.events)),
            dump_json(&log.models),
            "a replay reads the same"
        );
    }

    #[test]
    fn the_models_at_every_position_equal_a_fresh_build_up_to_it() {
        let log = a_plan_with_history();
        let n = log.events.len();
        for every in [1, 3, 7, 1000] {
            let mut state = crate::State {
                current: ReadModels::default(),
                timeline: crate::Timeline::with_interval(every),
            };
            for e in &log.events {
                state.apply(Arc::new(e.clone()));
            }
            assert_eq!(state.timeline.snapshots(), n / every);
            for p in 0..=n {
                let at = state.timeline.models_at(&state.current, p as u64);
                assert_eq!(
                    dump_json(&at),
                    dump_json(&built(&log.events[..p])),
                    "position {p}, a snapshot every {every}"
                );
            }
        }
    }

    #[test]
    fn as_of_maps_a_moment_to_the_last_event_recorded_by_then() {
        let log = a_plan_with_history();
        let mut state = crate::State::default();
        for e in &log.events {
            state.apply(Arc::new(e.clone()));
        }
        let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        // Events are recorded a minute apart from 00:01.
        assert_eq!(state.timeline.position_at(&t("2026-01-01T00:00:59Z")), 0);
        assert_eq!(state.timeline.position_at(&t("2026-01-01T00:01:00Z")), 1);
        assert_eq!(state.timeline.position_at(&t("2026-01-01T00:10:30Z")), 10);
        assert_eq!(
            state.timeline.position_at(&t("2030-01-01T00:00:00Z")),
            log.events.len() as u64
        );
        let q = crate::Query::AsOf {
            as_of: t("2026-01-01T00:10:30Z"),
            of: Box::new(crate::Query::Dump),
        };
        assert_eq!(
            state.answer(&q).unwrap(),
            dump_json(&built(&log.events[..10]))
        );
    }

    #[test]
    fn a_clock_that_steps_back_never_maps_a_later_moment_to_an_earlier_position() {
        let mut log = given_a_plan();
        log.clock -= chrono::Duration::minutes(30);
        log.report("1.1.1", "in_progress", 10);
        let mut timeline = crate::Timeline::default();
        let models = ReadModels::default();
        for e in &log.events {
            timeline.record(Arc::new(e.clone()), &models);
        }
        let last = log.events.len() as u64;
        let stepped_back = log.events.last().unwrap().recorded_at;
        // The last event was recorded before the ones before it: it counts from the
        // latest time seen, so no moment maps past a position and back.
        assert!(timeline.position_at(&stepped_back) < last);
        let latest = log.events.iter().map(|e| e.recorded_at).max().unwrap();
        assert_eq!(timeline.position_at(&latest), last);
    }

    #[test]
    fn a_diff_names_what_was_added_removed_moved_and_changed() {
        let log = a_plan_with_history();
        let before_edits = 9 + 24; // the plan, axes, strategies, actions and the reports
        let from = built(&log.events[..before_edits]);
        let to = built(&log.events);
        let p = |position| crate::diff::DiffPoint {
            position,
            revision: None,
        };
        let d = crate::diff::plan_diff("P", &from, p(33), &to, p(log.events.len() as u64)).unwrap();
        let codes = |items: &[crate::diff::DiffItem]| -> Vec<String> {
            items
                .iter()
                .map(|i| format!("{} {}", i.kind, i.code))
                .collect()
        };
        assert_eq!(codes(&d.added), ["action 1.1.4"]);
        assert_eq!(codes(&d.removed), ["action 2.1.1"]);
        assert_eq!(d.moved.len(), 1);
        assert_eq!(
            (
                d.moved[0].code.as_str(),
                d.moved[0].from.as_str(),
                d.moved[0].to.as_str()
            ),
            ("1.1.3", "1.1", "2.1")
        );
        type Change<'a> = (&'a str, &'a serde_json::Value, &'a serde_json::Value);
        let changed: Vec<(&str, Vec<Change>)> = d
            .changed
            .iter()
            .map(|c| {
                (
                    c.code.as_str(),
                    c.changes
                        .iter()
                        .map(|f| (f.field.as_str(), &f.old, &f.new))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert_eq!(changed[0].0, "1.1.1");
        assert!(
            changed[0]
                .1
                .contains(&("status", &"in_progress".into(), &"completed".into()))
        );
        assert!(
            changed[0]
                .1
                .contains(&("progress", &88.into(), &100.into()))
        );
        assert_eq!(
            changed[1],
            (
                "1.1.2",
                vec![("title", &"azione 1.1.2".into(), &"azione rinominata".into())]
            )
        );
        // Nothing changed between a point and itself.
        let same = crate::diff::plan_diff("P", &to, p(1), &to, p(1)).unwrap();
        assert!(same.added.is_empty() && same.removed.is_empty());
        assert!(same.moved.is_empty() && same.changed.is_empty());
        // Before the plan existed, everything is added.
        let empty = ReadModels::default();
        let all = crate::diff::plan_diff("P", &empty, p(0), &to, p(1)).unwrap();
        assert_eq!(
            all.added.len(),
            1 + 2 + 2 + 4,
            "plan, axes, strategies, live actions"
        );
        assert!(crate::diff::plan_diff("Q", &empty, p(0), &to, p(1)).is_none());
    }

    #[test]
    fn the_audit_trail_filters_and_pages_without_skipping_or_repeating() {
        let log = a_plan_with_history();
        let mut state = crate::State::default();
        for e in &log.events {
            state.apply(Arc::new(e.clone()));
        }
        let filter = |f: crate::audit::AuditFilter| crate::audit::page(&state.timeline, &f);
        let reports = crate::audit::AuditFilter {
            event_type: Some("ActionProgressReported".into()),
            limit: 5,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = filter(crate::audit::AuditFilter {
                after,
                ..reports.clone()
            });
            assert!(page.events.len() <= 5);
            seen.extend(page.events.iter().map(|e| e.position));
            match page.next_after {
                Some(next) => after = next,
                None => break,
            }
        }
        let expected: Vec<u64> = log
            .events
            .iter()
            .filter(|e| e.event_type == "ActionProgressReported")
            .map(|e| e.position)
            .collect();
        assert_eq!(seen, expected);
        let one_action = filter(crate::audit::AuditFilter {
            stream: Some(streams::progress("P", "2.1.1")),
            limit: 500,
            ..Default::default()
        });
        assert_eq!(one_action.events.len(), 12);
        let plan_wide = filter(crate::audit::AuditFilter {
            stream: Some("action:P/".into()),
            limit: 500,
            ..Default::default()
        });
        assert_eq!(
            plan_wide.events.len(),
            4 + 3 + 1,
            "added, edited/moved/retired, added"
        );
        let nobody = filter(crate::audit::AuditFilter {
            actor: Some("mario".into()),
            limit: 500,
            ..Default::default()
        });
        assert!(nobody.events.is_empty() && nobody.next_after.is_none());
        let window = filter(crate::audit::AuditFilter {
            from: Some("2026-01-01T00:02:00Z".parse().unwrap()),
            to: Some("2026-01-01T00:04:00Z".parse().unwrap()),
            limit: 500,
            ..Default::default()
        });
        let positions: Vec<u64> = window.events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [2, 3, 4]);
        assert_eq!(window.events[0].actor, "anna");
        assert_eq!(window.events[0].on_behalf_of, "CMTo");
    }
}
