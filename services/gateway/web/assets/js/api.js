// The JSON API: the bearer token on every request, `If-Match` for edits, `X-Reason`
// for the reason a change is made, RFC 9457 problem documents turned into ApiError.

import { token } from './auth.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

const listeners = new Set();
/** Called with every ApiError of status 401 (the token is unknown). */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

// Header values are byte strings: a reason with accents travels as its UTF-8 bytes.
function utf8Bytes(text) {
  return Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join('');
}

/**
 * Calls the API. Answers {status, etag, data}; throws ApiError for 4xx/5xx.
 * `query` values that are null or undefined are left out. `raw` sends a body that is
 * not JSON, with `contentType`.
 */
export async function api(path, { method = 'GET', body, raw, contentType, ifMatch, reason, query } = {}) {
  const headers = { Accept: 'application/json' };
  const secret = token();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // A body that is not JSON (a CSV file): sent as it is, with its type.
  if (raw !== undefined) headers['Content-Type'] = contentType || 'text/plain; charset=utf-8';
  if (ifMatch !== undefined && ifMatch !== null) headers['If-Match'] = `"${ifMatch}"`;
  if (reason && reason.trim()) headers['X-Reason'] = utf8Bytes(reason.trim());
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
    const qs = q.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  const response = await fetch(url, {
    method,
    headers,
    body: raw !== undefined ? raw : (body === undefined ? undefined : JSON.stringify(body)),
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) listeners.forEach((fn) => fn(error));
    throw error;
  }
  const etag = response.headers.get('ETag');
  return { status: response.status, etag: etag ? Number(etag.replace(/[^0-9]/g, '')) : null, data };
}

export const planPath = (plan) => `/api/v1/plans/${encodeURIComponent(plan)}`;
export const actionPath = (plan, action) => `${planPath(plan)}/actions/${encodeURIComponent(action)}`;
