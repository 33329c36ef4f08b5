// The promises of one burst of track() calls (see burst.rs): the calls of one task share one
// transaction, and each promise settles once that transaction has committed.
// A burst's promises are kept in a plain array. A rejection is the caller's to handle: the
// package's wrapper always handles it, and the page-change applier does not wait for its
// exposures.
export function wait(list) {
  const p = new Promise((ok, fail) => list.push([ok, fail]));
  p.catch(() => {});
  return p;
}

// Settles a burst's promises: `errors` holds (index, error) pairs of the refused calls,
// `ids` one line per call in call order (an empty line resolves to null).
export function settle(list, ids, errors) {
  for (let i = 0; i < errors.length; i += 2) list[errors[i]][1](errors[i + 1]);
  ids = ids.split("\n");
  list.forEach((w, i) => w[0](ids[i] || null));
}

// Writes a burst's events as one outbox record (one JSON text per line; a JSON text never
// holds a raw newline) under the id of its first event, bounded to `limit` events (-1: no
// bound): one record per burst, not one per event. Resolves to how many old events the bound
// dropped.
export function putRecord(store, name, key, value, limit) {
  return store.putMany(name, [key], [value], limit);
}
