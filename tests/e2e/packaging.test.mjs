// The npm package tried the way users install it: `npm pack` of pkg/, the tarball installed
// (offline) into fresh projects built with Vite, webpack 5 and esbuild (the slim entry), and a
// plain <script type="module"> page importing the installed files; each is served on
// 127.0.0.1 by the real `tailor serve` and run in headless Chromium, where it loads the Wasm
// from what was built, decides and records an event. Then the package in Node (plain and in
// Vite's server-side rendering build), and the package README's examples.
// Needs `bash scripts/build.sh` (pkg/) and `cargo build -p tailor-server`; downloads nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codeBlocks, launchBrowser, newPage, readStore, startServer } from "./harness.mjs";
import { bundle, FIXTURES, installed, packTarball, project, ROOT } from "../packaging/support.mjs";

const LOAD = { timeout: 20000 };
// Each test as a whole is bounded too (a page.evaluate that never settles, a hung build).
const BOUND = { timeout: 120000 };
let browser;
let scratch;
let tarball;
const cleanup = [];
before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "tailor-packaging-"));
  tarball = packTarball(scratch);
  browser = await launchBrowser();
}, BOUND);
after(async () => {
  await browser?.close();
  for (const f of cleanup.reverse()) await f();
  rmSync(scratch, { recursive: true, force: true });
}, BOUND);

/** A fresh project of the fixture `name`, removed after the tests. */
function fresh(name) {
  const dir = project(name, tarball);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Serves `root` with `tailor serve`; resolves to the server, stopped after the tests. */
async function serve(root) {
  const server = await startServer([], { www: root });
  cleanup.push(server.stop);
  return server;
}

/** A new page that lists the paths of the responses it got (`page.served`) and its Wasm responses (`page.wasm`). */
async function watchedPage() {
  const page = await newPage(browser);
  page.served = [];
  page.wasm = [];
  page.on("response", (r) => {
    page.served.push(new URL(r.url()).pathname);
    if (r.url().endsWith(".wasm")) page.wasm.push({ url: r.url(), status: r.status() });
  });
  return page;
}

/** Serves `root`, opens its page, waits for the fixture app's report; returns { report, page, server, outbox }. */
async function open(root, site) {
  const server = await serve(root);
  const page = await watchedPage();
  await page.goto(server.url + "/", LOAD);
  await page.waitForFunction(() => window.packaging !== undefined, null, LOAD);
  const report = await page.evaluate(() => window.packaging);
  const outbox = await readStore(page, "tailor:" + site, "outbox");
  return { report, page, server, outbox };
}

/** What every fixture app must have seen: the real engine deciding, before and after a product view. */
function assertWorked({ report, page, server, outbox }) {
  assert.equal(report.error, undefined, report.error);
  assert.equal(report.ready, true, "the Wasm core is running");
  assert.equal(report.storage, "indexeddb");
  assert.equal(report.before, "welcome", "a new shopper gets the welcome offer");
  assert.equal(report.after, "shoes", "after a shoe view the shoes offer ranks first");
  assert.equal(report.views, 1);
  assert.match(report.eventId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(outbox.map((e) => [e.id, e.type, e.props.sku]), [[report.eventId, "product_view", "SH-1"]]);
  assert.equal(page.wasm.length, 1, JSON.stringify(page.wasm));
  assert.ok(page.wasm[0].url.startsWith(server.url + "/") && page.wasm[0].status === 200, JSON.stringify(page.wasm));
  // Nothing from the repository's own build (the server also serves pkg/ at /pkg/).
  assert.ok(!page.served.some((p) => p.startsWith("/pkg/")), page.served.join(" "));
  assert.deepEqual(page.problems, []);
}

for (const bundler of ["vite", "webpack", "esbuild"]) {
  test(`${bundler}: a fresh project with the tarball builds, loads the Wasm from its output, decides and records`, BOUND, async () => {
    const dir = fresh(bundler);
    const out = await bundle(bundler, dir);
    const run = await open(out, "pack-" + bundler);
    assertWorked(run);
    // The build holds the SDK: no file is fetched from node_modules.
    assert.ok(!run.page.served.some((p) => p.includes("node_modules")), run.page.served.join(" "));
  });
}

test("vite: the dev server (dependency pre-bundling) serves the project, and it works the same", BOUND, async () => {
  const dir = fresh("vite");
  const { createServer } = await import("vite");
  const vite = await createServer({ root: dir, configFile: false, logLevel: "warn", server: { host: "127.0.0.1", port: 0, strictPort: true } });
  await vite.listen();
  cleanup.push(() => vite.close());
  const url = vite.resolvedUrls.local[0].replace(/\/$/, "");
  const page = await watchedPage();
  await page.goto(url + "/", LOAD);
  await page.waitForFunction(() => window.packaging !== undefined, null, LOAD);
  const report = await page.evaluate(() => window.packaging);
  const outbox = await readStore(page, "tailor:pack-vite", "outbox");
  assertWorked({ report, page, server: { url }, outbox });
});

test("vite: the server-side rendering build of the project renders with defaults in Node", BOUND, async () => {
  const dir = fresh("vite");
  const { build } = await import("vite");
  const out = join(dir, "dist-ssr");
  await build({ root: dir, configFile: false, logLevel: "warn", build: { ssr: "server.js", outDir: out } });
  const { render } = await import(join(out, "server.js"));
  const page = await render();
  assert.equal(page.ready, false);
  assert.match(page.problems[0], /in Node \(server-side rendering\) it answers with defaults/);
  assert.equal(page.html, "<h1>Welcome to the shop</h1>");
});

test("a plain <script type=module> page imports the installed files and works", BOUND, async () => {
  const dir = fresh("plain");
  const run = await open(dir, "pack-plain");
  assertWorked(run);
  assert.ok(run.page.served.includes("/node_modules/@tailor-sdk/tailor/wasm/tailor_bg.wasm"));
});

/** Runs `code` as an ES module file in the project `dir` with Node; returns what it printed as JSON. */
function inNode(dir, code) {
  writeFileSync(join(dir, "ssr.mjs"), code);
  return JSON.parse(execFileSync(process.execPath, ["ssr.mjs"], { cwd: dir, encoding: "utf8", timeout: 20000 }));
}

test("in Node (server-side rendering) the package imports and answers with defaults, storing and sending nothing", BOUND, () => {
  const dir = fresh("plain");
  const got = inNode(
    dir,
    `import { Tailor } from "@tailor-sdk/tailor";
const tailor = await Tailor.init({ site: "ssr", consent: "granted", endpoint: "https://t.example.com" });
const decision = tailor.decide({ pageType: "home" });
console.log(JSON.stringify({ status: tailor.status, decision, id: await tailor.track("page_view", {}), profile: tailor.profile(), flush: await tailor.flush() }));`,
  );
  assert.equal(got.status.ready, false);
  assert.equal(got.status.storage, "none");
  assert.match(got.status.problems[0], /Tailor runs in the browser: in Node .* answers with defaults/);
  assert.deepEqual(got.decision, { placements: {}, experiments: [], reasons: [] });
  assert.equal(got.id, null);
  assert.equal(got.profile, null);
  assert.equal(got.flush.sent, 0);
});

test("in Node the slim entry with initTailor(bytes) runs the real engine on memory storage", BOUND, () => {
  const dir = fresh("plain");
  const got = inNode(
    dir,
    `import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Tailor, initTailor } from "@tailor-sdk/tailor/slim";
const wasm = readFileSync(createRequire(import.meta.url).resolve("@tailor-sdk/tailor/tailor_bg.wasm"));
const loaded = await initTailor(wasm);
const ruleset = { version: 1, placements: { hero: { limit: 1 } }, offers: [{ id: "welcome", placements: ["hero"], content: { title: "Hi" } }] };
const tailor = await Tailor.init({ site: "node-test", consent: "granted", ruleset });
const id = await tailor.track("search", { query: "boots" });
const offer = tailor.decide({}, { record: false }).placements.hero.offers[0].offerId;
console.log(JSON.stringify({ loaded, status: tailor.status, id, offer, searches: tailor.profile().events.search.count }));`,
  );
  assert.equal(got.loaded, true);
  assert.equal(got.status.ready, true);
  assert.equal(got.status.storage, "memory");
  assert.match(got.id, /^[0-9a-f-]{36}$/);
  assert.equal(got.offer, "welcome");
  assert.equal(got.searches, 1);
});

// The README that ships in the tarball: read from the installed package, each example run as
// written. The install command is what `project()` did (offline, from the tarball).
test("the package README ships in the tarball and says how to install it", BOUND, () => {
  const dir = fresh("plain");
  const readme = installed(dir, "README.md");
  assert.deepEqual(codeBlocks(readme, "sh").map((b) => [b.section, b.code.trim()]), [["Install", "npm install @tailor-sdk/tailor"]]);
  for (const section of ["Script tag", "npm import", "Server-side rendering (Node)", "OpenFeature"]) {
    assert.ok(codeBlocks(readme, "js").concat(codeBlocks(readme, "html")).some((b) => b.section === section), "an example under " + section);
  }
});

test("README script-tag example: the snippet's queued product_view is stored", BOUND, async () => {
  const dir = fresh("plain");
  const [tag] = codeBlocks(installed(dir, "README.md"), "html");
  writeFileSync(join(dir, "index.html"), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">${tag.code}</head><body>shop</body></html>`);
  const server = await serve(dir);
  const page = await watchedPage();
  await page.goto(server.url + "/", LOAD);
  await page.waitForFunction(() => window.tailor && window.tailor.loaded, null, LOAD);
  assert.equal(await page.evaluate(() => tailor("ready", (t) => t.status.ready)), true);
  const events = await readStore(page, "tailor:my-shop", "outbox");
  assert.deepEqual(events.map((e) => [e.type, e.props.sku]), [["product_view", "SKU-1"]]);
  assert.ok(page.served.includes("/node_modules/@tailor-sdk/tailor/dist/tailor_bg.wasm"));
  assert.deepEqual(page.problems, []);
});

test("README browser examples (npm import, slim, OpenFeature) run as written, bundled", BOUND, async () => {
  const dir = fresh("plain");
  const examples = codeBlocks(installed(dir, "README.md"), "js").filter((b) => !b.section.includes("Node"));
  assert.ok(examples.length >= 3, "found " + examples.length);
  const out = join(dir, "dist");
  const server = await serve(out);
  // @openfeature/web-sdk, the optional peer, comes from the repository's node_modules.
  const peers = join(ROOT, "node_modules");
  for (const [i, { section, code }] of examples.entries()) {
    // Imports must stay at the top of a module, so the example is its own module; the page's
    // entry imports it and reports how that went.
    writeFileSync(join(dir, `example-${i}.js`), code);
    writeFileSync(join(dir, `run-${i}.js`), `import(${JSON.stringify(`./example-${i}.js`)}).then(() => (window.exampleResult = "done"), (e) => (window.exampleResult = "threw " + ((e && e.stack) || e)));`);
    writeFileSync(join(dir, `example-${i}.html`), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="./run-${i}.js"></script></body></html>`);
    if (code.includes("@tailor-sdk/tailor/slim")) {
      // As the README says: the slim entry with esbuild's file loader.
      await bundle("esbuild", dir, { esbuildConfig: join(FIXTURES, "esbuild/build.json"), entryPoints: [`run-${i}.js`, `example-${i}.html`], splitting: true, nodePaths: [peers] });
    } else {
      // The default entry with webpack 5, which emits the Wasm that index.js names.
      const webpackConfig = {
        mode: "production",
        entry: { [`run-${i}`]: `./run-${i}.js` },
        output: { filename: "[name].js", publicPath: "auto", module: true, chunkFormat: "module" },
        experiments: { outputModule: true },
        resolve: { modules: ["node_modules", peers] },
        optimization: { minimize: false },
        performance: { hints: false },
      };
      await bundle("webpack", dir, { webpackConfig });
      writeFileSync(join(out, `example-${i}.html`), readFileSync(join(dir, `example-${i}.html`)));
    }
    const page = await newPage(browser);
    await page.goto(`${server.url}/example-${i}.html`, LOAD);
    await page.waitForFunction(() => window.exampleResult !== undefined, null, LOAD);
    assert.equal(await page.evaluate(() => window.exampleResult), "done", section);
    assert.deepEqual(page.problems, [], section);
    await page.context().close();
  }
});

test("README Node examples run as written in Node, from the installed package", BOUND, () => {
  const dir = fresh("plain");
  const examples = codeBlocks(installed(dir, "README.md"), "js").filter((b) => b.section.includes("Node"));
  assert.equal(examples.length, 2);
  for (const [i, { code }] of examples.entries()) {
    writeFileSync(join(dir, `node-example-${i}.mjs`), code);
    // console.assert only prints in Node: a failed one is a line on stderr.
    const run = spawnSync(process.execPath, [`node-example-${i}.mjs`], { cwd: dir, encoding: "utf8", timeout: 20000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, "", "example " + (i + 1));
  }
});
