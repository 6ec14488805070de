// An action's page: every field, its progress and latest report, linked agreements,
// the history timeline built from its events (who, when, on whose behalf, why), who
// else is looking at it now, and co-editing.
//
// Co-editing: an edit is saved with its base version, the version the person started
// from (`If-Match`), and only the fields they changed. While nothing is changed here
// the page follows every delta; while something is, the base stays, so the server
// merges edits of other fields (`merged: true`) or answers 409 with base, theirs and
// yours for the same fields, which the conflict view shows side by side.

import { api, actionPath, ApiError } from '../api.js';
import { h, replace, debounce, announce } from '../dom.js';
import { t, term } from '../i18n.js';
import { effectChip } from './instruments.js';
import {
  STATUSES, statusChip, statusLabel, progressBar, euros, date, dateTime, eventLabel, eventSummary,
  fieldLabel, fieldText, editedFields,
} from '../format.js';

const TEXT_FIELDS = ['title', 'description', 'competence', 'territorial_scope',
  'planned_start', 'planned_end', 'actual_start', 'actual_end',
  'responsible_organisations', 'partner_organisations', 'funding_lines', 'instrument_links'];
const LIST_FIELDS = new Set(['responsible_organisations', 'partner_organisations']);
const DATE_FIELDS = new Set(['planned_start', 'planned_end', 'actual_start', 'actual_end']);

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const listOf = (v) => (Array.isArray(v) ? v : (v && Array.isArray(v.values) ? v.values : []));

// Funding lines travel between the editor and the draft as JSON text, like the value
// of any other control.
const SOURCES = ['PNRR', 'EU-2021-2027', 'OWN', 'REGIONAL', 'PRIVATE', 'OTHER'];

// What a line may carry beyond its row's columns (a PNRR mission, an EU fund, the
// agreement's commitment it records): kept as they are when the row is edited.
const LINE_EXTRAS = ['mission', 'fund', 'agreement', 'commitment_id'];
// The EU 2021-2027 funds a line of source `EU-2021-2027` names.
const EU_FUNDS = ['FESR', 'FSE+', 'FEASR', 'FEAMPA', 'JTF', 'INTERREG'];

function fundingLine(l) {
  const cents = (v) => Math.max(0, Math.round(Number(v) || 0));
  const line = {
    source: String(l.source || '').trim(),
    programme: String(l.programme || '').trim(),
    measure: String(l.measure || '').trim(),
    planned_cents: cents(l.planned_cents),
    committed_cents: cents(l.committed_cents),
    spent_cents: cents(l.spent_cents),
  };
  for (const key of LINE_EXTRAS) {
    const v = String(l[key] || '').trim();
    if (v) line[key] = v;
  }
  return line;
}

const EFFECT_STATES = ['', 'planned', 'in_progress', 'achieved', 'not_pursued'];
const DUP_LEVELS = ['', 'strategic', 'operational', 'management'];

/**
 * An instrument link as the API takes it. In the editor a DUP objective is three
 * flat columns (`dup_level`, `dup_code`, `dup_title`); here they become its
 * `dup_objective` again.
 */
function instrumentLink(l) {
  const text = (v) => String(v || '').trim();
  const objective = l.dup_objective || {};
  const level = text(l.dup_level ?? objective.level);
  const code = text(l.dup_code ?? objective.code);
  const title = text(l.dup_title ?? objective.title);
  const link = { instrument: text(l.instrument), section: text(l.section), effect: text(l.effect) };
  if (text(l.state)) link.state = text(l.state);
  if (level || code || title) link.dup_objective = { level, code, title };
  return link;
}

/** Fields edited as rows of a table: how a row is kept, and its columns. */
const ROW_FIELDS = {
  funding_lines: {
    normalize: fundingLine,
    add: 'funding.add',
    columns: [
      { key: 'source', label: 'funding.source', list: 'sources', first: true },
      { key: 'programme', label: 'funding.programme_only' },
      { key: 'measure', label: 'funding.measure' },
      { key: 'fund', label: 'funding.fund', list: 'funds' },
      { key: 'planned_cents', label: 'funding.planned_eur', money: true },
      { key: 'committed_cents', label: 'funding.committed_eur', money: true },
      { key: 'spent_cents', label: 'funding.spent_eur', money: true },
    ],
  },
  instrument_links: {
    normalize: instrumentLink,
    add: 'links.add',
    columns: [
      { key: 'instrument', label: 'links.instrument', list: 'instruments', first: true },
      { key: 'section', label: 'links.section' },
      { key: 'effect', label: 'links.effect' },
      { key: 'state', label: 'links.state', options: EFFECT_STATES.map((v) => [v, v ? `effect_state.${v}` : 'effect_state.not_stated']) },
      { key: 'dup_level', label: 'links.dup_level', options: DUP_LEVELS.map((v) => [v, v ? `dup_level.${v}` : 'links.no_objective']) },
      { key: 'dup_code', label: 'links.dup_code' },
      { key: 'dup_title', label: 'links.dup_title' },
    ],
  },
};
const DATALISTS = {
  sources: SOURCES,
  funds: EU_FUNDS,
  instruments: ['PTGM', 'PUMS', 'DUP'],
};

function parseInput(field, raw) {
  if (ROW_FIELDS[field]) {
    try { return JSON.parse(raw || '[]').map(ROW_FIELDS[field].normalize); } catch { return []; }
  }
  if (LIST_FIELDS.has(field)) return raw.split('\n').map((x) => x.trim()).filter(Boolean);
  return field === 'title' || field === 'description' ? raw : raw.trim();
}

function inputText(field, value) {
  if (ROW_FIELDS[field]) return JSON.stringify(listOf(value).map(ROW_FIELDS[field].normalize));
  if (LIST_FIELDS.has(field)) return listOf(value).join('\n');
  return value || '';
}

/**
 * An editor of a field kept as rows (funding lines, instrument links): one row per
 * item, rows added and removed. Its `value` is the rows as JSON; it sends `input`
 * events like a text field.
 */
function rowsEditor(id, field) {
  const spec = ROW_FIELDS[field];
  let lines = [];
  const rows = h('tbody', null);
  const changed = () => el.dispatchEvent(new Event('input', { bubbles: true }));
  const euro = (cents) => (cents ? String(cents / 100) : '');
  // The editor's own row shape: a DUP objective as flat columns.
  const editable = (item) => {
    const row = { ...spec.normalize(item) };
    if (row.dup_objective) {
      row.dup_level = row.dup_objective.level;
      row.dup_code = row.dup_objective.code;
      row.dup_title = row.dup_objective.title;
      delete row.dup_objective;
    }
    return row;
  };
  function row(line, i) {
    const n = i + 1;
    const cell = (c) => {
      const label = `${t(c.label)} (${t('funding.line', { n })})`;
      let input;
      if (c.options) {
        input = h('select', { 'aria-label': label, class: c.key },
          c.options.map(([v, k]) => h('option', { value: v, selected: (line[c.key] || '') === v }, t(k))));
        input.addEventListener('change', () => { line[c.key] = input.value; changed(); });
      } else if (c.money) {
        input = h('input', {
          type: 'number', min: 0, step: '0.01', inputmode: 'decimal', value: euro(line[c.key]), 'aria-label': label,
        });
        input.addEventListener('input', () => { line[c.key] = Math.round((Number(input.value) || 0) * 100); });
      } else {
        input = h('input', {
          type: 'text', value: line[c.key] || '', 'aria-label': label, class: c.key,
          list: c.list ? `${id}-${c.list}` : null, autocomplete: c.list ? 'off' : null,
        });
        input.addEventListener('input', () => { line[c.key] = input.value; });
      }
      return h('td', null, input);
    };
    return h('tr', { dataset: { line: n } },
      spec.columns.map(cell),
      h('td', null, h('button', {
        type: 'button', class: 'secondary remove-line',
        onclick: () => { lines.splice(i, 1); draw(); changed(); },
      }, t('funding.remove', { n }))));
  }
  function draw() {
    replace(rows, lines.map(row));
  }
  const lists = [...new Set(spec.columns.map((c) => c.list).filter(Boolean))];
  const el = h('div', { id, class: ['funding-editor', 'rows-editor'], role: 'group', 'aria-labelledby': `${id}-label` },
    lists.map((l) => h('datalist', { id: `${id}-${l}` }, DATALISTS[l].map((x) => h('option', { value: x })))),
    h('div', { class: 'table-wrap' }, h('table', null,
      h('thead', null, h('tr', null, spec.columns.map((c) => h('th', { scope: 'col' }, t(c.label))), h('td', null))),
      rows)),
    h('button', {
      type: 'button', class: 'secondary add-line',
      onclick: () => {
        lines.push(editable({}));
        draw();
        changed();
        const first = spec.columns.find((c) => c.first);
        const inputs = rows.querySelectorAll(`input.${first.key}`);
        inputs[inputs.length - 1].focus();
      },
    }, t(spec.add)));
  Object.defineProperty(el, 'value', {
    get: () => JSON.stringify(lines.map(spec.normalize)),
    set: (v) => { try { lines = JSON.parse(v || '[]').map(editable); } catch { lines = []; } draw(); },
  });
  return el;
}

export async function render(root, params, ctx) {
  const { plan, action } = params;
  const topic = `action:${plan}/${action}`;
  const path = actionPath(plan, action);

  const [first, hist] = await Promise.all([api(path), api(`${path}/history`)]);
  let view = first.data;
  let history = hist.data;
  let base = { version: view.version, values: pick(view) };
  const draft = new Map();
  const inputs = new Map();
  const remoteNotes = new Map();
  const fieldPresence = new Map();
  let present = [];
  let conflict = null;

  function pick(v) {
    return Object.fromEntries(TEXT_FIELDS.map((f) => {
      if (ROW_FIELDS[f]) return [f, listOf(v[f]).map(ROW_FIELDS[f].normalize)];
      return [f, LIST_FIELDS.has(f) ? listOf(v[f]) : (v[f] || '')];
    }));
  }

  // --- the pieces of the page -------------------------------------------------
  const heading = h('h1', null);
  const statusLine = h('div', { class: 'action-status' });
  const reportBox = h('div', { class: 'latest-report' });
  const presenceBox = h('div', { id: 'presence', class: 'presence', 'aria-live': 'polite' });
  const linksBox = h('div', { class: 'instrument-links' });
  const agreementsBox = h('div', { class: 'action-agreements' });
  const historyList = h('ol', { id: 'history', class: 'timeline' });
  const saveStatus = h('p', { id: 'save-status', class: 'save-status', role: 'status', 'aria-live': 'polite' });
  const conflictBox = h('section', { id: 'conflict', class: 'conflict', 'aria-labelledby': 'conflict-title', tabindex: '-1' });
  conflictBox.hidden = true;
  const reason = h('input', { id: 'edit-reason', type: 'text', autocomplete: 'off' });
  const saveButton = h('button', { type: 'submit', class: 'primary', id: 'save' }, t('edit.save'));
  const discardButton = h('button', { type: 'button', class: 'secondary', id: 'discard' }, t('edit.discard'));

  function fieldControl(field) {
    const id = `field-${field}`;
    let input;
    if (ROW_FIELDS[field]) input = rowsEditor(id, field);
    else if (field === 'description') input = h('textarea', { id, rows: 4 });
    else if (LIST_FIELDS.has(field)) input = h('textarea', { id, rows: 3, 'aria-describedby': `${id}-help` });
    else if (field === 'competence') {
      input = h('select', { id },
        h('option', { value: '' }, t('competence.unset')),
        h('option', { value: 'direct' }, t('competence.direct')),
        h('option', { value: 'steering' }, t('competence.steering')));
    } else input = h('input', { id, type: DATE_FIELDS.has(field) ? 'date' : 'text', autocomplete: 'off' });
    input.value = inputText(field, base.values[field]);
    input.dataset.field = field;
    inputs.set(field, input);
    const note = h('p', { class: 'remote-note', id: `${id}-remote`, role: 'status' });
    note.hidden = true;
    remoteNotes.set(field, note);
    const who = h('span', { class: 'field-presence', id: `${id}-presence` });
    fieldPresence.set(field, who);
    input.addEventListener('input', () => onInput(field));
    input.addEventListener('change', () => onInput(field));
    input.addEventListener('focusin', () => ctx.live.presence(topic, 'editing', field));
    input.addEventListener('focusout', (e) => {
      if (!input.contains(e.relatedTarget)) ctx.live.presence(topic, 'viewing');
    });
    const label = ROW_FIELDS[field]
      ? h('span', { id: `${id}-label`, class: 'label' }, fieldLabel(field), ' ', who)
      : h('label', { for: id }, fieldLabel(field), ' ', who);
    return h('div', { class: ['field', `field-${field}`], dataset: { field } },
      label,
      input,
      LIST_FIELDS.has(field) ? h('p', { class: 'help', id: `${id}-help` }, t('edit.one_per_line')) : null,
      note);
  }

  function dirtyMark(field) {
    const wrapper = inputs.get(field).closest('.field');
    wrapper.classList.toggle('dirty', draft.has(field));
  }

  function onInput(field) {
    const value = parseInput(field, inputs.get(field).value);
    if (same(value, base.values[field])) draft.delete(field);
    else {
      // Editing a field others changed since our base: when none of our other
      // changes touch what they changed, move the base up to what is shown.
      const current = pick(view);
      if (!draft.has(field) && !same(current[field], base.values[field])) {
        const clash = [...draft.keys()].some((f) => !same(current[f], base.values[f]));
        if (!clash) {
          base = { version: view.version, values: current };
          TEXT_FIELDS.forEach((f) => remoteNotes.get(f).hidden = true);
        }
      }
      if (same(value, base.values[field])) draft.delete(field);
      else draft.set(field, value);
    }
    dirtyMark(field);
    saveStatus.textContent = draft.size ? t('edit.unsaved', { n: draft.size }) : '';
    delete saveStatus.dataset.outcome;
  }

  function applyView(next) {
    view = next;
    const current = pick(view);
    if (draft.size === 0 && !conflict) base = { version: view.version, values: current };
    for (const f of TEXT_FIELDS) {
      const input = inputs.get(f);
      if (!draft.has(f)) {
        if (!input.contains(document.activeElement) || draft.size === 0) input.value = inputText(f, current[f]);
        remoteNotes.get(f).hidden = true;
      } else {
        const changed = !same(current[f], base.values[f]);
        const note = remoteNotes.get(f);
        note.hidden = !changed;
        if (changed) note.textContent = t('edit.changed_meanwhile', { value: fieldText(f, current[f]) });
      }
    }
    renderFacts();
  }

  function renderFacts() {
    replace(heading, h('span', { class: 'code' }, view.code), ' ', view.title);
    document.title = `${view.code} ${view.title} — metroplan`;
    replace(statusLine, statusChip(view.status), progressBar(view.progress, view.status, t('field.progress')),
      view.retired ? h('span', { class: 'status status-cancelled' }, t('action.retired')) : null,
      h('span', { class: 'muted' }, t('action.version', { version: view.version })));
    const r = view.latest_report;
    replace(reportBox, h('h2', null, t('action.latest_report')), r ? h('dl', { class: 'facts' },
      h('dt', null, t('field.status')), h('dd', null, statusLabel(r.status)),
      h('dt', null, t('field.progress')), h('dd', null, `${r.progress}%`),
      h('dt', null, t('report.as_of')), h('dd', null, date(r.as_of)),
      h('dt', null, t('report.note')), h('dd', null, r.note || '—'),
      h('dt', null, t('report.evidence')), h('dd', null, /^https?:\/\//i.test(r.evidence_url || '') ? h('a', { href: r.evidence_url, rel: 'noopener noreferrer', target: '_blank' }, r.evidence_url) : (r.evidence_url || '—')),
      h('dt', null, t('report.by')), h('dd', null, t('history.by', { actor: r.reported_by, org: r.reporting_organisation }), ', ', dateTime(r.reported_at)))
      : h('p', { class: 'muted' }, t('action.no_report')));
    replace(linksBox, h('h2', null, t('field.instrument_links')), view.instrument_links.length
      ? h('ul', null, view.instrument_links.map((l) => h('li', { dataset: { instrument: l.instrument } }, h('strong', null, l.instrument), l.section ? ` (${l.section})` : '', l.effect ? `: ${l.effect}` : '',
        ' ', effectChip(l.state),
        l.dup_objective ? h('div', { class: 'muted' }, `${term('dup_level', l.dup_objective.level)} ${l.dup_objective.code} — ${l.dup_objective.title}`) : null)))
      : h('p', { class: 'muted' }, t('action.no_links')));
    replace(agreementsBox, h('h2', null, t('action.agreements')), view.agreements.length
      ? h('ul', null, view.agreements.map((a) => h('li', { dataset: { agreement: a.id } },
        h('a', { href: `#/plans/${encodeURIComponent(plan)}/agreements` }, a.title), ' · ',
        h('span', { class: ['status', `agreement-${a.status}`] }, t(`agreement_status.${a.status}`)), ' · ',
        t('action.commits', { amount: euros(a.committed_cents) }))))
      : h('p', { class: 'muted' }, t('action.no_agreements')));
  }

  function changeDetails(entry) {
    const p = entry.payload || {};
    if (entry.event_type === 'ActionEdited') {
      return h('ul', { class: 'changes' }, editedFields(p).map((f) => h('li', null, h('span', { class: 'field-name' }, fieldLabel(f)), ': ', fieldText(f, p[f]))));
    }
    if (entry.event_type === 'ActionAdded') {
      return h('p', { class: 'muted' }, p.title);
    }
    return null;
  }

  function renderHistory() {
    const entries = [...history].sort((a, b) => b.position - a.position);
    replace(historyList, entries.map((e) => h('li', { dataset: { position: e.position, event: e.event_type } },
      h('p', { class: 'what' }, h('strong', null, eventLabel(e.event_type)),
        e.event_type === 'ActionProgressReported' ? [' — ', eventSummary(e)] : null),
      changeDetails(e),
      h('p', { class: 'who' },
        h('span', null, t('history.who', { actor: e.actor })), ' · ',
        h('span', null, t('history.on_behalf', { org: e.on_behalf_of })), ' · ',
        h('time', { datetime: e.recorded_at }, dateTime(e.recorded_at))),
      h('p', { class: 'why' }, e.reason ? t('history.reason', { reason: e.reason }) : t('history.no_reason')))));
  }

  function renderPresence(list) {
    if (list) present = list;
    const me = ctx.live.session;
    const others = present.filter((p) => !me || p.session !== me);
    replace(presenceBox, h('h2', null, t('presence.title')), others.length
      ? h('ul', null, others.map((p) => h('li', { dataset: { session: p.session, state: p.state } },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, (p.actor || '?').slice(0, 1).toUpperCase()),
        ' ', h('strong', null, p.actor), p.organisation ? ` (${p.organisation})` : '', ' — ',
        p.state === 'editing' && p.field ? t('presence.editing', { field: fieldLabel(p.field) }) : t('presence.viewing'))))
      : h('p', { class: 'muted' }, t('presence.alone')));
    for (const [field, el] of fieldPresence) {
      const editors = others.filter((p) => p.state === 'editing' && p.field === field);
      replace(el, editors.length ? h('span', { class: 'badge' }, t('presence.field_editing', { who: editors.map((p) => p.actor).join(', ') })) : null);
    }
  }

  // --- saving and conflicts -----------------------------------------------------
  async function save(fields, ifMatch) {
    saveButton.disabled = true;
    saveStatus.textContent = t('edit.saving');
    delete saveStatus.dataset.outcome;
    try {
      const r = await api(path, { method: 'PATCH', body: fields, ifMatch, reason: reason.value });
      const [next, nextHistory] = await Promise.all([
        api(path, { query: { min_position: r.data.position } }),
        api(`${path}/history`, { query: { min_position: r.data.position } }),
      ]);
      draft.clear();
      conflict = null;
      conflictBox.hidden = true;
      replace(conflictBox);
      base = { version: next.data.version, values: pick(next.data) };
      for (const f of TEXT_FIELDS) { inputs.get(f).value = inputText(f, base.values[f]); dirtyMark(f); }
      applyView(next.data);
      history = nextHistory.data;
      renderHistory();
      reason.value = '';
      const message = r.data.merged ? t('edit.merged') : t('edit.saved');
      saveStatus.textContent = message;
      saveStatus.dataset.outcome = r.data.merged ? 'merged' : 'saved';
      announce(message);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.problem.fields) {
        showConflict(err.problem, fields);
      } else {
        saveStatus.textContent = t('error.generic', { message: err.message });
        saveStatus.dataset.outcome = 'error';
      }
    } finally {
      saveButton.disabled = false;
    }
  }

  function showConflict(problem, sent) {
    conflict = problem;
    saveStatus.textContent = t('conflict.status');
    saveStatus.dataset.outcome = 'conflict';
    const choices = new Map();
    const blocks = problem.fields.map((field) => {
      const theirs = problem.theirs[field];
      const yours = problem.yours[field];
      const id = `resolve-${field}`;
      let resolution;
      if (ROW_FIELDS[field]) resolution = rowsEditor(id, field);
      else if (LIST_FIELDS.has(field) || field === 'description') resolution = h('textarea', { id, rows: 3 });
      else resolution = h('input', { id, type: DATE_FIELDS.has(field) ? 'date' : 'text' });
      resolution.value = inputText(field, yours);
      choices.set(field, resolution);
      const use = (value) => () => {
        resolution.value = inputText(field, value);
        (resolution.querySelector('input') || resolution).focus();
      };
      return h('div', { class: 'conflict-field', dataset: { field } },
        h('h3', null, fieldLabel(field)),
        h('div', { class: 'versions' },
          h('div', { class: 'version base' }, h('h4', null, t('conflict.base')), h('p', { class: 'value' }, fieldText(field, problem.base[field]))),
          h('div', { class: 'version theirs' }, h('h4', null, t('conflict.theirs')), h('p', { class: 'value' }, fieldText(field, theirs)),
            h('button', { type: 'button', class: 'secondary use-theirs', onclick: use(theirs) }, t('conflict.use_theirs'))),
          h('div', { class: 'version yours' }, h('h4', null, t('conflict.yours')), h('p', { class: 'value' }, fieldText(field, yours)),
            h('button', { type: 'button', class: 'secondary use-yours', onclick: use(yours) }, t('conflict.use_yours')))),
        ROW_FIELDS[field]
          ? h('span', { id: `${id}-label`, class: 'label' }, t('conflict.resolution'))
          : h('label', { for: id }, t('conflict.resolution')),
        resolution);
    });
    const others = Object.keys(sent).filter((f) => !problem.fields.includes(f));
    replace(conflictBox,
      h('h2', { id: 'conflict-title' }, t('conflict.title')),
      h('p', null, t('conflict.intro')),
      blocks,
      others.length ? h('p', { class: 'muted' }, t('conflict.also_saved', { fields: others.map(fieldLabel).join(', ') })) : null,
      h('div', { class: 'buttons' },
        h('button', {
          type: 'button', class: 'primary', id: 'resolve',
          onclick: () => {
            const body = {};
            for (const f of others) body[f] = sent[f];
            for (const [f, input] of choices) body[f] = parseInput(f, input.value);
            save(body, problem.current_version);
          },
        }, t('conflict.save')),
        h('button', {
          type: 'button', class: 'secondary', id: 'conflict-cancel',
          onclick: () => { conflict = null; conflictBox.hidden = true; saveStatus.textContent = t('edit.unsaved', { n: draft.size }); saveButton.focus(); },
        }, t('conflict.cancel'))));
    conflictBox.hidden = false;
    conflictBox.focus();
    announce(t('conflict.status'));
  }

  const form = h('form', { class: 'edit-form', id: 'edit-form', 'aria-labelledby': 'edit-title' },
    h('h2', { id: 'edit-title' }, t('edit.title')),
    h('div', { class: 'fields' }, TEXT_FIELDS.map(fieldControl)),
    h('div', { class: 'field' }, h('label', { for: 'edit-reason' }, t('edit.reason')), reason),
    h('div', { class: 'buttons' }, saveButton, discardButton),
    saveStatus);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (draft.size === 0) {
      saveStatus.textContent = t('edit.nothing');
      return;
    }
    save(Object.fromEntries(draft), base.version);
  });
  discardButton.addEventListener('click', () => {
    draft.clear();
    conflict = null;
    conflictBox.hidden = true;
    base = { version: view.version, values: pick(view) };
    for (const f of TEXT_FIELDS) { inputs.get(f).value = inputText(f, base.values[f]); remoteNotes.get(f).hidden = true; dirtyMark(f); }
    saveStatus.textContent = '';
  });

  // --- progress report ------------------------------------------------------------
  const reportStatus = h('select', { id: 'report-status' }, STATUSES.map((st) => h('option', { value: st }, statusLabel(st))));
  reportStatus.value = view.status;
  const reportProgress = h('input', { id: 'report-progress', type: 'number', min: 0, max: 100, step: 1, value: view.progress, inputmode: 'numeric' });
  const reportAsOf = h('input', { id: 'report-as-of', type: 'date', required: true });
  const reportNote = h('textarea', { id: 'report-note', rows: 2 });
  const reportEvidence = h('input', { id: 'report-evidence', type: 'url', placeholder: 'https://' });
  const reportResult = h('p', { id: 'report-result', role: 'status', 'aria-live': 'polite' });
  const reportForm = h('form', { class: 'report-form', id: 'report-form', 'aria-labelledby': 'report-title' },
    h('h2', { id: 'report-title' }, t('report.title')),
    h('div', { class: 'fields' },
      h('div', { class: 'field' }, h('label', { for: 'report-status' }, t('field.status')), reportStatus),
      h('div', { class: 'field' }, h('label', { for: 'report-progress' }, t('report.progress')), reportProgress),
      h('div', { class: 'field' }, h('label', { for: 'report-as-of' }, t('report.as_of')), reportAsOf),
      h('div', { class: 'field' }, h('label', { for: 'report-evidence' }, t('report.evidence')), reportEvidence),
      h('div', { class: 'field field-wide' }, h('label', { for: 'report-note' }, t('report.note')), reportNote)),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, t('report.submit'))),
    reportResult);
  reportForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      status: reportStatus.value, progress: Number(reportProgress.value), note: reportNote.value, as_of: reportAsOf.value,
    };
    if (reportEvidence.value.trim()) body.evidence_url = reportEvidence.value.trim();
    try {
      const r = await api(`${path}/progress`, { method: 'POST', body, reason: reason.value });
      reportResult.textContent = t('report.done');
      reportNote.value = '';
      wanted = Math.max(wanted, r.data.position);
      refresh();
    } catch (err) {
      const field = err.problem && err.problem.field ? ` (${err.problem.field})` : '';
      reportResult.textContent = t('error.generic', { message: err.message + field });
    }
  });

  // Offer only what the caller's role may do (the API refuses the rest anyway).
  const may = (ctx.me && ctx.me.may) || { edit: true, report: true };
  form.hidden = !may.edit;
  reportForm.hidden = !may.report;
  const readOnly = h('p', { class: 'muted', id: 'read-only', role: 'note' },
    ctx.me ? t('action.read_only', { role: t(`role.${ctx.me.role}`) }) : '');
  readOnly.hidden = may.edit && may.report;

  replace(root,
    h('nav', { class: 'breadcrumbs', 'aria-label': t('nav.breadcrumbs') },
      h('a', { href: `#/plans/${encodeURIComponent(plan)}` }, t('nav.explorer')), ' › ',
      t('explorer.axis', { code: view.axis }), ' › ', view.strategy),
    heading,
    statusLine,
    h('div', { class: 'action-layout' },
      h('div', { class: 'action-main' }, h('p', { class: 'description' }, view.description), readOnly, form, conflictBox, reportForm,
        linksBox),
      h('aside', { class: 'action-side' }, presenceBox, reportBox, agreementsBox,
        h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, t('history.title')), historyList))));
  renderFacts();
  renderHistory();
  renderPresence([]);

  // --- live ---------------------------------------------------------------------------
  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      const [next, nextHistory] = await Promise.all([
        api(path, { query: { min_position: wanted } }),
        api(`${path}/history`, { query: { min_position: wanted } }),
      ]);
      applyView(next.data);
      history = nextHistory.data;
      renderHistory();
    } catch { /* the next delta reads again */ }
  }, 50);
  const stopAction = ctx.live.subscribe(topic, Math.max(0, ...history.map((e) => e.position)), (delta, position) => {
    wanted = Math.max(wanted, position);
    refresh();
  }, (list) => renderPresence(list));
  // Agreement steps after linking are on the plan's topic only.
  const stopPlan = ctx.live.subscribe(`plan:${plan}`, 0, (delta, position) => {
    if (!/^(Agreement|Commitment)/.test(delta.event_type)) return;
    wanted = Math.max(wanted, position);
    refresh();
  });
  ctx.live.presence(topic, 'viewing');
  const leave = () => ctx.live.presence(topic, 'left');
  window.addEventListener('pagehide', leave);
  return () => {
    leave();
    window.removeEventListener('pagehide', leave);
    stopAction();
    stopPlan();
    refresh.cancel();
  };
}
