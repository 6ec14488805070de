// The plan's effects on the body's planning instruments (second monitoring level):
// per instrument (PTGM, PUMS, DUP, ...) its sections with the actions that touch
// them, the effect and its state, the counts by state, and the DUP objectives the
// actions became. Follows `plan:<plan>` for action events.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus } from '../dom.js';
import { t, term } from '../i18n.js';

export function effectChip(state) {
  const s = state || 'not_stated';
  return h('span', { class: ['chip', `effect-${s}`], dataset: { effectState: s } }, term('effect_state', s));
}

export async function render(root, params, ctx) {
  const { plan } = params;
  let data = null;
  const body = h('div', { id: 'instruments' });
  const actionHref = (code) => `#/plans/${encodeURIComponent(plan)}/actions/${encodeURIComponent(code)}`;

  const linkRow = (l) => h('tr', { dataset: { action: l.action } },
    h('th', { scope: 'row' }, h('a', { href: actionHref(l.action), class: 'code' }, l.action)),
    h('td', null, l.title),
    h('td', null, l.effect || '—'),
    h('td', null, effectChip(l.state)),
    h('td', null, l.dup_objective ? `${term('dup_level', l.dup_objective.level)} ${l.dup_objective.code} — ${l.dup_objective.title}` : '—'));

  function instrument(i) {
    return h('section', { class: 'instrument', dataset: { instrument: i.instrument } },
      h('h2', null, i.name ? `${i.name} (${i.instrument})` : i.instrument),
      h('p', { class: 'counts' }, t('instrument.counts', { links: i.links, actions: i.actions }), ' ',
        Object.entries(i.by_state).filter(([, n]) => n > 0).map(([state, n]) => h('span', { class: 'state-count', dataset: { state } }, effectChip(state), ` ${n} `))),
      i.sections.map((sec) => h('div', { class: 'section', dataset: { section: sec.section } },
        h('h3', null, sec.section || t('instrument.no_section')),
        h('div', { class: 'table-wrap' }, h('table', null,
          h('thead', null, h('tr', null, ['action', 'title', 'effect', 'state', 'dup_objective'].map((k) => h('th', { scope: 'col' }, t(`instrument.col.${k}`))))),
          h('tbody', null, sec.links.map(linkRow)))))),
      i.dup_objectives.length ? [h('h3', null, t('instrument.dup_objectives')),
        h('ul', { class: 'dup-objectives' }, i.dup_objectives.map((o) => h('li', { dataset: { objective: o.code } },
          h('strong', null, `${term('dup_level', o.level)} ${o.code}`), ` — ${o.title}: `,
          o.actions.map((a, k) => [k ? ', ' : '', h('a', { href: actionHref(a.action) }, a.action)]))))] : null);
  }

  function draw() {
    replace(body, data.instruments.length ? data.instruments.map(instrument) : h('p', { class: 'empty' }, t('instrument.none')));
  }

  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      data = (await api(`${planPath(plan)}/instruments`, { query: { min_position: wanted } })).data;
      keepFocus(body, draw);
    } catch { /* the next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!/^Action/.test(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    data = (await api(`${planPath(plan)}/instruments`)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root, h('h1', null, t('instrument.title')), h('p', null, t('instrument.intro')), body);
  draw();
  return () => { stop(); refresh.cancel(); };
}
