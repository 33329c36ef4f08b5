// Sync with the real `tailor serve` in Chromium, Firefox ESR and WebKitGTK (issue 15): the npm
// entry on tests/e2e/pages/sync.html tracks 500 to 700 events through what a shop's network does to
// them, and each lands exactly once. The server answers a fifth of the batches 503
// (`--fail-rate 0.2`); a proxy in front of it (the harness's `startProxy`, the same in every
// engine, where Chromium's own tests use Playwright's network controls) closes connections
// unanswered for an offline spell, and withholds the answer of one batch the server stored
// while the page reloads; the server process is stopped and started again on its database.
// Counts come from the server's SQLite file, not from what the SDK says.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startProxy, startServer, storedEvents, until } from "./harness.mjs";
import { forEachEngine } from "./each_engine.mjs";

const PAGES = join(import.meta.dirname, "pages");

let server;
let proxy;
before(async () => {
  server = await startServer(["--fail-rate", "0.2", "--rate-limit", "0"], { www: PAGES });
  proxy = await startProxy(server);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

const storedIds = (site) => storedEvents(server, site).map((e) => e.id);

// In the page: waits for sync.html's instance (window.T).
function pageReady() {
  return new Promise((ok, fail) => {
    const end = Date.now() + 20000;
    (function poll() {
      if (window.ready === true) return ok(true);
      if (Date.now() > end) return fail(new Error("the page did not get ready: " + document.body.innerText));
      setTimeout(poll, 50);
    })();
  });
}

// In the page: tracks `n` page views (50 at a time) and answers their ids.
async function trackMany(n, from) {
  const ids = [];
  for (let i = 0; i < n; i += 50) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 50); j++) chunk.push(T.track("page_view", { path: "/p/" + (from + j) }));
    ids.push(...(await Promise.all(chunk)));
  }
  return ids;
}

forEachEngine((name, engine) => {

  test("500 to 700 events through random 503s, an offline spell, a server restart and a reload mid-flight: stored exactly once each", { timeout: 240000 }, async (t) => {
    t.diagnostic(`${name}: ${engine.version}`);
    const site = `sync-${name}`;
    const url = `${proxy.url}/sync.html?site=${site}&flush=1000`;
    const posts = () => proxy.posts.filter((p) => p.site === site);
    const ids = [];
    const track = async (n) => ids.push(...(await engine.evaluate(trackMany, n, ids.length)));
    await engine.goto(url);
    await engine.evaluate(pageReady);
    // Small batches, each flushed, until the server has refused one (a fifth are 503s; 40
    // batches without one would happen 1 time in 7,000).
    for (let i = 0; i < 40 && !posts().some((p) => p.status === 503); i++) {
      await track(5);
      await engine.evaluate(() => T.flush());
    }
    assert.ok(posts().some((p) => p.status === 503), "the server injected a 503");
    await track(150);
    assert.ok(await until(() => storedIds(site).length >= 100, 60000), "the first events arrive: " + storedIds(site).length);

    // Offline: every connection is closed unanswered; nothing is lost, sending resumes.
    proxy.down = true;
    await track(100);
    assert.ok(await until(() => posts().some((p) => p.outcome === "dropped"), 30000), "a batch was tried, and failed, while offline");
    proxy.down = false;

    // The server goes away and comes back (same database, new process): the page retries.
    await server.halt();
    await track(100);
    assert.ok(await until(() => posts().some((p) => p.outcome === "no server"), 30000), "a batch was tried while the server was stopped");
    await server.resume();
    assert.ok(await until(() => storedIds(site).length >= 300, 60000), "sending resumed after the restart: " + storedIds(site).length);

    // Reload while a batch is in flight: the server stores it but the page never hears, so
    // after the reload it sends those events again and the server keeps one copy of each.
    const holding = proxy.holdNext();
    await track(100);
    const held = await holding;
    assert.equal(held.site, site);
    const storedBeforeReload = new Set(storedIds(site));
    for (const id of held.ids) assert.ok(storedBeforeReload.has(id), "the server stored the held event " + id + " before the reload");
    await engine.goto(url);
    await engine.evaluate(pageReady);
    await track(50);
    const total = ids.length;
    assert.equal(new Set(ids).size, total);

    const resent = () => posts().filter((p) => p !== held && p.ids.includes(held.ids[0]));
    const done = await until(() => storedIds(site).length >= total && resent().length > 0, 120000, 250);
    const stored = storedIds(site);
    assert.ok(done, `stored ${stored.length} of ${total}; the held batch sent again: ${resent().length > 0}`);
    assert.equal(stored.length, total, "each event stored once");
    assert.deepEqual(new Set(stored), new Set(ids));
    const report = await engine.evaluate(() => T.flush());
    assert.equal(report.pending, 0, JSON.stringify(report));
    const outcomes = {};
    for (const p of posts()) {
      const k = p.status === 503 ? "503" : p.outcome;
      outcomes[k] = (outcomes[k] || 0) + 1;
    }
    t.diagnostic(`${name}: ${total} events, batches ${JSON.stringify(outcomes)}`);
    // The engines log failed requests (503, offline, the cancelled one) themselves.
    if (name !== "webkit") assert.deepEqual(engine.problems.filter((p) => !/Failed to load resource|NetworkError|network|503/i.test(p)), []);
  });
});
