//! The funding roll-up of a plan: its live actions' funding lines per axis, strategy,
//! source, PNRR mission and EU fund, and its agreements' commitments counted once
//! under the rule documented on [`PlanFunding`] (`counted-once-v1`).

use std::collections::{BTreeMap, BTreeSet};

use metroplan_api::plan::EU_FUNDS;
use metroplan_events::pb;

use super::{ActionState, ReadModels, code_key};
use crate::views::*;

/// The key of a line or commitment that does not say its mission or fund.
const UNSTATED: &str = "unstated";
/// Where an agreement's commitment counts when its actions span several strategies.
const UNATTRIBUTED: &str = "unattributed";

pub(crate) fn funding_line_view(f: &pb::FundingLine) -> FundingLineView {
    FundingLineView {
        source: f.source.clone(),
        programme: f.programme.clone(),
        measure: f.measure.clone(),
        planned_cents: f.planned_cents,
        committed_cents: f.committed_cents,
        spent_cents: f.spent_cents,
        mission: f.mission.clone(),
        fund: f.fund.clone(),
        agreement: f.agreement.clone(),
        commitment_id: f.commitment_id.clone(),
    }
}

/// The PNRR mission a text starts with (`M2C4 Investimento 3.1` → `M2`).
fn mission_of(text: &str) -> Option<String> {
    let t = text.trim().to_uppercase();
    let b = t.as_bytes();
    (b.len() >= 2
        && b[0] == b'M'
        && (b'1'..=b'6').contains(&b[1])
        && b.get(2).is_none_or(|c| !c.is_ascii_digit()))
    .then(|| t[..2].to_owned())
}

/// A PNRR line's mission: its own, or for a line recorded before missions were, the
/// one its component or measure names.
fn line_mission(f: &pb::FundingLine) -> String {
    if f.mission.is_empty() {
        mission_of(&f.programme)
            .or_else(|| mission_of(&f.measure))
            .unwrap_or_else(|| UNSTATED.to_owned())
    } else {
        f.mission.clone()
    }
}

/// The EU fund a commitment's detail names as a word (`PR FESR Piemonte` → `FESR`).
fn fund_of(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '/'))
        .find_map(|w| EU_FUNDS.iter().find(|f| f.eq_ignore_ascii_case(w)))
        .map(|f| (*f).to_owned())
}

fn or_unstated(s: &str) -> String {
    if s.is_empty() {
        UNSTATED.to_owned()
    } else {
        s.to_owned()
    }
}

fn keyed(map: BTreeMap<String, Amounts>) -> Vec<KeyFunding> {
    map.into_iter()
        .map(|(key, amounts)| KeyFunding { key, amounts })
        .collect()
}

impl ReadModels {
    /// The plan's funding roll-up; `None` for an unknown plan.
    pub fn plan_funding(&self, plan: &str) -> Option<PlanFunding> {
        let p = self.plans.get(plan).filter(|p| !p.header.code.is_empty())?;
        let mut axes: Vec<_> = p.axes.iter().filter(|a| !a.retired).collect();
        axes.sort_by_key(|a| (a.add.position, code_key(&a.add.code)));
        let axis_place: BTreeMap<&str, usize> = axes
            .iter()
            .enumerate()
            .map(|(i, a)| (a.add.code.as_str(), i))
            .collect();
        let mut strategies: Vec<_> = p.strategies.iter().filter(|s| !s.retired).collect();
        strategies.sort_by_key(|s| {
            (
                axis_place.get(s.add.axis.as_str()).copied(),
                s.add.position,
                code_key(&s.add.code),
            )
        });
        let axis_of: BTreeMap<&str, &str> = p
            .strategies
            .iter()
            .map(|s| (s.add.code.as_str(), s.add.axis.as_str()))
            .collect();
        let mut actions: Vec<&ActionState> = self
            .plan_actions(plan)
            .filter(|a| !a.retired && !a.def.code.is_empty())
            .collect();
        actions.sort_by_key(|a| code_key(&a.def.code));

        let mut total = Amounts::default();
        let mut by_axis: BTreeMap<String, Amounts> = BTreeMap::new();
        let mut by_strategy: BTreeMap<String, Amounts> = BTreeMap::new();
        let mut sources: BTreeMap<String, Amounts> = BTreeMap::new();
        let mut missions: BTreeMap<String, Amounts> = BTreeMap::new();
        let mut funds: BTreeMap<String, Amounts> = BTreeMap::new();
        // (agreement, commitment) → the actions whose lines record it.
        let mut recorded: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        let mut action_rows = Vec::with_capacity(actions.len());
        for a in &actions {
            let d = &a.def;
            let axis = axis_of
                .get(d.strategy.as_str())
                .copied()
                .unwrap_or_default();
            let lines: Vec<FundingLineView> =
                d.funding_lines.iter().map(funding_line_view).collect();
            let mut sum = Amounts::default();
            for (f, v) in d.funding_lines.iter().zip(&lines) {
                sum.add_line(v);
                sources.entry(f.source.clone()).or_default().add_line(v);
                match f.source.as_str() {
                    "PNRR" => missions.entry(line_mission(f)).or_default().add_line(v),
                    "EU-2021-2027" => funds.entry(or_unstated(&f.fund)).or_default().add_line(v),
                    _ => {}
                }
                if !f.commitment_id.is_empty() {
                    let by = recorded
                        .entry((f.agreement.as_str(), f.commitment_id.as_str()))
                        .or_default();
                    if !by.contains(&d.code) {
                        by.push(d.code.clone());
                    }
                }
            }
            total.add(&sum);
            by_strategy.entry(d.strategy.clone()).or_default().add(&sum);
            by_axis.entry(axis.to_owned()).or_default().add(&sum);
            action_rows.push(ActionFunding {
                action: d.code.clone(),
                strategy: d.strategy.clone(),
                axis: axis.to_owned(),
                title: d.title.clone(),
                lines,
                amounts: sum,
            });
        }

        let live: BTreeMap<&str, &ActionState> =
            actions.iter().map(|a| (a.def.code.as_str(), *a)).collect();
        let (mut unattributed, mut axes_unattributed) = (Amounts::default(), Amounts::default());
        let mut agreements = Vec::new();
        for g in self.agreements.values().filter(|g| g.plan == plan) {
            let linked_strategies: BTreeSet<&str> = g
                .actions
                .iter()
                .filter_map(|c| live.get(c.as_str()))
                .map(|a| a.def.strategy.as_str())
                .collect();
            let linked_axes: BTreeSet<&str> = linked_strategies
                .iter()
                .map(|s| axis_of.get(s).copied().unwrap_or_default())
                .collect();
            let only = |set: &BTreeSet<&str>| {
                (set.len() == 1)
                    .then(|| set.first().copied())
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let (strategy, axis) = (only(&linked_strategies), only(&linked_axes));
            let terminated = g.status == "terminated";
            let commitments = g
                .commitments
                .iter()
                .map(|c| {
                    let by = recorded
                        .get(&(g.id.as_str(), c.commitment_id.as_str()))
                        .cloned()
                        .unwrap_or_default();
                    let (counted, s, x) = if !by.is_empty() {
                        ("through_lines", String::new(), String::new())
                    } else if terminated {
                        ("not_counted", String::new(), String::new())
                    } else {
                        let cents = c.amount_cents;
                        total.add_commitment(cents);
                        sources
                            .entry(c.funding_source.clone())
                            .or_default()
                            .add_commitment(cents);
                        match c.funding_source.as_str() {
                            "PNRR" => missions
                                .entry(
                                    mission_of(&c.funding_detail)
                                        .unwrap_or_else(|| UNSTATED.to_owned()),
                                )
                                .or_default()
                                .add_commitment(cents),
                            "EU-2021-2027" => funds
                                .entry(
                                    fund_of(&c.funding_detail)
                                        .unwrap_or_else(|| UNSTATED.to_owned()),
                                )
                                .or_default()
                                .add_commitment(cents),
                            _ => {}
                        }
                        match &strategy {
                            Some(s) => by_strategy
                                .entry(s.clone())
                                .or_default()
                                .add_commitment(cents),
                            None => unattributed.add_commitment(cents),
                        }
                        match &axis {
                            Some(x) => by_axis.entry(x.clone()).or_default().add_commitment(cents),
                            None => axes_unattributed.add_commitment(cents),
                        }
                        (
                            "agreement",
                            strategy.clone().unwrap_or_else(|| UNATTRIBUTED.to_owned()),
                            axis.clone().unwrap_or_else(|| UNATTRIBUTED.to_owned()),
                        )
                    };
                    CommitmentFunding {
                        commitment_id: c.commitment_id.clone(),
                        party: c.party.clone(),
                        description: c.description.clone(),
                        amount_cents: c.amount_cents,
                        funding_source: c.funding_source.clone(),
                        funding_detail: c.funding_detail.clone(),
                        counted: counted.to_owned(),
                        recorded_by: by,
                        strategy: s,
                        axis: x,
                    }
                })
                .collect();
            agreements.push(AgreementFunding {
                id: g.id.clone(),
                title: g.title.clone(),
                status: g.status.clone(),
                actions: g.actions.clone(),
                commitments,
            });
        }

        let held: BTreeSet<(&str, &str)> = self
            .agreements
            .values()
            .filter(|g| g.plan == plan)
            .flat_map(|g| {
                g.commitments
                    .iter()
                    .map(move |c| (g.id.as_str(), c.commitment_id.as_str()))
            })
            .collect();
        let unmatched_commitments = recorded
            .iter()
            .filter(|(key, _)| !held.contains(*key))
            .flat_map(|((agreement, commitment), actions)| {
                actions.iter().map(move |action| UnmatchedCommitment {
                    action: action.clone(),
                    agreement: (*agreement).to_owned(),
                    commitment_id: (*commitment).to_owned(),
                })
            })
            .collect();
        let mut axes_out: Vec<AxisFunding> = axes
            .iter()
            .map(|a| AxisFunding {
                axis: a.add.code.clone(),
                name: a.add.name.clone(),
                pnrr_mission: a.add.pnrr_mission.clone(),
                amounts: by_axis.remove(&a.add.code).unwrap_or_default(),
            })
            .collect();
        axes_out.extend(by_axis.into_iter().map(|(axis, amounts)| AxisFunding {
            axis,
            name: String::new(),
            pnrr_mission: String::new(),
            amounts,
        }));
        let mut strategies_out: Vec<StrategyFunding> = strategies
            .iter()
            .map(|s| StrategyFunding {
                strategy: s.add.code.clone(),
                axis: s.add.axis.clone(),
                name: s.add.name.clone(),
                amounts: by_strategy.remove(&s.add.code).unwrap_or_default(),
            })
            .collect();
        strategies_out.extend(by_strategy.into_iter().map(|(strategy, amounts)| {
            StrategyFunding {
                axis: axis_of
                    .get(strategy.as_str())
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                strategy,
                name: String::new(),
                amounts,
            }
        }));
        Some(PlanFunding {
            plan: plan.to_owned(),
            rule_version: FUNDING_RULE.to_owned(),
            total,
            axes: axes_out,
            axes_unattributed,
            strategies: strategies_out,
            unattributed,
            sources: keyed(sources),
            pnrr_missions: keyed(missions),
            eu_funds: keyed(funds),
            actions: action_rows,
            agreements,
            unmatched_commitments,
            position: self.position,
        })
    }
}

#[cfg(test)]
mod tests {
    use metroplan_events::{EventMetadata, EventPayload, NewEvent, RecordedEvent, streams};

    use super::*;

    const G1: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d03";
    const G2: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d13";
    const G3: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d23";
    const C1: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d04";

    #[derive(Default)]
    struct Log {
        models: ReadModels,
        position: u64,
        versions: BTreeMap<String, u64>,
    }

    impl Log {
        fn add<E: EventPayload>(&mut self, stream: &str, payload: E) {
            let new = NewEvent::new(&payload, EventMetadata::default());
            self.position += 1;
            let v = self.versions.entry(stream.to_owned()).or_default();
            *v += 1;
            self.models.apply(&RecordedEvent {
                event_id: new.event_id,
                stream_id: stream.to_owned(),
                stream_version: *v,
                position: self.position,
                event_type: new.event_type,
                schema_version: new.schema_version,
                recorded_at: chrono::Utc::now(),
                metadata: new.metadata,
                payload: new.payload,
                hash: Vec::new(),
            });
        }

        fn plan(&mut self, e: pb::plan_event::Event) {
            self.add("plan:P", pb::PlanEvent { event: Some(e) });
        }

        fn action(&mut self, code: &str, lines: Vec<pb::FundingLine>) {
            let strategy = code.rsplit_once('.').unwrap().0.to_owned();
            let e = pb::action_event::Event::ActionAdded(pb::ActionAdded {
                plan: "P".into(),
                code: code.into(),
                strategy,
                title: format!("azione {code}"),
                funding_lines: lines,
                ..Default::default()
            });
            self.add(
                &streams::action("P", code),
                pb::ActionEvent { event: Some(e) },
            );
        }

        fn agreement(&mut self, id: &str, e: pb::agreement_event::Event) {
            self.add(
                &format!("agreement:{id}"),
                pb::AgreementEvent { event: Some(e) },
            );
        }

        /// An agreement linking `actions`, with one commitment of `cents`.
        fn agreement_with(&mut self, id: &str, commitment: &str, cents: i64, actions: &[&str]) {
            use pb::agreement_event::Event;
            self.agreement(
                id,
                Event::AgreementDrafted(pb::AgreementDrafted {
                    id: id.into(),
                    plan: "P".into(),
                    title: format!("intesa {id}"),
                    ..Default::default()
                }),
            );
            for a in actions {
                self.agreement(
                    id,
                    Event::AgreementActionLinked(pb::AgreementActionLinked {
                        id: id.into(),
                        plan: "P".into(),
                        action: (*a).into(),
                    }),
                );
            }
            self.agreement(
                id,
                Event::CommitmentMade(pb::CommitmentMade {
                    id: id.into(),
                    plan: "P".into(),
                    commitment_id: commitment.into(),
                    party: "Regione Piemonte".into(),
                    amount_cents: cents,
                    funding_source: "REGIONAL".into(),
                    ..Default::default()
                }),
            );
        }
    }

    fn line(source: &str, planned: i64, committed: i64, spent: i64) -> pb::FundingLine {
        pb::FundingLine {
            source: source.into(),
            planned_cents: planned,
            committed_cents: committed,
            spent_cents: spent,
            ..Default::default()
        }
    }

    /// Plan P: axes 2 and 3, strategies 2.1, 2.2 and 3.1; example figures.
    fn given_a_plan() -> Log {
        use pb::plan_event::Event;
        let mut log = Log::default();
        log.plan(Event::PlanCreated(pb::PlanCreated {
            code: "P".into(),
            title: "Piano".into(),
            ..Default::default()
        }));
        for (axis, mission) in [("2", "M2"), ("3", "M3")] {
            log.plan(Event::AxisAdded(pb::AxisAdded {
                plan: "P".into(),
                code: axis.into(),
                name: format!("asse {axis}"),
                pnrr_mission: mission.into(),
                ..Default::default()
            }));
        }
        for s in ["2.1", "2.2", "3.1"] {
            log.plan(Event::StrategyAdded(pb::StrategyAdded {
                plan: "P".into(),
                code: s.into(),
                axis: s[..1].into(),
                name: format!("strategia {s}"),
                ..Default::default()
            }));
        }
        let pnrr = pb::FundingLine {
            programme: "M2C4".into(),
            measure: "M2C4I3.1".into(),
            mission: "M2".into(),
            ..line("PNRR", 1_000, 600, 100)
        };
        // An old line: free-form source, mission only in its programme.
        let old_pnrr = pb::FundingLine {
            programme: "M2C1".into(),
            ..line("PNRR", 50, 0, 0)
        };
        let recording = pb::FundingLine {
            agreement: G1.into(),
            commitment_id: C1.into(),
            ..line("REGIONAL", 300, 300, 0)
        };
        log.action("2.1.1", vec![pnrr, old_pnrr]);
        log.action("2.1.2", vec![recording]);
        log.action("2.2.1", vec![line("Fondazione", 20, 0, 0)]);
        log.action(
            "3.1.1",
            vec![pb::FundingLine {
                fund: "FESR".into(),
                programme: "PR FESR Piemonte 2021-2027".into(),
                ..line("EU-2021-2027", 200, 100, 50)
            }],
        );
        // G1: its commitment is recorded by 2.1.2's line, so it counts through it.
        log.agreement_with(G1, C1, 300, &["2.1.2"]);
        // G2: all its actions in strategy 2.1; its commitment counts there.
        log.agreement_with(G2, "c2", 70, &["2.1.1", "2.1.2"]);
        // G3: actions in two axes; its commitment counts in the plan, unattributed.
        log.agreement_with(G3, "c3", 9, &["2.1.1", "3.1.1"]);
        log
    }

    fn strategy(f: &PlanFunding, code: &str) -> Amounts {
        f.strategies
            .iter()
            .find(|s| s.strategy == code)
            .unwrap()
            .amounts
    }

    fn axis(f: &PlanFunding, code: &str) -> Amounts {
        f.axes.iter().find(|s| s.axis == code).unwrap().amounts
    }

    fn key(list: &[KeyFunding], key: &str) -> Amounts {
        list.iter().find(|k| k.key == key).unwrap().amounts
    }

    fn sum<'a>(it: impl Iterator<Item = &'a Amounts>) -> Amounts {
        it.fold(Amounts::default(), |mut acc, a| {
            acc.add(a);
            acc
        })
    }

    #[test]
    fn a_commitment_counts_once_through_the_line_that_records_it_or_else_as_its_agreements() {
        let log = given_a_plan();
        let f = log.models.plan_funding("P").unwrap();
        assert_eq!(f.rule_version, "counted-once-v1");
        // Lines: 1000+50+300+20+200 planned; 600+300+100 committed; 150 spent. The
        // recorded commitment (300) is not added again; G2 (70) and G3 (9) are.
        assert_eq!(
            f.total,
            Amounts {
                planned_cents: 1_570,
                committed_cents: 1_000 + 79,
                spent_cents: 150,
                agreements_committed_cents: 79,
            }
        );
        assert_eq!(strategy(&f, "2.1").committed_cents, 600 + 300 + 70);
        assert_eq!(strategy(&f, "2.1").agreements_committed_cents, 70);
        assert_eq!(strategy(&f, "3.1").committed_cents, 100);
        assert_eq!(f.unattributed.committed_cents, 9);
        assert_eq!(axis(&f, "2").committed_cents, 970);
        assert_eq!(f.axes_unattributed.committed_cents, 9);
        // Strategies plus unattributed, axes plus theirs, sources: each equals the total.
        let mut s = sum(f.strategies.iter().map(|s| &s.amounts));
        s.add(&f.unattributed);
        assert_eq!(s, f.total);
        let mut a = sum(f.axes.iter().map(|a| &a.amounts));
        a.add(&f.axes_unattributed);
        assert_eq!(a, f.total);
        assert_eq!(sum(f.sources.iter().map(|k| &k.amounts)), f.total);
        // Sources: the recorded commitment is in REGIONAL once, through its line.
        assert_eq!(key(&f.sources, "REGIONAL").committed_cents, 300 + 70 + 9);
        assert_eq!(key(&f.sources, "Fondazione").planned_cents, 20);
        assert_eq!(key(&f.pnrr_missions, "M2").planned_cents, 1_050);
        assert_eq!(key(&f.eu_funds, "FESR").spent_cents, 50);
        let g1 = f.agreements.iter().find(|g| g.id == G1).unwrap();
        assert_eq!(g1.commitments[0].counted, "through_lines");
        assert_eq!(g1.commitments[0].recorded_by, vec!["2.1.2".to_owned()]);
        let g3 = f.agreements.iter().find(|g| g.id == G3).unwrap();
        assert_eq!(
            (
                g3.commitments[0].counted.as_str(),
                g3.commitments[0].strategy.as_str()
            ),
            ("agreement", "unattributed")
        );
    }

    #[test]
    fn a_terminated_agreement_or_a_withdrawn_commitment_stops_counting_and_a_retired_action_too() {
        use pb::agreement_event::Event;
        let mut log = given_a_plan();
        log.agreement(
            G2,
            Event::AgreementTerminated(pb::AgreementTerminated {
                id: G2.into(),
                plan: "P".into(),
                ..Default::default()
            }),
        );
        log.agreement(
            G3,
            Event::CommitmentWithdrawn(pb::CommitmentWithdrawn {
                id: G3.into(),
                plan: "P".into(),
                commitment_id: "c3".into(),
                ..Default::default()
            }),
        );
        // The recording line's action is retired: G1's commitment counts as G1's.
        log.add(
            &streams::action("P", "2.1.2"),
            pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionRetired(pb::ActionRetired {
                    plan: "P".into(),
                    code: "2.1.2".into(),
                    ..Default::default()
                })),
            },
        );
        log.action(
            "3.1.2",
            vec![pb::FundingLine {
                agreement: G3.into(),
                commitment_id: "c3".into(),
                ..line("OWN", 5, 5, 0)
            }],
        );
        let f = log.models.plan_funding("P").unwrap();
        // 3.1.2's line records G3's withdrawn commitment: it counts, and is flagged.
        assert_eq!(f.unmatched_commitments.len(), 1);
        assert_eq!(f.unmatched_commitments[0].action, "3.1.2");
        assert_eq!(f.total.planned_cents, 1_570 - 300 + 5);
        assert_eq!(f.total.agreements_committed_cents, 300);
        assert_eq!(f.total.committed_cents, 600 + 100 + 5 + 300);
        // G1 links only the retired 2.1.2: no live action, so unattributed.
        assert_eq!(f.unattributed.committed_cents, 300);
        let g2 = f.agreements.iter().find(|g| g.id == G2).unwrap();
        assert_eq!(g2.commitments[0].counted, "not_counted");
    }
}
