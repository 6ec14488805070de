// metroplan's web front end: sign-in, hash routing, the header and the connection
// notice. Views live in js/views/; each renders into <main> and answers a function
// that undoes what it set up (live subscriptions, presence, timers).
//
// Routes: #/ (plans), #/plans/<plan> (explorer), #/plans/<plan>/actions/<action>,
// #/plans/<plan>/agreements, #/plans/<plan>/tables, #/plans/<plan>/meeting,
// #/plans/<plan>/indicators, #/plans/<plan>/indicators/<indicator>,
// #/plans/<plan>/campaigns, #/plans/<plan>/campaigns/<campaign>, #/plans/<plan>/funding,
// #/plans/<plan>/instruments, #/plans/<plan>/report; and, with no sign-in,
// #/questionnaire/<secret> (an invited organisation's personal link).

import { api, onUnauthorized } from './js/api.js';
import { captureToken, token, setToken, clearToken } from './js/auth.js';
import { h, replace } from './js/dom.js';
import { loadI18n, t, lang, setLang, onLangChange } from './js/i18n.js';
import { Live } from './js/live.js';
import * as plans from './js/views/plans.js';
import * as explorer from './js/views/explorer.js';
import * as action from './js/views/action.js';
import * as agreements from './js/views/agreements.js';
import * as tables from './js/views/tables.js';
import * as meeting from './js/views/meeting.js';
import * as indicators from './js/views/indicators.js';
import * as indicator from './js/views/indicator.js';
import * as campaigns from './js/views/campaigns.js';
import * as campaign from './js/views/campaign.js';
import * as questionnaire from './js/views/questionnaire.js';
import * as funding from './js/views/funding.js';
import * as instruments from './js/views/instruments.js';
import * as report from './js/views/report.js';

const live = new Live();
const main = () => document.getElementById('main');
// Who the token stands for and what it may do (`GET /api/v1/me`), read once a sign-in;
// null when it cannot be read (the views then offer everything, and the API decides).
let mine = null;
function whoAmI() {
  if (!mine) mine = api('/api/v1/me').then((r) => r.data).catch(() => null);
  return mine;
}
let cleanup = null;
let signInMessage = null;

function parseRoute(hash) {
  const path = hash.replace(/^#/, '').split('?')[0];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { view: plans, name: 'plans', params: {} };
  // The link is the credential: this page needs no token.
  if (parts[0] === 'questionnaire' && parts.length === 2) return { view: questionnaire, name: 'questionnaire', params: { secret: parts[1] }, public: true };
  if (parts[0] !== 'plans' || parts.length < 2) return null;
  const plan = parts[1];
  if (parts.length === 2) return { view: explorer, name: 'explorer', params: { plan } };
  if (parts[2] === 'actions' && parts.length === 4) return { view: action, name: 'action', params: { plan, action: parts[3] } };
  if (parts.length === 3 && parts[2] === 'agreements') return { view: agreements, name: 'agreements', params: { plan } };
  if (parts.length === 3 && parts[2] === 'tables') return { view: tables, name: 'tables', params: { plan } };
  if (parts.length === 3 && parts[2] === 'meeting') return { view: meeting, name: 'meeting', params: { plan } };
  if (parts.length === 3 && parts[2] === 'indicators') return { view: indicators, name: 'indicators', params: { plan } };
  if (parts.length === 4 && parts[2] === 'indicators') return { view: indicator, name: 'indicator', params: { plan, indicator: parts[3] } };
  if (parts.length === 3 && parts[2] === 'funding') return { view: funding, name: 'funding', params: { plan } };
  if (parts.length === 3 && parts[2] === 'instruments') return { view: instruments, name: 'instruments', params: { plan } };
  if (parts.length === 3 && parts[2] === 'report') return { view: report, name: 'report', params: { plan } };
  if (parts.length === 3 && parts[2] === 'campaigns') return { view: campaigns, name: 'campaigns', params: { plan } };
  if (parts.length === 4 && parts[2] === 'campaigns') return { view: campaign, name: 'campaign', params: { plan, campaign: parts[3] } };
  return null;
}

function renderNav(route) {
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav.label'));
  const plan = route && route.params.plan;
  if (!plan) {
    replace(nav);
    return;
  }
  const base = `#/plans/${encodeURIComponent(plan)}`;
  const links = [
    ['explorer', base, t('nav.explorer')],
    ['agreements', `${base}/agreements`, t('nav.agreements')],
    ['tables', `${base}/tables`, t('nav.tables')],
    ['indicators', `${base}/indicators`, t('nav.indicators')],
    ['instruments', `${base}/instruments`, t('nav.instruments')],
    ['funding', `${base}/funding`, t('nav.funding')],
    ['campaigns', `${base}/campaigns`, t('nav.campaigns')],
    ['report', `${base}/report`, t('nav.report')],
    ['meeting', `${base}/meeting`, t('nav.meeting')],
  ];
  const parent = { action: 'explorer', indicator: 'indicators', campaign: 'campaigns' };
  const current = parent[route.name] || route.name;
  replace(nav, h('ul', null, links.map(([name, href, text]) => h('li', null,
    h('a', { href, 'aria-current': name === current ? 'page' : null, dataset: { nav: name } }, text)))));
}

function renderChrome() {
  document.getElementById('skip-link').textContent = t('skip');
  const toggle = document.getElementById('lang-toggle');
  const other = lang() === 'it' ? 'en' : 'it';
  toggle.textContent = t(`lang.switch_to_${other}`);
  toggle.setAttribute('lang', other);
  toggle.setAttribute('aria-label', t(`lang.switch_to_${other}_label`));
  const out = document.getElementById('sign-out');
  out.textContent = t('signout');
  out.hidden = !token();
  document.title = t('app.title');
}

function renderSignIn() {
  renderNav(null);
  document.body.classList.remove('meeting-mode');
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-help',
  });
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert' }, signInMessage || '');
  error.hidden = !signInMessage;
  const form = h('form', { class: 'signin', id: 'signin-form' },
    h('h1', { tabindex: '-1' }, t('signin.title')),
    h('p', null, t('signin.intro')),
    h('label', { for: 'token' }, t('signin.token')),
    input,
    h('p', { id: 'token-help', class: 'help' }, t('signin.help')),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('signin.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    setToken(value);
    mine = null;
    input.value = '';
    try {
      await api('/api/v1/plans');
      signInMessage = null;
      live.start();
      route();
    } catch (err) {
      clearToken();
      signInMessage = err.status === 401 ? t('signin.rejected') : t('error.generic', { message: err.message });
      renderSignIn();
    }
  });
  replace(main(), form);
  renderChrome();
  form.querySelector('h1').focus();
}

async function route() {
  if (cleanup) {
    try { cleanup(); } catch { /* a view that failed to clean up must not block the next */ }
    cleanup = null;
  }
  const r = parseRoute(window.location.hash);
  if (r && r.public) {
    // An invited organisation: no token, no live connection, no plan navigation.
    renderChrome();
    renderNav(null);
    document.body.classList.remove('meeting-mode');
    document.body.dataset.view = r.name;
    const root = main();
    replace(root, h('p', { class: 'loading', role: 'status' }, t('loading')));
    try {
      await r.view.render(root, r.params, { me: null, navigate: (hash) => { window.location.hash = hash; } });
    } catch (err) {
      replace(root, h('h1', { tabindex: '-1' }, t('error.title')),
        h('p', { class: 'error', role: 'alert' }, t('error.generic', { message: err && err.message })));
    }
    return;
  }
  if (!token()) {
    renderSignIn();
    return;
  }
  live.start();
  renderChrome();
  document.body.classList.toggle('meeting-mode', Boolean(r && r.name === 'meeting'));
  document.body.dataset.view = r ? r.name : 'not-found';
  renderNav(r);
  const root = main();
  if (!r) {
    replace(root, h('h1', { tabindex: '-1' }, t('notfound.title')), h('p', null, h('a', { href: '#/' }, t('notfound.back'))));
    return;
  }
  replace(root, h('p', { class: 'loading', role: 'status' }, t('loading')));
  const ctx = { live, me: await whoAmI(), navigate: (hash) => { window.location.hash = hash; } };
  let undo = null;
  const token0 = {};
  route.current = token0;
  try {
    undo = await r.view.render(root, r.params, ctx);
  } catch (err) {
    if (route.current !== token0) return;
    if (err && err.status === 401) return;
    replace(root, h('h1', { tabindex: '-1' }, t('error.title')),
      h('p', { class: 'error', role: 'alert' }, err && err.status === 404 ? t('error.not_found') : t('error.generic', { message: err && err.message })));
    return;
  }
  if (route.current !== token0) {
    if (typeof undo === 'function') undo();
    return;
  }
  cleanup = typeof undo === 'function' ? undo : null;
  if (route.focus !== false) {
    const heading = root.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  }
}

function connectionNotice() {
  const el = document.getElementById('connection');
  let wasDown = false;
  live.onStatus((state) => {
    if (state === 'down') {
      wasDown = true;
      el.textContent = t('connection.down');
      el.className = 'connection down';
      el.hidden = false;
    } else if (state === 'open') {
      el.hidden = true;
      el.className = 'connection';
      if (wasDown) {
        el.textContent = '';
        wasDown = false;
      }
    }
  });
  onLangChange(() => { if (!el.hidden) el.textContent = t('connection.down'); });
}

async function boot() {
  captureToken();
  await loadI18n();
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    const m = main();
    m.focus();
    m.scrollIntoView();
  });
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLang(lang() === 'it' ? 'en' : 'it');
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    clearToken();
    mine = null;
    live.stop();
    signInMessage = null;
    route();
  });
  onLangChange(() => { renderChrome(); route(); });
  onUnauthorized(() => {
    clearToken();
    mine = null;
    live.stop();
    signInMessage = t('signin.rejected');
    route();
  });
  connectionNotice();
  window.addEventListener('hashchange', () => {
    if (!window.location.hash.startsWith('#/') && window.location.hash !== '') return;
    route();
  });
  route();
}

boot();
