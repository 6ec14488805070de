// Numbers, money, dates, statuses and events in the reader's language.

import { h } from './dom.js';
import { t, has, term, locale } from './i18n.js';

export const STATUSES = ['not_started', 'started', 'in_progress', 'completed', 'suspended', 'cancelled'];

export function percent(value) {
  const n = Number(value) || 0;
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: n % 1 === 0 ? 0 : 1 }).format(n)}%`;
}

/** Rounds a roll-up's mean progress for display: one decimal at most. */
export function roundProgress(value) {
  return Math.round((Number(value) || 0) * 10) / 10;
}

export function euros(cents) {
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 })
    .format((Number(cents) || 0) / 100);
}

export function date(value) {
  if (!value) return '—';
  const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) return value;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

export function dateTime(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}

export function statusLabel(status) {
  return has(`status.${status}`) ? t(`status.${status}`) : status;
}

/** A status chip: colour and words, so colour is never the only carrier. */
export function statusChip(status) {
  return h('span', { class: ['status', `status-${status}`], dataset: { status } }, statusLabel(status));
}

/** A progress bar with its value written beside it. */
export function progressBar(value, status, label) {
  const v = Math.max(0, Math.min(100, Number(value) || 0));
  const fill = h('span', { class: ['bar-fill', status ? `fill-${status}` : null] });
  fill.style.width = `${v}%`;
  return h('span', { class: 'progress' },
    h('span', {
      class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-valuenow': roundProgress(v), 'aria-label': label || t('field.progress'),
    }, fill),
    h('span', { class: 'bar-value' }, percent(roundProgress(v))));
}

export function fieldLabel(field) {
  return has(`field.${field}`) ? t(`field.${field}`) : field;
}

export function eventLabel(type) {
  return has(`event.${type}`) ? t(`event.${type}`) : type;
}

function listValues(v) {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && Array.isArray(v.values)) return v.values;
  return null;
}

/** Which fields an ActionEdited event changed (its non-null payload fields). */
export function editedFields(payload) {
  return Object.entries(payload || {})
    .filter(([k, v]) => !['plan', 'code'].includes(k) && v !== null && v !== undefined)
    .map(([k]) => k);
}

/** A readable value of an action field, as a string. */
export function fieldText(field, value) {
  const list = listValues(value);
  if (list) {
    if (field === 'funding_lines') {
      return list.map((l) => `${l.source}${l.programme ? ` ${l.programme}` : ''}: ${euros(l.planned_cents)}`).join('; ') || '—';
    }
    if (field === 'instrument_links') {
      return list.map((l) => [l.instrument, l.section, l.effect, l.state && term('effect_state', l.state),
        l.dup_objective && l.dup_objective.code].filter(Boolean).join(' · ')).join('; ') || '—';
    }
    return list.join(', ') || '—';
  }
  if (value === null || value === undefined || value === '') return '—';
  if (field === 'competence') return has(`competence.${value}`) ? t(`competence.${value}`) : value;
  return String(value);
}

/** One line saying what an event did, in the reader's language. */
export function eventSummary(entry) {
  const p = entry.payload || {};
  switch (entry.event_type) {
    case 'ActionProgressReported':
      return t('summary.progress', {
        action: p.action, status: statusLabel(p.status), progress: percent(p.progress), as_of: date(p.as_of),
      }) + (p.note ? ` — ${p.note}` : '');
    case 'ActionEdited':
      return t('summary.edited', { action: p.code, fields: editedFields(p).map(fieldLabel).join(', ') });
    case 'ActionAdded':
      return t('summary.action_added', { action: p.code, title: p.title });
    case 'MeetingHeld':
      return t('summary.meeting', { title: p.title, date: date(p.held_on), count: (p.decisions || []).length });
    case 'AgreementDrafted':
    case 'AgreementSigned':
    case 'AgreementTerminated':
    case 'AgreementAmended':
      return `${eventLabel(entry.event_type)}${p.title ? `: ${p.title}` : ''}`;
    case 'AgreementActionLinked':
    case 'AgreementActionUnlinked':
      return `${eventLabel(entry.event_type)}: ${p.action || ''}`;
    case 'CommitmentMade':
      return t('summary.commitment', { party: p.party, amount: euros(p.amount_cents), source: p.funding_source });
    case 'StrategyAdded':
    case 'AxisAdded':
      return `${eventLabel(entry.event_type)}: ${p.code} ${p.name || ''}`;
    default:
      return eventLabel(entry.event_type);
  }
}

/** The action a history entry concerns, when it concerns one. */
export function entryAction(entry) {
  const m = /^(?:action|progress):[^/]+\/(.+)$/.exec(entry.stream || '');
  return m ? m[1] : null;
}

/**
 * An exact decimal from the API (`-1234.5`, a string) written in the reader's
 * language without going through a float: digits grouped, the decimal comma in
 * Italian.
 */
export function decimal(value) {
  const text = String(value ?? '');
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return text || '—';
  const [, sign, whole, frac] = m;
  const it = locale() === 'it-IT';
  const group = it ? '.' : ',';
  const point = it ? ',' : '.';
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  return `${sign ? '−' : ''}${grouped}${frac ? point + frac : ''}`;
}
