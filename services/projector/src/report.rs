//! The monitoring report's data, assembled from the read models for a plan and a
//! period ([`metroplan_report::Report`]; the gateway renders it).
//!
//! The choice: a report describes the plan as the read models stand at the point read
//! (now, or the `at` / `as_of` a query names), and the period bounds what has a date of
//! its own: an indicator's series holds the values of its own territory whose period
//! starts by the period's end, and its trend and on-track are classified on that series
//! (so a 2022 report is not changed by 2023 figures); an action says whether its latest
//! progress report speaks for a day in the period; a questionnaire campaign counts
//! when its window (`opens` to `closes`, either may be open-ended) meets the period.
//! Statuses, funding (rolled up under the counted-once rule, as `/funding` answers)
//! and instrument links with their states and DUP objectives are those at the point
//! read.

use metroplan_api::indicators::{Decimal, Period as MeasurementPeriod, same_territory};
use metroplan_api::trend::{Goal, classify};
use metroplan_report::{
    ActionLine, Amounts, AnswerAggregate, AxisStatus, CampaignResult, ChoiceCount, DupObjective,
    FundingLine, FundingRow, FundingSection, IndicatorLine, InstrumentEffect, InstrumentSection,
    Period, PlanInfo, QuestionResult, Report, STATUSES, SeriesPoint, StatusCount, source_name,
};

use crate::ReadModels;
use crate::views::{ActionView, IndicatorView};

impl ReadModels {
    /// The monitoring report of `plan` for `period`; `None` for an unknown plan.
    pub fn report(&self, plan: &str, period: Period) -> Option<Report> {
        let tree = self.plan_tree(plan)?;
        let actions: Vec<ActionLine> = tree
            .axes
            .iter()
            .flat_map(|axis| &axis.strategies)
            .flat_map(|s| &s.actions)
            .filter_map(|a| self.action(plan, &a.code))
            .map(|view| action_line(&view, period))
            .collect();
        let mut actions = actions;
        actions.sort_by_key(|a| code_key(&a.code));
        let status_by_axis = tree
            .axes
            .iter()
            .map(|axis| AxisStatus {
                axis: axis.code.clone(),
                name: axis.name.clone(),
                counts: STATUSES
                    .iter()
                    .map(|s| StatusCount {
                        status: (*s).to_owned(),
                        actions: axis.rollup.by_status.get(*s).copied().unwrap_or(0),
                    })
                    .collect(),
            })
            .collect();
        let axes: Vec<(String, String)> = tree
            .axes
            .iter()
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect();
        let funding = self
            .plan_funding(plan)
            .map_or_else(|| FundingSection::of(&actions, &axes), |f| funding(&f));
        let mut instruments = InstrumentSection::default();
        for view in actions.iter().filter_map(|a| self.action(plan, &a.code)) {
            for l in view.instrument_links {
                if let Some(o) = l.dup_objective {
                    instruments.dup_objectives.push(DupObjective {
                        action: view.code.clone(),
                        level: o.level,
                        code: o.code,
                        title: o.title,
                    });
                }
                instruments.effects.push(InstrumentEffect {
                    instrument: l.instrument,
                    section: l.section,
                    action: view.code.clone(),
                    effect: l.effect,
                    state: l.state,
                });
            }
        }
        let questionnaires = self
            .campaigns()
            .list(plan)
            .into_iter()
            .filter(|c| meets(&c.opens, &c.closes, period))
            .filter_map(|c| self.campaigns().results(plan, &c.id, self.position()))
            .map(|r| campaign(&r))
            .collect();
        let indicators = self
            .plan_indicators(plan)
            .into_iter()
            .flat_map(|list| list.strategies)
            .flat_map(|s| s.indicators)
            .filter_map(|summary| self.indicator(plan, &summary.code))
            .map(|view| indicator_line(&view, period))
            .collect();
        Some(Report {
            plan: PlanInfo {
                code: tree.code,
                title: tree.title,
                owner: tree.owner,
            },
            period,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            position: self.position(),
            indicators,
            actions,
            status_by_axis,
            instruments,
            questionnaires,
            funding,
        })
    }
}

fn code_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

fn action_line(a: &ActionView, period: Period) -> ActionLine {
    let funding: Vec<FundingLine> = a
        .funding_lines
        .iter()
        .map(|f| FundingLine {
            source: f.source.clone(),
            programme: f.programme.clone(),
            measure: f.measure.clone(),
            planned_cents: f.planned_cents,
            committed_cents: f.committed_cents,
            spent_cents: f.spent_cents,
            mission: f.mission.clone(),
            fund: f.fund.clone(),
        })
        .collect();
    let status_as_of = a
        .latest_report
        .as_ref()
        .map_or_else(String::new, |r| r.as_of.clone());
    ActionLine {
        code: a.code.clone(),
        title: a.title.clone(),
        strategy: a.strategy.clone(),
        axis: a.axis.clone(),
        competence: a.competence.clone(),
        status: a.status.clone(),
        progress: a.progress,
        reported_in_period: period.contains(&status_as_of),
        status_as_of,
        responsible_organisations: a.responsible_organisations.clone(),
        partner_organisations: a.partner_organisations.clone(),
        territorial_scope: a.territorial_scope.clone(),
        planned_start: a.planned_start.clone(),
        planned_end: a.planned_end.clone(),
        actual_start: a.actual_start.clone(),
        actual_end: a.actual_end.clone(),
        planned_cents: funding.iter().map(|f| f.planned_cents).sum(),
        committed_cents: funding.iter().map(|f| f.committed_cents).sum(),
        spent_cents: funding.iter().map(|f| f.spent_cents).sum(),
        funding,
    }
}

fn indicator_line(view: &IndicatorView, period: Period) -> IndicatorLine {
    use chrono::Datelike;
    let s = &view.summary;
    // The month the period ends in: a measurement period that starts by then counts.
    let end: Option<MeasurementPeriod> =
        format!("{}-{:02}", period.to().year(), period.to().month())
            .parse()
            .ok();
    let mut series: Vec<(MeasurementPeriod, Decimal, SeriesPoint)> = view
        .series
        .iter()
        .filter(|m| same_territory(&m.territory, &s.territory))
        .filter_map(|m| {
            let p: MeasurementPeriod = m.period.parse().ok()?;
            let v: Decimal = m.value.parse().ok()?;
            end.as_ref().is_some_and(|end| p <= *end).then(|| {
                (
                    p,
                    v,
                    SeriesPoint {
                        period: m.period.clone(),
                        value: m.value.clone(),
                    },
                )
            })
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let goal = (|| {
        Some(Goal {
            direction: s.direction.parse().ok()?,
            baseline: s.baseline_value.parse().ok()?,
            baseline_year: u16::try_from(s.baseline_year).ok()?,
            target: s.target_value.parse().ok()?,
            target_year: u16::try_from(s.target_year).ok()?,
        })
    })();
    let measured: Vec<(MeasurementPeriod, Decimal)> =
        series.iter().map(|(p, v, _)| (p.clone(), *v)).collect();
    let (trend, on_track) = goal.map_or_else(
        || ("insufficient_data".to_owned(), "not_assessable".to_owned()),
        |g| {
            let c = classify(&g, &measured);
            (c.trend.as_str().to_owned(), c.on_track.as_str().to_owned())
        },
    );
    let points: Vec<SeriesPoint> = series.into_iter().map(|(_, _, point)| point).collect();
    IndicatorLine {
        code: s.code.clone(),
        name: s.name.clone(),
        unit: s.unit.clone(),
        strategy: s.strategy.clone(),
        direction: s.direction.clone(),
        territory: s.territory.clone(),
        source: s.source.clone(),
        baseline_value: s.baseline_value.clone(),
        baseline_year: s.baseline_year,
        target_value: s.target_value.clone(),
        target_year: s.target_year,
        latest: points.last().cloned(),
        trend,
        on_track,
        rule_version: s.rule_version.clone(),
        series: points,
        retired: s.retired,
        retired_reason: s.retired_reason.clone().unwrap_or_default(),
    }
}

fn amounts(a: &crate::views::Amounts) -> Amounts {
    Amounts {
        planned_cents: a.planned_cents,
        committed_cents: a.committed_cents,
        spent_cents: a.spent_cents,
    }
}

/// The plan's funding as `/funding` rolls it up (agreements' commitments counted once).
fn funding(f: &crate::views::PlanFunding) -> FundingSection {
    FundingSection {
        rule_version: f.rule_version.clone(),
        totals: amounts(&f.total),
        agreements_committed_cents: f.total.agreements_committed_cents,
        by_axis: f
            .axes
            .iter()
            .map(|a| FundingRow {
                key: a.axis.clone(),
                name: a.name.clone(),
                amounts: amounts(&a.amounts),
            })
            .collect(),
        by_source: f
            .sources
            .iter()
            .map(|s| FundingRow {
                key: s.key.clone(),
                name: source_name(&s.key).to_owned(),
                amounts: amounts(&s.amounts),
            })
            .collect(),
    }
}

/// Whether a window from `opens` to `closes` (`YYYY-MM-DD`, either empty: open-ended)
/// meets `period`.
fn meets(opens: &str, closes: &str, period: Period) -> bool {
    let day = |d: &str| {
        d.get(..10)
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
    };
    day(opens).is_none_or(|o| o <= period.to()) && day(closes).is_none_or(|c| c >= period.from())
}

/// A campaign's results: per question, the whole plan first (subject empty), then per
/// strategy and per action in code order.
fn campaign(r: &crate::campaigns::CampaignResults) -> CampaignResult {
    fn aggregate(subject: &str, q: &crate::campaigns::QuestionResult) -> AnswerAggregate {
        AnswerAggregate {
            subject: subject.to_owned(),
            answers: q.answers,
            mean: q
                .scale
                .as_ref()
                .and_then(|s| s.mean.clone())
                .unwrap_or_default(),
            choices: q
                .choices
                .iter()
                .flatten()
                .map(|c| ChoiceCount {
                    option: c.option.clone(),
                    count: c.count,
                })
                .collect(),
        }
    }
    let questions = r
        .questions
        .iter()
        .map(|q| {
            let mut aggregates = vec![aggregate("", q)];
            let scoped = r
                .by_strategy
                .iter()
                .map(|s| (&s.strategy, &s.questions))
                .chain(r.by_action.iter().map(|a| (&a.action, &a.questions)));
            for (subject, list) in scoped {
                aggregates.extend(
                    list.iter()
                        .filter(|x| x.question == q.question && x.answers > 0)
                        .map(|x| aggregate(subject, x)),
                );
            }
            QuestionResult {
                question: q.question.clone(),
                text: q.text.clone(),
                kind: q.kind.clone(),
                aggregates,
            }
        })
        .collect();
    CampaignResult {
        campaign: r.campaign.clone(),
        title: r.title.clone(),
        status: r.state.clone(),
        invited: r.invited,
        answered: r.answered,
        questions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_counts_when_its_window_meets_the_period() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let year = Period::new(d("2022-01-01"), d("2022-12-31")).unwrap();
        assert!(meets("2022-10-01", "2022-11-30", year));
        assert!(
            meets("2021-10-01", "2022-01-01", year),
            "ends on its first day"
        );
        assert!(meets("2022-12-31", "", year), "open-ended");
        assert!(meets("", "", year), "no window stated");
        assert!(!meets("2023-01-01", "2023-02-01", year));
        assert!(!meets("2021-01-01", "2021-12-31", year));
    }
}
