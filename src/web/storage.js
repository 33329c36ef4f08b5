// Storage backends of the browser runtime: IndexedDB, else localStorage, else memory.
// Every method returns a promise and never throws synchronously. Keys are strings, values
// are text; getAll returns values in key order. An outbox record holds the events of one
// burst of track() calls, one JSON text per line, under the id of its first event (UUIDv7,
// so key order is time order); a record of an earlier version holds one event.

const STORES = ["outbox", "state"];

const done = (r) =>
  new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });

class IdbStore {
  constructor(db, name) {
    this.db = db;
    this.name = name;
    this.kind = "indexeddb";
  }
  run(store, mode, body) {
    return new Promise((ok, fail) => {
      let result;
      try {
        const t = this.db.transaction(store, mode);
        t.oncomplete = () => ok(result);
        t.onerror = t.onabort = () => fail(t.error || new DOMException("transaction aborted", "AbortError"));
        const r = body(t.objectStore(store));
        if (r) r.onsuccess = () => (result = r.result);
      } catch (e) {
        fail(e);
      }
    });
  }
  get(store, key) {
    return this.run(store, "readonly", (s) => s.get(key)).then((v) => (v === undefined ? null : v));
  }
  put(store, key, value) {
    return this.run(store, "readwrite", (s) => void s.put(value, key));
  }
  // Writes several records in one transaction; with a `limit` (>= 0), the same transaction then
  // drops the oldest events beyond it (see bound). Resolves to how many events it dropped.
  putMany(store, keys, values, limit) {
    let n = 0;
    return this.run(store, "readwrite", (s) => {
      keys.forEach((k, i) => s.put(values[i], k));
      if (limit >= 0) {
        const ks = s.getAllKeys();
        s.getAll().onsuccess = (v) => {
          const b = bound(ks.result, v.target.result, limit);
          n = b.n;
          if (b.drop != null) s.delete(IDBKeyRange.upperBound(b.drop));
          if (b.key != null) s.put(b.value, b.key);
        };
      }
    }).then(() => n);
  }
  // The first `limit` records (0: all) as [keys, values], read in one transaction.
  entries(store, limit) {
    let keys;
    return this.run(store, "readonly", (s) => {
      s.getAllKeys(null, limit || undefined).onsuccess = (k) => (keys = k.target.result);
      return s.getAll(null, limit || undefined);
    }).then((values) => [keys, values]);
  }
  // Writes values[i] under keys[i] in one transaction; an empty value deletes the key.
  replace(store, keys, values) {
    return this.run(store, "readwrite", (s) => void keys.forEach((k, i) => (values[i] ? s.put(values[i], k) : s.delete(k))));
  }

  // Read-modify-write in one transaction, so that tabs writing at once are serialised:
  // f(text, or "" for none) answers with reply(text to write) or not at all. Resolves to
  // whether it wrote.
  update(store, key, f) {
    let wrote = false;
    return this.run(store, "readwrite", (s) => {
      const r = s.get(key);
      r.onsuccess = () => {
        const v = answer(f, r.result);
        if (v != null) {
          s.put(v, key);
          wrote = true;
        }
      };
    }).then(() => wrote);
  }
  getAll(store, limit) {
    return this.run(store, "readonly", (s) => s.getAll(null, limit || undefined));
  }
  deleteKeys(store, keys) {
    return this.run(store, "readwrite", (s) => void keys.forEach((k) => s.delete(k)));
  }
  destroy() {
    this.db.close();
    dropHide(this.name + ":");
    return done(indexedDB.deleteDatabase(this.name)).then(() => undefined);
  }
}

// The selectors of the page changes last applied to this shopper (changes.js saveHide, read by
// tailor-hide.js) are the shopper's data too: erased with the store.
function dropHide(prefix) {
  try {
    localStorage.removeItem(prefix + "hide");
  } catch {}
}

// Records as "<prefix><store>:<key>" in a key-value backend `kv` (getItem, setItem, removeItem,
// list of every key): localStorage under the site's prefix when IndexedDB is missing or
// refuses to open, or a Map, the last resort and the store used while consent is not
// granted (nothing leaves memory).
class KvStore {
  constructor(kind, kv, prefix) {
    this.kind = kind;
    this.kv = kv;
    this.prefix = prefix;
  }
  at(store, key) {
    return this.prefix + store + ":" + key;
  }
  // The first `limit` keys of `store` (0: all), in key order.
  keys(store, limit) {
    const p = this.at(store, "");
    const ks = this.kv.list().filter((k) => k.startsWith(p)).map((k) => k.slice(p.length)).sort();
    return limit ? ks.slice(0, limit) : ks;
  }
  async get(store, key) {
    return this.kv.getItem(this.at(store, key)) ?? null;
  }
  async put(store, key, value) {
    this.kv.setItem(this.at(store, key), value);
  }
  async putMany(store, keys, values, limit) {
    keys.forEach((k, i) => this.kv.setItem(this.at(store, k), values[i]));
    if (limit < 0) return 0;
    const [ks, vs] = await this.entries(store, 0);
    const b = bound(ks, vs, limit);
    if (b.drop != null) await this.deleteKeys(store, ks.slice(0, ks.indexOf(b.drop) + 1));
    if (b.key != null) await this.put(store, b.key, b.value);
    return b.n;
  }
  async getAll(store, limit) {
    return (await this.entries(store, limit))[1];
  }
  async entries(store, limit) {
    const ks = this.keys(store, limit);
    return [ks, ks.map((k) => this.kv.getItem(this.at(store, k)))];
  }
  async replace(store, keys, values) {
    keys.forEach((k, i) => (values[i] ? this.kv.setItem(this.at(store, k), values[i]) : this.kv.removeItem(this.at(store, k))));
  }
  async deleteKeys(store, keys) {
    keys.forEach((k) => this.kv.removeItem(this.at(store, k)));
  }
  // The same read-modify-write as IndexedDB's (localStorage has no transactions).
  async update(store, key, f) {
    const v = answer(f, await this.get(store, key));
    if (v == null) return false;
    await this.put(store, key, v);
    return true;
  }
  async destroy() {
    STORES.forEach((s) => this.keys(s).forEach((k) => this.kv.removeItem(this.at(s, k))));
    if (this.kind == "localstorage") dropHide(this.prefix);
  }
}

// What an update's callback answered with reply(); a Wasm closure of (string) -> () is
// already in the module, one that returns a value would add its own glue.
let replied;
export function reply(text) {
  replied = text;
}
function answer(f, text) {
  replied = null;
  f(text || "");
  return replied;
}

// The events of an outbox record: its non-empty lines (a JSON text never holds a raw
// newline), counted without splitting a burst's text into strings.
function count(v) {
  let n = 0;
  for (let i = 0; i < v.length; ) {
    const j = v.indexOf("\n", i) + 1 || v.length + 1;
    if (j - 1 > i) n++;
    i = j;
  }
  return n;
}
// The record without its first `n` events.
function cut(v, n) {
  let i = 0;
  for (; n > 0 && i < v.length; ) {
    const j = v.indexOf("\n", i) + 1 || v.length + 1;
    if (j - 1 > i) n--;
    i = j;
  }
  return v.slice(i);
}

// What keeps an outbox of records `keys`/`values` (key order) within `limit` events, oldest
// dropped first: every record up to key `drop` (inclusive) goes whole, then the record `key`
// is rewritten to `value`, without its oldest lines. `n`: the events dropped.
function bound(keys, values, limit) {
  values = values.map(String);
  const counts = values.map(count);
  let over = counts.reduce((a, b) => a + b, 0) - limit;
  const out = { n: Math.max(over, 0), drop: null, key: null, value: null };
  for (let i = 0; over > 0 && i < keys.length; i++) {
    if (counts[i] <= over) {
      out.drop = keys[i];
      over -= counts[i];
    } else {
      out.key = keys[i];
      out.value = cut(values[i], over);
      over = 0;
    }
  }
  return out;
}

function openIdb(name, timeoutMs, version) {
  return new Promise((ok, fail) => {
    let settled = false;
    const finish = (f, v) => {
      if (!settled) {
        settled = true;
        f(v);
      }
    };
    // A database held open at an older version by another tab, or a browser that never
    // answers (some private modes), must not hold the page: give up after a while.
    const timer = setTimeout(() => finish(fail, new DOMException("IndexedDB did not open in time", "TimeoutError")), timeoutMs);
    let r;
    try {
      r = version ? indexedDB.open(name, version) : indexedDB.open(name);
    } catch (e) {
      clearTimeout(timer);
      return finish(fail, e);
    }
    r.onupgradeneeded = () => STORES.forEach((s) => r.result.objectStoreNames.contains(s) || r.result.createObjectStore(s));
    r.onsuccess = () => {
      clearTimeout(timer);
      const db = r.result;
      if (settled) return db.close();
      if (!STORES.every((s) => db.objectStoreNames.contains(s))) {
        // Created by someone else without our stores: upgrade once to add them.
        db.close();
        if (version) return finish(fail, new DOMException("object stores missing after upgrade", "NotFoundError"));
        return openIdb(name, timeoutMs, db.version + 1).then((s) => finish(ok, s), (e) => finish(fail, e));
      }
      // Another tab deleting or upgrading the database (forget(), a new SDK version) asks us to close.
      db.onversionchange = () => db.close();
      finish(ok, new IdbStore(db, name));
    };
    r.onerror = () => {
      clearTimeout(timer);
      finish(fail, r.error);
    };
  });
}

function openLocal(name) {
  const ls = globalThis.localStorage;
  const probe = name + ":probe";
  ls.setItem(probe, "1");
  ls.removeItem(probe);
  const list = () => Array.from({ length: ls.length }, (_, i) => ls.key(i));
  return new KvStore("localstorage", { getItem: (k) => ls.getItem(k), setItem: (k, v) => ls.setItem(k, v), removeItem: (k) => ls.removeItem(k), list }, name + ":");
}

// Opens the best store allowed by `kind` ("auto", "indexeddb", "localstorage", "memory").
// Resolves to { store, problems }: problems lists why better stores were not used.
export async function openStore(name, kind) {
  const problems = [];
  if (kind === "auto" || kind === "indexeddb") {
    try {
      if (!globalThis.indexedDB) throw new Error("IndexedDB is not available");
      return { store: await openIdb(name, 3000), problems };
    } catch (e) {
      problems.push("indexeddb: " + ((e && e.message) || e));
    }
  }
  if (kind === "auto" || kind === "localstorage") {
    try {
      return { store: openLocal(name), problems };
    } catch (e) {
      problems.push("localstorage: " + ((e && e.message) || e));
    }
  }
  return { store: memoryStore(), problems };
}

export function memoryStore() {
  const m = new Map();
  return new KvStore("memory", { getItem: (k) => m.get(k), setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k), list: () => [...m.keys()] }, "");
}
