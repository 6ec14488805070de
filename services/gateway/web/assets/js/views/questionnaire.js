// The page an invited organisation reaches through its personal link,
// #/questionnaire/<secret>: no sign-in, the link is the credential. It shows the
// campaign's questions with the organisation's current answers and sends the whole
// answer set, which it may change until the campaign closes. The secret stays in the
// fragment: the browser never sends it to the server except inside the API calls.

import { api } from '../api.js';
import { h, replace, announce } from '../dom.js';
import { t } from '../i18n.js';
import { date, dateTime } from '../format.js';

const path = (secret) => `/api/v1/questionnaire/${encodeURIComponent(secret)}`;

/** Each answer a question asks for: one, or one per action of `subjects` for `actions`. */
function slots(q) {
  return q.about === 'actions' ? q.subjects.map((a) => ({ q, action: a })) : [{ q, action: null }];
}

const slotId = (slot) => `q-${slot.q.id}${slot.action ? `-${slot.action.replace(/\./g, '_')}` : ''}`;

function control(slot, current, disabled) {
  const { q } = slot;
  const id = slotId(slot);
  const name = id;
  if (q.kind === 'scale') {
    const points = [];
    for (let v = q.scale_min; v <= q.scale_max; v++) points.push(v);
    return h('fieldset', { class: 'scale', dataset: { slot: id } },
      h('legend', { class: 'visually-hidden' }, slot.action ? `${q.text} — ${slot.action}` : q.text),
      q.min_label ? h('span', { class: 'muted' }, q.min_label) : null,
      points.map((v) => h('label', { class: 'scale-point' },
        h('input', { type: 'radio', name, value: String(v), checked: current === v, disabled }), ` ${v}`)),
      q.max_label ? h('span', { class: 'muted' }, q.max_label) : null);
  }
  if (q.kind === 'choice') {
    return h('fieldset', { class: 'choices', dataset: { slot: id } },
      h('legend', { class: 'visually-hidden' }, slot.action ? `${q.text} — ${slot.action}` : q.text),
      q.choices.map((c) => h('label', { class: 'choice' },
        h('input', { type: 'radio', name, value: c, checked: current === c, disabled }), ` ${c}`)));
  }
  return h('div', { dataset: { slot: id } },
    h('label', { for: id, class: 'visually-hidden' }, slot.action ? `${q.text} — ${slot.action}` : q.text),
    h('textarea', { id, name, rows: 3, maxlength: 4000, disabled, value: typeof current === 'string' ? current : '' }));
}

function readSlot(form, slot) {
  const id = slotId(slot);
  if (slot.q.kind === 'text') {
    const v = form.querySelector(`#${CSS.escape(id)}`).value.trim();
    return v === '' ? null : v;
  }
  const checked = form.querySelector(`input[name="${CSS.escape(id)}"]:checked`);
  if (!checked) return null;
  return slot.q.kind === 'scale' ? Number(checked.value) : checked.value;
}

export async function render(root, params) {
  const { secret } = params;
  let data;
  try {
    data = (await api(path(secret))).data;
  } catch (err) {
    if (err.status === 404) {
      replace(root, h('h1', null, t('questionnaire.title')), h('p', { class: 'error', role: 'alert' }, t('questionnaire.unknown_link')));
      return null;
    }
    throw err;
  }
  const status = h('p', { id: 'questionnaire-status', role: 'status', 'aria-live': 'polite' });
  const error = h('div', { id: 'questionnaire-error', class: 'error', role: 'alert' });

  function draw() {
    const disabled = !data.accepting_answers;
    const current = new Map(data.answers.map((a) => [`${a.question}|${a.action || ''}`, a.value]));
    const form = h('form', { id: 'questionnaire-form', class: 'questionnaire' },
      data.questions.map((q) => h('section', { class: 'question', dataset: { question: q.id } },
        h('h2', null, q.text, q.required ? h('span', { class: 'required' }, ` (${t('questionnaire.required')})`) : null),
        q.about === 'actions' ? h('p', { class: 'help' }, t('questionnaire.per_action')) : null,
        q.about === 'action' || q.about === 'strategy' ? h('p', { class: 'help' }, t(`questionnaire.about_${q.about}`, { code: q.subjects.join(', ') })) : null,
        slots(q).map((slot) => h('div', { class: 'slot' },
          slot.action ? h('p', { class: 'slot-action' }, h('span', { class: 'code' }, slot.action)) : null,
          control(slot, current.get(`${q.id}|${slot.action || ''}`), disabled))))),
      error,
      disabled ? null : h('button', { type: 'submit', class: 'primary', id: 'questionnaire-submit' },
        t(data.submissions ? 'questionnaire.update' : 'questionnaire.submit')),
      status);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      replace(error);
      const answers = [];
      for (const q of data.questions) {
        for (const slot of slots(q)) {
          const value = readSlot(form, slot);
          if (value === null) continue;
          answers.push(slot.action ? { question: q.id, action: slot.action, value } : { question: q.id, value });
        }
      }
      try {
        const { data: outcome } = await api(`${path(secret)}/answers`, { method: 'PUT', body: { answers } });
        data = (await api(path(secret), { query: { min_position: outcome.position } })).data;
        draw();
        status.textContent = t('questionnaire.saved');
        announce(t('questionnaire.saved'));
      } catch (err) {
        const field = err.problem && err.problem.field;
        replace(error, h('p', null, field ? `${field}: ${err.message}` : err.message));
      }
    });
    replace(root,
      h('h1', null, data.title),
      h('p', { class: 'muted' }, t('questionnaire.for', { organisation: data.organisation })),
      data.description ? h('p', null, data.description) : null,
      h('p', null, t('questionnaire.window', { opens: date(data.opens), closes: date(data.closes) })),
      h('p', { id: 'questionnaire-state', class: ['notice', `campaign-${data.state}`] },
        data.accepting_answers ? t('questionnaire.open') : t(data.state === 'closed' ? 'questionnaire.closed' : 'questionnaire.not_open')),
      data.answered_at ? h('p', { class: 'muted', id: 'questionnaire-answered' }, t('questionnaire.answered_at', { when: dateTime(data.answered_at) })) : null,
      form);
  }
  draw();
  return null;
}
