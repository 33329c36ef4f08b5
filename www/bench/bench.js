// The benchmark page's measurements (www/bench/index.html, driven by bench/run.mjs): every
// row of issue 10's table for Tailor, and GrowthBook 1.8 doing the same work in the same page.
// Each figure is the median of several rounds; every round is bounded (a fixed number of calls).
import { Tailor } from "@tailor-sdk/tailor";
import initWasm from "/pkg/wasm/tailor.js";
import { GrowthBook, evalCondition } from "/vendor/growthbook.mjs";
import * as W from "./workload.js";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const site = (what) => "bench-" + what + "-" + Math.random().toString(36).slice(2, 8);
const ms = () => performance.now();

// Runs `round()` once to warm up, then `rounds` times; answers the median of what it returns.
async function medianOf(rounds, round) {
  await round(-1);
  const xs = [];
  for (let r = 0; r < rounds; r++) xs.push(await round(r));
  return { median: median(xs), rounds: xs };
}

async function withHistory(config) {
  const t = await Tailor.init(config);
  for (const [type, props] of W.history()) await t.track(type, props);
  return t;
}

// What GrowthBook's conditions read: the attributes Tailor builds for its own conditions.
function attributesOf(tailor) {
  const profile = tailor.profile();
  return { id: profile.anonymousId, anonymousId: profile.anonymousId, profile, context: { ...W.pageContext }, user: {} };
}

// Reads which of `ids` are in the outbox, from IndexedDB directly (another connection): a
// record holds the events of one burst, one JSON text per line. Also answers how many records.
function storedIds(db, ids) {
  return new Promise((ok, fail) => {
    const r = indexedDB.open(db);
    r.onerror = () => fail(r.error);
    r.onsuccess = () => {
      const d = r.result;
      const g = d.transaction("outbox").objectStore("outbox").getAll();
      g.onsuccess = () => {
        d.close();
        const stored = new Set(g.result.flatMap((v) => v.split("\n").filter(Boolean).map((l) => JSON.parse(l).id)));
        ok({ found: ids.filter((id) => stored.has(id)).length, records: g.result.length });
      };
      g.onerror = () => fail(g.error);
    };
  });
}

async function decideRow(o) {
  const tailor = await withHistory({ site: site("decide"), consent: "granted", storage: "memory", ruleset: W.ruleset() });
  const options = { record: false };
  const d = tailor.decide(W.pageContext, options);
  const chosen = Object.values(d.placements).reduce((n, p) => n + (p.offers || []).length, 0);
  const inExperiment = Object.keys(d.experiments).length;
  const us = await medianOf(o.rounds, () => {
    const t0 = ms();
    for (let i = 0; i < o.decideCalls; i++) tailor.decide(W.pageContext, options);
    return ((ms() - t0) * 1000) / o.decideCalls;
  });
  // The same decision without reason sentences and skipped lists (`reasons: false`), for
  // pages that only act on the answer.
  const lean = { record: false, reasons: false };
  const usLean = await medianOf(o.rounds, () => {
    const t0 = ms();
    for (let i = 0; i < o.decideCalls; i++) tailor.decide(W.pageContext, lean);
    return ((ms() - t0) * 1000) / o.decideCalls;
  });
  const attrs = attributesOf(tailor);
  const gb = new GrowthBook({ attributes: attrs });
  const experiments = W.experimentsForGrowthBook();
  const offers = W.offerConditionsForGrowthBook();
  let gbIn = 0;
  let gbOffers = 0;
  const peerDecide = () => {
    gbIn = 0;
    gbOffers = 0;
    for (const x of experiments) gbIn += gb.run(x).inExperiment ? 1 : 0;
    for (const [audience, condition] of offers) gbOffers += evalCondition(attrs, audience) && evalCondition(attrs, condition) ? 1 : 0;
  };
  const peer = await medianOf(o.rounds, () => {
    const t0 = ms();
    for (let i = 0; i < o.decideCalls; i++) peerDecide();
    return ((ms() - t0) * 1000) / o.decideCalls;
  });
  gb.destroy();
  return { tailor: us, tailorNoReasons: usLean, peer, check: { tailorOffersChosen: chosen, tailorExperiments: inExperiment, peerInExperiment: gbIn, peerEligibleOffers: gbOffers, profileEvents: W.history().length } };
}

async function initRow(o) {
  const doc = W.ruleset();
  const granted = site("init");
  const tailor = await medianOf(o.rounds, async () => {
    const t0 = ms();
    const t = await Tailor.init({ site: granted, consent: "granted", ruleset: doc });
    t.decide(W.pageContext, { record: false });
    return ms() - t0;
  });
  const pending = await medianOf(o.rounds, async () => {
    const t0 = ms();
    const t = await Tailor.init({ site: site("init-pending"), ruleset: doc });
    t.decide(W.pageContext, { record: false });
    return ms() - t0;
  });
  const experiments = W.experimentsForGrowthBook();
  const offers = W.offerConditionsForGrowthBook();
  const attrs = { id: "anon-1", anonymousId: "anon-1", profile: {}, context: { ...W.pageContext }, user: {} };
  // GrowthBook is quicker than the timer's resolution: 20 starts per round.
  const peer = await medianOf(o.rounds, async () => {
    const t0 = ms();
    for (let i = 0; i < 20; i++) {
      const gb = new GrowthBook({ attributes: attrs });
      await gb.init({ payload: { features: {} } });
      for (const x of experiments) gb.run(x);
      for (const [a, c] of offers) evalCondition(attrs, a) && evalCondition(attrs, c);
      gb.destroy();
    }
    return (ms() - t0) / 20;
  });
  return { tailor, peer, pending };
}

async function burst(t, n) {
  const props = Array.from({ length: n }, (_, i) => W.productView(i));
  const t0 = ms();
  const ids = await Promise.all(props.map((p) => t.track("product_view", p)));
  return { perSecond: (n * 1000) / (ms() - t0), ids };
}

async function trackMemoryRow(o) {
  const t = await Tailor.init({ site: site("track-mem"), consent: "granted", storage: "memory" });
  return medianOf(o.rounds, async () => (await burst(t, o.trackMemory)).perSecond);
}

async function trackIdbRow(o) {
  const name = site("track-idb");
  const t = await Tailor.init({ site: name, consent: "granted" });
  if (t.status.storage !== "indexeddb") throw new Error("IndexedDB did not open: " + JSON.stringify(t.status));
  let missing = 0;
  let records = 0;
  const result = await medianOf(o.rounds, async () => {
    const { perSecond, ids } = await burst(t, o.trackIdb);
    // Each promise resolved: its event must be in IndexedDB now (read by another connection).
    const s = await storedIds("tailor:" + name, ids);
    missing += ids.length - s.found;
    records = s.records;
    return perSecond;
  });
  if (missing) throw new Error(missing + " events resolved by track() were not in IndexedDB");
  const bare = await bareIdbRow(o);
  return { ...result, verifiedInIndexedDb: true, outboxRecords: records, bareIndexedDb: bare, problems: t.status.problems };
}

// IndexedDB itself in the same page, without the SDK: `n` records of the size of a
// product_view event written in one transaction (one record per event, what the outbox did
// before it kept one record per burst), and the same events as one record. Writes per second.
async function bareIdbRow(o) {
  const n = o.trackIdb;
  const name = site("bare-idb");
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => r.result.createObjectStore("outbox");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const text = JSON.stringify({ id: "0190f0e0-0000-7000-8000-000000000000", type: "product_view", ts: Date.now(), props: W.productView(1), context: W.pageContext });
  const commit = (put) =>
    new Promise((ok, fail) => {
      const t = db.transaction("outbox", "readwrite");
      put(t.objectStore("outbox"));
      t.oncomplete = ok;
      t.onerror = t.onabort = () => fail(t.error);
    });
  let round = 0;
  const perEvent = await medianOf(o.rounds, async () => {
    const r = round++;
    const t0 = ms();
    await commit((s) => {
      for (let i = 0; i < n; i++) s.put(text, "r" + r + "-" + String(i).padStart(6, "0"));
    });
    return (n * 1000) / (ms() - t0);
  });
  const perBurst = await medianOf(o.rounds, async () => {
    const r = round++;
    const t0 = ms();
    const lines = [];
    for (let i = 0; i < n; i++) lines.push(text);
    await commit((s) => s.put(lines.join("\n"), "b" + r));
    return (n * 1000) / (ms() - t0);
  });
  db.close();
  await new Promise((ok) => (indexedDB.deleteDatabase(name).onsuccess = ok));
  return { recordPerEvent: perEvent, recordPerBurst: perBurst, eventBytes: text.length };
}

// One condition: Tailor has no condition call of its own, so the cost is read off decide():
// the same decision with 300 and with 100 offers that all carry the condition, the
// difference divided by 200 (what one more offer with that condition costs, the attributes
// and the answer's crossing cancel out). GrowthBook: evalCondition on the same attributes.
async function conditionRow(o) {
  const t = await withHistory({ site: site("condition"), consent: "granted", storage: "memory" });
  const attrs = attributesOf(t);
  const cases = [];
  const perDecide = async () => {
    const r = await medianOf(o.rounds, () => {
      const t0 = ms();
      for (let i = 0; i < o.conditionCalls; i++) t.decide(W.pageContext, { record: false });
      return ((ms() - t0) * 1e6) / o.conditionCalls;
    });
    return r.median;
  };
  for (const [name, condition] of W.conditionCases) {
    const expected = evalCondition(attrs, condition);
    t.setRuleset(W.conditionRuleset(condition, 100));
    const got = (t.decide(W.pageContext, { record: false }).placements.p.offers || []).length > 0;
    if (got !== expected) throw new Error(`condition ${name}: Tailor says ${got}, GrowthBook ${expected}`);
    const small = await perDecide();
    t.setRuleset(W.conditionRuleset(condition, 300));
    const large = await perDecide();
    const tailorNs = Math.max(large - small, 0) / 200;
    const calls = o.conditionCalls * 200;
    const peer = await medianOf(o.rounds, () => {
      const t0 = ms();
      for (let i = 0; i < calls; i++) evalCondition(attrs, condition);
      return ((ms() - t0) * 1e6) / calls;
    });
    // With too few calls per round the difference can fall under the timer's step: no ratio then.
    const ratio = tailorNs > 0 ? peer.median / tailorNs : "n/a (the difference was under the timer's step: more --conditionCalls)";
    cases.push({ name, result: expected, tailorNs, peerNs: peer.median, ratio, tailorDecideNs: { offers100: small, offers300: large } });
  }
  const measured = cases.filter((c) => typeof c.ratio === "number");
  return {
    tailor: { median: median(cases.map((c) => c.tailorNs)) },
    peer: { median: median(cases.map((c) => c.peerNs)) },
    ratio: measured.length ? Math.exp(measured.reduce((s, c) => s + Math.log(c.ratio), 0) / measured.length) : "n/a (no case was over the timer's step)",
    ratioOf: measured.length + " of " + cases.length + " cases",
    cases,
  };
}

// Memory over a long page life: 100,000 track() and 10,000 decide() calls with memory
// storage; the Wasm memory and the JS heap after a warm-up and at the end.
async function memoryRow(o) {
  const wasm = await initWasm();
  // performance.memory and gc() exist only in Chromium (gc() with --js-flags=--expose-gc):
  // elsewhere the figure says why it is missing rather than being left out.
  const heap = () => {
    if (globalThis.gc) globalThis.gc();
    return {
      wasmBytes: wasm.memory.buffer.byteLength,
      jsHeapBytes: performance.memory ? performance.memory.usedJSHeapSize : "n/a (performance.memory exists only in Chromium)",
    };
  };
  const t = await Tailor.init({ site: site("memory"), consent: "granted", storage: "memory", ruleset: W.ruleset() });
  const props = Array.from({ length: 1000 }, (_, i) => W.productView(i));
  const run = async (tracks, decides) => {
    for (let done = 0; done < tracks; done += props.length) await Promise.all(props.map((p) => t.track("product_view", p)));
    for (let i = 0; i < decides; i++) t.decide(W.pageContext, { record: false });
  };
  await run(o.memoryTracks / 10, o.memoryDecides / 10);
  await new Promise((r) => setTimeout(r, 50)); // the coalesced profile write runs
  const warm = heap();
  const t0 = ms();
  await run(o.memoryTracks, o.memoryDecides);
  await new Promise((r) => setTimeout(r, 50));
  const end = heap();
  const gc = globalThis.gc ? "forced before each reading (gc())" : "n/a (gc() is exposed only by Chromium's --js-flags=--expose-gc; readings taken without a forced collection)";
  return { tracks: o.memoryTracks, decides: o.memoryDecides, warm, end, gc, seconds: (ms() - t0) / 1000 };
}

// The smallest step performance.now() takes in this page (engines coarsen it differently
// when the page is not cross-origin isolated): the figures below are means over many calls
// per round, so that step only matters for the init row, which times one start per round.
function timerResolutionMs() {
  let best = Infinity;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    let t1 = t0;
    const until = Date.now() + 50;
    while (t1 === t0 && Date.now() < until) t1 = performance.now();
    if (t1 > t0) best = Math.min(best, t1 - t0);
  }
  return best === Infinity ? null : best;
}

export async function runBench(options = {}) {
  const o = { rounds: 5, decideCalls: 500, trackMemory: 5000, trackIdb: 1000, conditionCalls: 100, memoryTracks: 100000, memoryDecides: 10000, ...options };
  const only = o.only ? new Set(o.only) : null;
  const out = { options: o, userAgent: navigator.userAgent, timerResolutionMs: timerResolutionMs(), crossOriginIsolated: globalThis.crossOriginIsolated === true, rows: {} };
  const steps = { decide: decideRow, init: initRow, trackMemory: trackMemoryRow, trackIdb: trackIdbRow, condition: conditionRow, memory: memoryRow };
  for (const [name, step] of Object.entries(steps)) {
    if (only && !only.has(name)) continue;
    const t0 = ms();
    out.rows[name] = await step(o);
    out.rows[name].seconds = (ms() - t0) / 1000;
    console.log("bench: " + name + " took " + out.rows[name].seconds.toFixed(1) + " s");
  }
  return out;
}

window.runBench = runBench;
