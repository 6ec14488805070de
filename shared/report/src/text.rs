//! The words both renderings share: Italian labels, headings and chart geometry.

use crate::{IndicatorLine, Report, STATUSES};

pub const NO_DATA: &str = "Nessun dato per questo periodo.";

pub fn heading(report: &Report) -> String {
    format!("Rapporto di monitoraggio – {}", report.plan.title)
}

pub fn period_line(report: &Report) -> String {
    format!(
        "Periodo: dal {} al {}",
        report.period.from(),
        report.period.to()
    )
}

pub fn provenance(report: &Report) -> String {
    format!(
        "Piano {} di {}. Generato il {} dal registro degli eventi fino alla posizione {}.",
        report.plan.code, report.plan.owner, report.generated_at, report.position
    )
}

pub fn trend_label(trend: &str) -> &str {
    match trend {
        "improving" => "in miglioramento",
        "worsening" => "in peggioramento",
        "steady" => "stabile",
        "insufficient_data" => "dati insufficienti",
        other => other,
    }
}

pub fn on_track_label(on_track: &str) -> &str {
    match on_track {
        "on_track" => "in linea con l'obiettivo",
        "off_track" => "non in linea",
        "achieved" => "obiettivo raggiunto",
        "not_assessable" => "non valutabile",
        other => other,
    }
}

pub fn competence_label(competence: &str) -> &str {
    match competence {
        "direct" => "diretta",
        "steering" => "di indirizzo",
        other => other,
    }
}

pub fn effect_state_label(state: &str) -> &str {
    match state {
        "" => "non indicato",
        "planned" => "previsto",
        "in_progress" => "in corso",
        "achieved" => "raggiunto",
        "not_pursued" => "non perseguito",
        other => other,
    }
}

/// The colour of a status in the charts, as RGB in 0..=1.
pub fn status_rgb(status: &str) -> (f32, f32, f32) {
    match status {
        "not_started" => (0.74, 0.74, 0.74),
        "started" => (0.55, 0.75, 0.93),
        "in_progress" => (0.16, 0.45, 0.75),
        "completed" => (0.20, 0.60, 0.30),
        "suspended" => (0.93, 0.65, 0.20),
        "cancelled" => (0.75, 0.22, 0.20),
        _ => (0.5, 0.5, 0.5),
    }
}

pub fn hex((r, g, b): (f32, f32, f32)) -> String {
    // Colour channels in 0..=1 to a byte each: display only.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let byte = |c: f32| (c.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// The amount colours of the funding chart: planned, committed, spent.
pub const AMOUNT_RGB: [(f32, f32, f32); 3] =
    [(0.70, 0.80, 0.90), (0.16, 0.45, 0.75), (0.10, 0.25, 0.45)];
pub const AMOUNT_LABELS: [&str; 3] = ["Previsto", "Impegnato", "Speso"];

/// The count of `status` in an axis row.
pub fn count(counts: &[crate::StatusCount], status: &str) -> u64 {
    counts
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.actions)
        .sum()
}

/// The statuses to draw: the known ones, then any other a row holds.
pub fn statuses(report: &Report) -> Vec<String> {
    let mut all: Vec<String> = STATUSES.iter().map(|s| (*s).to_owned()).collect();
    for c in report.status_by_axis.iter().flat_map(|a| &a.counts) {
        if !all.contains(&c.status) {
            all.push(c.status.clone());
        }
    }
    all
}

/// An indicator's values as chart coordinates: (index, value) with the baseline and
/// target folded into the scale. Decimal texts become floats here only to be drawn.
pub struct Chart {
    pub points: Vec<(String, f64)>,
    pub min: f64,
    pub max: f64,
    pub target: Option<f64>,
}

pub fn indicator_chart(i: &IndicatorLine) -> Option<Chart> {
    let points: Vec<(String, f64)> = i
        .series
        .iter()
        .filter_map(|p| Some((p.period.clone(), p.value.parse::<f64>().ok()?)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let baseline = i.baseline_value.parse::<f64>().ok();
    let target = i.target_value.parse::<f64>().ok();
    let all = points
        .iter()
        .map(|p| p.1)
        .chain(baseline)
        .chain(target)
        .filter(|v| v.is_finite());
    let (mut min, mut max) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if (max - min).abs() < f64::EPSILON {
        min -= 1.0;
        max += 1.0;
    }
    Some(Chart {
        points,
        min,
        max,
        target,
    })
}
