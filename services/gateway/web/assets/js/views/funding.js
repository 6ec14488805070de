// The plan's money: planned, committed and spent per source, axis and strategy, the
// PNRR missions and EU funds, and how each agreement's commitment is counted (once:
// through the funding line that records it, or as the agreement's). Follows
// `plan:<plan>` for action and agreement events.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus } from '../dom.js';
import { t, term } from '../i18n.js';
import { euros } from '../format.js';
import { barChart } from '../charts.js';

const FUNDING_EVENT = /^(Action|Agreement|Commitment)/;

function amountCells(a) {
  return [
    h('td', { class: 'num', dataset: { field: 'planned' } }, euros(a.planned_cents)),
    h('td', { class: 'num', dataset: { field: 'committed' } }, euros(a.committed_cents),
      a.agreements_committed_cents ? h('div', { class: 'muted' }, t('funding.of_which_agreements', { amount: euros(a.agreements_committed_cents) })) : null),
    h('td', { class: 'num', dataset: { field: 'spent' } }, euros(a.spent_cents)),
  ];
}

function amountTable(id, firstHead, rows, extra) {
  return h('div', { class: 'table-wrap' }, h('table', { id, class: 'amounts' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, firstHead),
      ['planned', 'committed', 'spent'].map((k) => h('th', { scope: 'col', class: 'num' }, t(`funding.${k}`))))),
    h('tbody', null, rows.map(([key, label, amounts]) => h('tr', { dataset: { key } }, h('th', { scope: 'row' }, label), amountCells(amounts))),
      extra || null)));
}

export async function render(root, params, ctx) {
  const { plan } = params;
  let data = null;
  const body = h('div', { id: 'funding' });

  function draw() {
    const d = data;
    const series = [
      { name: t('funding.planned'), cls: 'series-planned' },
      { name: t('funding.committed'), cls: 'series-committed' },
      { name: t('funding.spent'), cls: 'series-spent' },
    ];
    const bySource = barChart({
      caption: t('funding.by_source'),
      rows: d.sources.map((s) => ({ label: term('source', s.key), values: [s.planned_cents, s.committed_cents, s.spent_cents] })),
      series,
      format: euros,
    });
    const unattributedRow = (amounts) => (amounts.committed_cents || amounts.planned_cents
      ? h('tr', { dataset: { key: 'unattributed' } }, h('th', { scope: 'row' }, t('funding.unattributed')), amountCells(amounts)) : null);
    const commitments = d.agreements.flatMap((a) => a.commitments.map((c) => ({ a, c })));
    replace(body,
      h('dl', { class: 'facts totals', id: 'funding-total' },
        h('dt', null, t('funding.planned')), h('dd', { dataset: { field: 'planned' } }, euros(d.total.planned_cents)),
        h('dt', null, t('funding.committed')), h('dd', { dataset: { field: 'committed' } }, euros(d.total.committed_cents),
          d.total.agreements_committed_cents ? ` (${t('funding.of_which_agreements', { amount: euros(d.total.agreements_committed_cents) })})` : ''),
        h('dt', null, t('funding.spent')), h('dd', { dataset: { field: 'spent' } }, euros(d.total.spent_cents))),
      h('p', { class: 'muted', id: 'funding-rule' }, t('funding.rule', { rule: d.rule_version })),
      d.sources.length ? h('div', { class: 'funding-chart' }, bySource) : h('p', { class: 'empty' }, t('chart.no_funding')),
      h('h2', null, t('funding.per_axis')),
      amountTable('funding-axes', t('funding.axis'), d.axes.map((a) => [a.axis, `${a.axis} ${a.name}${a.pnrr_mission ? ` (${a.pnrr_mission})` : ''}`, a]),
        unattributedRow(d.axes_unattributed)),
      h('h2', null, t('funding.per_strategy')),
      amountTable('funding-strategies', t('funding.strategy'), d.strategies.map((s) => [s.strategy, `${s.strategy} ${s.name}`, s]),
        unattributedRow(d.unattributed)),
      d.pnrr_missions.length ? [h('h2', null, t('funding.pnrr_missions')),
        amountTable('funding-missions', t('funding.mission'), d.pnrr_missions.map((m) => [m.key, m.key, m]))] : null,
      d.eu_funds.length ? [h('h2', null, t('funding.eu_funds')),
        amountTable('funding-eu', t('funding.fund'), d.eu_funds.map((m) => [m.key, m.key, m]))] : null,
      h('h2', null, t('funding.commitments')),
      commitments.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'funding-commitments' },
        h('thead', null, h('tr', null, ['agreement', 'party', 'amount', 'source', 'counted'].map((k) => h('th', { scope: 'col' }, t(`funding.col.${k}`))))),
        h('tbody', null, commitments.map(({ a, c }) => h('tr', { dataset: { commitment: c.commitment_id } },
          h('td', null, a.title),
          h('td', null, c.party),
          h('td', { class: 'num' }, euros(c.amount_cents)),
          h('td', null, term('source', c.funding_source), c.funding_detail ? ` · ${c.funding_detail}` : ''),
          h('td', { dataset: { field: 'counted' } }, term('counted', c.counted),
            c.recorded_by.length ? ` (${c.recorded_by.join(', ')})` : '',
            c.counted === 'agreement' ? ` — ${c.strategy === 'unattributed' ? t('funding.unattributed') : `${t('funding.strategy')} ${c.strategy}`}` : ''))))))
        : h('p', { class: 'empty' }, t('funding.no_commitments')));
  }

  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      data = (await api(`${planPath(plan)}/funding`, { query: { min_position: wanted } })).data;
      keepFocus(body, draw);
    } catch { /* the next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!FUNDING_EVENT.test(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    data = (await api(`${planPath(plan)}/funding`)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root, h('h1', null, t('funding.title')), body);
  draw();
  return () => { stop(); refresh.cancel(); };
}
