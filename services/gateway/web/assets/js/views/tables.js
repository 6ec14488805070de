// The plan's concertation tables: members, meetings and the decisions that touch
// actions. Follows `plan:<plan>` for table events.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus } from '../dom.js';
import { t, term } from '../i18n.js';
import { date } from '../format.js';

const TABLE_EVENTS = new Set(['TableCreated', 'TableMemberJoined', 'TableMemberLeft', 'MeetingHeld']);

export async function render(root, params, ctx) {
  const { plan } = params;
  let tables = [];
  const list = h('div', { id: 'tables', class: 'cards' });

  function card(tb) {
    const meetings = [...tb.meetings].sort((a, b) => b.held_on.localeCompare(a.held_on));
    return h('article', { class: 'card', dataset: { table: tb.id } },
      h('h2', null, tb.name),
      h('p', { class: 'muted' }, term('table_kind', tb.kind)),
      tb.purpose ? h('p', null, tb.purpose) : null,
      h('h3', null, t('table.members')),
      tb.members.length ? h('ul', null, tb.members.map((m) => h('li', null, m.organisation,
        m.person ? ` — ${m.person}` : '', ' ', h('span', { class: 'muted' }, `(${term('member_role', m.role)})`))))
        : h('p', { class: 'muted' }, t('table.no_members')),
      h('h3', null, t('table.meetings')),
      meetings.length ? h('ol', { class: 'meetings' }, meetings.map((m) => h('li', null,
        h('p', null, h('strong', null, m.title), ' · ', date(m.held_on)),
        m.decisions.length ? h('ul', { class: 'decisions' }, m.decisions.map((d) => h('li', null, d.text,
          d.actions.length ? [' ', h('span', { class: 'inline-list' }, d.actions.map((code) => h('a', {
            href: `#/plans/${encodeURIComponent(plan)}/actions/${encodeURIComponent(code)}`, class: 'tag',
          }, code)))] : null))) : null)))
        : h('p', { class: 'muted' }, t('table.no_meetings')));
  }

  function renderList() {
    replace(list, tables.length ? tables.map(card) : h('p', { class: 'empty' }, t('table.none')));
  }

  // Follow first, then read: a change made between the two is never missed.
  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      tables = (await api(`${planPath(plan)}/tables`, { query: { min_position: wanted } })).data;
      keepFocus(list, renderList);
    } catch { /* next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!TABLE_EVENTS.has(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    tables = (await api(`${planPath(plan)}/tables`)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root, h('h1', null, t('table.title')), list);
  renderList();

  return () => { stop(); refresh.cancel(); };
}
