//! The effects of a plan's live actions on the body's planning instruments, rolled up
//! per instrument and section and counted by state; for the DUP, per objective the
//! actions became. Instrument codes are compared in capitals, so links recorded before
//! codes were stored in capitals join their instrument.

use std::collections::{BTreeMap, BTreeSet};

use metroplan_api::plan::{DUP_LEVELS, EFFECT_STATES};
use metroplan_events::pb;

use super::{ActionState, ReadModels, code_key};
use crate::views::*;

/// The instruments the plan names (`planning_instruments` of the plan's data), listed
/// first and answered even before any action links them.
const KNOWN: [(&str, &str); 3] = [
    ("PTGM", "Piano Territoriale Generale Metropolitano"),
    ("PUMS", "Piano Urbano della Mobilità Sostenibile"),
    ("DUP", "Documento Unico di Programmazione"),
];

pub(crate) fn instrument_link_view(l: &pb::InstrumentLink) -> InstrumentLinkView {
    InstrumentLinkView {
        instrument: l.instrument.clone(),
        section: l.section.clone(),
        effect: l.effect.clone(),
        state: l.state.clone(),
        dup_objective: l.dup_objective.as_ref().map(objective_view),
    }
}

fn objective_view(o: &pb::DupObjective) -> DupObjectiveView {
    DupObjectiveView {
        level: o.level.clone(),
        code: o.code.clone(),
        title: o.title.clone(),
    }
}

fn state_counts() -> BTreeMap<String, u64> {
    EFFECT_STATES
        .iter()
        .chain([&NOT_STATED])
        .map(|s| ((*s).to_owned(), 0))
        .collect()
}

fn empty(code: &str) -> InstrumentEffects {
    InstrumentEffects {
        instrument: code.to_owned(),
        name: KNOWN
            .iter()
            .find(|(c, _)| *c == code)
            .map_or_else(String::new, |(_, n)| (*n).to_owned()),
        links: 0,
        actions: 0,
        by_state: state_counts(),
        sections: Vec::new(),
        dup_objectives: Vec::new(),
    }
}

/// A DUP objective's place: its level's, then its code's.
type ObjectiveKey = (usize, Vec<u32>, String);

#[derive(Default)]
struct Gathering {
    links: u64,
    actions: BTreeSet<String>,
    by_state: BTreeMap<String, u64>,
    sections: BTreeMap<String, Vec<LinkedAction>>,
    objectives: BTreeMap<ObjectiveKey, (DupObjectiveView, Vec<LinkedAction>)>,
}

impl ReadModels {
    /// Every instrument's effects, by code; `None` for an unknown plan.
    fn instrument_effects(&self, plan: &str) -> Option<BTreeMap<String, InstrumentEffects>> {
        self.plans.get(plan).filter(|p| !p.header.code.is_empty())?;
        let mut actions: Vec<&ActionState> = self
            .plan_actions(plan)
            .filter(|a| !a.retired && !a.def.code.is_empty())
            .collect();
        actions.sort_by_key(|a| code_key(&a.def.code));
        let mut all: BTreeMap<String, Gathering> = BTreeMap::new();
        for a in actions {
            for l in &a.def.instrument_links {
                let code = l.instrument.trim().to_uppercase();
                let g = all.entry(code).or_default();
                let state = if l.state.is_empty() {
                    NOT_STATED.to_owned()
                } else {
                    l.state.clone()
                };
                let linked = LinkedAction {
                    action: a.def.code.clone(),
                    strategy: a.def.strategy.clone(),
                    title: a.def.title.clone(),
                    section: l.section.clone(),
                    effect: l.effect.clone(),
                    state: state.clone(),
                    dup_objective: l.dup_objective.as_ref().map(objective_view),
                };
                g.links += 1;
                g.actions.insert(a.def.code.clone());
                *g.by_state.entry(state).or_default() += 1;
                if let Some(o) = &l.dup_objective {
                    let level = DUP_LEVELS
                        .iter()
                        .position(|x| *x == o.level)
                        .unwrap_or(DUP_LEVELS.len());
                    g.objectives
                        .entry((level, code_key(&o.code), o.code.clone()))
                        .or_insert_with(|| (objective_view(o), Vec::new()))
                        .1
                        .push(linked.clone());
                }
                g.sections
                    .entry(l.section.clone())
                    .or_default()
                    .push(linked);
            }
        }
        let mut out: BTreeMap<String, InstrumentEffects> = KNOWN
            .iter()
            .map(|(c, _)| ((*c).to_owned(), empty(c)))
            .collect();
        for (code, g) in all {
            let mut e = empty(&code);
            e.links = g.links;
            e.actions = g.actions.len() as u64;
            for (state, n) in g.by_state {
                *e.by_state.entry(state).or_default() += n;
            }
            e.sections = g
                .sections
                .into_iter()
                .map(|(section, links)| {
                    let mut by_state = state_counts();
                    for l in &links {
                        *by_state.entry(l.state.clone()).or_default() += 1;
                    }
                    SectionEffects {
                        section,
                        by_state,
                        links,
                    }
                })
                .collect();
            e.dup_objectives = g
                .objectives
                .into_values()
                .map(|(objective, actions)| DupObjectiveRollup { objective, actions })
                .collect();
            out.insert(code, e);
        }
        Some(out)
    }

    /// `PTGM`, `PUMS` and `DUP`, then every other linked instrument by code; `None`
    /// for an unknown plan.
    pub fn plan_instruments(&self, plan: &str) -> Option<PlanInstruments> {
        let mut all = self.instrument_effects(plan)?;
        let mut instruments: Vec<InstrumentEffects> =
            KNOWN.iter().filter_map(|(c, _)| all.remove(*c)).collect();
        instruments.extend(all.into_values());
        Some(PlanInstruments {
            plan: plan.to_owned(),
            instruments,
            position: self.position,
        })
    }

    /// One instrument's effects (its code in any case); `None` for an unknown plan, or
    /// an instrument the plan does not name and no live action links.
    pub fn instrument(&self, plan: &str, instrument: &str) -> Option<InstrumentView> {
        let effects = self
            .instrument_effects(plan)?
            .remove(&instrument.trim().to_uppercase())?;
        Some(InstrumentView {
            plan: plan.to_owned(),
            effects,
            position: self.position,
        })
    }
}

#[cfg(test)]
mod tests {
    use metroplan_events::{EventMetadata, NewEvent, RecordedEvent, streams};

    use super::*;

    fn apply<E: metroplan_events::EventPayload>(m: &mut ReadModels, stream: &str, n: u64, e: E) {
        let new = NewEvent::new(&e, EventMetadata::default());
        m.apply(&RecordedEvent {
            event_id: new.event_id,
            stream_id: stream.to_owned(),
            stream_version: 1,
            position: n,
            event_type: new.event_type,
            schema_version: new.schema_version,
            recorded_at: chrono::Utc::now(),
            metadata: new.metadata,
            payload: new.payload,
            hash: Vec::new(),
        });
    }

    fn link(instrument: &str, section: &str, state: &str) -> pb::InstrumentLink {
        pb::InstrumentLink {
            instrument: instrument.into(),
            section: section.into(),
            effect: "esempio".into(),
            state: state.into(),
            dup_objective: None,
        }
    }

    #[test]
    fn effects_roll_up_per_instrument_section_state_and_dup_objective() {
        let mut m = ReadModels::default();
        apply(
            &mut m,
            "plan:P",
            1,
            pb::PlanEvent {
                event: Some(pb::plan_event::Event::PlanCreated(pb::PlanCreated {
                    code: "P".into(),
                    ..Default::default()
                })),
            },
        );
        let objective = pb::DupObjective {
            level: "operational".into(),
            code: "ESEMPIO-1".into(),
            title: "Esempio".into(),
        };
        let actions = [
            (
                "2.1.1",
                vec![
                    link("PTGM", "Rete ecologica", "in_progress"),
                    pb::InstrumentLink {
                        dup_objective: Some(objective.clone()),
                        ..link("DUP", "", "achieved")
                    },
                ],
            ),
            (
                "2.1.3",
                vec![
                    // An old link: lower-case code, no state.
                    link("ptgm", "Rete ecologica", ""),
                    pb::InstrumentLink {
                        dup_objective: Some(objective),
                        ..link("DUP", "", "planned")
                    },
                    link("PTA", "", "planned"),
                ],
            ),
        ];
        for (i, (code, links)) in actions.into_iter().enumerate() {
            apply(
                &mut m,
                &streams::action("P", code),
                2 + i as u64,
                pb::ActionEvent {
                    event: Some(pb::action_event::Event::ActionAdded(pb::ActionAdded {
                        plan: "P".into(),
                        code: code.into(),
                        strategy: "2.1".into(),
                        instrument_links: links,
                        ..Default::default()
                    })),
                },
            );
        }
        let all = m.plan_instruments("P").unwrap();
        let codes: Vec<&str> = all
            .instruments
            .iter()
            .map(|i| i.instrument.as_str())
            .collect();
        assert_eq!(codes, ["PTGM", "PUMS", "DUP", "PTA"]);
        let ptgm = &all.instruments[0];
        assert_eq!(ptgm.name, "Piano Territoriale Generale Metropolitano");
        assert_eq!((ptgm.links, ptgm.actions), (2, 2));
        assert_eq!(ptgm.by_state["in_progress"], 1);
        assert_eq!(ptgm.by_state[NOT_STATED], 1);
        assert_eq!(ptgm.by_state["achieved"], 0);
        assert_eq!(ptgm.sections.len(), 1);
        assert_eq!(ptgm.sections[0].links.len(), 2);
        assert_eq!(all.instruments[1].links, 0);
        let dup = m.instrument("P", "dup").unwrap();
        assert_eq!(dup.effects.dup_objectives.len(), 1);
        let actions: Vec<&str> = dup.effects.dup_objectives[0]
            .actions
            .iter()
            .map(|a| a.action.as_str())
            .collect();
        assert_eq!(actions, ["2.1.1", "2.1.3"]);
        assert!(m.instrument("P", "PRG").is_none());
        assert!(m.plan_instruments("Q").is_none());
    }
}
