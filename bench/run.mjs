// The benchmark: every row of issue 10's table, measured in one run in headless Chromium
// on www/bench/index.html, with GrowthBook 1.8 doing the same work in the same page. Prints
// the table and writes the figures as JSON. Bounded: fixed numbers of calls and rounds.
//
//   bash scripts/build.sh && node bench/run.mjs [--rounds 5] [--only decide,trackIdb] [--out FILE]
//
// The machine may be loaded: read the ratios against the peer (same page, same moment) and
// the medians, not one absolute figure.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { chromium } from "playwright-core";
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

const server = await serve();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
  ],
});
let result;
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (["error", "warning"].includes(m.type())) problems.push(m.type() + ": " + m.text());
    else if (m.text().startsWith("bench: ")) console.error(m.text());
  });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.setDefaultTimeout(15 * 60 * 1000);
  await page.goto(server.url + "/bench/");
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
  result = await page.evaluate((o) => window.runBench(o), options);
  result.problems = problems;
} finally {
  await browser.close();
  await server.stop();
}
result.size = { tailorGzipBytes: size.total.gzip, files: size.files, peerGzipBytes: peerGzip, peer: "GrowthBook " + peerVersion + " (GrowthBook + evalCondition, esbuild --minify)" };
result.peer = "@growthbook/growthbook " + peerVersion;
result.date = new Date().toISOString();

// The table.
const r = result.rows;
const f = (x, d = 1) => (x == null ? "" : Number(x).toFixed(d));
const rows = [["figure", "Tailor", "GrowthBook " + peerVersion, "ratio", "issue 10 target"]];
rows.push(["script-tag download, JS + wasm, gzip -9", f(size.total.gzip / 1024) + " KB", f(peerGzip / 1024) + " KB", f(size.total.gzip / peerGzip, 2) + "x the size", "<= 56 KB"]);
if (r.decide) rows.push(["decide(): 100 offers, 20 experiments, 300-event profile", f(r.decide.tailor.median) + " us", f(r.decide.peer.median) + " us", f(r.decide.peer.median / r.decide.tailor.median, 2) + "x faster", "<= 50 us"]);
if (r.decide?.tailorNoReasons) rows.push(["the same, { reasons: false }", f(r.decide.tailorNoReasons.median) + " us", f(r.decide.peer.median) + " us", f(r.decide.peer.median / r.decide.tailorNoReasons.median, 2) + "x faster", "<= 50 us"]);
if (r.init) {
  rows.push(["Tailor.init (ruleset in config, consent granted) + first decide()", f(r.init.tailor.median, 2) + " ms", f(r.init.peer.median, 2) + " ms", f(r.init.peer.median / r.init.tailor.median, 2) + "x faster", "<= 16 ms"]);
  rows.push(["  the same, consent pending (no storage opened)", f(r.init.pending.median, 2) + " ms", f(r.init.peer.median, 2) + " ms", f(r.init.peer.median / r.init.pending.median, 2) + "x faster", ""]);
}
if (r.trackMemory) rows.push(["track() burst, memory storage", f(r.trackMemory.median / 1000) + "k calls/s", "", "", ">= 100k/s"]);
if (r.trackIdb) rows.push(["track() burst, IndexedDB, each resolved once committed", f(r.trackIdb.median / 1000, 2) + "k calls/s", "", "", ">= 20k/s"]);
if (r.condition) rows.push(["one condition, " + r.condition.cases.length + " cases (median ns)", f(r.condition.tailor.median, 0) + " ns", f(r.condition.peer.median, 0) + " ns", f(r.condition.ratio, 2) + "x faster (geo. mean)", ">= 5x"]);
if (r.memory) {
  const m = r.memory;
  const kb = (b) => (b == null ? "n/a" : f(b / 1024, 0) + " KB");
  rows.push([`memory: ${m.tracks} track + ${m.decides} decide after warm-up`, "wasm " + kb(m.warm.wasmBytes) + " -> " + kb(m.end.wasmBytes), "", "JS heap " + kb(m.warm.jsHeapBytes) + " -> " + kb(m.end.jsHeapBytes), "flat"]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
const line = (row) => "| " + row.map((c, i) => String(c).padEnd(widths[i])).join(" | ") + " |";
console.log(line(rows[0]));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
rows.slice(1).forEach((row) => console.log(line(row)));
if (r.condition) {
  console.log("\ncondition cases (ns per condition, Tailor / GrowthBook):");
  for (const c of r.condition.cases) console.log(`  ${c.name.padEnd(10)} ${f(c.tailorNs, 0).padStart(6)} / ${f(c.peerNs, 0).padStart(6)}  ${f(c.ratio, 2)}x`);
}
if (r.decide) console.log("\ndecide check:", JSON.stringify(r.decide.check));
if (result.problems.length) console.log("\npage problems:", result.problems);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
console.log("\nwritten to " + outFile);
