// The plan explorer: axes, strategies and actions with status and progress, filters
// by status, organisation and funding source, search by code or words, and the charts
// of the plan as a whole. It follows the `plan:<plan>` topic and reads again what a
// delta touched (with `min_position`, so it reads at least what the delta said).

import { api, planPath, actionPath } from '../api.js';
import { h, replace, debounce, fold, keepFocus } from '../dom.js';
import { t } from '../i18n.js';
import {
  STATUSES, statusChip, statusLabel, progressBar, percent, roundProgress, euros, date, entryAction,
} from '../format.js';
import { barChart, stackedSteps } from '../charts.js';

const filtersByPlan = new Map();

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...await Promise.all(items.slice(i, i + size).map(fn)));
  }
  return out;
}

function actionsOf(tree) {
  return tree.axes.flatMap((a) => a.strategies.flatMap((s) => s.actions.map((x) => ({ ...x, axis: a.code, strategy: s.code }))));
}

export async function render(root, params, ctx) {
  const { plan } = params;
  const filters = filtersByPlan.get(plan) || { q: '', status: '', organisation: '', source: '' };
  filtersByPlan.set(plan, filters);
  const state = { tree: null, details: new Map(), histories: new Map(), position: 0 };

  async function loadDetails(codes, minPosition) {
    await inBatches(codes, 6, async (code) => {
      const query = minPosition ? { min_position: minPosition } : undefined;
      const [view, history] = await Promise.all([
        api(actionPath(plan, code), { query }),
        api(`${actionPath(plan, code)}/history`, { query }),
      ]);
      state.details.set(code, view.data);
      state.histories.set(code, history.data);
    });
  }

  const first = await api(planPath(plan));
  state.tree = first.data;
  state.position = first.data.position || 0;
  await loadDetails(actionsOf(state.tree).map((a) => a.code));

  const results = h('div', { id: 'plan-tree', class: 'plan-tree' });
  const count = h('p', { id: 'result-count', class: 'result-count', role: 'status', 'aria-live': 'polite' });
  const summary = h('div', { class: 'plan-summary' });
  const charts = h('div', { class: 'charts' });

  const search = h('input', { id: 'filter-q', type: 'search', value: filters.q, autocomplete: 'off', placeholder: t('explorer.search_placeholder') });
  const statusSelect = h('select', { id: 'filter-status' });
  const orgSelect = h('select', { id: 'filter-organisation' });
  const sourceSelect = h('select', { id: 'filter-source' });

  function fillSelect(select, values, label, current) {
    replace(select, h('option', { value: '' }, t('filter.all')),
      values.map(([v, text]) => h('option', { value: v, selected: v === current }, text)));
    select.value = current;
    select.setAttribute('aria-label', label);
  }

  function options() {
    const orgs = new Set();
    const sources = new Set();
    for (const d of state.details.values()) {
      d.responsible_organisations.forEach((o) => orgs.add(o));
      d.partner_organisations.forEach((o) => orgs.add(o));
      d.funding_lines.forEach((l) => sources.add(l.source));
    }
    fillSelect(statusSelect, STATUSES.map((st) => [st, statusLabel(st)]), t('filter.status'), filters.status);
    fillSelect(orgSelect, [...orgs].sort().map((o) => [o, o]), t('filter.organisation'), filters.organisation);
    fillSelect(sourceSelect, [...sources].sort().map((x) => [x, x]), t('filter.source'), filters.source);
  }

  function matches(action) {
    const d = state.details.get(action.code);
    if (filters.status && action.status !== filters.status) return false;
    if (filters.organisation && !(d && (d.responsible_organisations.includes(filters.organisation)
      || d.partner_organisations.includes(filters.organisation)))) return false;
    if (filters.source && !(d && d.funding_lines.some((l) => l.source === filters.source))) return false;
    const q = fold(filters.q).trim();
    if (q) {
      if (/^\d+(\.\d+)*\.?$/.test(q)) {
        const code = q.replace(/\.$/, '');
        if (!(action.code === code || action.code.startsWith(`${code}.`))) return false;
      } else {
        const text = fold([action.code, action.title, d && d.description, d && d.territorial_scope,
          d && d.responsible_organisations.join(' '), d && d.partner_organisations.join(' ')].join(' '));
        if (!q.split(/\s+/).every((w) => text.includes(w))) return false;
      }
    }
    return true;
  }

  function filtering() {
    return Boolean(filters.q.trim() || filters.status || filters.organisation || filters.source);
  }

  function rollupLine(rollup, label) {
    return h('div', { class: 'rollup' }, statusChip(rollup.status), progressBar(rollup.progress, rollup.status, label),
      h('span', { class: 'muted' }, t(rollup.actions === 1 ? 'explorer.one_action' : 'explorer.n_actions', { n: rollup.actions })));
  }

  // Who is on each action's page now (presence on the `action:` topics).
  const presence = new Map();
  function presenceBadge(code) {
    const me = ctx.live.session;
    const others = (presence.get(code) || []).filter((p) => !me || p.session !== me);
    const span = h('span', { class: 'row-presence', dataset: { presence: code } });
    if (others.length) {
      span.append(h('span', { class: 'badge' }, t('presence.here', {
        who: others.map((p) => (p.state === 'editing' ? t('presence.who_editing', { actor: p.actor }) : p.actor)).join(', '),
      })));
    }
    return span;
  }
  function updatePresence(code, list) {
    if (list) presence.set(code, list);
    const old = results.querySelector(`[data-presence="${CSS.escape(code)}"]`);
    if (old) old.replaceWith(presenceBadge(code));
  }
  const followed = new Map();
  function followActions() {
    for (const a of actionsOf(state.tree)) {
      if (followed.has(a.code)) continue;
      followed.set(a.code, ctx.live.subscribe(`action:${plan}/${a.code}`, state.position, () => {}, (list) => updatePresence(a.code, list)));
    }
  }

  function renderTree() {
    const tree = state.tree;
    let shown = 0;
    const axes = tree.axes.map((axis) => {
      const strategies = axis.strategies.map((strategy) => {
        const actions = strategy.actions.filter(matches);
        shown += actions.length;
        if (filtering() && actions.length === 0) return null;
        if (strategy.actions.length === 0) {
          return h('section', { class: 'strategy strategy-empty', dataset: { strategy: strategy.code } },
            h('h3', null, h('span', { class: 'code' }, strategy.code), ' ', strategy.name,
              ' ', h('span', { class: 'muted none' }, `— ${t('explorer.no_actions')}`)));
        }
        return h('section', { class: 'strategy', dataset: { strategy: strategy.code } },
          h('div', { class: 'strategy-head' },
            h('h3', null, h('span', { class: 'code' }, strategy.code), ' ', strategy.name),
            rollupLine(strategy.rollup, t('explorer.progress_of', { name: strategy.code }))),
          actions.length === 0
            ? h('p', { class: 'muted' }, t('explorer.nothing_found'))
            : h('ul', { class: 'actions' }, actions.map((a) => h('li', { class: 'action-row', dataset: { action: a.code, status: a.status } },
              h('a', { href: `#/plans/${encodeURIComponent(plan)}/actions/${encodeURIComponent(a.code)}` },
                h('span', { class: 'code' }, a.code), ' ', a.title),
              presenceBadge(a.code),
              h('span', { class: 'action-meta' }, statusChip(a.status), progressBar(a.progress, a.status, t('explorer.progress_of', { name: a.code })))))));
      }).filter(Boolean);
      if (filtering() && strategies.length === 0) return null;
      return h('section', { class: 'axis', dataset: { axis: axis.code } },
        h('h2', null, h('span', { class: 'code' }, t('explorer.axis', { code: axis.code })), ' ', axis.name),
        axis.slogan ? h('p', { class: 'slogan' }, axis.slogan, axis.pnrr_mission ? ` · PNRR ${axis.pnrr_mission}` : '') : null,
        rollupLine(axis.rollup, t('explorer.progress_of', { name: t('explorer.axis', { code: axis.code }) })),
        strategies);
    }).filter(Boolean);
    replace(results, axes.length ? axes : h('p', { class: 'empty' }, t('explorer.nothing_found')));
    count.textContent = t('explorer.count', { shown, total: tree.rollup.actions });
  }

  function renderSummary() {
    const tree = state.tree;
    replace(summary,
      h('div', { class: 'big-progress' }, h('span', { class: 'big-number', id: 'plan-progress' }, percent(roundProgress(tree.rollup.progress))),
        h('span', null, t('explorer.plan_progress'))),
      h('ul', { class: 'status-counts' }, STATUSES.map((st) => h('li', { dataset: { status: st } },
        statusChip(st), h('span', { class: 'count' }, String(tree.rollup.by_status[st] || 0))))));
  }

  function statusSeries() {
    const actions = actionsOf(state.tree);
    const reports = new Map();
    const dates = new Set([state.tree.period_from]);
    for (const a of actions) {
      const list = (state.histories.get(a.code) || [])
        .filter((e) => e.event_type === 'ActionProgressReported')
        .map((e) => ({ as_of: e.payload.as_of, status: e.payload.status }))
        .sort((x, y) => x.as_of.localeCompare(y.as_of));
      reports.set(a.code, list);
      list.forEach((r) => dates.add(r.as_of));
    }
    return [...dates].filter(Boolean).sort().map((d) => {
      const counts = {};
      for (const a of actions) {
        let st = 'not_started';
        for (const r of reports.get(a.code)) if (r.as_of <= d) st = r.status;
        counts[st] = (counts[st] || 0) + 1;
      }
      return { date: d, counts };
    });
  }

  function yearTicks(from, to) {
    const ticks = [];
    const first = Number(String(from).slice(0, 4));
    const last = Number(String(to).slice(0, 4));
    for (let year = first; year <= last; year++) ticks.push({ date: `${year}-01-01`, label: String(year) });
    ticks.push({ date: to, label: date(to) });
    return ticks;
  }

  function renderCharts() {
    const tree = state.tree;
    const bySource = new Map();
    for (const d of state.details.values()) {
      for (const l of d.funding_lines) {
        const e = bySource.get(l.source) || { planned: 0, committed: 0 };
        e.planned += l.planned_cents;
        e.committed += l.committed_cents;
        bySource.set(l.source, e);
      }
    }
    const funding = bySource.size
      ? barChart({
        caption: t('chart.funding_by_source'),
        rows: [...bySource].sort().map(([source, v]) => ({ label: source, values: [v.planned, v.committed] })),
        series: [{ name: t('funding.planned'), cls: 'series-planned' }, { name: t('funding.committed'), cls: 'series-committed' }],
        format: euros,
        labelWidth: 150,
      })
      : h('figure', { class: 'chart' }, h('figcaption', null, t('chart.funding_by_source')), h('p', { class: 'muted' }, t('chart.no_funding')));
    replace(charts,
      h('h2', { id: 'charts-title' }, t('explorer.overview')),
      h('div', { class: 'chart-grid' },
        barChart({
          caption: t('chart.progress_by_axis'),
          rows: tree.axes.map((a) => ({ label: `${a.code}. ${a.name}`, values: [roundProgress(a.rollup.progress)], cls: `fill-${a.rollup.status}` })),
          series: [{ name: t('field.progress'), cls: 'series-progress' }],
          max: 100,
          format: (v) => percent(v),
        }),
        stackedSteps({
          caption: t('chart.status_over_time'),
          points: statusSeries(),
          keys: STATUSES.map((st) => ({ key: st, name: statusLabel(st), cls: `fill-${st}` })),
          dateText: date,
          emptyText: t('chart.no_reports'),
          start: tree.period_from,
          end: tree.period_to,
          ticks: yearTicks(tree.period_from, tree.period_to),
        }),
        funding));
  }

  function renderAll() {
    options();
    renderSummary();
    keepFocus(results, renderTree);
    renderCharts();
  }

  // Filters apply as they change; an event that changes nothing rebuilds nothing.
  const onFilter = debounce(() => {
    const next = {
      q: search.value, status: statusSelect.value, organisation: orgSelect.value, source: sourceSelect.value,
    };
    if (Object.keys(next).every((k) => next[k] === filters[k])) return;
    Object.assign(filters, next);
    keepFocus(results, renderTree);
  }, 120);
  search.addEventListener('input', onFilter);
  [statusSelect, orgSelect, sourceSelect].forEach((sel) => sel.addEventListener('change', onFilter));
  const reset = h('button', {
    type: 'button', class: 'secondary', id: 'filter-reset',
    onclick: () => {
      onFilter.cancel();
      Object.assign(filters, { q: '', status: '', organisation: '', source: '' });
      search.value = '';
      options();
      renderTree();
      search.focus();
    },
  }, t('filter.reset'));

  const tree = state.tree;
  replace(root,
    h('div', { class: 'page-head' },
      h('h1', null, tree.title, ' ', h('span', { class: 'muted' }, `(${tree.short_title || tree.code})`)),
      h('p', { class: 'muted' }, t('explorer.subtitle', {
        code: tree.code, owner: tree.owner, from: date(tree.period_from), to: date(tree.period_to),
      }))),
    summary,
    h('form', { class: 'filters', role: 'search', 'aria-label': t('filter.label'), onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: 'filter-q' }, t('filter.search')), search),
      h('div', { class: 'field' }, h('label', { for: 'filter-status' }, t('filter.status')), statusSelect),
      h('div', { class: 'field' }, h('label', { for: 'filter-organisation' }, t('filter.organisation')), orgSelect),
      h('div', { class: 'field' }, h('label', { for: 'filter-source' }, t('filter.source')), sourceSelect),
      h('div', { class: 'field field-button' }, reset)),
    count,
    results,
    h('section', { class: 'overview', 'aria-labelledby': 'charts-title' }, charts));
  renderAll();
  followActions();

  // Live: read again what each delta touched.
  const touched = new Set();
  let wanted = 0;
  const refresh = debounce(async () => {
    const codes = [...touched];
    touched.clear();
    const min = wanted;
    try {
      const next = await api(planPath(plan), { query: { min_position: min } });
      state.tree = next.data;
      const known = new Set(actionsOf(state.tree).map((a) => a.code));
      const fresh = [...known].filter((c) => !state.details.has(c));
      await loadDetails([...new Set([...codes.filter((c) => known.has(c)), ...fresh])], min);
      renderAll();
      followActions();
    } catch {
      // the next delta or reconnect reads again
    }
  }, 100);
  const stop = ctx.live.subscribe(`plan:${plan}`, state.position, (delta, position) => {
    wanted = Math.max(wanted, position);
    const code = entryAction(delta);
    if (code) touched.add(code);
    refresh();
  });
  return () => {
    stop();
    followed.forEach((unfollow) => unfollow());
    refresh.cancel();
    onFilter.cancel();
  };
}
