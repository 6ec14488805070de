// The plan's context indicators (first monitoring level), per strategy: latest value of
// each indicator's own territory, baseline and target, the trend and on-track
// classification with the version of the rule that made it; and, for reporters and
// above, the CSV import of measurements with its dry run. Follows `plan:<plan>`.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus } from '../dom.js';
import { t, term } from '../i18n.js';
import { decimal } from '../format.js';

/** Event types on `plan:<plan>` that change an indicator. */
export const INDICATOR_EVENT = /^(Indicator|Measurement)/;

/** A classification chip: words and colour, so colour is never the only carrier. */
export function trendChip(trend) {
  return h('span', { class: ['chip', `trend-${trend}`], dataset: { trend } }, term('trend', trend));
}

export function onTrackChip(onTrack) {
  return h('span', { class: ['chip', `ontrack-${onTrack}`], dataset: { onTrack } }, term('on_track', onTrack));
}

export async function render(root, params, ctx) {
  const { plan } = params;
  const may = (ctx.me && ctx.me.may) || { report: true };
  let data = null;
  const list = h('div', { id: 'indicators' });
  const rule = h('p', { class: 'muted', id: 'indicator-rule' });
  const href = (code) => `#/plans/${encodeURIComponent(plan)}/indicators/${encodeURIComponent(code)}`;

  function row(i) {
    return h('tr', { dataset: { indicator: i.code } },
      h('th', { scope: 'row' }, h('a', { href: href(i.code), class: 'code' }, i.code)),
      h('td', null, i.name, i.retired ? [' ', h('span', { class: 'chip retired', dataset: { retired: 'true' } }, t('indicator.retired_chip'))] : null,
        h('br'), h('span', { class: 'muted' }, `${i.unit} · ${i.source}`)),
      h('td', { class: 'num', dataset: { field: 'latest' } },
        i.latest ? [decimal(i.latest.value), h('br'), h('span', { class: 'muted' }, i.latest.period)] : '—'),
      h('td', { class: 'num' }, `${decimal(i.baseline_value)} (${i.baseline_year})`),
      h('td', { class: 'num' }, `${decimal(i.target_value)} (${i.target_year})`),
      h('td', null, term('direction', i.direction)),
      h('td', null, trendChip(i.trend)),
      h('td', null, onTrackChip(i.on_track)));
  }

  function renderList() {
    rule.textContent = t('indicator.rule', { rule: data.rule_version });
    const groups = data.strategies.filter((g) => g.indicators.length);
    if (!groups.length) {
      replace(list, h('p', { class: 'empty' }, t('indicator.none')));
      return;
    }
    replace(list, groups.map((g) => h('section', { class: 'indicator-group', dataset: { strategy: g.strategy } },
      h('h2', null, h('span', { class: 'code' }, g.strategy), ' ', g.name),
      h('div', { class: 'table-wrap' }, h('table', { class: 'indicator-table' },
        h('thead', null, h('tr', null, ['code', 'name', 'latest', 'baseline', 'target', 'direction', 'trend', 'on_track']
          .map((k) => h('th', { scope: 'col' }, t(`indicator.col.${k}`))))),
        h('tbody', null, g.indicators.map(row)))))));
  }

  // The CSV import: check first (dry run), then import; every bad row is listed.
  const csv = h('textarea', { id: 'import-csv', name: 'csv', rows: 6, spellcheck: 'false', 'aria-describedby': 'import-help' });
  const file = h('input', { id: 'import-file', name: 'file', type: 'file', accept: '.csv,text/csv' });
  const outcome = h('div', { id: 'import-outcome', role: 'status', 'aria-live': 'polite' });
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (f) csv.value = await f.text();
  });
  async function send(dryRun) {
    replace(outcome);
    if (!csv.value.trim()) {
      replace(outcome, h('p', { class: 'error' }, t('import.empty')));
      return;
    }
    try {
      const { data: answer } = await api(`${planPath(plan)}/indicators/measurements/import`, {
        method: 'POST', raw: csv.value, contentType: 'text/csv; charset=utf-8', query: { dry_run: dryRun ? 'true' : 'false' },
      });
      // The command's outcome carries what was (or would be) stored under `import`.
      const summary = answer.import;
      replace(outcome, h('p', { class: 'ok' }, t(dryRun ? 'import.checked' : 'import.done', { rows: summary.rows })),
        h('ul', null, summary.indicators.map((x) => h('li', null, `${x.indicator}: ${x.rows}`))));
      if (!dryRun) csv.value = '';
    } catch (err) {
      const rows = (err.problem && err.problem.rows) || [];
      replace(outcome, h('p', { class: 'error', role: 'alert' }, err.message),
        rows.length ? h('ul', { class: 'row-errors' }, rows.map((r) => h('li', { dataset: { line: r.line } },
          t('import.row', { line: r.line, column: r.column || '—', reason: r.reason })))) : null);
    }
  }
  const importForm = h('form', { class: 'import-form', id: 'import-form' },
    h('h2', null, t('import.title')),
    h('p', { id: 'import-help', class: 'help' }, t('import.help')),
    h('label', { for: 'import-file' }, t('import.file')), file,
    h('label', { for: 'import-csv' }, t('import.csv')), csv,
    h('p', { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary', id: 'import-check', onclick: () => send(true) }, t('import.check')),
      ' ',
      h('button', { type: 'submit', class: 'primary', id: 'import-run' }, t('import.run'))),
    outcome);
  importForm.addEventListener('submit', (e) => { e.preventDefault(); send(false); });
  importForm.hidden = !may.report;

  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      data = (await api(`${planPath(plan)}/indicators`, { query: { min_position: wanted } })).data;
      keepFocus(list, renderList);
    } catch { /* the next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!INDICATOR_EVENT.test(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    data = (await api(`${planPath(plan)}/indicators`)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root, h('h1', null, t('indicator.title')), h('p', null, t('indicator.intro')), rule, list, importForm);
  renderList();
  return () => { stop(); refresh.cancel(); };
}
