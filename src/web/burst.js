// The promises of one burst of track() calls (see burst.rs): the calls of one task share one
// transaction, and each promise settles once that transaction has committed.
// A burst's promises are kept in a plain array, and the bursts still waiting in `open`: when
// the module traps before a burst settles (its task never ends), the package's wrapper calls
// abandon, which resolves them with null, so that no track() promise hangs. The wrapper hands
// the core's promise itself to the page (no promise of its own per call); a rejection is the
// caller's to handle, and the page-change applier's exposures have no promise.
const open = new Set();
export function wait(list) {
  if (!list.length) open.add(list);
  return new Promise((ok, fail) => list.push([ok, fail]));
}

// Settles a burst's promises: `errors` holds (index, error) pairs of the refused calls,
// `ids` one line per call in call order (an empty line resolves to null).
export function settle(list, ids, errors) {
  open.delete(list);
  for (let i = 0; i < errors.length; i += 2) list[errors[i]][1](errors[i + 1]);
  ids = ids.split("\n");
  list.forEach((w, i) => w[0](ids[i] || null));
}

function abandon() {
  open.forEach((list) => list.forEach((w) => w[0](null)));
  open.clear();
}
export function abandoner() {
  return abandon;
}

// Writes a burst's events as one outbox record (one JSON text per line; a JSON text never
// holds a raw newline) under the id of its first event, bounded to `limit` events (-1: no
// bound): one record per burst, not one per event. Resolves to how many old events the bound
// dropped.
export function putRecord(store, name, key, value, limit) {
  return store.putMany(name, [key], [value], limit);
}
