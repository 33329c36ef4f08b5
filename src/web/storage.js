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
  getKeys(store, limit) {
    return this.run(store, "readonly", (s) => s.getAllKeys(null, limit || undefined));
  }
  countEvents(store) {
    return this.getAll(store).then(countAll);
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

// One key per record under a prefix; used when IndexedDB is missing or refuses to open.
class LocalStore {
  constructor(ls, name) {
    this.ls = ls;
    this.prefix = name + ":";
    this.kind = "localstorage";
  }
  keys(store) {
    const p = this.prefix + store + ":";
    const out = [];
    for (let i = 0; i < this.ls.length; i++) {
      const k = this.ls.key(i);
      if (k && k.startsWith(p)) out.push(k);
    }
    return out.sort();
  }
  async get(store, key) {
    return this.ls.getItem(this.prefix + store + ":" + key);
  }
  async put(store, key, value) {
    this.ls.setItem(this.prefix + store + ":" + key, value);
  }
  async putMany(store, keys, values, limit) {
    keys.forEach((k, i) => this.ls.setItem(this.prefix + store + ":" + k, values[i]));
    return trim(this, store, limit);
  }
  async getAll(store, limit) {
    const ks = this.keys(store);
    return (limit ? ks.slice(0, limit) : ks).map((k) => this.ls.getItem(k));
  }
  async getKeys(store, limit) {
    const n = this.prefix.length + store.length + 1;
    const ks = this.keys(store).map((k) => k.slice(n));
    return limit ? ks.slice(0, limit) : ks;
  }
  async deleteKeys(store, keys) {
    keys.forEach((k) => this.ls.removeItem(this.prefix + store + ":" + k));
  }
  async destroy() {
    STORES.forEach((s) => this.keys(s).forEach((k) => this.ls.removeItem(k)));
    dropHide(this.prefix);
  }
}

// The last resort, and the store used while consent is not granted: nothing leaves memory.
class MemoryStore {
  constructor() {
    this.maps = {};
    STORES.forEach((s) => (this.maps[s] = new Map()));
    this.kind = "memory";
  }
  sorted(store) {
    return [...this.maps[store].keys()].sort();
  }
  async get(store, key) {
    const v = this.maps[store].get(key);
    return v === undefined ? null : v;
  }
  async put(store, key, value) {
    this.maps[store].set(key, value);
  }
  async putMany(store, keys, values, limit) {
    keys.forEach((k, i) => this.maps[store].set(k, values[i]));
    return trim(this, store, limit);
  }
  async getAll(store, limit) {
    const ks = this.sorted(store);
    return (limit ? ks.slice(0, limit) : ks).map((k) => this.maps[store].get(k));
  }
  async getKeys(store, limit) {
    const ks = this.sorted(store);
    return limit ? ks.slice(0, limit) : ks;
  }
  async deleteKeys(store, keys) {
    keys.forEach((k) => this.maps[store].delete(k));
  }
  async destroy() {
    STORES.forEach((s) => this.maps[s].clear());
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

// Events of an outbox record: its non-empty lines (a JSON text never holds a raw newline).
const lines = (v) => String(v).split("\n").filter(Boolean);
const countAll = (values) => values.reduce((n, v) => n + lines(v).length, 0);

// What keeps an outbox of records `keys`/`values` (key order) within `limit` events, oldest
// dropped first: every record up to key `drop` (inclusive) goes whole, then the record `key`
// is rewritten to `value`, without its oldest lines. `n`: the events dropped.
function bound(keys, values, limit) {
  const counts = values.map((v) => lines(v).length);
  let over = counts.reduce((a, b) => a + b, 0) - limit;
  const out = { n: Math.max(over, 0), drop: null, key: null, value: null };
  for (let i = 0; over > 0 && i < keys.length; i++) {
    if (counts[i] <= over) {
      out.drop = keys[i];
      over -= counts[i];
    } else {
      out.key = keys[i];
      out.value = lines(values[i]).slice(over).join("\n");
      over = 0;
    }
  }
  return out;
}

// The same bound for localStorage and memory, after the writes.
async function trim(store, name, limit) {
  if (limit < 0) return 0;
  const [keys, values] = await store.entries(name, 0);
  const b = bound(keys, values, limit);
  if (b.drop != null) await store.deleteKeys(name, keys.slice(0, keys.indexOf(b.drop) + 1));
  if (b.key != null) await store.put(name, b.key, b.value);
  return b.n;
}

// The same reads and writes of records for localStorage and memory.
for (const C of [LocalStore, MemoryStore]) {
  C.prototype.entries = async function (store, limit) {
    const keys = await this.getKeys(store, limit);
    return [keys, await Promise.all(keys.map((k) => this.get(store, k)))];
  };
  C.prototype.replace = async function (store, keys, values) {
    for (let i = 0; i < keys.length; i++) await (values[i] ? this.put(store, keys[i], values[i]) : this.deleteKeys(store, [keys[i]]));
  };
  C.prototype.countEvents = async function (store) {
    return countAll(await this.getAll(store));
  };
}

// The same read-modify-write for localStorage and memory (localStorage has no transactions).
LocalStore.prototype.update = MemoryStore.prototype.update = async function (store, key, f) {
  const v = answer(f, await this.get(store, key));
  if (v == null) return false;
  await this.put(store, key, v);
  return true;
};

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
  return new LocalStore(ls, name);
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
  return { store: new MemoryStore(), problems };
}

export function memoryStore() {
  return new MemoryStore();
}
