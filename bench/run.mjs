// The benchmark: every row of issue 10's table, measured in one run in headless Chromium
// (or Firefox, WebKit, or all three in turn) on www/bench/index.html, with GrowthBook 1.8
// doing the same work in the same page. Prints a table per engine and writes the figures as
// JSON. Bounded: fixed numbers of calls and rounds.
//
//   bash scripts/build.sh && node bench/run.mjs [--rounds 5] [--only decide,trackIdb] [--out FILE]
//                                              [--engine chromium|firefox|webkit|all]
//
// The engines are opened by the end-to-end tests' driver (tests/e2e/harness.mjs `openEngine`):
// Chromium through playwright-core, Firefox ESR through puppeteer-core over WebDriver BiDi,
// WebKitGTK through WebKitWebDriver on an Xvfb display. A figure an engine cannot give
// (the JS heap: performance.memory is Chromium's) is written as "n/a (why)".
//
// The machine may be loaded: read the ratios against the peer (same page, same moment) and
// the medians, not one absolute figure.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { ENGINES, openEngine } from "../tests/e2e/harness.mjs";
import { serve, ROOT } from "./serve.mjs";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf("--" + name);
  return i >= 0 ? args[i + 1] : fallback;
};
const options = { rounds: Number(arg("rounds", 5)) };
if (arg("only")) options.only = arg("only").split(",");
for (const k of ["decideCalls", "trackMemory", "trackIdb", "conditionCalls", "memoryTracks", "memoryDecides"]) {
  if (arg(k)) options[k] = Number(arg(k));
}
const outFile = arg("out", join(ROOT, ".tailor/bench.json"));
const engineArg = arg("engine", "chromium");
if (engineArg !== "all" && !ENGINES.includes(engineArg)) {
  console.error(`bench: --engine must be one of ${ENGINES.join(", ")} or all, not ${engineArg}`);
  process.exit(2);
}
const engines = engineArg === "all" ? ENGINES : [engineArg];
const STEPS = ["decide", "init", "trackMemory", "trackIdb", "condition", "memory"];

// Download size: Tailor's script-tag files as the build measured them (pkg/size.json), and
// GrowthBook's GrowthBook class + evalCondition bundled and minified the same way (esbuild).
let size;
try {
  size = JSON.parse(readFileSync(join(ROOT, "pkg/size.json"), "utf8"));
} catch {
  console.error("bench: pkg/size.json is missing: run bash scripts/build.sh first");
  process.exit(2);
}
const peerBundle = await build({
  stdin: { contents: 'export { GrowthBook, evalCondition } from "@growthbook/growthbook";', resolveDir: ROOT, loader: "js" },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  write: false,
  logLevel: "warning",
});
const peerGzip = gzipSync(peerBundle.outputFiles[0].contents, { level: 9 }).length;
const peerVersion = JSON.parse(readFileSync(join(ROOT, "node_modules/@growthbook/growthbook/package.json"), "utf8")).version;

// Chromium's switches for the memory row: performance.memory with exact figures, and gc().
const ENGINE_ARGS = { chromium: ["--enable-precise-memory-info", "--js-flags=--expose-gc"] };
const PAGE_TIMEOUT_MS = 15 * 60 * 1000;

/** Runs the page's rows in one engine; resolves to its result (rows, engine, version, problems). */
async function runIn(name, url) {
  const engine = await openEngine(name, { timeoutMs: PAGE_TIMEOUT_MS, args: ENGINE_ARGS[name] || [] });
  try {
    await engine.goto(url + "/bench/");
    await engine.evaluate(
      () =>
        new Promise((ok, fail) => {
          const until = Date.now() + 30000;
          (function poll() {
            if (window.benchReady === true) ok(true);
            else if (Date.now() > until) fail(new Error("the bench page was not ready after 30 s: " + JSON.stringify(window.benchProblems)));
            else setTimeout(poll, 50);
          })();
        }),
    );
    // One evaluate per row: progress is printed as it goes, and a row's time is bounded.
    let result;
    for (const step of STEPS) {
      if (options.only && !options.only.includes(step)) continue;
      const part = await engine.evaluate((o) => window.runBench(o), { ...options, only: [step] });
      if (!result) result = { ...part, rows: {} };
      result.rows[step] = part.rows[step];
      console.error(`bench: ${name} ${step} took ${part.rows[step].seconds.toFixed(1)} s`);
    }
    result.options = { ...result.options, only: options.only };
    // WebKitWebDriver reports no console messages: the page's own record stands in.
    const pageProblems = name === "webkit" ? await engine.evaluate(() => window.benchProblems) : [];
    result.problems = [...engine.problems, ...pageProblems];
    return { engine: name, engineVersion: engine.version, ...result };
  } finally {
    await engine.close();
  }
}

const server = await serve();
const results = [];
try {
  for (const name of engines) {
    try {
      results.push(await runIn(name, server.url));
    } catch (e) {
      // One engine failing to start or run does not hide the others' figures.
      if (engines.length === 1) throw e;
      console.error(`bench: ${name} failed: ${e.stack || e}`);
      results.push({ engine: name, error: "n/a (" + name + " did not run: " + String(e.message || e).split("\n")[0] + ")" });
    }
  }
} finally {
  await server.stop();
}
const sizeResult = { tailorGzipBytes: size.total.gzip, files: size.files, peerGzipBytes: peerGzip, peer: "GrowthBook " + peerVersion + " (GrowthBook + evalCondition, esbuild --minify)" };
const date = new Date().toISOString();

// The table of one engine.
const f = (x, d = 1) => (x == null ? "" : Number(x).toFixed(d));
const na = (x) => typeof x === "string" && x.startsWith("n/a");
/** Tailor's speed against the peer's as a reader takes it: "2.10x faster" or "2.10x slower". */
function speed(peer, tailor) {
  const r = peer / tailor;
  return r >= 1 ? f(r, 2) + "x faster" : f(1 / r, 2) + "x slower";
}

function tableOf(result) {
  const r = result.rows;
  const rows = [["figure", "Tailor", "GrowthBook " + peerVersion, "ratio", "issue 10 target"]];
  const sizeNote = engines.length > 1 ? " (same files in every engine)" : "";
  rows.push(["script-tag download, JS + wasm, gzip -9" + sizeNote, f(size.total.gzip / 1024) + " KB", f(peerGzip / 1024) + " KB", f(size.total.gzip / peerGzip, 2) + "x the size", "<= 56 KB"]);
  if (r.decide) rows.push(["decide(): 100 offers, 20 experiments, 300-event profile", f(r.decide.tailor.median) + " us", f(r.decide.peer.median) + " us", speed(r.decide.peer.median, r.decide.tailor.median), "<= 50 us"]);
  if (r.decide?.tailorNoReasons) rows.push(["the same, { reasons: false }", f(r.decide.tailorNoReasons.median) + " us", f(r.decide.peer.median) + " us", speed(r.decide.peer.median, r.decide.tailorNoReasons.median), "<= 50 us"]);
  if (r.init) {
    rows.push(["Tailor.init (ruleset in config, consent granted) + first decide()", f(r.init.tailor.median, 2) + " ms", f(r.init.peer.median, 2) + " ms", speed(r.init.peer.median, r.init.tailor.median), "<= 16 ms"]);
    rows.push(["  the same, consent pending (no storage opened)", f(r.init.pending.median, 2) + " ms", f(r.init.peer.median, 2) + " ms", speed(r.init.peer.median, r.init.pending.median), ""]);
  }
  if (r.trackMemory) rows.push(["track() burst, memory storage", f(r.trackMemory.median / 1000) + "k calls/s", "", "", ">= 100k/s"]);
  if (r.trackIdb) rows.push(["track() burst, IndexedDB, each resolved once committed", f(r.trackIdb.median / 1000, 2) + "k calls/s", "", "", ">= 20k/s"]);
  if (r.trackIdb?.bareIndexedDb) {
    // IndexedDB without the SDK in the same page, the same number of events per transaction.
    const b = r.trackIdb.bareIndexedDb;
    const of = (x) => f(r.trackIdb.median / x.median, 2) + "x of it";
    rows.push(["  IndexedDB alone, no SDK: one record per event", f(b.recordPerEvent.median / 1000, 2) + "k events/s", "", of(b.recordPerEvent), ""]);
    rows.push(["  IndexedDB alone, no SDK: one record per burst", f(b.recordPerBurst.median / 1000, 2) + "k events/s", "", of(b.recordPerBurst), ""]);
  }
  if (r.condition) {
    const c = r.condition;
    const ratio = na(c.ratio) ? c.ratio : (c.ratio >= 1 ? f(c.ratio, 2) + "x faster" : f(1 / c.ratio, 2) + "x slower") + " (geo. mean" + (c.ratioOf && !c.ratioOf.startsWith(c.cases.length + " ") ? " of " + c.ratioOf : "") + ")";
    rows.push(["one condition, " + c.cases.length + " cases (median ns)", f(c.tailor.median, 0) + " ns", f(c.peer.median, 0) + " ns", ratio, ">= 5x"]);
  }
  if (r.memory) {
    const m = r.memory;
    const kb = (b) => (b == null ? "n/a" : na(b) ? b : f(b / 1024, 0) + " KB");
    const heap = na(m.end.jsHeapBytes) ? "JS heap " + m.end.jsHeapBytes : "JS heap " + kb(m.warm.jsHeapBytes) + " -> " + kb(m.end.jsHeapBytes);
    rows.push([`memory: ${m.tracks} track + ${m.decides} decide after warm-up`, "wasm " + kb(m.warm.wasmBytes) + " -> " + kb(m.end.wasmBytes), "", heap, "flat"]);
  }
  return rows;
}
function print(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => "| " + row.map((c, i) => String(c).padEnd(widths[i])).join(" | ") + " |";
  console.log(line(rows[0]));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  rows.slice(1).forEach((row) => console.log(line(row)));
}
for (const result of results) {
  if (engines.length > 1) console.log(`\n## ${result.engine}${result.engineVersion ? " " + result.engineVersion : ""}\n`);
  if (result.error) {
    console.log(result.error);
    continue;
  }
  print(tableOf(result));
  const r = result.rows;
  if (r.condition) {
    console.log("\ncondition cases (ns per condition, Tailor / GrowthBook):");
    for (const c of r.condition.cases) console.log(`  ${c.name.padEnd(10)} ${f(c.tailorNs, 0).padStart(6)} / ${f(c.peerNs, 0).padStart(6)}  ${na(c.ratio) ? c.ratio : f(c.ratio, 2) + "x"}`);
  }
  if (r.memory && na(r.memory.gc)) console.log("\nmemory: gc " + r.memory.gc);
  if (r.decide) console.log("\ndecide check:", JSON.stringify(r.decide.check));
  if (engines.length > 1 || result.engine !== "chromium") console.log(`engine: ${result.engineVersion}; performance.now() step ${f(result.timerResolutionMs, 3)} ms`);
  if (result.problems.length) console.log("\npage problems:", result.problems);
}

// Several engines: one table with a column per engine, each cell "Tailor / GrowthBook (ratio)".
if (engines.length > 1) {
  const ran = results.filter((r) => !r.error);
  const tables = ran.map(tableOf);
  const head = ["figure", ...results.map((r) => r.engine + (r.engineVersion ? " (" + r.engineVersion + ")" : ""))];
  const combined = [head];
  tables[0]?.slice(1).forEach((row, i) => {
    const cells = results.map((r) => {
      if (r.error) return r.error;
      const [, tailor, peer, ratio] = tables[ran.indexOf(r)][i + 1];
      return tailor + (peer ? " / " + peer : "") + (ratio ? " (" + ratio + ")" : "");
    });
    combined.push([row[0].replace(" (same files in every engine)", ""), ...cells]);
  });
  console.log("\n## Tailor / GrowthBook " + peerVersion + " (ratio), per engine\n");
  print(combined);
}

// One engine: the result as before (rows, size, peer, date) plus the engine's name and version.
// Several: the size once (it does not depend on the engine) and one result per engine.
const out =
  engines.length === 1
    ? { ...results[0], size: sizeResult, peer: "@growthbook/growthbook " + peerVersion, date }
    : { engines: Object.fromEntries(results.map((r) => [r.engine, { ...r, size: "n/a (the download does not depend on the engine: see size)" }])), size: sizeResult, peer: "@growthbook/growthbook " + peerVersion, date };
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(out, null, 2) + "\n");
console.log("\nwritten to " + outFile);
if (results.some((r) => r.error)) process.exit(1);
