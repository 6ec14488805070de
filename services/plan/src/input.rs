//! Turning the raw strings and numbers of a request body into the values an event
//! records, each check naming the JSON field it is about. The decisions call these;
//! the parsed value is what gets stored (texts trimmed, dates canonical), so two
//! sends of the same meaning compare equal.

use std::cmp::Ordering;

use metroplan_api::plan::{
    DUP_LEVELS, EFFECT_STATES, EU_FUNDS, FUNDING_SOURCES, FundingLineInput, InstrumentLinkInput,
};
use metroplan_api::values::{Cents, Date, ItemCode, Level};
use metroplan_events::pb;

use crate::error::DomainError;

/// The competences an action may have.
pub const COMPETENCES: [&str; 2] = ["direct", "steering"];

/// A plan's period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", self.from, self.to)
    }
}

/// A trimmed, non-empty text.
pub(crate) fn required_text(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        Err(DomainError::invalid(field, "must not be empty"))
    } else {
        Ok(t.to_owned())
    }
}

/// A trimmed text, empty when absent.
pub(crate) fn optional_text(s: Option<&str>) -> String {
    s.map(str::trim).unwrap_or_default().to_owned()
}

/// A dotted code at `level`.
pub(crate) fn item_code(field: &str, s: &str, level: Level) -> Result<ItemCode, DomainError> {
    ItemCode::parse_level(s.trim(), level).map_err(|m| DomainError::invalid(field, m))
}

/// A `YYYY-MM-DD` date.
pub(crate) fn date(field: &str, s: &str) -> Result<Date, DomainError> {
    Date::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid(field, format!("{s:?} is not a date YYYY-MM-DD")))
}

/// A date that may be cleared: `""` (or absent) is no date. Canonical `YYYY-MM-DD` text.
pub(crate) fn optional_date(field: &str, s: Option<&str>) -> Result<String, DomainError> {
    match s.map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(s) => Ok(date(field, s)?.to_string()),
    }
}

/// A stored date string, `None` when empty or unreadable.
pub(crate) fn stored_date(s: &str) -> Option<Date> {
    Date::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `direct` or `steering`.
pub(crate) fn competence(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if COMPETENCES.contains(&t) {
        Ok(t.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            format!("{s:?} is not a competence: direct or steering"),
        ))
    }
}

/// A list of organisation names: each trimmed and non-empty, no repeats.
pub(crate) fn organisations(field: &str, names: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let name = required_text(&format!("{field}[{i}]"), name)?;
        if out.contains(&name) {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                format!("{name:?} is listed twice"),
            ));
        }
        out.push(name);
    }
    Ok(out)
}

fn cents(field: &str, v: i64) -> Result<i64, DomainError> {
    Cents::try_from(v)
        .map(Cents::get)
        .map_err(|m| DomainError::invalid(field, m))
}

/// A short code of letters, digits, `-`, `_` or `.` (a funding source, an instrument).
fn short_code(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    let ok = !t.is_empty()
        && t.len() <= 40
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(t.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            format!("{s:?} is not a code (1-40 letters, digits, '-', '_' or '.')"),
        ))
    }
}

/// A value of a closed vocabulary, matched without regard to case, stored as the
/// vocabulary writes it.
fn one_of(field: &str, s: &str, allowed: &[&str], what: &str) -> Result<String, DomainError> {
    let t = s.trim();
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(t))
        .map(|a| (*a).to_owned())
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("{s:?} is not {what}: one of {}", allowed.join(", ")),
            )
        })
}

/// A trimmed text, `None` when absent or empty.
fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|t| !t.is_empty())
}

/// A PNRR component, `M2C4`: (mission number, component number).
fn pnrr_component(s: &str) -> Option<(u8, u8)> {
    let rest = s.strip_prefix('M')?;
    let (m, c) = rest.split_once('C')?;
    let m: u8 = m.parse().ok().filter(|m| (1..=6).contains(m))?;
    let c: u8 = c.parse().ok().filter(|c| (1..=99).contains(c))?;
    (format!("M{m}C{c}") == s).then_some((m, c))
}

/// The number of an investment or reform, `3.1` or `3.1.2`.
fn measure_number(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (1..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()))
}

/// A PNRR measure code in its canonical form `M2C4I3.1` (investment) or `M1C1R1.1`
/// (reform), from that form (spaces and `-` allowed between the parts), or from
/// `I3.1`, `Investimento 3.1`, `R1.1`, `Riforma 1.1` within `component`. `Err(None)`:
/// unreadable; `Err(Some(c))`: a measure of component `c`.
fn pnrr_measure(s: &str, component: &str) -> Result<String, Option<String>> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_uppercase();
    let words = [
        ("INVESTIMENTO", 'I'),
        ("INVESTMENT", 'I'),
        ("RIFORMA", 'R'),
        ("REFORM", 'R'),
    ];
    let local = words
        .iter()
        .find_map(|(w, k)| compact.strip_prefix(w).map(|n| (*k, n.to_owned())))
        .or_else(|| {
            let k = compact.chars().next()?;
            matches!(k, 'I' | 'R').then(|| (k, compact[1..].to_owned()))
        });
    if let Some((kind, number)) = local {
        return if measure_number(&number) {
            Ok(format!("{component}{kind}{number}"))
        } else {
            Err(None)
        };
    }
    let split = compact.find(['I', 'R']).ok_or(None)?;
    let (comp, rest) = compact.split_at(split);
    if pnrr_component(comp).is_none() || !measure_number(&rest[1..]) {
        return Err(None);
    }
    if comp != component {
        return Err(Some(comp.to_owned()));
    }
    Ok(compact)
}

/// Funding lines, each checked against its source (see
/// [`FundingLineInput`](metroplan_api::plan::FundingLineInput)). Amounts are never
/// negative; committed may exceed planned (money found beyond the plan is a fact
/// worth recording), but spent may not exceed committed (a payment follows a
/// commitment). An agreement's commitment is recorded by one line at most.
///
/// Every refusal is `Invalid` naming the JSON path of the field at fault (a 422
/// problem), values that contradict one another included: none depends on the state.
pub(crate) fn funding_lines(
    field: &str,
    lines: &[FundingLineInput],
) -> Result<Vec<pb::FundingLine>, DomainError> {
    let mut out: Vec<pb::FundingLine> = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let at = |f: &str| format!("{field}[{i}].{f}");
        let source = one_of(
            &at("source"),
            &l.source,
            &FUNDING_SOURCES,
            "a funding source",
        )?;
        let planned_cents = cents(&at("planned_cents"), l.planned_cents)?;
        let committed_cents = cents(&at("committed_cents"), l.committed_cents)?;
        let spent_cents = cents(&at("spent_cents"), l.spent_cents)?;
        let mut programme = optional_text(l.programme.as_deref());
        let mut measure = optional_text(l.measure.as_deref());
        let (mut mission, mut fund) = (String::new(), String::new());
        let not_for = |f: &str, v: Option<&str>, owner: &str| {
            if given(v).is_some() {
                Err(DomainError::invalid(
                    at(f),
                    format!("{f} is for {owner} lines, not {source}"),
                ))
            } else {
                Ok(())
            }
        };
        match source.as_str() {
            "PNRR" => {
                not_for("fund", l.fund.as_deref(), "EU-2021-2027")?;
                let component = programme.to_uppercase();
                let Some((m, _)) = pnrr_component(&component) else {
                    return Err(DomainError::invalid(
                        at("programme"),
                        format!(
                            "{programme:?} is not a PNRR component: a PNRR line's programme is its component, M1C1 to M6C9 (e.g. M2C4)"
                        ),
                    ));
                };
                mission = format!("M{m}");
                if let Some(given) = given(l.mission.as_deref()) {
                    let g = one_of(
                        &at("mission"),
                        given,
                        &["M1", "M2", "M3", "M4", "M5", "M6"],
                        "a PNRR mission",
                    )?;
                    if g != mission {
                        return Err(DomainError::invalid(
                            at("mission"),
                            format!("component {component} belongs to mission {mission}, not {g}"),
                        ));
                    }
                }
                if measure.is_empty() {
                    return Err(DomainError::invalid(
                        at("measure"),
                        "a PNRR line needs its measure code (e.g. M2C4I3.1 or Investimento 3.1)",
                    ));
                }
                measure = match pnrr_measure(&measure, &component) {
                    Ok(code) => code,
                    Err(Some(other)) => {
                        return Err(DomainError::invalid(
                            at("measure"),
                            format!("measure {measure} is of component {other}, not {component}"),
                        ));
                    }
                    Err(None) => {
                        return Err(DomainError::invalid(
                            at("measure"),
                            format!(
                                "{measure:?} is not a PNRR measure code: M2C4I3.1, M1C1R1.1, Investimento 3.1 or Riforma 1.1"
                            ),
                        ));
                    }
                };
                programme = component;
            }
            "EU-2021-2027" => {
                not_for("mission", l.mission.as_deref(), "PNRR")?;
                fund = one_of(
                    &at("fund"),
                    l.fund.as_deref().unwrap_or_default(),
                    &EU_FUNDS,
                    "a 2021-2027 EU fund",
                )?;
                if programme.is_empty() {
                    return Err(DomainError::invalid(
                        at("programme"),
                        "an EU-2021-2027 line needs its programme (e.g. PR FESR Piemonte 2021-2027)",
                    ));
                }
            }
            other => {
                not_for("mission", l.mission.as_deref(), "PNRR")?;
                not_for("fund", l.fund.as_deref(), "EU-2021-2027")?;
                if other == "OTHER" && programme.is_empty() {
                    return Err(DomainError::invalid(
                        at("programme"),
                        "is needed to say what an OTHER funding source is",
                    ));
                }
            }
        }
        if spent_cents > committed_cents {
            return Err(DomainError::invalid(
                at("spent_cents"),
                format!(
                    "spent ({spent_cents} cents) exceeds committed ({committed_cents} cents): a payment follows a commitment"
                ),
            ));
        }
        let (agreement, commitment_id) = match (
            given(l.agreement.as_deref()),
            given(l.commitment_id.as_deref()),
        ) {
            (None, None) => (String::new(), String::new()),
            (Some(_), None) => {
                return Err(DomainError::invalid(
                    at("commitment_id"),
                    "is needed with agreement: the commitment this line records",
                ));
            }
            (None, Some(_)) => {
                return Err(DomainError::invalid(
                    at("agreement"),
                    "is needed with commitment_id: the agreement the commitment is in",
                ));
            }
            (Some(g), Some(c)) => (uuid(&at("agreement"), g)?, uuid(&at("commitment_id"), c)?),
        };
        if !commitment_id.is_empty()
            && let Some(j) = out
                .iter()
                .position(|o| o.agreement == agreement && o.commitment_id == commitment_id)
        {
            return Err(DomainError::invalid(
                at("commitment_id"),
                format!(
                    "commitment {commitment_id} is already recorded by {field}[{j}]: a commitment counts once"
                ),
            ));
        }
        out.push(pb::FundingLine {
            source,
            programme,
            measure,
            planned_cents,
            committed_cents,
            spent_cents,
            mission,
            fund,
            agreement,
            commitment_id,
        });
    }
    Ok(out)
}

/// A UUID, in its canonical lower-case hyphenated form.
fn uuid(field: &str, s: &str) -> Result<String, DomainError> {
    uuid::Uuid::parse_str(s.trim())
        .map(|u| u.to_string())
        .map_err(|_| DomainError::invalid(field, format!("{s:?} is not an id (a UUID)")))
}

/// A trimmed, non-empty text of at most 40 characters, without control characters.
fn short_text(field: &str, s: &str) -> Result<String, DomainError> {
    let t = required_text(field, s)?;
    if t.chars().count() > 40 || t.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            format!("{s:?} is not a code: 1-40 characters, no control characters"),
        ));
    }
    Ok(t)
}

/// Links to planning instruments: an instrument code each (`PTGM`, `PUMS`, `DUP`, ...,
/// stored in capitals), the effect's state when stated (one of [`EFFECT_STATES`]), and
/// for a `DUP` link the DUP objective the action became. The same instrument, section
/// and objective are linked once.
pub(crate) fn instrument_links(
    field: &str,
    links: &[InstrumentLinkInput],
) -> Result<Vec<pb::InstrumentLink>, DomainError> {
    let mut out: Vec<pb::InstrumentLink> = Vec::with_capacity(links.len());
    for (i, l) in links.iter().enumerate() {
        let at = |f: &str| format!("{field}[{i}].{f}");
        let instrument = short_code(&at("instrument"), &l.instrument)?.to_uppercase();
        let state = match given(l.state.as_deref()) {
            None => String::new(),
            Some(s) => one_of(&at("state"), s, &EFFECT_STATES, "an effect's state")?,
        };
        let dup_objective = match &l.dup_objective {
            None => None,
            Some(o) => {
                let at = |f: &str| at(&format!("dup_objective.{f}"));
                let objective = pb::DupObjective {
                    level: one_of(
                        &at("level"),
                        &o.level,
                        &DUP_LEVELS,
                        "a DUP objective's level",
                    )?,
                    code: short_text(&at("code"), &o.code)?,
                    title: required_text(&at("title"), &o.title)?,
                };
                if instrument != "DUP" {
                    return Err(DomainError::invalid(
                        format!("{field}[{i}].dup_objective"),
                        format!("a DUP objective belongs on a DUP link, not a {instrument} one"),
                    ));
                }
                Some(objective)
            }
        };
        let link = pb::InstrumentLink {
            instrument,
            section: optional_text(l.section.as_deref()),
            effect: optional_text(l.effect.as_deref()),
            state,
            dup_objective,
        };
        let objective = |x: &pb::InstrumentLink| x.dup_objective.as_ref().map(|o| o.code.clone());
        if let Some(j) = out.iter().position(|o| {
            o.instrument == link.instrument
                && o.section == link.section
                && objective(o) == objective(&link)
        }) {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                format!(
                    "{} {:?} is already linked by {field}[{j}]: change that link instead",
                    link.instrument, link.section
                ),
            ));
        }
        out.push(link);
    }
    Ok(out)
}

/// A 1-based place.
pub(crate) fn position(field: &str, v: i64) -> Result<u32, DomainError> {
    u32::try_from(v)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| DomainError::invalid(field, format!("{v} is not a place: 1 or more")))
}

/// The numeric parts of a dotted code, for ordering `1.10` after `1.9`.
pub(crate) fn code_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// Orders dotted codes by their numeric parts.
pub(crate) fn cmp_codes(a: &str, b: &str) -> Ordering {
    code_key(a).cmp(&code_key(b))
}

/// The last part of a dotted code as a number (`2.1.3` → 3).
pub(crate) fn last_part(code: &str) -> u32 {
    code_key(code).last().copied().unwrap_or(0)
}

/// Checks that `start` is not after `end` (both stored date strings, either empty).
pub(crate) fn ordered_dates(
    start_field: &str,
    start: &str,
    end_field: &str,
    end: &str,
) -> Result<(), DomainError> {
    if let (Some(s), Some(e)) = (stored_date(start), stored_date(end))
        && s > e
    {
        return Err(DomainError::invalid(
            start_field,
            format!("{start_field} {s} is after {end_field} {e}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_must_not_be_negative_and_name_their_field() {
        let lines = vec![FundingLineInput {
            source: "OWN".into(),
            planned_cents: 100,
            committed_cents: 500,
            spent_cents: -1,
            ..Default::default()
        }];
        let err = funding_lines("funding_lines", &lines).unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { ref field, .. } if field == "funding_lines[0].spent_cents")
        );
    }

    fn line(source: &str) -> FundingLineInput {
        FundingLineInput {
            source: source.into(),
            ..Default::default()
        }
    }

    fn invalid_field(r: Result<impl std::fmt::Debug, DomainError>) -> String {
        match r.unwrap_err() {
            DomainError::Invalid { field, .. } => field,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_pnrr_line_has_its_mission_component_and_canonical_measure_code() {
        for measure in ["Investimento 3.1", "M2C4I3.1", "m2c4 - i3.1", "I3.1"] {
            let l = FundingLineInput {
                programme: Some("m2c4".into()),
                measure: Some(measure.into()),
                ..line("pnrr")
            };
            let out = funding_lines("funding_lines", &[l]).unwrap();
            assert_eq!(
                (
                    out[0].source.as_str(),
                    out[0].mission.as_str(),
                    out[0].programme.as_str(),
                    out[0].measure.as_str()
                ),
                ("PNRR", "M2", "M2C4", "M2C4I3.1"),
                "{measure}"
            );
        }
        let reform = FundingLineInput {
            programme: Some("M1C1".into()),
            measure: Some("Riforma 1.1".into()),
            mission: Some("M1".into()),
            ..line("PNRR")
        };
        assert_eq!(
            funding_lines("f", &[reform]).unwrap()[0].measure,
            "M1C1R1.1"
        );
    }

    #[test]
    fn a_pnrr_line_without_component_or_measure_or_with_a_contradiction_is_invalid() {
        let base = FundingLineInput {
            programme: Some("M2C4".into()),
            measure: Some("M2C4I3.1".into()),
            ..line("PNRR")
        };
        let with = |f: &dyn Fn(&mut FundingLineInput)| {
            let mut l = base.clone();
            f(&mut l);
            funding_lines("funding_lines", &[l])
        };
        assert_eq!(
            invalid_field(with(&|l| l.programme = Some("M7C1".into()))),
            "funding_lines[0].programme"
        );
        assert_eq!(
            invalid_field(with(&|l| l.measure = None)),
            "funding_lines[0].measure"
        );
        assert_eq!(
            invalid_field(with(&|l| l.measure = Some("Misura tre".into()))),
            "funding_lines[0].measure"
        );
        assert_eq!(
            invalid_field(with(&|l| l.measure = Some("M2C1I3.1".into()))),
            "funding_lines[0].measure"
        );
        assert_eq!(
            invalid_field(with(&|l| l.mission = Some("M3".into()))),
            "funding_lines[0].mission"
        );
        assert_eq!(
            invalid_field(with(&|l| l.fund = Some("FESR".into()))),
            "funding_lines[0].fund"
        );
    }

    #[test]
    fn an_eu_line_needs_its_fund_and_programme() {
        let ok = FundingLineInput {
            fund: Some("fse+".into()),
            programme: Some("PR FSE+ Piemonte 2021-2027".into()),
            ..line("EU-2021-2027")
        };
        assert_eq!(
            funding_lines("f", std::slice::from_ref(&ok)).unwrap()[0].fund,
            "FSE+"
        );
        let no_fund = FundingLineInput {
            fund: None,
            ..ok.clone()
        };
        assert_eq!(invalid_field(funding_lines("f", &[no_fund])), "f[0].fund");
        let no_programme = FundingLineInput {
            programme: None,
            ..ok
        };
        assert_eq!(
            invalid_field(funding_lines("f", &[no_programme])),
            "f[0].programme"
        );
        assert_eq!(
            invalid_field(funding_lines("f", &[line("EU")])),
            "f[0].source"
        );
        assert_eq!(
            invalid_field(funding_lines("f", &[line("OTHER")])),
            "f[0].programme"
        );
        assert!(funding_lines("f", &[line("OWN"), line("REGIONAL"), line("PRIVATE")]).is_ok());
    }

    #[test]
    fn spent_may_not_exceed_committed_and_a_commitment_is_recorded_once() {
        let over = FundingLineInput {
            committed_cents: 10,
            spent_cents: 11,
            ..line("OWN")
        };
        assert_eq!(
            invalid_field(funding_lines("f", &[over])),
            "f[0].spent_cents"
        );
        let g = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d03";
        let c = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d04";
        let recorded = FundingLineInput {
            agreement: Some(g.into()),
            commitment_id: Some(c.into()),
            ..line("OWN")
        };
        assert_eq!(
            funding_lines("f", std::slice::from_ref(&recorded)).unwrap()[0].commitment_id,
            c
        );
        assert_eq!(
            invalid_field(funding_lines("f", &[recorded.clone(), recorded.clone()])),
            "f[1].commitment_id"
        );
        let half = FundingLineInput {
            commitment_id: None,
            ..recorded
        };
        assert_eq!(
            invalid_field(funding_lines("f", &[half])),
            "f[0].commitment_id"
        );
    }

    #[test]
    fn instrument_links_state_their_effect_and_dup_links_the_objective() {
        let dup = InstrumentLinkInput {
            instrument: "dup".into(),
            section: Some("Missione 9".into()),
            state: Some("in_progress".into()),
            dup_objective: Some(metroplan_api::plan::DupObjectiveInput {
                level: "operational".into(),
                code: "OP 9.2".into(),
                title: "Esempio di obiettivo operativo".into(),
            }),
            ..Default::default()
        };
        let out = instrument_links("instrument_links", std::slice::from_ref(&dup)).unwrap();
        assert_eq!(out[0].instrument, "DUP");
        assert_eq!(out[0].state, "in_progress");
        assert_eq!(out[0].dup_objective.as_ref().unwrap().code, "OP 9.2");
        let bad_state = InstrumentLinkInput {
            state: Some("done".into()),
            ..dup.clone()
        };
        assert_eq!(
            invalid_field(instrument_links("instrument_links", &[bad_state])),
            "instrument_links[0].state"
        );
        let mut bad_level = dup.clone();
        bad_level.dup_objective.as_mut().unwrap().level = "tactical".into();
        assert_eq!(
            invalid_field(instrument_links("instrument_links", &[bad_level])),
            "instrument_links[0].dup_objective.level"
        );
        let on_ptgm = InstrumentLinkInput {
            instrument: "PTGM".into(),
            ..dup.clone()
        };
        assert_eq!(
            invalid_field(instrument_links("instrument_links", &[on_ptgm])),
            "instrument_links[0].dup_objective"
        );
        assert_eq!(
            invalid_field(instrument_links("instrument_links", &[dup.clone(), dup])),
            "instrument_links[1]"
        );
    }

    #[test]
    fn codes_order_by_number() {
        assert_eq!(cmp_codes("1.10", "1.9"), Ordering::Greater);
        assert_eq!(last_part("2.1.3"), 3);
    }

    #[test]
    fn dates_are_canonical_and_empty_clears() {
        assert_eq!(
            optional_date("d", Some(" 2022-03-01 ")).unwrap(),
            "2022-03-01"
        );
        assert_eq!(optional_date("d", Some("")).unwrap(), "");
        assert!(optional_date("d", Some("2022-3-1x")).is_err());
    }
}
