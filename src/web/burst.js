// The promises of one burst of track() calls (see burst.rs): the calls of one task share one
// transaction, and each promise settles once that transaction has committed.
// A rejection is the caller's to handle: the package's wrapper always handles it, and the
// page-change applier does not wait for its exposures.
export class Waiters {
  constructor() {
    this.l = [];
  }
  add() {
    const p = new Promise((ok, fail) => this.l.push([ok, fail]));
    p.catch(() => {});
    return p;
  }
  fail(i, error) {
    this.l[i][1](error);
  }
  // `ids`: one line per call, in call order; an empty line resolves to null. A promise
  // already rejected by fail() stays rejected.
  settle(ids) {
    ids = ids.split("\n");
    this.l.forEach((w, i) => w[0](ids[i] || null));
  }
}

// Writes records given as lines (keys and JSON values never hold a raw newline) in one
// transaction: one string crosses from Wasm per burst, not two per event.
export function putLines(store, name, keys, values) {
  return store.putMany(name, keys.split("\n"), values.split("\n"));
}
