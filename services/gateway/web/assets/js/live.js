// The live websocket (`/api/v1/live`): one connection for the whole page.
//
// Views subscribe to topics (`plan:<plan>`, `action:<plan>/<action>`,
// `dashboard:<plan>`) with the position their data was read at, so nothing between the
// read and the subscription is missed. The client keeps, per topic, the last position
// it saw; after a reconnect it subscribes again from there and the server replays what
// was missed. While the connection is down a notice says so. Presence (who views or
// edits which action and field) rides on the same socket; the page tolerates a server
// that does not (yet) speak it.

import { token } from './auth.js';

const MIN_DELAY = 500;
const MAX_DELAY = 5000;

export class Live {
  constructor() {
    this.ws = null;
    this.state = 'idle'; // idle | connecting | open | down
    this.session = null; // our presence session id, from the server's hello
    this.topics = new Map(); // topic -> {handlers:Set, presence:Set, position}
    this.presenceState = new Map(); // topic -> last presence message we sent
    this.statusListeners = new Set();
    this.delay = MIN_DELAY;
    this.timer = null;
    this.everOpen = false;
  }

  start() {
    if (!this.listening) {
      this.listening = true;
      window.addEventListener('online', () => this.reconnectNow());
    }
    if (this.ws || this.timer) return;
    this.connect();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
    }
    this.setState('idle');
  }

  reconnectNow() {
    if (this.state === 'open' || !token()) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.state);
    return () => this.statusListeners.delete(fn);
  }

  setState(state) {
    this.state = state;
    this.statusListeners.forEach((fn) => fn(state));
  }

  connect() {
    const secret = token();
    if (!secret) return;
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    // The token rides as a websocket protocol, not in the URL, so a failed connection's
    // console message shows no token.
    const url = `${scheme}://${window.location.host}/api/v1/live`;
    this.setState(this.everOpen ? 'down' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(url, ['metroplan', `bearer.${secret}`]);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.everOpen = true;
      this.delay = MIN_DELAY;
      this.session = null;
      this.setState('open');
      // Resubscribe, each group of topics from the last position seen on it.
      const byFrom = new Map();
      for (const [topic, entry] of this.topics) {
        const from = entry.position;
        if (!byFrom.has(from)) byFrom.set(from, []);
        byFrom.get(from).push(topic);
      }
      for (const [from, topics] of byFrom) this.send(subscribeMessage(topics, from));
      for (const message of this.presenceState.values()) this.send(message);
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.session = null;
      this.setState('down');
      this.scheduleReconnect();
    };
    ws.onerror = () => {};
  }

  scheduleReconnect() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.connect(); }, this.delay);
    this.delay = Math.min(MAX_DELAY, this.delay * 2);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  receive(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (m.type === 'delta') {
      const entry = this.topics.get(m.topic);
      if (!entry) return;
      if (m.position <= entry.position) return; // already seen (a replay overlapping a read)
      entry.position = m.position;
      entry.handlers.forEach((fn) => fn(m.delta, m.position));
    } else if (m.type === 'subscribed') {
      // A topic followed without a known position starts at the server's cursor, so
      // that a later reconnect resumes from there at least.
      for (const topic of m.topics || []) {
        const entry = this.topics.get(topic);
        if (entry && entry.position === 0 && m.position > 0) entry.position = m.position;
      }
    } else if (m.type === 'presence') {
      const entry = this.topics.get(m.topic);
      if (entry) entry.presence.forEach((fn) => fn(m.present || []));
    } else if (m.type === 'hello') {
      this.session = m.session || null;
      for (const entry of this.topics.values()) entry.presence.forEach((fn) => fn(null));
    }
  }

  /**
   * Follows `topic` from `position` (the position the caller's data reflects): `onDelta`
   * gets each later delta and its position; `onPresence`, if given, the list of who is
   * present on the topic. Answers a function that stops following.
   */
  subscribe(topic, position, onDelta, onPresence) {
    let entry = this.topics.get(topic);
    const isNew = !entry;
    if (isNew) {
      entry = { handlers: new Set(), presence: new Set(), position: Number(position) || 0 };
      this.topics.set(topic, entry);
    } else if (Number(position) > entry.position) {
      entry.position = Number(position);
    }
    entry.handlers.add(onDelta);
    if (onPresence) entry.presence.add(onPresence);
    if (isNew) this.send(subscribeMessage([topic], entry.position));
    return () => {
      entry.handlers.delete(onDelta);
      if (onPresence) entry.presence.delete(onPresence);
      if (entry.handlers.size === 0 && entry.presence.size === 0) {
        this.topics.delete(topic);
        this.send({ type: 'unsubscribe', topics: [topic] });
      }
    };
  }

  /** Says what this page does on `topic`: 'viewing', 'editing' (with `field`) or 'left'. */
  presence(topic, state, field) {
    const message = { type: 'presence', topic, state };
    if (field) message.field = field;
    if (state === 'left') this.presenceState.delete(topic);
    else this.presenceState.set(topic, message);
    this.send(message);
  }
}

function subscribeMessage(topics, from) {
  const message = { type: 'subscribe', topics };
  if (from > 0) message.from = from;
  return message;
}
