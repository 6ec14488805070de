//! The trend and on-track rule for context indicators: a pure function of an
//! indicator's definition and its measurements, versioned by [`RULE_VERSION`], which
//! every answer that shows a classification carries. A change of the rule is a new
//! version (`trend-v2`), never a silent change of what `trend-v1` meant.
//!
//! # Rule `trend-v1`
//!
//! Only the measurements of the indicator's own territory (the one its baseline and
//! target refer to, compared by [`same_territory`](crate::indicators::same_territory):
//! case and spacing ignored) count, each at its current value (the last correction's,
//! if any), ordered by period. Let `latest` be the last of them and `previous` the one before.
//!
//! **Trend** (`improving` | `worsening` | `steady` | `insufficient_data`), from the
//! last two measurements: fewer than two is `insufficient_data`. Otherwise, for a
//! desired direction `increase`, `latest > previous` is `improving`, `<` is
//! `worsening`, `=` is `steady`; `decrease` the other way round; for `stable` (hold the
//! value at the target) a latest value nearer the target than the previous one is
//! `improving`, farther is `worsening`, as near is `steady`.
//!
//! **On track** (`achieved` | `on_track` | `off_track` | `not_assessable`), from
//! `latest` against the baseline (value `B`, year `b`) and the target (value `T`, year
//! `t`, `t > b`): no measurement, or a latest one whose year is before `b`, is
//! `not_assessable`. For `increase` and `decrease`, the share of the way covered is
//! `c = (latest − B) / (T − B)` and the share of the time elapsed is
//! `e = (min(y, t) − b) / (t − b)`, `y` being the latest period's year: `c ≥ 1` is
//! `achieved`, `c ≥ e` is `on_track`, otherwise `off_track`. For `stable`, `latest = T`
//! is `achieved`, `|latest − T| ≤ |B − T|` (no farther from the target than the
//! baseline was) is `on_track`, otherwise `off_track`. Computed exactly: the shares
//! are compared by cross-multiplication, no division, no float.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::indicators::{Decimal, Direction, Period};

/// The rule's version, recorded with every classification.
pub const RULE_VERSION: &str = "trend-v1";

/// Which way the last two measurements went, judged by the desired direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Improving,
    Worsening,
    Steady,
    InsufficientData,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Improving => "improving",
            Trend::Worsening => "worsening",
            Trend::Steady => "steady",
            Trend::InsufficientData => "insufficient_data",
        }
    }
}

/// Whether the latest value keeps pace with the way from baseline to target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTrack {
    Achieved,
    OnTrack,
    OffTrack,
    NotAssessable,
}

impl OnTrack {
    pub fn as_str(self) -> &'static str {
        match self {
            OnTrack::Achieved => "achieved",
            OnTrack::OnTrack => "on_track",
            OnTrack::OffTrack => "off_track",
            OnTrack::NotAssessable => "not_assessable",
        }
    }
}

/// What the rule needs of an indicator's definition.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    pub direction: Direction,
    pub baseline: Decimal,
    pub baseline_year: u16,
    pub target: Decimal,
    pub target_year: u16,
}

/// The rule's answer, with its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub trend: Trend,
    pub on_track: OnTrack,
    pub rule_version: &'static str,
}

/// Classifies the measurements of the goal's territory (in any order).
pub fn classify(goal: &Goal, measurements: &[(Period, Decimal)]) -> Classification {
    let mut series: Vec<&(Period, Decimal)> = measurements.iter().collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let latest = series.last().copied();
    let previous = series.len().checked_sub(2).map(|i| series[i]);
    Classification {
        trend: match (previous, latest) {
            (Some((_, p)), Some((_, l))) => trend(goal, *p, *l),
            _ => Trend::InsufficientData,
        },
        on_track: latest.map_or(OnTrack::NotAssessable, |(period, value)| {
            on_track(goal, period.year(), *value)
        }),
        rule_version: RULE_VERSION,
    }
}

fn trend(goal: &Goal, previous: Decimal, latest: Decimal) -> Trend {
    let better = match goal.direction {
        Direction::Increase => latest.cmp(&previous),
        Direction::Decrease => previous.cmp(&latest),
        Direction::Stable => (previous - goal.target)
            .abs()
            .cmp(&(latest - goal.target).abs()),
    };
    match better {
        std::cmp::Ordering::Greater => Trend::Improving,
        std::cmp::Ordering::Less => Trend::Worsening,
        std::cmp::Ordering::Equal => Trend::Steady,
    }
}

fn on_track(goal: &Goal, year: u16, latest: Decimal) -> OnTrack {
    if year < goal.baseline_year || goal.target_year <= goal.baseline_year {
        return OnTrack::NotAssessable;
    }
    if goal.direction == Direction::Stable {
        let now = (latest - goal.target).abs();
        return if now.signum() == 0 {
            OnTrack::Achieved
        } else if now <= (goal.baseline - goal.target).abs() {
            OnTrack::OnTrack
        } else {
            OnTrack::OffTrack
        };
    }
    let way = goal.target - goal.baseline;
    if way.signum() == 0 {
        return OnTrack::NotAssessable;
    }
    // Multiplying c = covered / way and e = elapsed / span by way × span (span > 0)
    // keeps c ≥ e when way > 0 and flips it when way < 0: compare
    // sign(way) × covered × span with |way| × elapsed.
    let sign = i64::from(way.signum());
    let covered = (latest - goal.baseline).times(sign);
    let span = i64::from(goal.target_year - goal.baseline_year);
    let elapsed = i64::from(year.min(goal.target_year) - goal.baseline_year);
    if covered >= way.abs() {
        OnTrack::Achieved
    } else if covered.times(span) >= way.abs().times(elapsed) {
        OnTrack::OnTrack
    } else {
        OnTrack::OffTrack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn series(points: &[(&str, &str)]) -> Vec<(Period, Decimal)> {
        points
            .iter()
            .map(|(p, v)| (p.parse().unwrap(), d(v)))
            .collect()
    }

    /// Forest area (example figures): 1000 ha in 2020, 1300 ha by 2023.
    fn more_forest() -> Goal {
        Goal {
            direction: Direction::Increase,
            baseline: d("1000"),
            baseline_year: 2020,
            target: d("1300"),
            target_year: 2023,
        }
    }

    /// Emissions (example figures): 5.0 t per inhabitant in 2019, 4.0 by 2023.
    fn less_emissions() -> Goal {
        Goal {
            direction: Direction::Decrease,
            baseline: d("5.0"),
            baseline_year: 2019,
            target: d("4.0"),
            target_year: 2023,
        }
    }

    #[test]
    fn the_trend_follows_the_desired_direction_over_the_last_two_values() {
        let c = |g: &Goal, pts: &[(&str, &str)]| classify(g, &series(pts)).trend;
        assert_eq!(
            c(&more_forest(), &[("2021", "1100"), ("2022", "1150")]),
            Trend::Improving
        );
        assert_eq!(
            c(&more_forest(), &[("2022", "1150"), ("2021", "1200")]),
            Trend::Worsening,
            "ordered by period, not by the order given"
        );
        assert_eq!(
            c(&more_forest(), &[("2021", "1100"), ("2022", "1100.00")]),
            Trend::Steady
        );
        assert_eq!(
            c(&less_emissions(), &[("2021", "4.9"), ("2022", "4.6")]),
            Trend::Improving
        );
        assert_eq!(
            c(&less_emissions(), &[("2021", "4.6"), ("2022", "4.9")]),
            Trend::Worsening
        );
        assert_eq!(
            c(&more_forest(), &[("2022", "1150")]),
            Trend::InsufficientData
        );
        assert_eq!(c(&more_forest(), &[]), Trend::InsufficientData);
        let hold = Goal {
            direction: Direction::Stable,
            baseline: d("95"),
            baseline_year: 2020,
            target: d("95"),
            target_year: 2023,
        };
        assert_eq!(
            c(&hold, &[("2021", "93"), ("2022", "96")]),
            Trend::Improving
        );
        assert_eq!(
            c(&hold, &[("2021", "96"), ("2022", "92")]),
            Trend::Worsening
        );
        assert_eq!(c(&hold, &[("2021", "94"), ("2022", "96")]), Trend::Steady);
    }

    #[test]
    fn on_track_compares_the_share_covered_with_the_share_of_time_elapsed() {
        let o = |g: &Goal, pts: &[(&str, &str)]| classify(g, &series(pts)).on_track;
        // 2022: two thirds of the time; 200 of 300 ha is exactly two thirds.
        assert_eq!(o(&more_forest(), &[("2022", "1200")]), OnTrack::OnTrack);
        assert_eq!(o(&more_forest(), &[("2022", "1199.99")]), OnTrack::OffTrack);
        assert_eq!(o(&more_forest(), &[("2022-Q2", "1300")]), OnTrack::Achieved);
        assert_eq!(o(&more_forest(), &[("2020", "1000")]), OnTrack::OnTrack);
        assert_eq!(o(&more_forest(), &[("2020", "990")]), OnTrack::OffTrack);
        // After the target year the whole way is due.
        assert_eq!(o(&more_forest(), &[("2025", "1290")]), OnTrack::OffTrack);
        assert_eq!(
            o(&more_forest(), &[("2019", "1290")]),
            OnTrack::NotAssessable
        );
        assert_eq!(o(&more_forest(), &[]), OnTrack::NotAssessable);
        // Decrease: 2021 is half the time, 4.5 is half the way.
        assert_eq!(o(&less_emissions(), &[("2021", "4.5")]), OnTrack::OnTrack);
        assert_eq!(o(&less_emissions(), &[("2021", "4.51")]), OnTrack::OffTrack);
        assert_eq!(o(&less_emissions(), &[("2023", "3.9")]), OnTrack::Achieved);
        let hold = Goal {
            direction: Direction::Stable,
            baseline: d("93"),
            baseline_year: 2020,
            target: d("95"),
            target_year: 2023,
        };
        assert_eq!(o(&hold, &[("2022", "95.0")]), OnTrack::Achieved);
        assert_eq!(o(&hold, &[("2022", "97")]), OnTrack::OnTrack);
        assert_eq!(o(&hold, &[("2022", "92")]), OnTrack::OffTrack);
        assert_eq!(
            classify(&hold, &series(&[("2022", "92")])).rule_version,
            "trend-v1"
        );
    }
}
