// One context indicator: its definition, its classification with the rule version,
// the series of its own territory as a chart, every measurement with its original
// and current value and each correction with its reason; reporters and above record
// and correct measurements here. Follows `indicator:<plan>/<code>`.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus, announce } from '../dom.js';
import { t, term } from '../i18n.js';
import { decimal, dateTime } from '../format.js';
import { lineChart } from '../charts.js';
import { trendChip, onTrackChip } from './indicators.js';

export async function render(root, params, ctx) {
  const { plan, indicator } = params;
  const may = (ctx.me && ctx.me.may) || { report: true };
  const path = `${planPath(plan)}/indicators/${encodeURIComponent(indicator)}`;
  let data = null;
  const body = h('div', { id: 'indicator' });
  const retiredNote = h('p', { id: 'indicator-retired', class: 'notice campaign-closed' });
  retiredNote.hidden = true;

  function facts() {
    const i = data;
    return h('dl', { class: 'facts' },
      h('dt', null, t('indicator.col.name')), h('dd', null, i.name),
      h('dt', null, t('indicator.strategy')), h('dd', null, i.strategy),
      h('dt', null, t('indicator.unit')), h('dd', null, i.unit),
      h('dt', null, t('indicator.source')), h('dd', null, i.source),
      h('dt', null, t('indicator.territory')), h('dd', null, i.territory),
      h('dt', null, t('indicator.col.direction')), h('dd', null, term('direction', i.direction)),
      h('dt', null, t('indicator.col.baseline')), h('dd', null, `${decimal(i.baseline_value)} (${i.baseline_year})`),
      h('dt', null, t('indicator.col.target')), h('dd', null, `${decimal(i.target_value)} (${i.target_year})`),
      h('dt', null, t('indicator.col.trend')), h('dd', { id: 'indicator-trend' }, trendChip(i.trend)),
      h('dt', null, t('indicator.col.on_track')), h('dd', { id: 'indicator-on-track' }, onTrackChip(i.on_track)),
      h('dt', null, t('indicator.rule_label')), h('dd', { id: 'indicator-rule' }, i.rule_version));
  }

  function chart() {
    const own = data.series.filter((m) => m.territory === data.territory);
    return lineChart({
      caption: t('indicator.chart', { territory: data.territory, unit: data.unit }),
      points: own.map((m) => ({ label: m.period, value: Number(m.value), text: decimal(m.value) })),
      refs: [
        { name: t('indicator.baseline_ref', { year: data.baseline_year }), value: Number(data.baseline_value), text: decimal(data.baseline_value), cls: 'ref-baseline' },
        { name: t('indicator.target_ref', { year: data.target_year }), value: Number(data.target_value), text: decimal(data.target_value), cls: 'ref-target' },
      ],
      format: (v) => decimal(String(v)),
      emptyText: t('indicator.no_measurements'),
    });
  }

  function correctForm(m) {
    const id = `correct-${m.measurement}`;
    const value = h('input', { id: `${id}-value`, name: 'value', inputmode: 'decimal', required: true, autocomplete: 'off' });
    const reason = h('input', { id: `${id}-reason`, name: 'reason', required: true, autocomplete: 'off' });
    const error = h('p', { class: 'error', role: 'alert' });
    error.hidden = true;
    const form = h('form', { class: 'correct-form', dataset: { measurement: m.measurement } },
      h('label', { for: `${id}-value` }, t('indicator.new_value')), value,
      h('label', { for: `${id}-reason` }, t('indicator.reason')), reason,
      h('button', { type: 'submit', class: 'secondary' }, t('indicator.correct')), error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.hidden = true;
      try {
        await api(`${path}/measurements/${m.measurement}/corrections`, {
          method: 'POST', body: { value: value.value.trim().replace(',', '.'), reason: reason.value.trim() },
        });
        value.value = '';
        reason.value = '';
        form.closest('details').open = false;
        announce(t('indicator.corrected'));
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    });
    return h('details', null, h('summary', null, t('indicator.correct')), form);
  }

  function measurements() {
    if (!data.series.length) return h('p', { class: 'empty' }, t('indicator.no_measurements'));
    return h('div', { class: 'table-wrap' }, h('table', { id: 'measurements' },
      h('thead', null, h('tr', null, ['period', 'territory', 'value', 'source_note', 'who']
        .map((k) => h('th', { scope: 'col' }, t(`measurement.${k}`))), may.report && !data.retired ? h('th', { scope: 'col' }, t('measurement.actions')) : null)),
      h('tbody', null, data.series.map((m) => h('tr', { dataset: { measurement: m.measurement } },
        h('th', { scope: 'row' }, m.period),
        h('td', null, m.territory),
        h('td', { class: 'num' }, h('strong', { dataset: { field: 'value' } }, decimal(m.value)),
          m.corrections.length ? h('div', { class: 'corrections' },
            h('span', { class: 'muted' }, t('indicator.original', { value: decimal(m.original_value) })),
            h('ul', null, m.corrections.map((c) => h('li', null,
              t('indicator.correction', { from: decimal(c.previous_value), to: decimal(c.value) }), ' — ', h('em', null, c.reason),
              h('br'), h('span', { class: 'muted' }, `${c.actor} · ${dateTime(c.recorded_at)}`))))) : null),
        h('td', null, m.source_note || '—'),
        h('td', null, m.actor, h('br'), h('span', { class: 'muted' }, dateTime(m.recorded_at))),
        may.report && !data.retired ? h('td', null, correctForm(m)) : null)))));
  }

  // Recording a measurement (reporters and above).
  const recordError = h('p', { class: 'error', role: 'alert' });
  recordError.hidden = true;
  const field = (name, attrs = {}) => h('div', { class: 'field' },
    h('label', { for: `record-${name}` }, t(`measurement.${name}`)),
    h('input', { id: `record-${name}`, name, autocomplete: 'off', ...attrs }));
  const recordForm = h('form', { class: 'record-form', id: 'record-form' },
    h('h2', null, t('indicator.record')),
    h('div', { class: 'fields' },
      field('period', { required: true, placeholder: '2024', 'aria-describedby': 'period-help' }),
      field('territory', { required: true }),
      field('value', { required: true, inputmode: 'decimal' }),
      field('source_note')),
    h('p', { id: 'period-help', class: 'help' }, t('measurement.period_help')),
    recordError,
    h('button', { type: 'submit', class: 'primary' }, t('indicator.record')));
  recordForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    recordError.hidden = true;
    const v = (n) => recordForm.elements[n].value.trim();
    try {
      await api(`${path}/measurements`, {
        method: 'POST',
        body: { period: v('period'), territory: v('territory'), value: v('value').replace(',', '.'), source_note: v('source_note') },
      });
      for (const n of ['period', 'value', 'source_note']) recordForm.elements[n].value = '';
      announce(t('indicator.recorded'));
    } catch (err) {
      recordError.textContent = err.problem && err.problem.field ? `${err.problem.field}: ${err.message}` : err.message;
      recordError.hidden = false;
    }
  });
  recordForm.hidden = !may.report;

  // Editing the definition (editors and admins): only the fields changed are sent,
  // with the version they started from; edits of other fields made meanwhile merge,
  // an edit of the same field is a conflict shown with the value it now has.
  const DEF_FIELDS = ['name', 'unit', 'source', 'territory', 'direction', 'baseline_value', 'baseline_year', 'target_value', 'target_year'];
  let editBase = null;
  const editStatus = h('p', { id: 'edit-indicator-status', role: 'status', 'aria-live': 'polite' });
  const defInput = (name) => {
    const id = `def-${name}`;
    let input;
    if (name === 'direction') {
      input = h('select', { id, name }, ['increase', 'decrease', 'stable'].map((d) => h('option', { value: d }, term('direction', d))));
    } else {
      input = h('input', { id, name, autocomplete: 'off', inputmode: /year/.test(name) ? 'numeric' : (/value/.test(name) ? 'decimal' : null) });
    }
    const label = name === 'name' ? t('indicator.col.name') : t(`indicator.def.${name}`);
    return h('div', { class: ['field', `field-${name}`] }, h('label', { for: id }, label), input);
  };
  const editForm = h('form', { id: 'edit-indicator', class: 'edit-indicator' },
    h('h2', null, t('indicator.edit')),
    h('div', { class: 'fields' }, DEF_FIELDS.map(defInput)),
    h('div', { class: 'field' }, h('label', { for: 'def-reason' }, t('edit.reason')), h('input', { id: 'def-reason', name: 'reason', autocomplete: 'off' })),
    h('button', { type: 'submit', class: 'primary' }, t('edit.save')),
    editStatus);
  const valueOf = (name, v) => (/year/.test(name) ? Number(v) : String(v ?? ''));
  function fillEdit() {
    editBase = { version: data.version, values: Object.fromEntries(DEF_FIELDS.map((f) => [f, valueOf(f, data[f])])) };
    for (const f of DEF_FIELDS) editForm.elements[f].value = String(data[f] ?? '');
  }
  editForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    editStatus.textContent = '';
    editStatus.className = '';
    const changes = {};
    for (const f of DEF_FIELDS) {
      let v = editForm.elements[f].value.trim();
      if (/value/.test(f)) v = v.replace(',', '.');
      const value = valueOf(f, v);
      if (value !== editBase.values[f]) changes[f] = value;
    }
    if (!Object.keys(changes).length) {
      editStatus.textContent = t('indicator.no_change');
      return;
    }
    try {
      const { data: out } = await api(path, {
        method: 'PATCH', body: changes, ifMatch: editBase.version, reason: editForm.elements.reason.value,
      });
      data = (await api(path, { query: { min_position: out.position } })).data;
      fillEdit();
      editForm.elements.reason.value = '';
      editStatus.textContent = t(out.merged ? 'edit.merged' : 'indicator.saved');
      editStatus.className = 'ok';
      renderBody();
    } catch (err) {
      editStatus.className = 'error';
      if (err.status === 409 && err.problem && err.problem.theirs) {
        const fields = err.problem.fields || Object.keys(err.problem.theirs);
        editStatus.textContent = t('indicator.conflict', {
          fields: fields.map((f) => `${f}: ${err.problem.theirs[f]}`).join(', '),
        });
      } else {
        editStatus.textContent = err.problem && err.problem.field ? `${err.problem.field}: ${err.message}` : err.message;
      }
    }
  });

  const retireError = h('p', { class: 'error', role: 'alert' });
  retireError.hidden = true;
  const retireForm = h('form', { id: 'retire-indicator', class: 'inline-form' },
    h('label', { for: 'retire-reason' }, t('indicator.retire_reason')),
    h('input', { id: 'retire-reason', name: 'reason', required: true, autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'secondary' }, t('indicator.retire')),
    retireError);
  retireForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    retireError.hidden = true;
    try {
      await api(`${path}/retire`, { method: 'POST', body: { reason: retireForm.elements.reason.value.trim() } });
      announce(t('indicator.retired_done'));
    } catch (err) {
      retireError.textContent = err.message;
      retireError.hidden = false;
    }
  });
  const manage = h('section', { id: 'manage-indicator', class: 'manage' }, editForm, h('h2', null, t('indicator.retire')), retireForm);

  function showState() {
    retiredNote.hidden = !data.retired;
    retiredNote.textContent = data.retired ? t('indicator.retired_note', { reason: data.retired_reason || '' }) : '';
    recordForm.hidden = !may.report || data.retired;
    manage.hidden = !may.edit || data.retired;
  }

  // A live update redraws the table: what a person was typing in a correction, and
  // which corrections were open, survive it.
  function renderBody() {
    const typed = new Map([...body.querySelectorAll('input[id]')].map((el) => [el.id, el.value]));
    const open = new Set([...body.querySelectorAll('details[open] form')].map((f) => f.dataset.measurement));
    replace(body, h('div', { class: 'indicator-layout' }, facts(), chart()),
      h('h2', null, t('indicator.measurements')), measurements());
    for (const [id, value] of typed) {
      const el = body.querySelector(`#${CSS.escape(id)}`);
      if (el) el.value = value;
    }
    for (const f of body.querySelectorAll('details form')) if (open.has(f.dataset.measurement)) f.closest('details').open = true;
    showState();
  }

  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      data = (await api(path, { query: { min_position: wanted } })).data;
      keepFocus(body, renderBody);
      root.querySelector('#indicator-name').textContent = data.name;
    } catch { /* the next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`indicator:${plan}/${indicator}`, 0, (_delta, position) => {
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    data = (await api(path)).data;
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  if (!recordForm.elements.territory.value) recordForm.elements.territory.value = data.territory;
  const title = h('span', { id: 'indicator-name' }, data.name);
  fillEdit();
  replace(root,
    h('p', { class: 'breadcrumbs' }, h('a', { href: `#/plans/${encodeURIComponent(plan)}/indicators` }, t('indicator.title'))),
    h('h1', null, h('span', { class: 'code' }, data.code), ' ', title),
    retiredNote, body, recordForm, manage);
  renderBody();
  return () => { stop(); refresh.cancel(); };
}
