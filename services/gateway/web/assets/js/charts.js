// Hand-made SVG charts: geometry in attributes, colours from CSS classes (the CSP
// allows no inline styles). Each chart is a <figure> with a caption, an SVG that
// screen readers read as one image with a title, and the same numbers as a table
// that stays visually hidden.

import { h, s } from './dom.js';

let ids = 0;
const nextId = (p) => `${p}-${++ids}`;

function dataTable(caption, head, rows) {
  return h('div', { class: 'visually-hidden' }, h('table', null,
    h('caption', null, caption),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', null, c))))))));
}

function figure(caption, svg, table, extra) {
  return h('figure', { class: 'chart' }, h('figcaption', null, caption), svg, extra || null, table);
}

/**
 * Horizontal bars, one row per item, one bar per series:
 * rows = [{label, values: [number...]}], series = [{name, cls}], max = scale top.
 * `format` writes a value; the largest value's text sits at the bar's end.
 */
export function barChart({ caption, rows, series, max, format, labelWidth = 220, labelChars = 26 }) {
  const rowHeight = series.length > 1 ? 16 * series.length + 14 : 30;
  const width = 580;
  const barArea = width - labelWidth - 86;
  const height = rows.length * rowHeight + 8;
  const top = Math.max(max || 0, ...rows.flatMap((r) => r.values), 1);
  const titleId = nextId('chart-title');
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart-svg',
    preserveAspectRatio: 'xMinYMin meet',
  }, s('title', { id: titleId, text: caption }));
  rows.forEach((row, i) => {
    const y = i * rowHeight + 4;
    const label = row.label.length > labelChars ? `${row.label.slice(0, labelChars - 1)}…` : row.label;
    svg.append(s('text', { x: 0, y: y + rowHeight / 2, class: 'chart-label', 'dominant-baseline': 'middle' },
      s('title', { text: row.label }), label));
    const barH = series.length > 1 ? 14 : 18;
    row.values.forEach((v, j) => {
      const by = series.length > 1 ? y + 4 + j * (barH + 2) : y + (rowHeight - barH) / 2;
      svg.append(s('rect', { x: labelWidth, y: by, width: barArea, height: barH, class: 'chart-track', rx: 2 }));
      const w = Math.max(0, (v / top) * barArea);
      svg.append(s('rect', { x: labelWidth, y: by, width: w, height: barH, class: ['chart-bar', series[j].cls, row.cls], rx: 2 }));
      svg.append(s('text', {
        x: labelWidth + barArea + 6, y: by + barH / 2, class: 'chart-value', 'dominant-baseline': 'middle',
      }, format(v)));
    });
  });
  const legend = series.length > 1
    ? h('ul', { class: 'legend' }, series.map((se) => h('li', null, h('span', { class: ['swatch', se.cls], 'aria-hidden': 'true' }), se.name)))
    : null;
  const table = dataTable(caption, ['', ...series.map((x) => x.name)], rows.map((r) => [r.label, ...r.values.map(format)]));
  return figure(caption, svg, table, legend);
}

/**
 * Stacked steps over time: points = [{date, counts: {key: n}}] in date order,
 * keys = [{key, name, cls}] bottom to top, from `start` to `end` (dates), with a tick
 * on the axis at each of `ticks` ([{date, label}]). `dateText` writes a date in the
 * data table.
 */
export function stackedSteps({ caption, points, keys, dateText, emptyText, start, end, ticks = [] }) {
  const width = 580;
  const height = 260;
  const left = 40;
  const right = 10;
  const topPad = 10;
  const bottom = 40;
  const titleId = nextId('chart-title');
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart-svg',
  }, s('title', { id: titleId, text: caption }));
  if (points.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-label' }, emptyText));
    return figure(caption, svg, null);
  }
  const total = Math.max(1, ...points.map((p) => keys.reduce((a, k) => a + (p.counts[k.key] || 0), 0)));
  const at = (d) => new Date(`${d}T00:00:00Z`).getTime();
  const times = points.map((p) => at(p.date));
  const t0 = start ? Math.min(at(start), times[0]) : times[0];
  const last = times[times.length - 1];
  const t1 = Math.max(end ? at(end) : last, last, t0 + 86400000);
  const span = Math.max(1, t1 - t0);
  const plotW = width - left - right;
  const plotH = height - topPad - bottom;
  const x = (t) => left + ((t - t0) / span) * plotW;
  const y = (n) => topPad + plotH - (n / total) * plotH;
  // axes and grid: whole numbers of actions
  const step = Math.max(1, Math.ceil(total / 5));
  for (let n = 0; n <= total; n += step) {
    svg.append(s('line', { x1: left, x2: width - right, y1: y(n), y2: y(n), class: 'chart-grid' }));
    svg.append(s('text', { x: left - 6, y: y(n), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-axis' }, String(n)));
  }
  // each band: from the cumulative count below to below + own count, as steps
  const below = points.map(() => 0);
  for (const k of keys) {
    const upper = points.map((p, i) => below[i] + (p.counts[k.key] || 0));
    let d = '';
    points.forEach((p, i) => {
      const xi = x(times[i]);
      const xn = i + 1 < points.length ? x(times[i + 1]) : x(t1);
      d += `${i === 0 ? 'M' : 'L'}${xi},${y(upper[i])} L${xn},${y(upper[i])} `;
    });
    for (let i = points.length - 1; i >= 0; i--) {
      const xi = x(times[i]);
      const xn = i + 1 < points.length ? x(times[i + 1]) : x(t1);
      d += `L${xn},${y(below[i])} L${xi},${y(below[i])} `;
    }
    svg.append(s('path', { d: `${d}Z`, class: ['chart-band', k.cls] }));
    upper.forEach((u, i) => { below[i] = u; });
  }
  for (const tick of ticks) {
    const tx = x(at(tick.date));
    if (tx < left - 1 || tx > width - right + 1) continue;
    svg.append(s('line', { x1: tx, x2: tx, y1: topPad + plotH, y2: topPad + plotH + 5, class: 'chart-tick' }));
    const anchor = tx > width - right - 40 ? 'end' : (tx < left + 20 ? 'start' : 'middle');
    svg.append(s('text', { x: tx, y: height - bottom + 20, 'text-anchor': anchor, class: 'chart-axis' }, tick.label));
  }
  const legend = h('ul', { class: 'legend' }, keys.map((k) => h('li', null, h('span', { class: ['swatch', k.cls], 'aria-hidden': 'true' }), k.name)));
  const table = dataTable(caption, ['', ...keys.map((k) => k.name)], points.map((p) => [dateText(p.date), ...keys.map((k) => String(p.counts[k.key] || 0))]));
  return figure(caption, svg, table, legend);
}

/**
 * A series over periods, as a line with its points: points = [{label, value}] in
 * period order (value a number, for drawing only; `text` is what the table shows),
 * with dashed reference lines for `refs` ([{name, value, cls}], e.g. baseline and
 * target).
 */
export function lineChart({ caption, points, refs = [], format, emptyText }) {
  const width = 580;
  const height = 240;
  const left = 64;
  const right = 16;
  const topPad = 14;
  const bottom = 36;
  const titleId = nextId('chart-title');
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart-svg',
  }, s('title', { id: titleId, text: caption }));
  if (points.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-label' }, emptyText));
    return figure(caption, svg, null);
  }
  const values = [...points.map((p) => p.value), ...refs.map((r) => r.value)].filter(Number.isFinite);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const plotW = width - left - right;
  const plotH = height - topPad - bottom;
  const x = (i) => left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (v) => topPad + plotH - ((v - lo) / (hi - lo)) * plotH;
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    svg.append(s('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), class: 'chart-grid' }));
    svg.append(s('text', { x: left - 6, y: y(v), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-axis' },
      format(Math.round(v * 100) / 100)));
  }
  for (const r of refs) {
    if (!Number.isFinite(r.value)) continue;
    svg.append(s('line', { x1: left, x2: width - right, y1: y(r.value), y2: y(r.value), class: ['chart-ref', r.cls] }));
  }
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i)},${y(p.value)}`).join(' ');
  svg.append(s('path', { d, class: 'chart-line' }));
  points.forEach((p, i) => {
    svg.append(s('circle', { cx: x(i), cy: y(p.value), r: 4, class: 'chart-point' }, s('title', { text: `${p.label}: ${p.text}` })));
    const every = Math.ceil(points.length / 8);
    if (i % every === 0 || i === points.length - 1) {
      svg.append(s('text', { x: x(i), y: height - bottom + 20, 'text-anchor': 'middle', class: 'chart-axis' }, p.label));
    }
  });
  const legend = refs.length
    ? h('ul', { class: 'legend' }, refs.map((r) => h('li', null, h('span', { class: ['swatch', r.cls], 'aria-hidden': 'true' }), r.name)))
    : null;
  const table = dataTable(caption, ['', caption], [...points.map((p) => [p.label, p.text]), ...refs.map((r) => [r.name, r.text])]);
  return figure(caption, svg, table, legend);
}
