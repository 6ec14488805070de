// The plan's agreements (intese, accordi, partnership): parties, subject, linked
// actions, commitments and amendments. Follows `plan:<plan>` for agreement events.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus } from '../dom.js';
import { t, term } from '../i18n.js';
import { euros, date } from '../format.js';

export async function render(root, params, ctx) {
  const { plan } = params;
  let agreements = [];
  const list = h('div', { id: 'agreements', class: 'cards' });

  function card(a) {
    const dates = [
      [t('agreement.drafted_on'), a.drafted_on], [t('agreement.signed_on'), a.signed_on],
      [t('agreement.expires_on'), a.expires_on], [t('agreement.terminated_on'), a.terminated_on],
    ].filter(([, v]) => v);
    return h('article', { class: 'card', dataset: { agreement: a.id } },
      h('h2', null, a.title),
      h('p', null, h('span', { class: ['status', `agreement-${a.status}`] }, term('agreement_status', a.status)), ' ',
        h('span', { class: 'muted' }, term('agreement_kind', a.kind))),
      h('p', null, a.subject),
      h('dl', { class: 'facts' }, dates.map(([k, v]) => [h('dt', null, k), h('dd', null, date(v))]),
        h('dt', null, t('agreement.committed')), h('dd', null, euros(a.committed_cents))),
      h('h3', null, t('agreement.parties')),
      a.parties.length ? h('ul', null, a.parties.map((p) => h('li', null, p.organisation, ' ', h('span', { class: 'muted' }, `(${term('party_role', p.role)})`))))
        : h('p', { class: 'muted' }, t('agreement.no_parties')),
      h('h3', null, t('agreement.actions')),
      a.actions.length ? h('ul', { class: 'inline-list' }, a.actions.map((code) => h('li', null,
        h('a', { href: `#/plans/${encodeURIComponent(plan)}/actions/${encodeURIComponent(code)}` }, code))))
        : h('p', { class: 'muted' }, t('agreement.no_actions')),
      a.commitments.length ? [h('h3', null, t('agreement.commitments')),
        h('div', { class: 'table-wrap' }, h('table', null,
          h('thead', null, h('tr', null, ['agreement.party', 'agreement.description', 'agreement.amount', 'agreement.source']
            .map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', null, a.commitments.map((c) => h('tr', null, h('td', null, c.party), h('td', null, c.description),
            h('td', { class: 'num' }, euros(c.amount_cents)),
            h('td', null, c.funding_source, c.funding_detail ? ` · ${c.funding_detail}` : ''))))))] : null,
      a.amendments.length ? [h('h3', null, t('agreement.amendments')), h('ol', null, a.amendments.map((m) => h('li', null,
        `${date(m.amended_on)}: ${m.description}`)))] : null);
  }

  function renderList() {
    replace(list, agreements.length ? agreements.map(card) : h('p', { class: 'empty' }, t('agreement.none')));
  }

  // Follow first, then read: a change made between the two is never missed.
  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      agreements = (await api(`${planPath(plan)}/agreements`, { query: { min_position: wanted } })).data;
      keepFocus(list, renderList);
    } catch { /* next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!/^(Agreement|Commitment)/.test(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    agreements = (await api(`${planPath(plan)}/agreements`)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root, h('h1', null, t('agreement.title')), list);
  renderList();

  return () => { stop(); refresh.cancel(); };
}
