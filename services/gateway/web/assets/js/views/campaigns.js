// The plan's questionnaire campaigns: their state and how many invited organisations
// answered; editors and admins draft a new one here. Follows `plan:<plan>`.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus } from '../dom.js';
import { t, term } from '../i18n.js';
import { date } from '../format.js';

/** Event types on `plan:<plan>` that change a campaign. */
export const CAMPAIGN_EVENT = /^(Campaign|Questions|Organisation|Answers)/;

export function stateChip(state) {
  return h('span', { class: ['chip', `campaign-${state}`], dataset: { state } }, term('campaign_state', state));
}

export async function render(root, params, ctx) {
  const { plan } = params;
  const may = (ctx.me && ctx.me.may) || { edit: true };
  let campaigns = [];
  const list = h('div', { id: 'campaigns' });
  const href = (id) => `#/plans/${encodeURIComponent(plan)}/campaigns/${encodeURIComponent(id)}`;

  function renderList() {
    if (!campaigns.length) {
      replace(list, h('p', { class: 'empty' }, t('campaign.none')));
      return;
    }
    replace(list, h('div', { class: 'table-wrap' }, h('table', null,
      h('thead', null, h('tr', null, ['title', 'state', 'window', 'questions', 'answered']
        .map((k) => h('th', { scope: 'col' }, t(`campaign.col.${k}`))))),
      h('tbody', null, campaigns.map((c) => h('tr', { dataset: { campaign: c.id } },
        h('th', { scope: 'row' }, h('a', { href: href(c.id) }, c.title)),
        h('td', null, stateChip(c.state)),
        h('td', null, `${date(c.opens)} – ${date(c.closes)}`),
        h('td', { class: 'num' }, String(c.questions)),
        h('td', { class: 'num', dataset: { field: 'answered' } }, `${c.answered} / ${c.invited}`)))))));
  }

  const error = h('p', { class: 'error', role: 'alert' });
  error.hidden = true;
  const field = (name, attrs = {}, tag = 'input') => h('div', { class: ['field', `field-${name}`] },
    h('label', { for: `campaign-${name}` }, t(`campaign.field.${name}`)),
    h(tag, { id: `campaign-${name}`, name, autocomplete: 'off', ...attrs }));
  const form = h('form', { id: 'campaign-form', class: 'campaign-form' },
    h('h2', null, t('campaign.draft')),
    h('div', { class: 'fields' },
      field('id', { required: true, pattern: '[a-z0-9][a-z0-9-]*', 'aria-describedby': 'campaign-id-help' }),
      field('title', { required: true }),
      field('opens', { type: 'date', required: true }),
      field('closes', { type: 'date', required: true }),
      field('description', { rows: 3 }, 'textarea')),
    h('p', { id: 'campaign-id-help', class: 'help' }, t('campaign.id_help')),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('campaign.draft')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const v = (n) => form.elements[n].value.trim();
    try {
      await api(`${planPath(plan)}/campaigns`, {
        method: 'POST',
        body: { id: v('id'), title: v('title'), description: v('description'), opens: v('opens'), closes: v('closes') },
      });
      ctx.navigate(href(v('id')));
    } catch (err) {
      error.textContent = err.problem && err.problem.field ? `${err.problem.field}: ${err.message}` : err.message;
      error.hidden = false;
    }
  });
  form.hidden = !may.edit;

  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      campaigns = (await api(`${planPath(plan)}/campaigns`, { query: { min_position: wanted } })).data;
      keepFocus(list, renderList);
    } catch { /* the next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!CAMPAIGN_EVENT.test(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    campaigns = (await api(`${planPath(plan)}/campaigns`)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root, h('h1', null, t('campaign.title')), h('p', null, t('campaign.intro')), list, form);
  renderList();
  return () => { stop(); refresh.cancel(); };
}
