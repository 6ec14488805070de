// Italian and English; Italian by default. The choice is kept in localStorage and set
// as the document's `lang`. Texts live in assets/i18n/{it,en}.json; `t(key, vars)`
// fills `{name}` placeholders.

const KEY = 'metroplan.lang';
export const LANGS = ['it', 'en'];
const dictionaries = { it: {}, en: {} };
let current = 'it';
const listeners = new Set();

export async function loadI18n() {
  await Promise.all(LANGS.map(async (lang) => {
    const r = await fetch(new URL(`../i18n/${lang}.json`, import.meta.url), { cache: 'no-store' });
    dictionaries[lang] = await r.json();
  }));
  const saved = localStorage.getItem(KEY);
  current = LANGS.includes(saved) ? saved : 'it';
  document.documentElement.lang = current;
}

export function lang() {
  return current;
}

/** The BCP 47 locale for numbers and dates. */
export function locale() {
  return current === 'it' ? 'it-IT' : 'en-GB';
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === current) return;
  current = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
  listeners.forEach((fn) => fn(next));
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function t(key, vars) {
  let text = dictionaries[current][key] ?? dictionaries.it[key] ?? key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return text;
}

/** True when the dictionary has `key` (for optional labels such as event types). */
export function has(key) {
  return key in dictionaries[current] || key in dictionaries.it;
}

/** The words for a vocabulary value (`term('trend', 'improving')`), or the value itself
 * when the dictionary has none. */
export function term(prefix, value) {
  return has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value;
}
