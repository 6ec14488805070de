// The plans this token may read; with a single plan, straight to its explorer.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { date } from '../format.js';

export async function render(root, _params, ctx) {
  const { data } = await api('/api/v1/plans');
  if (data.length === 1) {
    ctx.navigate(`#/plans/${encodeURIComponent(data[0].code)}`);
    return null;
  }
  replace(root,
    h('h1', null, t('plans.title')),
    data.length === 0 ? h('p', null, t('plans.none')) : h('ul', { class: 'plan-list' }, data.map((p) => h('li', null,
      h('a', { href: `#/plans/${encodeURIComponent(p.code)}` }, `${p.title} (${p.code})`),
      h('span', { class: 'muted' }, ` — ${p.owner}, ${date(p.period_from)} – ${date(p.period_to)}`)))));
  return null;
}
