//! The report as a PDF drawn on the server in pure Rust with `pdf-writer`.
//!
//! The choice: the standard Type1 fonts (Helvetica and Helvetica-Bold), which every PDF
//! reader carries, in WinAnsiEncoding, which holds every letter of Italian text (`à è
//! é ì ò ù`) and the euro sign; no font file is embedded, so the document stays small
//! and no font ships with the server. Text is measured with Helvetica's metrics,
//! wrapped to the column and paginated; charts (action status per axis, indicator
//! trends, funding by source) are vector paths. A character outside WinAnsi prints as
//! `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::money::italian;
use crate::text::*;
use crate::{Report, status_label};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const BOTTOM: f32 = 60.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// The report as a PDF document (A4 pages).
pub fn render_pdf(report: &Report) -> Vec<u8> {
    let mut doc = Doc::new();
    doc.paragraph("Rapporto di monitoraggio", 13.0, true, (0.3, 0.3, 0.3));
    doc.paragraph(&report.plan.title, 22.0, true, (0.08, 0.25, 0.45));
    doc.paragraph(&period_line(report), 13.0, true, (0.0, 0.0, 0.0));
    doc.paragraph(&provenance(report), 9.0, false, (0.33, 0.33, 0.33));
    indicators(&mut doc, report);
    actions(&mut doc, report);
    instruments(&mut doc, report);
    questionnaires(&mut doc, report);
    funding(&mut doc, report);
    doc.finish(report)
}

/// Helvetica's advance width of `c` in thousandths of the font size (its AFM metrics;
/// accented letters as their base letter).
fn advance(c: char) -> u16 {
    const ASCII: [u16; 95] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722,
        722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
        667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556,
        556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,
        500, 334, 260, 334, 584,
    ];
    match c {
        ' '..='~' => ASCII[c as usize - 32],
        'À'..='Å' | 'È'..='Ë' | 'Ý' | 'Þ' => 667,
        'Ç' | 'Ð' | 'Ñ' | 'Ù'..='Ü' => 722,
        'Ò'..='Ö' | 'Ø' => 778,
        'Ì'..='Ï' | 'ì'..='ï' => 278,
        'Æ' | '—' | '…' | '‰' => 1000,
        'æ' => 889,
        'ç' | 'ý' | 'ÿ' => 500,
        'ß' | 'ø' => 611,
        '’' | '‘' => 222,
        '“' | '”' | '«' | '»' => 333,
        '•' => 350,
        '°' => 400,
        '×' | '÷' => 584,
        _ => 556,
    }
}

/// The width of `text` at `size` points; bold text is taken a tenth wider (enough for
/// Helvetica-Bold, whose letters are at most that much wider).
fn measure(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = text.chars().map(|c| u32::from(advance(c))).sum();
    let w = units as f32 * size / 1000.0;
    if bold { w * 1.1 } else { w }
}

/// `text` in WinAnsiEncoding: Latin-1 as is, the Windows-1252 extras mapped, anything
/// else `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‰' => 0x89,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '\t' | '\n' | '\r' => b' ',
            _ => b'?',
        })
        .collect()
}

/// `text` broken into lines of at most `width` points, at spaces where it can.
fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if measure(&candidate, size, bold) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word wider than the column is cut where it must be.
        for c in word.chars() {
            if !line.is_empty() && measure(&format!("{line}{c}"), size, bold) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

type Rgb = (f32, f32, f32);

/// Pages being written, top to bottom, with the cursor's height on the last one.
struct Doc {
    pages: Vec<Content>,
    y: f32,
}

/// One column of a table: its width and whether its cells are right-aligned.
struct Col {
    title: &'static str,
    width: f32,
    right: bool,
}

const fn col(title: &'static str, width: f32) -> Col {
    Col {
        title,
        width,
        right: false,
    }
}

const fn num(title: &'static str, width: f32) -> Col {
    Col {
        title,
        width,
        right: true,
    }
}

impl Doc {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: PAGE_H - MARGIN,
        }
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page when less than `height` is left on this one.
    fn room(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.pages.push(Content::new());
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text_at(&mut self, x: f32, y: f32, text: &str, size: f32, bold: bool, rgb: Rgb) {
        let bytes = win_ansi(text);
        let font = if bold { BOLD } else { REGULAR };
        self.page()
            .set_fill_rgb(rgb.0, rgb.1, rgb.2)
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, rgb: Rgb) {
        let leading = size * 1.3;
        for line in wrap(text, size, bold, WIDTH) {
            self.room(leading);
            self.y -= leading;
            self.text_at(MARGIN, self.y + size * 0.25, &line, size, bold, rgb);
        }
        self.y -= size * 0.3;
    }

    fn heading(&mut self, text: &str) {
        // Keep a heading with at least a few lines of what follows.
        self.room(80.0);
        self.y -= 10.0;
        self.paragraph(text, 14.0, true, (0.08, 0.25, 0.45));
        let y = self.y + 2.0;
        self.page()
            .set_stroke_rgb(0.16, 0.45, 0.75)
            .set_line_width(1.2)
            .move_to(MARGIN, y)
            .line_to(MARGIN + WIDTH, y)
            .stroke();
        self.y -= 6.0;
    }

    fn no_data(&mut self) {
        self.paragraph(NO_DATA, 10.0, false, (0.4, 0.4, 0.4));
    }

    /// A table whose cells wrap within their columns; the header repeats on each page.
    fn table(&mut self, cols: &[Col], rows: &[Vec<String>]) {
        const SIZE: f32 = 8.0;
        const LEADING: f32 = 10.0;
        let header: Vec<String> = cols.iter().map(|c| c.title.to_owned()).collect();
        self.row(cols, &header, true, SIZE, LEADING);
        for row in rows {
            let height = row_height(cols, row, SIZE, LEADING);
            if self.y - height < BOTTOM {
                self.room(height + 2.0 * LEADING);
                self.row(cols, &header, true, SIZE, LEADING);
            }
            self.row(cols, row, false, SIZE, LEADING);
        }
        self.y -= 8.0;
    }

    fn row(&mut self, cols: &[Col], cells: &[String], bold: bool, size: f32, leading: f32) {
        let height = row_height(cols, cells, size, leading);
        self.room(height);
        let top = self.y;
        if bold {
            self.page()
                .set_fill_rgb(0.93, 0.95, 0.98)
                .rect(MARGIN, top - height, WIDTH, height)
                .fill_nonzero();
        }
        let mut x = MARGIN;
        for (c, cell) in cols.iter().zip(cells) {
            for (k, line) in wrap(cell, size, bold, c.width - 4.0).iter().enumerate() {
                let lx = if c.right {
                    x + c.width - 2.0 - measure(line, size, bold)
                } else {
                    x + 2.0
                };
                let ly = top - leading * (k as f32 + 1.0) + 2.0;
                self.text_at(lx, ly, line, size, bold, (0.1, 0.1, 0.1));
            }
            x += c.width;
        }
        self.y = top - height;
        let y = self.y;
        self.page()
            .set_stroke_rgb(0.8, 0.8, 0.8)
            .set_line_width(0.4)
            .move_to(MARGIN, y)
            .line_to(MARGIN + WIDTH, y)
            .stroke();
    }

    /// Writes the pages, each with its footer, the fonts and the document's title.
    fn finish(mut self, report: &Report) -> Vec<u8> {
        let total = self.pages.len();
        let footer = format!(
            "{} – {} ({} – {})",
            report.plan.title,
            report.plan.code,
            report.period.from(),
            report.period.to()
        );
        let bytes_footer = win_ansi(&footer);
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first = 6;
        let page_ids: Vec<Ref> = (0..total)
            .map(|k| Ref::new(first + 2 * i32::try_from(k).unwrap_or(0)))
            .collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(i32::try_from(total).unwrap_or(i32::MAX));
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        let title = format!("{} – {}", heading(report), report.period);
        pdf.document_info(info)
            .title(TextStr(&title))
            .author(TextStr(&report.plan.owner))
            .producer(TextStr("metroplan"));
        for (k, mut content) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let number = win_ansi(&format!("Pagina {} di {total}", k + 1));
            content
                .set_fill_rgb(0.4, 0.4, 0.4)
                .begin_text()
                .set_font(REGULAR, 8.0)
                .next_line(MARGIN, 30.0)
                .show(Str(&bytes_footer))
                .end_text()
                .begin_text()
                .set_font(REGULAR, 8.0)
                .next_line(PAGE_W - MARGIN - 60.0, 30.0)
                .show(Str(&number))
                .end_text();
            let page_id = page_ids[k];
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
                .parent(tree)
                .contents(content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(REGULAR, regular);
            fonts.pair(BOLD, bold);
            fonts.finish();
            resources.finish();
            page.finish();
            let data = content.finish();
            pdf.stream(content_id, &data);
        }
        pdf.finish()
    }
}

fn row_height(cols: &[Col], cells: &[String], size: f32, leading: f32) -> f32 {
    let lines = cols
        .iter()
        .zip(cells)
        .map(|(c, cell)| wrap(cell, size, false, c.width - 4.0).len().max(1))
        .max()
        .unwrap_or(1);
    lines as f32 * leading + 3.0
}

fn indicators(doc: &mut Doc, report: &Report) {
    doc.heading("Indicatori di contesto");
    if report.indicators.is_empty() {
        return doc.no_data();
    }
    let cols = [
        col("Codice", 70.0),
        col("Indicatore", 150.0),
        num("Base", 55.0),
        num("Obiettivo", 55.0),
        num("Ultimo valore", 60.0),
        col("Andamento (regola)", 105.0),
    ];
    let rows: Vec<Vec<String>> = report
        .indicators
        .iter()
        .map(|i| {
            let unit = if i.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", i.unit)
            };
            vec![
                i.code.clone(),
                if i.retired {
                    format!("{}{unit} (ritirato: {})", i.name, i.retired_reason)
                } else {
                    format!("{}{unit}", i.name)
                },
                format!("{} ({})", i.baseline_value, i.baseline_year),
                format!("{} ({})", i.target_value, i.target_year),
                i.latest
                    .as_ref()
                    .map_or_else(|| "–".to_owned(), |l| format!("{} ({})", l.value, l.period)),
                format!(
                    "{}; {} ({})",
                    trend_label(&i.trend),
                    on_track_label(&i.on_track),
                    i.rule_version
                ),
            ]
        })
        .collect();
    doc.table(&cols, &rows);
    for i in &report.indicators {
        if let Some(chart) = indicator_chart(i) {
            trend_chart(doc, &format!("{}: {}", i.code, i.name), &chart);
        }
    }
}

fn trend_chart(doc: &mut Doc, caption: &str, chart: &Chart) {
    let (h, pad) = (120.0_f32, 24.0_f32);
    doc.room(h + 30.0);
    doc.paragraph(caption, 9.0, true, (0.2, 0.2, 0.2));
    let bottom = doc.y - h;
    let (left, right) = (MARGIN + pad, MARGIN + WIDTH - pad);
    let n = chart.points.len();
    let x = |k: usize| {
        if n == 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * k as f32 / (n - 1) as f32
        }
    };
    // Chart coordinates only: the values themselves are printed as recorded.
    let y = |v: f64| {
        bottom + pad + (h - 2.0 * pad) * ((v - chart.min) / (chart.max - chart.min)) as f32
    };
    doc.page()
        .set_stroke_rgb(0.6, 0.6, 0.6)
        .set_line_width(0.6)
        .move_to(left, bottom + pad)
        .line_to(right, bottom + pad)
        .stroke();
    if let Some(t) = chart.target {
        let ty = y(t);
        doc.page()
            .set_stroke_rgb(0.18, 0.6, 0.3)
            .set_dash_pattern([4.0, 3.0], 0.0)
            .move_to(left, ty)
            .line_to(right, ty)
            .stroke()
            .set_dash_pattern([], 0.0);
        doc.text_at(
            right - 60.0,
            ty + 3.0,
            &format!("obiettivo {t}"),
            7.0,
            false,
            (0.18, 0.6, 0.3),
        );
    }
    {
        let page = doc.page();
        page.set_stroke_rgb(0.16, 0.45, 0.75).set_line_width(1.8);
        for (k, (_, v)) in chart.points.iter().enumerate() {
            if k == 0 {
                page.move_to(x(k), y(*v));
            } else {
                page.line_to(x(k), y(*v));
            }
        }
        page.stroke();
        page.set_fill_rgb(0.16, 0.45, 0.75);
        for (k, (_, v)) in chart.points.iter().enumerate() {
            page.rect(x(k) - 2.0, y(*v) - 2.0, 4.0, 4.0);
        }
        page.fill_nonzero();
    }
    for (k, (period, v)) in chart.points.iter().enumerate() {
        let label_w = measure(period, 7.0, false);
        doc.text_at(
            x(k) - label_w / 2.0,
            bottom + pad - 10.0,
            period,
            7.0,
            false,
            (0.3, 0.3, 0.3),
        );
        let value = v.to_string();
        let value_w = measure(&value, 7.0, false);
        doc.text_at(
            x(k) - value_w / 2.0,
            y(*v) + 5.0,
            &value,
            7.0,
            false,
            (0.1, 0.1, 0.1),
        );
    }
    doc.y = bottom - 6.0;
}

fn actions(doc: &mut Doc, report: &Report) {
    doc.heading("Stato di attuazione delle azioni");
    let statuses = statuses(report);
    let rows = &report.status_by_axis;
    if rows.iter().all(|a| a.counts.iter().all(|c| c.actions == 0)) {
        doc.no_data();
    } else {
        status_chart(doc, report, &statuses);
    }
    if report.actions.is_empty() {
        return doc.no_data();
    }
    let cols = [
        col("Codice", 40.0),
        col("Azione", 150.0),
        col("Stato", 62.0),
        num("Avanz.", 38.0),
        col("Responsabili", 115.0),
        num("Previsto", 90.0),
    ];
    let rows: Vec<Vec<String>> = report
        .actions
        .iter()
        .map(|a| {
            vec![
                a.code.clone(),
                a.title.clone(),
                status_label(&a.status).to_owned(),
                format!("{} %", a.progress),
                a.responsible_organisations.join("; "),
                italian(a.planned_cents),
            ]
        })
        .collect();
    doc.table(&cols, &rows);
}

fn status_chart(doc: &mut Doc, report: &Report, statuses: &[String]) {
    let rows = &report.status_by_axis;
    let (bar, gap, label) = (14.0_f32, 6.0_f32, 50.0_f32);
    let most = rows
        .iter()
        .map(|a| a.counts.iter().map(|c| c.actions).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = rows.len() as f32 * (bar + gap) + 24.0;
    doc.room(height);
    let top = doc.y;
    for (k, axis) in rows.iter().enumerate() {
        let y = top - (k as f32 + 1.0) * (bar + gap);
        doc.text_at(
            MARGIN,
            y + 4.0,
            &format!("Asse {}", axis.axis),
            8.0,
            false,
            (0.1, 0.1, 0.1),
        );
        let mut left = MARGIN + label;
        for s in statuses {
            let n = count(&axis.counts, s);
            if n == 0 {
                continue;
            }
            let width = (WIDTH - label) * n as f32 / most as f32;
            let (r, g, b) = status_rgb(s);
            doc.page()
                .set_fill_rgb(r, g, b)
                .rect(left, y, width, bar)
                .fill_nonzero();
            let text = n.to_string();
            let w = measure(&text, 7.0, false);
            doc.text_at(
                left + (width - w) / 2.0,
                y + 4.0,
                &text,
                7.0,
                false,
                (0.0, 0.0, 0.0),
            );
            left += width;
        }
    }
    doc.y = top - rows.len() as f32 * (bar + gap) - gap;
    legend(
        doc,
        &statuses
            .iter()
            .map(|s| (status_label(s).to_owned(), status_rgb(s)))
            .collect::<Vec<_>>(),
    );
}

fn legend(doc: &mut Doc, items: &[(String, Rgb)]) {
    doc.room(16.0);
    let y = doc.y - 10.0;
    let mut x = MARGIN;
    for (label, (r, g, b)) in items {
        doc.page()
            .set_fill_rgb(*r, *g, *b)
            .rect(x, y, 7.0, 7.0)
            .fill_nonzero();
        doc.text_at(x + 10.0, y + 0.5, label, 7.0, false, (0.2, 0.2, 0.2));
        x += 16.0 + measure(label, 7.0, false);
    }
    doc.y = y - 8.0;
}

fn instruments(doc: &mut Doc, report: &Report) {
    doc.heading("Effetti sugli strumenti di pianificazione");
    let i = &report.instruments;
    if i.effects.is_empty() {
        doc.no_data();
    } else {
        let cols = [
            col("Strumento", 55.0),
            col("Sezione", 110.0),
            col("Azione", 45.0),
            col("Effetto", 205.0),
            col("Stato", 80.0),
        ];
        let rows: Vec<Vec<String>> = i
            .effects
            .iter()
            .map(|e| {
                vec![
                    e.instrument.clone(),
                    e.section.clone(),
                    e.action.clone(),
                    e.effect.clone(),
                    effect_state_label(&e.state).to_owned(),
                ]
            })
            .collect();
        doc.table(&cols, &rows);
    }
    doc.paragraph("Obiettivi del DUP", 11.0, true, (0.2, 0.2, 0.2));
    if i.dup_objectives.is_empty() {
        return doc.no_data();
    }
    let cols = [
        col("Azione", 55.0),
        col("Livello", 80.0),
        col("Codice", 80.0),
        col("Obiettivo", 280.0),
    ];
    let rows: Vec<Vec<String>> = i
        .dup_objectives
        .iter()
        .map(|o| {
            vec![
                o.action.clone(),
                o.level.clone(),
                o.code.clone(),
                o.title.clone(),
            ]
        })
        .collect();
    doc.table(&cols, &rows);
}

fn questionnaires(doc: &mut Doc, report: &Report) {
    doc.heading("Risultati dei questionari");
    if report.questionnaires.is_empty() {
        return doc.no_data();
    }
    for c in &report.questionnaires {
        doc.paragraph(
            &format!("{} ({})", c.title, c.campaign),
            11.0,
            true,
            (0.2, 0.2, 0.2),
        );
        doc.paragraph(
            &format!(
                "Risposte: {} su {} invitati; stato: {}",
                c.answered, c.invited, c.status
            ),
            9.0,
            false,
            (0.3, 0.3, 0.3),
        );
        let cols = [
            col("Domanda", 180.0),
            col("Riferimento", 60.0),
            num("Risposte", 50.0),
            num("Media", 45.0),
            col("Scelte", 160.0),
        ];
        let rows: Vec<Vec<String>> = c
            .questions
            .iter()
            .flat_map(|q| {
                q.aggregates.iter().map(|a| {
                    vec![
                        q.text.clone(),
                        a.subject.clone(),
                        a.answers.to_string(),
                        a.mean.clone(),
                        a.choices
                            .iter()
                            .map(|ch| format!("{}: {}", ch.option, ch.count))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
            })
            .collect();
        doc.table(&cols, &rows);
    }
}

fn funding(doc: &mut Doc, report: &Report) {
    doc.heading("Finanziamenti");
    let f = &report.funding;
    if f.is_empty() {
        return doc.no_data();
    }
    doc.paragraph(
        &format!(
            "Totale previsto {}, impegnato {}, speso {}; dell'impegnato, {} da impegni di accordi non registrati nelle linee{}.",
            italian(f.totals.planned_cents),
            italian(f.totals.committed_cents),
            italian(f.totals.spent_cents),
            italian(f.agreements_committed_cents),
            if f.rule_version.is_empty() {
                String::new()
            } else {
                format!(" (regola {})", f.rule_version)
            }
        ),
        10.0,
        false,
        (0.1, 0.1, 0.1),
    );
    funding_chart(doc, report);
    let cols = [
        col("Codice", 70.0),
        col("Nome", 155.0),
        num("Previsto", 90.0),
        num("Impegnato", 90.0),
        num("Speso", 90.0),
    ];
    for (title, rows) in [("Per fonte", &f.by_source), ("Per asse", &f.by_axis)] {
        doc.paragraph(title, 11.0, true, (0.2, 0.2, 0.2));
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.key.clone(),
                    r.name.clone(),
                    italian(r.amounts.planned_cents),
                    italian(r.amounts.committed_cents),
                    italian(r.amounts.spent_cents),
                ]
            })
            .collect();
        doc.table(&cols, &rows);
    }
}

fn funding_chart(doc: &mut Doc, report: &Report) {
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
    let (bar, label) = (7.0_f32, 80.0_f32);
    let group = 3.0 * bar + 8.0;
    doc.room(rows.len() as f32 * group + 30.0);
    let top = doc.y;
    for (k, r) in rows.iter().enumerate() {
        let y0 = top - (k as f32 + 1.0) * group;
        doc.text_at(MARGIN, y0 + bar, &r.key, 8.0, false, (0.1, 0.1, 0.1));
        let amounts = [
            r.amounts.planned_cents,
            r.amounts.committed_cents,
            r.amounts.spent_cents,
        ];
        for (j, cents) in amounts.into_iter().enumerate() {
            // Bar lengths only: the amounts themselves are written from cents.
            let width = (WIDTH - label) * (cents.max(0) as f64 / most as f64) as f32;
            let (cr, cg, cb) = AMOUNT_RGB[j];
            let y = y0 + (2 - j) as f32 * bar;
            doc.page()
                .set_fill_rgb(cr, cg, cb)
                .rect(MARGIN + label, y, width.max(0.5), bar - 1.0)
                .fill_nonzero();
        }
    }
    doc.y = top - rows.len() as f32 * group - 4.0;
    legend(
        doc,
        &AMOUNT_LABELS
            .iter()
            .zip(AMOUNT_RGB)
            .map(|(l, c)| ((*l).to_owned(), c))
            .collect::<Vec<_>>(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn text_of(pdf: &[u8]) -> (lopdf::Document, String) {
        let doc = lopdf::Document::load_mem(pdf).expect("the file opens as a PDF");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        let text = doc.extract_text(&pages).expect("its text reads");
        (doc, text)
    }

    #[test]
    fn the_pdf_opens_and_its_text_holds_the_title_the_owner_and_the_period() {
        let pdf = render_pdf(&sample::full());
        assert!(pdf.starts_with(b"%PDF-"));
        let (doc, text) = text_of(&pdf);
        assert!(text.contains("Torino Metropoli aumentata"), "{text}");
        assert!(
            text.contains("Città metropolitana di Torino"),
            "accents: {text}"
        );
        assert!(text.contains("dal 2022-01-01 al 2022-12-31"), "{text}");
        assert!(text.contains("Gran Bosco Torino") && text.contains("2.1.3"));
        assert!(text.contains("1.244.567,89 €"), "{text}");
        assert!(text.contains(NO_DATA), "the empty sections say so");
        assert!(!doc.get_pages().is_empty());
    }

    #[test]
    fn the_charts_are_vector_paths_on_a_page() {
        let pdf = render_pdf(&sample::full());
        let (doc, _) = text_of(&pdf);
        let mut operators = std::collections::BTreeSet::new();
        for (_, page) in doc.get_pages() {
            let content = doc.get_and_decode_page_content(page).unwrap();
            operators.extend(content.operations.into_iter().map(|op| op.operator));
        }
        for op in ["re", "f", "m", "l", "S", "rg", "RG", "d"] {
            assert!(operators.contains(op), "no {op} operator in {operators:?}");
        }
    }

    #[test]
    fn long_text_wraps_and_paginates_and_an_empty_report_still_renders() {
        let mut report = sample::full();
        let template = report.actions[1].clone();
        for k in 0..120 {
            let mut a = template.clone();
            a.code = format!("9.9.{k}");
            a.title = "Un titolo molto lungo che deve andare a capo più volte nella colonna della tabella, con àèéìòù".repeat(2);
            report.actions.push(a);
        }
        let (doc, text) = text_of(&render_pdf(&report));
        assert!(doc.get_pages().len() > 3, "{} pages", doc.get_pages().len());
        assert!(text.contains("9.9.119") && text.contains("àèéìòù"));
        assert!(text.contains(&format!("Pagina 1 di {}", doc.get_pages().len())));
        let (_, empty) = text_of(&render_pdf(&sample::empty()));
        assert!(empty.contains("Torino Metropoli aumentata") && empty.contains(NO_DATA));
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width_and_loses_no_word() {
        let text = "Città metropolitana di Torino: un'azione con un nome lunghissimo_senza_spazi_che_non_entra_in_una_riga";
        let lines = wrap(text, 10.0, false, 120.0);
        assert!(lines.len() > 2);
        assert!(
            lines.iter().all(|l| measure(l, 10.0, false) <= 120.0),
            "{lines:?}"
        );
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(win_ansi("à€–?✓"), [0xe0, 0x80, 0x96, b'?', b'?']);
    }
}
