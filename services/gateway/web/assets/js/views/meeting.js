// Meeting mode, for a projector: large type, progress per axis, status counts,
// funding committed against planned, and the latest decisions as they happen, each
// new one highlighted for a few seconds. Follows `dashboard:<plan>`.

import { api, planPath } from '../api.js';
import { h, replace, debounce, announce } from '../dom.js';
import { t } from '../i18n.js';
import {
  STATUSES, statusChip, statusLabel, percent, roundProgress, euros, dateTime, eventSummary, entryAction,
} from '../format.js';

const FRESH_MS = 6000;
const LATEST = 6;

export async function render(root, params, ctx) {
  const { plan } = params;
  const first = await api(`${planPath(plan)}/dashboard`);
  let dashboard = first.data;
  const latestNodes = new Map(); // position -> <li>
  const freshTimers = new Set();

  const progressBox = h('section', { class: 'meeting-panel meeting-axes', 'aria-labelledby': 'm-axes' });
  const statusBox = h('section', { class: 'meeting-panel meeting-status', 'aria-labelledby': 'm-status' });
  const fundingBox = h('section', { class: 'meeting-panel meeting-funding', 'aria-labelledby': 'm-funding' });
  const latestList = h('ol', { id: 'latest', class: 'latest' });
  const latestBox = h('section', { class: 'meeting-panel meeting-latest', 'aria-labelledby': 'm-latest' },
    h('h2', { id: 'm-latest' }, t('meeting.latest')), latestList);
  const overall = h('p', { class: 'meeting-overall' });

  function renderFigures() {
    const d = dashboard;
    replace(overall,
      h('span', { class: 'big-number', id: 'meeting-progress' }, percent(roundProgress(d.rollup.progress))),
      ' ', h('span', null, t('meeting.overall', { n: d.rollup.actions })));
    replace(progressBox, h('h2', { id: 'm-axes' }, t('chart.progress_by_axis')),
      h('ul', { class: 'axis-bars' }, d.axes.map((a) => {
        const v = roundProgress(a.rollup.progress);
        const fill = h('span', { class: ['bar-fill', `fill-${a.rollup.status}`] });
        fill.style.width = `${Math.min(100, v)}%`;
        return h('li', { dataset: { axis: a.code } },
          h('span', { class: 'axis-name' }, h('span', { class: 'code' }, a.code), ' ', a.name),
          h('span', {
            class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': v,
            'aria-label': t('explorer.progress_of', { name: a.name }),
          }, fill),
          h('span', { class: 'value' }, percent(v)));
      })));
    replace(statusBox, h('h2', { id: 'm-status' }, t('meeting.status_counts')),
      h('ul', { class: 'status-tiles' }, STATUSES.map((st) => h('li', { dataset: { status: st }, class: `tile-${st}` },
        h('span', { class: 'count' }, String(d.rollup.by_status[st] || 0)),
        h('span', { class: 'label' }, statusLabel(st))))));
    const f = d.funding;
    const share = f.planned_cents > 0 ? Math.min(100, (f.committed_cents / f.planned_cents) * 100) : 0;
    const fill = h('span', { class: 'bar-fill fill-committed' });
    fill.style.width = `${share}%`;
    replace(fundingBox, h('h2', { id: 'm-funding' }, t('meeting.funding')),
      h('p', { class: 'funding-figures' },
        h('span', { class: 'big-number', id: 'funding-committed' }, euros(f.committed_cents)),
        ' ', t('meeting.committed_of'), ' ',
        h('span', { class: 'big-number', id: 'funding-planned' }, euros(f.planned_cents)),
        ' ', t('meeting.planned')),
      h('span', {
        class: 'bar bar-large', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
        'aria-valuenow': Math.round(share), 'aria-label': t('meeting.funding'),
      }, fill),
      h('p', { class: 'muted' }, t('meeting.spent', { spent: euros(f.spent_cents) }), ' · ',
        t('meeting.agreements_committed', { amount: euros(f.agreements_committed_cents) })));
  }

  function entryNode(entry, fresh) {
    const action = entryAction(entry);
    const p = entry.payload || {};
    const decisions = entry.event_type === 'MeetingHeld' && Array.isArray(p.decisions)
      ? h('ul', { class: 'decisions' }, p.decisions.map((dec) => h('li', null, dec.text,
        dec.actions && dec.actions.length ? h('span', { class: 'muted' }, ` (${dec.actions.join(', ')})`) : null)))
      : null;
    const li = h('li', { class: ['latest-entry', fresh ? 'fresh' : null], dataset: { position: entry.position, event: entry.event_type } },
      h('p', { class: 'what' }, action && entry.event_type === 'ActionProgressReported' ? statusChip(p.status) : null, ' ', eventSummary(entry)),
      decisions,
      h('p', { class: 'who' }, t('history.by', { actor: entry.actor, org: entry.on_behalf_of }), ' · ', dateTime(entry.recorded_at),
        entry.reason ? ` · ${t('history.reason', { reason: entry.reason })}` : ''));
    if (fresh) {
      const timer = setTimeout(() => { li.classList.remove('fresh'); freshTimers.delete(timer); }, FRESH_MS);
      freshTimers.add(timer);
    }
    return li;
  }

  function renderLatest(entries, freshPositions) {
    const wantedNodes = entries.slice(0, LATEST).map((e) => {
      let node = latestNodes.get(e.position);
      if (!node) {
        node = entryNode(e, freshPositions.has(e.position));
        latestNodes.set(e.position, node);
      }
      return node;
    });
    const keep = new Set(wantedNodes);
    for (const [pos, node] of latestNodes) if (!keep.has(node)) latestNodes.delete(pos);
    replace(latestList, wantedNodes);
    if (wantedNodes.length === 0) latestList.append(h('li', { class: 'muted' }, t('meeting.nothing_yet')));
  }

  const fullscreen = h('button', {
    type: 'button', class: 'secondary', id: 'fullscreen',
    onclick: () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
    },
  }, t('meeting.fullscreen'));
  const state = h('span', { class: 'live-state', role: 'status' });
  const stopStatus = ctx.live.onStatus((st) => {
    state.textContent = st === 'open' ? t('meeting.live') : t('connection.down_short');
    state.className = `live-state ${st === 'open' ? 'on' : 'off'}`;
  });

  replace(root,
    h('div', { class: 'meeting' },
      h('header', { class: 'meeting-head' },
        h('h1', null, dashboard.title, ' ', h('span', { class: 'muted' }, `· ${t('meeting.title')}`)),
        h('div', { class: 'meeting-tools' }, state, fullscreen,
          h('a', { href: `#/plans/${encodeURIComponent(plan)}`, class: 'button secondary' }, t('meeting.exit')))),
      overall,
      h('div', { class: 'meeting-grid' }, progressBox, h('div', { class: 'meeting-middle' }, statusBox, fundingBox), latestBox)));
  renderFigures();
  renderLatest(dashboard.latest || [], new Set());

  let wanted = 0;
  const pending = [];
  const refresh = debounce(async () => {
    const fresh = new Set(pending.splice(0).map((e) => e.position));
    try {
      const next = await api(`${planPath(plan)}/dashboard`, { query: { min_position: wanted } });
      dashboard = next.data;
      renderFigures();
      renderLatest(dashboard.latest || [], fresh);
    } catch {
      // read again on the next delta or reconnect
    }
  }, 30);
  const stop = ctx.live.subscribe(`dashboard:${plan}`, dashboard.position, (delta, position) => {
    wanted = Math.max(wanted, position);
    pending.push(delta);
    announce(eventSummary(delta));
    refresh();
  });
  const onKey = (e) => {
    const typing = e.target.closest && e.target.closest('input, textarea, select, [contenteditable]');
    if (e.key === 'f' && !e.ctrlKey && !e.metaKey && !e.altKey && !typing) fullscreen.click();
  };
  document.addEventListener('keydown', onKey);
  return () => {
    stop();
    stopStatus();
    refresh.cancel();
    freshTimers.forEach(clearTimeout);
    document.removeEventListener('keydown', onKey);
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  };
}
