// The promises of one burst of track() calls (see burst.rs): the calls of one task share one
// transaction, and each promise settles once that transaction has committed.
export class Waiters {
  constructor() {
    this.list = [];
  }
  add() {
    return new Promise((ok, fail) => this.list.push(ok, fail));
  }
  fail(i, error) {
    this.list[2 * i + 1](error);
  }
  // `ids`: one line per call, in call order; an empty line resolves to null. A promise
  // already rejected by fail() stays rejected.
  settle(ids) {
    const lines = ids.split("\n");
    for (let i = 0; 2 * i < this.list.length; i++) this.list[2 * i](lines[i] || null);
  }
}

// Writes records given as lines (keys and JSON values never hold a raw newline) in one
// transaction: one string crosses from Wasm per burst, not two per event.
export function putLines(store, name, keys, values) {
  return store.putMany(name, keys.split("\n"), values.split("\n"));
}
