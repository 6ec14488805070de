// The bearer token. It arrives pasted in the sign-in form or in a token link
// (`/?access_token=...`, so a projector is set up from one link); it is then kept in
// sessionStorage for this tab's session, removed from the address bar at once, and
// never written into page content or the console.

const KEY = 'metroplan.token';

/** Moves `?access_token=` from the address bar into the session. */
export function captureToken() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('access_token');
  if (token === null) return;
  url.searchParams.delete('access_token');
  if (token.trim()) sessionStorage.setItem(KEY, token.trim());
  const search = url.searchParams.toString();
  history.replaceState(history.state, '', url.pathname + (search ? `?${search}` : '') + url.hash);
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  sessionStorage.setItem(KEY, value.trim());
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}
