// The monitoring report for a period and the exports: the report as HTML or PDF
// (rendered by the server), the actions and indicators as CSV or XLSX, and the
// open-data file in the columns of Italia Domani's PNRR projects or OpenCoesione.
// Files are fetched with the session's token and saved from memory, so no link ever
// carries the token.

import { api, planPath } from '../api.js';
import { token } from '../auth.js';
import { h, replace, announce } from '../dom.js';
import { t } from '../i18n.js';

async function download(url, fallbackName) {
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${token()}` }, cache: 'no-store', credentials: 'omit',
  });
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not a problem document */ }
    throw new Error((problem && (problem.detail || problem.title)) || `HTTP ${response.status}`);
  }
  const disposition = response.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(disposition);
  const name = m ? m[1] : fallbackName;
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = h('a', { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
  return { name, bytes: blob.size, type: blob.type };
}

export async function render(root, params) {
  const { plan } = params;
  const plans = (await api('/api/v1/plans')).data;
  const p = plans.find((x) => x.code === plan) || {};
  const from = h('input', { id: 'report-from', name: 'from', type: 'date', value: p.period_from || '', required: true });
  const to = h('input', { id: 'report-to', name: 'to', type: 'date', value: p.period_to || '', required: true });
  const outcome = h('div', { id: 'report-outcome', role: 'status', 'aria-live': 'polite' });

  async function get(path, query, name) {
    replace(outcome, h('p', { class: 'loading' }, t('mreport.preparing')));
    const q = new URLSearchParams(query);
    try {
      const file = await download(`${planPath(plan)}/${path}?${q}`, name);
      replace(outcome, h('p', { class: 'ok', dataset: { file: file.name, type: file.type } },
        t('mreport.saved', { name: file.name, size: Math.max(1, Math.round(file.bytes / 1024)) })));
      announce(t('mreport.saved', { name: file.name, size: Math.max(1, Math.round(file.bytes / 1024)) }));
    } catch (err) {
      replace(outcome, h('p', { class: 'error', role: 'alert' }, err.message));
    }
  }
  const period = () => ({ from: from.value, to: to.value });
  const button = (id, label, onclick) => h('button', { type: 'button', class: 'secondary', id, onclick }, label);

  replace(root,
    h('h1', null, t('mreport.title')),
    h('p', null, t('mreport.intro')),
    h('form', { class: 'report-period', id: 'report-form', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'fields' },
        h('div', { class: 'field' }, h('label', { for: 'report-from' }, t('mreport.from')), from),
        h('div', { class: 'field' }, h('label', { for: 'report-to' }, t('mreport.to')), to))),
    h('h2', null, t('mreport.report')),
    h('p', { class: 'buttons' },
      button('report-pdf', t('mreport.pdf'), () => get('report', { ...period(), format: 'pdf' }, 'report.pdf')), ' ',
      button('report-html', t('mreport.html'), () => get('report', { ...period(), format: 'html' }, 'report.html'))),
    h('h2', null, t('mreport.exports')),
    h('p', { class: 'buttons' },
      ['actions.csv', 'actions.xlsx', 'indicators.csv', 'indicators.xlsx'].map((f) => [
        button(`export-${f.replace('.', '-')}`, t(`mreport.export.${f}`), () => get(`exports/${f}`, period(), f)), ' '])),
    h('h2', null, t('mreport.open_data')),
    h('p', null, t('mreport.open_data_intro')),
    h('p', { class: 'buttons' },
      button('export-pnrr', t('mreport.open_data_pnrr'), () => get('exports/open-data.csv', { ...period(), format: 'pnrr' }, 'open-data-pnrr.csv')), ' ',
      button('export-opencoesione', t('mreport.open_data_opencoesione'), () => get('exports/open-data.csv', { ...period(), format: 'opencoesione' }, 'open-data-opencoesione.csv'))),
    outcome);
  return null;
}
