//! The report as one standalone, printable HTML page: inline CSS, charts as inline SVG,
//! every text escaped by `maud` (no hand-written escaping).

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::money::italian;
use crate::text::*;
use crate::{Report, status_label};

const CSS: &str = r#"
body{font-family:"Helvetica Neue",Helvetica,Arial,sans-serif;color:#222;margin:2rem auto;max-width:60rem;line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #2a72bf;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#eef3f9}td.n{text-align:right;white-space:nowrap}.meta{color:#555;font-size:.85rem}.empty{font-style:italic;color:#666}
.legend span{display:inline-block;margin-right:1rem;font-size:.8rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
figure{margin:.5rem 0}svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,figure{break-inside:avoid}}
"#;

/// The report as a standalone HTML page.
pub fn render_html(report: &Report) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading(report)) " (" (report.period.from()) " – " (report.period.to()) ")" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { (heading(report)) }
                    p { strong { (period_line(report)) } }
                    p.meta { (provenance(report)) }
                }
                (indicators(report))
                (actions(report))
                (instruments(report))
                (questionnaires(report))
                (funding(report))
            }
        }
    };
    page.into_string()
}

fn empty() -> Markup {
    html! { p.empty { (NO_DATA) } }
}

fn indicators(report: &Report) -> Markup {
    html! {
        section #indicatori {
            h2 { "Indicatori di contesto" }
            @if report.indicators.is_empty() { (empty()) } @else {
                table {
                    thead { tr {
                        th { "Codice" } th { "Indicatore" } th { "Strategia" } th { "Base" }
                        th { "Obiettivo" } th { "Ultimo valore" } th { "Andamento" }
                        th { "Rispetto all'obiettivo" } th { "Regola" }
                    } }
                    tbody {
                        @for i in &report.indicators { tr {
                            td { (i.code) } td { (i.name) @if !i.unit.is_empty() { " (" (i.unit) ")" }
                                @if i.retired { " (ritirato: " (i.retired_reason) ")" } }
                            td { (i.strategy) }
                            td.n { (i.baseline_value) " (" (i.baseline_year) ")" }
                            td.n { (i.target_value) " (" (i.target_year) ")" }
                            td.n { @if let Some(l) = &i.latest { (l.value) " (" (l.period) ")" } @else { "–" } }
                            td { (trend_label(&i.trend)) } td { (on_track_label(&i.on_track)) }
                            td { (i.rule_version) }
                        } }
                    }
                }
                @for i in &report.indicators {
                    @if let Some(chart) = indicator_chart(i) {
                        figure { (trend_svg(&chart)) figcaption.meta { (i.code) ": " (i.name) } }
                    }
                }
            }
        }
    }
}

fn trend_svg(chart: &Chart) -> Markup {
    let (w, h, pad) = (480.0, 160.0, 30.0);
    let n = chart.points.len();
    let x = |k: usize| {
        if n == 1 {
            w / 2.0
        } else {
            pad + (w - 2.0 * pad) * k as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v - chart.min) / (chart.max - chart.min);
    let points: Vec<String> = chart
        .points
        .iter()
        .enumerate()
        .map(|(k, (_, v))| format!("{:.1},{:.1}", x(k), y(*v)))
        .collect();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height=(h) viewBox={"0 0 " (w) " " (h)} role="img" {
            line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) stroke="#999" {}
            @if let Some(t) = chart.target {
                line x1=(pad) y1=(format!("{:.1}", y(t))) x2=(w - pad) y2=(format!("{:.1}", y(t))) stroke="#2f9a4d" stroke-dasharray="4 3" {}
                text x=(w - pad) y=(format!("{:.1}", y(t) - 3.0)) font-size="10" text-anchor="end" fill="#2f9a4d" { "obiettivo " (t) }
            }
            polyline points=(points.join(" ")) fill="none" stroke="#2a72bf" stroke-width="2" {}
            @for (k, (period, v)) in chart.points.iter().enumerate() {
                circle cx=(format!("{:.1}", x(k))) cy=(format!("{:.1}", y(*v))) r="3" fill="#2a72bf" {}
                text x=(format!("{:.1}", x(k))) y=(h - pad + 14.0) font-size="10" text-anchor="middle" { (period) }
                text x=(format!("{:.1}", x(k))) y=(format!("{:.1}", y(*v) - 6.0)) font-size="10" text-anchor="middle" { (v) }
            }
        }
    }
}

fn actions(report: &Report) -> Markup {
    let statuses = statuses(report);
    html! {
        section #azioni {
            h2 { "Stato di attuazione delle azioni" }
            @if report.status_by_axis.iter().all(|a| a.counts.iter().all(|c| c.actions == 0)) { (empty()) } @else {
                (status_svg(report, &statuses))
                p.legend { @for s in &statuses {
                    span { i style={"background:" (hex(status_rgb(s)))} {} (status_label(s)) }
                } }
            }
            @if report.actions.is_empty() { (empty()) } @else {
                table {
                    thead { tr {
                        th { "Codice" } th { "Azione" } th { "Asse" } th { "Competenza" } th { "Stato" }
                        th { "Avanzamento" } th { "Al" } th { "Responsabili" } th { "Date previste" }
                        th { "Previsto" } th { "Impegnato" } th { "Speso" }
                    } }
                    tbody {
                        @for a in &report.actions { tr {
                            td { (a.code) } td { (a.title) } td { (a.axis) } td { (competence_label(&a.competence)) }
                            td { (status_label(&a.status)) } td.n { (a.progress) " %" }
                            td { (a.status_as_of) } td { (a.responsible_organisations.join("; ")) }
                            td { (a.planned_start) " – " (a.planned_end) }
                            td.n { (italian(a.planned_cents)) } td.n { (italian(a.committed_cents)) }
                            td.n { (italian(a.spent_cents)) }
                        } }
                    }
                }
            }
        }
    }
}

fn status_svg(report: &Report, statuses: &[String]) -> Markup {
    let rows = &report.status_by_axis;
    let most = rows
        .iter()
        .map(|a| a.counts.iter().map(|c| c.actions).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, bar, gap, label) = (480.0, 18.0, 8.0, 60.0);
    let h = rows.len() as f64 * (bar + gap) + gap;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height=(h) viewBox={"0 0 " (w) " " (h)} role="img" {
            @for (k, axis) in rows.iter().enumerate() {
                @let top = gap + k as f64 * (bar + gap);
                text x="0" y=(top + bar - 5.0) font-size="11" { "Asse " (axis.axis) }
                @for (s, n, left, width) in segments(axis, statuses, label, (w - label - 10.0) / most as f64) {
                    rect x=(format!("{left:.1}")) y=(top) width=(format!("{width:.1}")) height=(bar) fill=(hex(status_rgb(s))) {
                        title { (status_label(s)) ": " (n) }
                    }
                    text x=(format!("{:.1}", left + width / 2.0)) y=(top + bar - 5.0) font-size="10" text-anchor="middle" { (n) }
                }
            }
        }
    }
}

/// The bars of one axis: (status, count, left, width), `scale` points per action.
fn segments<'a>(
    axis: &crate::AxisStatus,
    statuses: &'a [String],
    start: f64,
    scale: f64,
) -> Vec<(&'a str, u64, f64, f64)> {
    let mut left = start;
    let mut out = Vec::new();
    for s in statuses {
        let n = count(&axis.counts, s);
        if n > 0 {
            let width = scale * n as f64;
            out.push((s.as_str(), n, left, width));
            left += width;
        }
    }
    out
}

fn instruments(report: &Report) -> Markup {
    let i = &report.instruments;
    html! {
        section #strumenti {
            h2 { "Effetti sugli strumenti di pianificazione" }
            @if i.effects.is_empty() { (empty()) } @else {
                table {
                    thead { tr { th { "Strumento" } th { "Sezione" } th { "Azione" } th { "Effetto" } th { "Stato" } } }
                    tbody { @for e in &i.effects { tr {
                        td { (e.instrument) } td { (e.section) } td { (e.action) } td { (e.effect) }
                        td { (effect_state_label(&e.state)) }
                    } } }
                }
            }
            h3 { "Obiettivi del DUP" }
            @if i.dup_objectives.is_empty() { (empty()) } @else {
                table {
                    thead { tr { th { "Azione" } th { "Livello" } th { "Codice" } th { "Obiettivo" } } }
                    tbody { @for o in &i.dup_objectives { tr {
                        td { (o.action) } td { (o.level) } td { (o.code) } td { (o.title) }
                    } } }
                }
            }
        }
    }
}

fn questionnaires(report: &Report) -> Markup {
    html! {
        section #questionari {
            h2 { "Risultati dei questionari" }
            @if report.questionnaires.is_empty() { (empty()) } @else {
                @for c in &report.questionnaires {
                    h3 { (c.title) " (" (c.campaign) ")" }
                    p.meta { "Risposte: " (c.answered) " su " (c.invited) " invitati; stato: " (c.status) }
                    table {
                        thead { tr { th { "Domanda" } th { "Riferimento" } th { "Risposte" } th { "Media" } th { "Scelte" } } }
                        tbody { @for q in &c.questions { @for a in &q.aggregates { tr {
                            td { (q.text) } td { (a.subject) } td.n { (a.answers) } td.n { (a.mean) }
                            td { @for (k, ch) in a.choices.iter().enumerate() {
                                @if k > 0 { "; " } (ch.option) ": " (ch.count)
                            } }
                        } } } }
                    }
                }
            }
        }
    }
}

fn funding(report: &Report) -> Markup {
    let f = &report.funding;
    html! {
        section #finanziamenti {
            h2 { "Finanziamenti" }
            @if f.is_empty() { (empty()) } @else {
                p { "Totale previsto " strong { (italian(f.totals.planned_cents)) } ", impegnato "
                    strong { (italian(f.totals.committed_cents)) } ", speso " strong { (italian(f.totals.spent_cents)) }
                    "; dell'impegnato, " (italian(f.agreements_committed_cents)) " da impegni di accordi non registrati nelle linee"
                    @if !f.rule_version.is_empty() { " (regola " (f.rule_version) ")" } "." }
                (funding_svg(report))
                p.legend { @for (k, l) in AMOUNT_LABELS.iter().enumerate() {
                    span { i style={"background:" (hex(AMOUNT_RGB[k]))} {} (l) }
                } }
                @for (title, rows) in [("Per fonte", &f.by_source), ("Per asse", &f.by_axis)] {
                    h3 { (title) }
                    table {
                        thead { tr { th { "Codice" } th { "Nome" } th { "Previsto" } th { "Impegnato" } th { "Speso" } } }
                        tbody { @for r in rows { tr {
                            td { (r.key) } td { (r.name) } td.n { (italian(r.amounts.planned_cents)) }
                            td.n { (italian(r.amounts.committed_cents)) } td.n { (italian(r.amounts.spent_cents)) }
                        } } }
                    }
                }
            }
        }
    }
}

fn funding_svg(report: &Report) -> Markup {
    let rows = &report.funding.by_source;
    let most = rows
        .iter()
        .flat_map(|r| {
            [
                r.amounts.planned_cents,
                r.amounts.committed_cents,
                r.amounts.spent_cents,
            ]
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, bar, label) = (480.0, 8.0, 110.0);
    let group = 3.0 * bar + 10.0;
    let h = rows.len() as f64 * group + 10.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height=(h) viewBox={"0 0 " (w) " " (h)} role="img" {
            @for (k, r) in rows.iter().enumerate() {
                @let top = 5.0 + k as f64 * group;
                text x="0" y=(top + 2.0 * bar) font-size="11" { (r.key) }
                @for (j, cents) in [r.amounts.planned_cents, r.amounts.committed_cents, r.amounts.spent_cents].into_iter().enumerate() {
                    // Bar lengths only: the amounts themselves are written from cents.
                    @let width = (w - label - 10.0) * cents.max(0) as f64 / most as f64;
                    rect x=(label) y=(top + j as f64 * bar) width=(format!("{width:.1}")) height=(bar - 1.0) fill=(hex(AMOUNT_RGB[j])) {
                        title { (AMOUNT_LABELS[j]) ": " (italian(cents)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn the_page_holds_the_title_the_period_the_codes_and_escapes_hostile_text() {
        let page = render_html(&sample::full());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("Torino Metropoli aumentata"));
        assert!(page.contains("Città metropolitana di Torino"));
        assert!(page.contains("dal 2022-01-01 al 2022-12-31"));
        assert!(page.contains("2.1.3") && page.contains("1.1.1"));
        assert!(page.contains("1.234.567,89 €"));
        assert!(!page.contains("<script>alert"), "hostile text is escaped");
        assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; più"));
        assert!(page.contains("<svg") && page.contains("<polyline") && page.contains("<rect"));
        assert_eq!(
            page.matches(NO_DATA).count(),
            2,
            "no DUP objectives, no questionnaire"
        );
    }

    #[test]
    fn an_empty_report_says_so_in_every_section() {
        let page = render_html(&sample::empty());
        assert!(page.contains("Torino Metropoli aumentata"));
        // Indicators, status chart, actions, effects, DUP objectives, questionnaires, funding.
        assert_eq!(page.matches(NO_DATA).count(), 7);
        assert!(!page.contains("<svg"));
    }
}
