// The API client and the event stream. The token lives in this browser's localStorage only.
export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export class Api {
  constructor() {
    try { this.token = localStorage.getItem("skypatrol.token") || ""; } catch { this.token = ""; }
  }
  setToken(token) {
    this.token = token;
    try {
      if (token) localStorage.setItem("skypatrol.token", token); else localStorage.removeItem("skypatrol.token");
    } catch { /* private mode: the token lasts for this page */ }
  }
  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}` };
    const init = { method, headers };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const r = await fetch(path, init);
    if (r.status === 204) return null;
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!r.ok) {
      const e = data && data.error ? data.error : { code: String(r.status), message: text.slice(0, 200) };
      throw new ApiError(r.status, e.code, e.message);
    }
    return data;
  }
  get(path) { return this.call("GET", path); }
  post(path, body) { return this.call("POST", path, body === undefined ? {} : body); }
  del(path) { return this.call("DELETE", path); }
}

/**
 * The server-sent event stream, resumed after any reconnect from the last `seq` seen: the browser
 * resends Last-Event-ID itself on a transient drop; when it gives up (server restart, 5xx) we open
 * a new stream with `?after=<last seq>`. Stored events are delivered once, in order.
 */
export class EventStream {
  constructor(api, onEvent, onStatus) {
    this.api = api;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastSeq = null;
    this.es = null;
    this.retryMs = 1000;
    this.reconnects = 0;
    this.closed = true;
  }
  open() {
    this.closed = false;
    const q = new URLSearchParams({ access_token: this.api.token });
    if (this.lastSeq != null) q.set("after", String(this.lastSeq));
    const es = new EventSource(`/api/v1/events/stream?${q}`);
    this.es = es;
    es.onopen = () => { this.retryMs = 1000; this.onStatus?.("live"); };
    es.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev.seq != null) {
        if (this.lastSeq != null && ev.seq <= this.lastSeq) return; // seen before a reconnect
        this.lastSeq = ev.seq;
      }
      this.onEvent(ev);
    };
    es.onerror = () => {
      this.onStatus?.("reconnecting");
      if (es.readyState === EventSource.CLOSED && !this.closed) {
        this.reconnects++;
        setTimeout(() => { if (!this.closed && this.es === es) this.open(); }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 15000);
      }
    };
  }
  /** Drop the connection and open a new one that resumes after the last seq (also used by tests). */
  reconnect() {
    if (this.es) this.es.close();
    this.reconnects++;
    this.open();
  }
  close() { this.closed = true; if (this.es) this.es.close(); this.es = null; }
}
