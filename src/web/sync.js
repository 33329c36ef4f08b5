// What the sync loop needs from the browser: HTTP, beacons, timers, page lifecycle, the
// one-sender-per-origin lock, WebCrypto Ed25519 and localStorage. Every function answers
// with plain values and never throws or rejects: failures come back as values.

const g = globalThis;

// HTTP. Resolves to { status, body, retryAfter, etag }; status 0 when there was no answer
// (offline, DNS, CORS refused, timeout). Bodies go as text/plain, a CORS "simple" request,
// so posting events needs no preflight; the server reads any content type. `identity` goes
// as X-Tailor-Identity-Token (a user's erasure).
export async function request(method, url, body, etag, keepalive, timeoutMs, identity) {
  try {
    const headers = {};
    if (body != null) headers["content-type"] = "text/plain;charset=UTF-8";
    if (etag) headers["if-none-match"] = etag;
    if (identity) headers["x-tailor-identity-token"] = identity;
    const init = { method, headers, body: body == null ? undefined : body, credentials: "omit", cache: "no-store", keepalive: !!keepalive };
    if (timeoutMs && g.AbortSignal && AbortSignal.timeout) init.signal = AbortSignal.timeout(timeoutMs);
    const r = await fetch(url, init);
    const text = r.status === 304 ? "" : await r.text();
    return { status: r.status, body: text, retryAfter: r.headers.get("retry-after") || "", etag: r.headers.get("etag") || "" };
  } catch (e) {
    return { status: 0, body: String((e && e.message) || e), retryAfter: "", etag: "" };
  }
}

// Sends `body` as the page goes away: sendBeacon, else fetch(keepalive). True when queued.
export function beacon(url, body) {
  try {
    if (g.navigator && navigator.sendBeacon && navigator.sendBeacon(url, body)) return true;
  } catch {}
  try {
    fetch(url, { method: "POST", body, keepalive: true, credentials: "omit", headers: { "content-type": "text/plain;charset=UTF-8" } }).catch(() => {});
    return true;
  } catch {
    return false;
  }
}

export function timer(f, ms) {
  return setTimeout(f, ms);
}

export function cancel(id) {
  clearTimeout(id);
}

export function sleep(ms) {
  return new Promise((ok) => setTimeout(ok, ms));
}

export function random() {
  return Math.random();
}

// Calls f("online" | "hidden" | "pagehide") on those page lifecycle events.
export function listen(f) {
  const call = (kind) => {
    try {
      f(kind);
    } catch {}
  };
  try {
    g.addEventListener("online", () => call("online"));
    g.addEventListener("pagehide", () => call("pagehide"));
    if (g.document) document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && call("hidden"));
  } catch {}
}

// One sender per origin: the tab holding the lock `name` sends the shared outbox; the others
// only write to it. With the Web Locks API the lock is held until the tab goes away (the
// browser releases it then, even on a crash); without it, a lease in localStorage renewed at
// every call and taken over once it has run out.
const held = new Map();
const tab = Math.random().toString(36).slice(2) + Date.now().toString(36);

export function acquireSender(name, leaseMs) {
  if (held.has(name)) return Promise.resolve(held.get(name)());
  try {
    if (g.navigator && navigator.locks && navigator.locks.request) {
      return new Promise((ok) => {
        navigator.locks
          .request(name, { ifAvailable: true }, (lock) => {
            if (!lock) return ok(false);
            return new Promise((release) => {
              held.set(name, () => true);
              held.set(name + "#release", release);
              ok(true);
            });
          })
          // Refused (a SecurityError where the storage is blocked): the lease decides, and
          // without localStorage either this tab is alone and sends.
          .catch(() => ok(lease(name, leaseMs)));
      });
    }
  } catch {}
  return Promise.resolve(lease(name, leaseMs));
}

function lease(name, leaseMs) {
  try {
    const ls = g.localStorage;
    const key = name + ":lease";
    const now = Date.now();
    const [owner, until] = (ls.getItem(key) || " 0").split(" ");
    if (owner !== tab && Number(until) > now) return false;
    ls.setItem(key, tab + " " + (now + leaseMs));
    // Two tabs may have written at once: the last write wins, the other sees it and stands back.
    const won = (ls.getItem(key) || "").startsWith(tab + " ");
    if (won) held.set(name, () => lease(name, leaseMs));
    return won;
  } catch {
    // No localStorage either: nothing is shared between tabs, so this tab sends.
    return true;
  }
}

export function releaseSender(name) {
  const release = held.get(name + "#release");
  held.delete(name);
  held.delete(name + "#release");
  if (release) return release();
  try {
    const key = name + ":lease";
    if ((g.localStorage.getItem(key) || "").startsWith(tab + " ")) g.localStorage.removeItem(key);
  } catch {}
}

const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

// Ed25519 verification with WebCrypto against a pinned raw public key (base64). Resolves to
// "" when the signature is valid, else to the reason.
export async function verifyEd25519(keyB64, sigB64, payload) {
  try {
    const key = await crypto.subtle.importKey("raw", bytes(keyB64), { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, bytes(sigB64), new TextEncoder().encode(payload));
    return ok ? "" : "the signature does not match the pinned public key";
  } catch (e) {
    return "the signature could not be checked: " + ((e && e.message) || e);
  }
}

export function lsGet(key) {
  try {
    return g.localStorage.getItem(key);
  } catch {
    return null;
  }
}

// True when written; false (quota, disabled storage) otherwise.
export function lsSet(key, value) {
  try {
    g.localStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

export function lsRemove(key) {
  try {
    g.localStorage.removeItem(key);
  } catch {}
}

// Live ruleset updates: an EventSource on `url` while the tab is visible. Calls
// on("ruleset", envelope, id) per event, and on("poll") every `pollMs` while visible where
// EventSource is missing or keeps failing (refused, or 3 errors without a connection). The
// stream closes at pagehide and after a minute hidden, and reopens when the tab is visible
// again, from the last id it had (`?lastEventId=`): it then gets only what it missed.
export function live(url, last, pollMs, on) {
  const doc = g.document;
  const visible = () => !doc || doc.visibilityState !== "hidden";
  let es = null, failures = 0, polling = !g.EventSource, hiddenTimer = 0, pollTimer = 0, polled = Date.now();
  const call = (...a) => {
    try {
      on(...a);
    } catch {}
  };
  const close = () => {
    if (es) es.close();
    es = null;
  };
  const poll = () => {
    polled = Date.now();
    call("poll");
  };
  const fallBack = () => {
    close();
    polling = true;
    clearInterval(pollTimer);
    pollTimer = setInterval(() => visible() && poll(), pollMs);
  };
  const open = () => {
    if (polling) {
      if (!pollTimer) fallBack();
      if (Date.now() - polled >= pollMs) poll();
      return;
    }
    if (es) return;
    try {
      es = new EventSource(last ? url + "?lastEventId=" + encodeURIComponent(last) : url);
    } catch {
      return fallBack();
    }
    es.onopen = () => (failures = 0);
    es.onerror = () => {
      if (!es || es.readyState === 2 || ++failures >= 3) fallBack();
    };
    es.addEventListener("ruleset", (e) => {
      last = e.lastEventId || last;
      call("ruleset", e.data, e.lastEventId);
    });
  };
  const away = () => {
    close();
    clearInterval(pollTimer);
    pollTimer = 0;
  };
  try {
    g.addEventListener("pagehide", away);
    g.addEventListener("pageshow", (e) => e.persisted && visible() && open());
    if (doc)
      doc.addEventListener("visibilitychange", () => {
        clearTimeout(hiddenTimer);
        if (visible()) open();
        else hiddenTimer = setTimeout(close, 60000);
      });
  } catch {}
  if (visible()) open();
}
