// One questionnaire campaign: its questions (editable while drafted), the invited
// organisations and whether they answered, the personal link made by an invitation
// (shown this once: the platform keeps only its hash), opening and closing, and the
// results per question, strategy and action. Follows `campaign:<plan>/<id>`.

import { api, planPath } from '../api.js';
import { h, replace, debounce, keepFocus, announce } from '../dom.js';
import { t, term } from '../i18n.js';
import { date, dateTime, decimal } from '../format.js';
import { stateChip } from './campaigns.js';

/** The results of one question in one scope. */
export function questionResult(r) {
  let body;
  if (r.scale) {
    const top = Math.max(1, ...r.scale.distribution.map((p) => p.count));
    body = [
      h('p', null, r.scale.mean
        ? t('results.mean', { mean: decimal(r.scale.mean), fraction: r.scale.mean_fraction, count: r.scale.count })
        : t('results.no_answers')),
      h('ol', { class: 'distribution' }, r.scale.distribution.map((p) => {
        const bar = h('span', { class: 'bar-fill' });
        bar.style.width = `${(p.count / top) * 100}%`;
        return h('li', { dataset: { point: p.value } }, h('span', { class: 'point' }, String(p.value)),
          h('span', { class: 'bar', 'aria-hidden': 'true' }, bar), h('span', { class: 'count' }, String(p.count)));
      })),
    ];
  } else if (r.choices) {
    body = h('ul', { class: 'option-counts' }, r.choices.map((o) => h('li', { dataset: { option: o.option } },
      `${o.option}: `, h('strong', null, String(o.count)))));
  } else {
    body = r.texts && r.texts.length
      ? h('ul', { class: 'texts' }, r.texts.map((x) => h('li', null, h('q', null, x.text), ' — ',
        h('span', { class: 'muted' }, x.organisation, x.action ? ` (${x.action})` : ''))))
      : h('p', { class: 'muted' }, t('results.no_answers'));
  }
  return h('div', { class: 'question-result', dataset: { question: r.question } },
    h('h4', null, r.text, ' ', h('span', { class: 'muted' }, t('results.answers', { count: r.answers }))), body);
}

export async function render(root, params, ctx) {
  const { plan, campaign } = params;
  const may = (ctx.me && ctx.me.may) || { edit: true };
  const path = `${planPath(plan)}/campaigns/${encodeURIComponent(campaign)}`;
  let data = null;
  let results = null;
  const body = h('div', { id: 'campaign' });
  const resultsBox = h('section', { id: 'results', class: 'results' });
  const linkBox = h('div', { id: 'invitation-link', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', id: 'campaign-error' });
  error.hidden = true;
  const fail = (err) => {
    error.textContent = err.problem && err.problem.field ? `${err.problem.field}: ${err.message}` : err.message;
    error.hidden = false;
  };

  // The questions as the API takes them back, to add or remove one while drafted.
  const asInput = (q) => {
    const out = { id: q.id, kind: q.kind, text: q.text, about: q.about, subjects: q.subjects, required: q.required };
    if (q.kind === 'scale') Object.assign(out, { scale_min: q.scale_min, scale_max: q.scale_max, min_label: q.min_label, max_label: q.max_label });
    if (q.kind === 'choice') out.choices = q.choices;
    return out;
  };
  async function putQuestions(questions) {
    error.hidden = true;
    try {
      await api(`${path}/questions`, { method: 'PUT', body: { questions } });
      return true;
    } catch (err) {
      fail(err);
      return false;
    }
  }

  function questionForm() {
    const f = (name, attrs = {}, tag = 'input') => h('div', { class: ['field', `field-${name}`] },
      h('label', { for: `question-${name}` }, t(`question.field.${name}`)),
      h(tag, { id: `question-${name}`, name, autocomplete: 'off', ...attrs }));
    const select = (name, options) => h('div', { class: 'field' },
      h('label', { for: `question-${name}` }, t(`question.field.${name}`)),
      h('select', { id: `question-${name}`, name }, options.map((o) => h('option', { value: o }, term(`question_${name}`, o)))));
    const form = h('form', { id: 'question-form', class: 'question-form' },
      h('h3', null, t('question.add')),
      h('div', { class: 'fields' },
        f('id', { required: true }), select('kind', ['scale', 'choice', 'text']),
        f('text', { required: true }), select('about', ['plan', 'strategy', 'action', 'actions']),
        f('subjects', { 'aria-describedby': 'question-subjects-help' }),
        f('scale_min', { type: 'number', value: '1' }), f('scale_max', { type: 'number', value: '5' }),
        f('min_label'), f('max_label'),
        f('choices', { rows: 3, 'aria-describedby': 'question-choices-help' }, 'textarea'),
        h('div', { class: 'field' }, h('label', null, h('input', { type: 'checkbox', name: 'required', id: 'question-required' }), ` ${t('question.field.required')}`))),
      h('p', { id: 'question-subjects-help', class: 'help' }, t('question.subjects_help')),
      h('p', { id: 'question-choices-help', class: 'help' }, t('question.choices_help')),
      h('button', { type: 'submit', class: 'secondary' }, t('question.add')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = (n) => form.elements[n].value.trim();
      const q = {
        id: v('id'), kind: v('kind'), text: v('text'), about: v('about'),
        subjects: v('subjects').split(/[,\s]+/).filter(Boolean), required: form.elements.required.checked,
      };
      if (q.kind === 'scale') Object.assign(q, { scale_min: Number(v('scale_min')), scale_max: Number(v('scale_max')), min_label: v('min_label'), max_label: v('max_label') });
      if (q.kind === 'choice') q.choices = v('choices').split('\n').map((c) => c.trim()).filter(Boolean);
      if (await putQuestions([...data.questions.map(asInput), q])) {
        form.reset();
        announce(t('question.added'));
      }
    });
    return form;
  }

  // Built once, so what a person types survives live updates.
  const qForm = questionForm();

  function questions() {
    const drafted = data.state === 'drafted';
    if (!data.questions.length) return h('p', { class: 'empty' }, t('campaign.no_questions'));
    return h('ol', { class: 'questions', id: 'questions' }, data.questions.map((q, i) => h('li', { dataset: { question: q.id } },
      h('strong', null, q.text), ' ',
      h('span', { class: 'muted' }, [term('question_kind', q.kind), q.kind === 'scale' ? ` ${q.scale_min}–${q.scale_max}` : '',
        q.kind === 'choice' ? `: ${q.choices.join(' · ')}` : '', ' · ', term('question_about', q.about),
        q.subjects.length ? ` ${q.subjects.join(', ')}` : '', q.required ? ` · ${t('questionnaire.required')}` : ''].join('')),
      drafted && may.edit ? [' ', h('button', {
        type: 'button', class: 'link-button', 'aria-label': t('question.remove_label', { id: q.id }),
        onclick: () => putQuestions(data.questions.filter((_, j) => j !== i).map(asInput)),
      }, t('question.remove'))] : null)));
  }

  function invitations() {
    const replaceable = may.edit && data.state !== 'closed';
    if (!data.invitations.length) return h('p', { class: 'empty' }, t('campaign.no_invitations'));
    return h('div', { class: 'table-wrap' }, h('table', { id: 'invitations' },
      h('thead', null, h('tr', null, ['organisation', 'invited_at', 'answered'].map((k) => h('th', { scope: 'col' }, t(`invitation.${k}`))),
        replaceable ? h('th', { scope: 'col' }, t('invitation.link')) : null)),
      h('tbody', null, data.invitations.map((x) => h('tr', { dataset: { organisation: x.organisation } },
        h('th', { scope: 'row' }, x.organisation),
        h('td', null, dateTime(x.invited_at),
          x.link_replaced_at ? h('div', { class: 'muted' }, t('invitation.link_replaced_at', { when: dateTime(x.link_replaced_at) })) : null),
        h('td', { dataset: { field: 'answered' } }, x.answered
          ? t('invitation.answered_at', { when: dateTime(x.answered_at), times: x.submissions })
          : t('invitation.not_yet')),
        replaceable ? h('td', null, h('button', {
          type: 'button', class: 'secondary replace-link', 'aria-label': t('invitation.replace_label', { organisation: x.organisation }),
          onclick: () => newLink('links', x.organisation),
        }, t('invitation.replace'))) : null)))));
  }

  const inviteForm = h('form', { id: 'invite-form', class: 'inline-form' },
    h('label', { for: 'invite-organisation' }, t('invitation.organisation')),
    h('input', { id: 'invite-organisation', name: 'organisation', required: true, autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'secondary' }, t('invitation.invite')));
  // An invitation, or a new link for an organisation that lost its own: the answer
  // holds the link this once.
  async function newLink(route, organisation) {
    error.hidden = true;
    try {
      const { data: out } = await api(`${path}/${route}`, { method: 'POST', body: { organisation } });
      // The answer holds the secret this once; the page people open is the web page.
      const url = `${window.location.origin}${out.link || `/#/questionnaire/${encodeURIComponent(out.secret)}`}`;
      replace(linkBox, h('p', null, t('invitation.link_for', { organisation: out.organisation })),
        h('input', { id: 'invitation-url', readonly: true, value: url, 'aria-label': t('invitation.link_label'), class: 'link-field' }),
        h('p', { class: 'help' }, t('invitation.link_once')));
      if (route === 'invitations') inviteForm.reset();
    } catch (err) {
      fail(err);
    }
  }
  inviteForm.addEventListener('submit', (e) => {
    e.preventDefault();
    newLink('invitations', inviteForm.elements.organisation.value.trim());
  });

  async function step(which) {
    error.hidden = true;
    try {
      await api(`${path}/${which}`, { method: 'POST' });
    } catch (err) {
      fail(err);
    }
  }

  function drawResults() {
    if (!results) {
      replace(resultsBox);
      return;
    }
    replace(resultsBox,
      h('h2', null, t('results.title')),
      h('p', { class: 'muted' }, t(results.final ? 'results.final' : 'results.provisional', { answered: results.answered, invited: results.invited, rule: results.rule })),
      h('h3', null, t('results.overall')), results.questions.map(questionResult),
      results.by_strategy.length ? [h('h3', null, t('results.by_strategy')), results.by_strategy.map((s) => h('details', { dataset: { strategy: s.strategy } },
        h('summary', null, `${t('results.strategy')} ${s.strategy}`), s.questions.map(questionResult)))] : null,
      results.by_action.length ? [h('h3', null, t('results.by_action')), results.by_action.map((a) => h('details', { dataset: { action: a.action } },
        h('summary', null, `${t('results.action')} ${a.action}`), a.questions.map(questionResult)))] : null);
  }

  function renderBody() {
    const drafted = data.state === 'drafted';
    const open = data.state === 'open';
    replace(body,
      h('p', null, stateChip(data.state), ' ', t('questionnaire.window', { opens: date(data.opens), closes: date(data.closes) })),
      data.description ? h('p', null, data.description) : null,
      error,
      may.edit ? h('p', { class: 'buttons' },
        drafted ? h('button', { type: 'button', class: 'primary', id: 'campaign-open', onclick: () => step('open') }, t('campaign.open')) : null,
        open ? h('button', { type: 'button', class: 'primary', id: 'campaign-close', onclick: () => step('close') }, t('campaign.close')) : null) : null,
      h('h2', null, t('campaign.questions')), questions(),
      drafted && may.edit ? qForm : null,
      h('h2', null, t('campaign.invitations', { answered: data.answered, invited: data.invited })), invitations(),
      data.state !== 'closed' && may.edit ? [inviteForm, linkBox] : null);
  }

  async function readResults(min) {
    try {
      results = (await api(`${path}/results`, { query: { min_position: min } })).data;
    } catch {
      results = null; // a role that may not read results sees the rest
    }
  }

  let wanted = 0;
  const refresh = debounce(async () => {
    try {
      data = (await api(path, { query: { min_position: wanted } })).data;
      await readResults(wanted);
      keepFocus(body, renderBody);
      drawResults();
    } catch { /* the next delta reads again */ }
  }, 100);
  const stop = ctx.live.subscribe(`campaign:${plan}/${campaign}`, 0, (_delta, position) => {
    wanted = Math.max(wanted, position);
    refresh();
  });
  try {
    data = (await api(path)).data;
    await readResults(0);
  } catch (err) {
    stop();
    refresh.cancel();
    throw err;
  }
  replace(root,
    h('p', { class: 'breadcrumbs' }, h('a', { href: `#/plans/${encodeURIComponent(plan)}/campaigns` }, t('campaign.title'))),
    h('h1', null, data.title), body, resultsBox);
  renderBody();
  drawResults();
  return () => { stop(); refresh.cancel(); };
}
