// End-to-end sync: the built SDK in headless Chromium against the real `tailor serve`.
// Counts come from the server's SQLite file (sqlite3 CLI), not from what the SDK says.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityToken, launchBrowser, newPage, startServer, until } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "sync-test-admin-token";
// TAILOR_PKG serves another build of the package (e.g. a copy while pkg/ is being rebuilt).
const PKG = process.env.TAILOR_PKG ? ["--pkg", process.env.TAILOR_PKG] : [];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Ids of the events stored for `site` in the server's database. */
function storedIds(server, site) {
  const out = execFileSync("sqlite3", ["-readonly", join(server.dir, ".tailor/tailor.db"), `SELECT id FROM events WHERE site = '${site}'`], {
    encoding: "utf8",
  });
  return out.split("\n").filter(Boolean);
}

async function open(page, server, params) {
  await page.goto(server.url + "/sync.html?" + new URLSearchParams(params));
  await ready(page);
}

async function ready(page) {
  try {
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  } catch (e) {
    const text = await page.evaluate(() => document.body.innerText).catch((e) => String(e));
    throw new Error("the page did not get ready: " + text + "\n" + page.problems.join("\n"));
  }
}

/** Tracks `n` page views in the page; resolves to their ids. */
function trackMany(page, n, from = 0) {
  return page.evaluate(
    async ([n, from]) => {
      const ids = [];
      for (let i = 0; i < n; i += 100) {
        const chunk = [];
        for (let j = i; j < Math.min(n, i + 100); j++) chunk.push(T.track("page_view", { path: "/p/" + (from + j) }));
        ids.push(...(await Promise.all(chunk)));
      }
      return ids;
    },
    [n, from],
  );
}

/** The outbox's records of `db`, read by another connection in the page: [key, text] pairs. */
function outboxRecords(page, db) {
  return page.evaluate(
    (db) =>
      new Promise((ok, fail) => {
        const r = indexedDB.open(db);
        r.onerror = () => fail(r.error);
        r.onsuccess = () => {
          const s = r.result.transaction("outbox").objectStore("outbox");
          const k = s.getAllKeys();
          const v = s.getAll();
          v.onsuccess = () => (r.result.close(), ok(k.result.map((key, i) => [key, v.result[i]])));
          v.onerror = () => fail(v.error);
        };
      }),
    db,
  );
}

/** Replaces the outbox of `db` with `records` ([key, text] pairs), as another program would. */
function writeOutbox(page, db, records) {
  return page.evaluate(
    ([db, records]) =>
      new Promise((ok, fail) => {
        const r = indexedDB.open(db);
        r.onsuccess = () => {
          const t = r.result.transaction("outbox", "readwrite");
          const s = t.objectStore("outbox");
          s.clear();
          for (const [k, v] of records) s.put(v, k);
          t.oncomplete = () => ok(r.result.close());
          t.onerror = () => fail(t.error);
        };
      }),
    [db, records],
  );
}

describe("outbox flush", () => {
  // No fixed budget: each phase waits on what it needs, under ceilings generous enough for a
  // loaded 2-core machine (the whole test may take up to 10 minutes there).
  test("10,000 events through random 503s, an offline spell and a reload mid-flight: stored exactly once each", { timeout: 600000 }, async () => {
    const server = await startServer([...PKG, "--fail-rate", "0.2", "--rate-limit", "0"], { www: PAGES });
    try {
      const page = await newPage(browser);
      const params = { site: "load", flush: 1000 };
      // Every batch the page posts: its event ids, and what became of the request.
      const posts = [];
      let offline = false;
      page.on("request", (r) => {
        if (r.method() === "POST" && r.url().endsWith("/v1/events")) {
          let ids = [];
          try {
            ids = JSON.parse(r.postData()).events.map((e) => e.id);
          } catch {
            // A body the test cannot read counts as no ids; the server's count still decides.
          }
          posts.push({ request: r, ids, offline, outcome: null });
        }
      });
      const post = (r) => posts.find((p) => p.request === r);
      page.on("requestfinished", (r) => post(r) && (post(r).outcome = "answered"));
      page.on("requestfailed", (r) => post(r) && (post(r).outcome = "failed: " + r.failure()?.errorText));
      await open(page, server, params);
      const ids = [];
      ids.push(...(await trackMany(page, 3000, 0)));
      // Offline for a while: requests fail, nothing is lost, sending resumes on `online`.
      await page.context().setOffline(true);
      offline = true;
      ids.push(...(await trackMany(page, 2000, 3000)));
      const failedOffline = () => posts.some((p) => p.offline && p.outcome?.startsWith("failed"));
      assert.ok(await until(failedOffline, 60000, 50), "a batch was tried, and failed, while offline");
      offline = false;
      await page.context().setOffline(false);
      await until(() => storedIds(server, "load").length > 1000, 120000, 50);

      // Reload while a batch is in flight: the next batch is delivered to the real server
      // (which stores it) but its answer is held back until the page has reloaded, so the page
      // never learns the batch arrived and must send those events again.
      let held = null;
      let heldReached;
      const reached = new Promise((r) => (heldReached = r));
      await page.route("**/v1/events", async (route) => {
        const response = await route.fetch();
        if (held || response.status() !== 200) return route.fulfill({ response });
        held = { ids: JSON.parse(route.request().postData()).events.map((e) => e.id), request: route.request() };
        heldReached();
        // No answer: the reload below cancels the request.
      });
      await reached;
      const storedBeforeReload = new Set(storedIds(server, "load"));
      const answeredBeforeReload = post(held.request)?.outcome ?? null;
      await page.reload();
      await page.unroute("**/v1/events");
      await ready(page);
      assert.ok(held.ids.length > 0);
      assert.equal(answeredBeforeReload, null, "the held batch had no answer when the page reloaded");
      for (const id of held.ids) assert.ok(storedBeforeReload.has(id), "the server stored the held event " + id + " before the reload");
      ids.push(...(await trackMany(page, 5000, 5000)));
      assert.equal(new Set(ids).size, 10000);

      await until(() => storedIds(server, "load").length >= 10000 && posts.some((p) => p.request !== held.request && p.ids.includes(held.ids[0])), 480000, 500);
      const stored = storedIds(server, "load");
      assert.equal(stored.length, 10000, "stored " + stored.length + " events");
      assert.deepEqual(new Set(stored), new Set(ids));
      // The events of the unanswered batch were sent again after the reload, and the server
      // kept one copy of each (the count above).
      const resent = posts.filter((p) => p.request !== held.request && p.ids.some((id) => held.ids.includes(id)));
      assert.ok(resent.length > 0, "the held batch's events were sent again");
      const failures = server.logs.join("").match(/"status":503/g) || [];
      assert.ok(failures.length > 0, "the server injected some 503s");
      const report = await page.evaluate(() => T.flush());
      assert.equal(report.pending, 0);
      // The browser logs failed requests (503, offline, the cancelled one) itself; nothing else may appear.
      assert.deepEqual(page.problems.filter((p) => !/Failed to load resource/.test(p)), []);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  for (const locks of ["Web Locks", "a localStorage lease (no Web Locks)"]) {
  test("five tabs at once with " + locks + ": one sends, the others only write, nothing is lost", { timeout: 300000 }, async () => {
    const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
    try {
      const context = await browser.newContext();
      if (locks !== "Web Locks") await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined }));
      const senders = new Set();
      const posts = []; // [tab, time] of every batch posted, in order
      const pages = [];
      for (let i = 0; i < 5; i++) {
        const page = await context.newPage();
        page.on("request", (r) => {
          if (r.method() === "POST" && r.url().endsWith("/v1/events")) {
            senders.add(i);
            posts.push([i, Date.now()]);
          }
        });
        await open(page, server, { site: "tabs", flush: 1000 });
        pages.push(page);
      }
      const ids = (await Promise.all(pages.map((p, i) => trackMany(p, 300, i * 1000)))).flat();
      const all = await until(() => storedIds(server, "tabs").length >= ids.length, 180000, 250);
      assert.ok(all, "stored " + storedIds(server, "tabs").length + " of " + ids.length);
      assert.deepEqual(new Set(storedIds(server, "tabs")), new Set(ids));
      if (locks === "Web Locks") {
        // The lock is held until its tab goes away: one tab sends, whatever the timing.
        assert.equal(senders.size, 1, "tabs that posted events: " + [...senders]);
      } else {
        // A lease is taken over only once it has run out (10 s, renewed at every flush): on a
        // loaded machine a sender's flush can come late, and another tab may then take over.
        // Every change of sender must come after a lease's worth of silence, never during it.
        const LEASE_MS = 10000;
        const handovers = [];
        for (let k = 1; k < posts.length; k++) {
          if (posts[k][0] !== posts[k - 1][0]) handovers.push({ from: posts[k - 1], to: posts[k], gap: posts[k][1] - posts[k - 1][1] });
        }
        for (const h of handovers) assert.ok(h.gap >= LEASE_MS - 2000, "tab " + h.to[0] + " took over from tab " + h.from[0] + " after " + h.gap + " ms");
        assert.ok(senders.size >= 1 && senders.size <= handovers.length + 1, JSON.stringify(handovers));
      }
      // In the end exactly one tab is the sender (the others see the lock or lease taken).
      const flags = () => Promise.all(pages.map((p) => p.evaluate(() => T.syncStats.sender)));
      const one = await until(async () => (await flags()).filter(Boolean).length === 1, 30000, 250);
      assert.ok(one, JSON.stringify(await flags()));
      await context.close();
    } finally {
      await server.stop();
    }
  });
  }

  test("leaving the page sends what is unsent by beacon", { timeout: 60000 }, async () => {
    const server = await startServer(PKG, { www: PAGES });
    try {
      const page = await newPage(browser);
      await open(page, server, { site: "beacon", flush: 600000 });
      await page.evaluate(() => T.flush());
      const ids = await trackMany(page, 5);
      await page.waitForTimeout(400);
      assert.equal(storedIds(server, "beacon").length, 0, "the timer has not sent them");
      await page.goto("about:blank");
      assert.ok(await until(() => storedIds(server, "beacon").length === 5, 10000, 250), "stored: " + storedIds(server, "beacon").length);
      assert.deepEqual(new Set(storedIds(server, "beacon")), new Set(ids));
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  test("a rejected event is dead-lettered and the rest are stored", { timeout: 60000 }, async () => {
    const server = await startServer(PKG, { www: PAGES });
    try {
      const page = await newPage(browser);
      await open(page, server, { site: "dead", flush: 600000 });
      const ids = await trackMany(page, 3);
      // An event the server refuses (a bad id), written straight into the outbox.
      await page.evaluate(
        () =>
          new Promise((ok, fail) => {
            const r = indexedDB.open("tailor:dead");
            r.onsuccess = () => {
              const t = r.result.transaction("outbox", "readwrite");
              const bad = { id: "not-a-uuid", type: "page_view", ts: Date.now(), props: {}, anonymousId: "x" };
              t.objectStore("outbox").put(JSON.stringify(bad), bad.id);
              t.oncomplete = () => ok(r.result.close());
              t.onerror = () => fail(t.error);
            };
          }),
      );
      const report = await page.evaluate(() => T.flush());
      assert.equal(report.pending, 0);
      // Counted since start: the start-up tick may have sent part of it before flush() did.
      const total = await page.evaluate(() => T.syncStats);
      assert.deepEqual(
        { sent: total.sent, deadLettered: total.deadLettered, sender: total.sender },
        { sent: 3, deadLettered: 1, sender: true },
      );
      assert.deepEqual(new Set(storedIds(server, "dead")), new Set(ids));
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  test("an outbox written by the previous version, one event per record, is read and sent after an upgrade", { timeout: 60000 }, async () => {
    const server = await startServer(PKG, { www: PAGES });
    try {
      const page = await newPage(browser);
      await open(page, server, { site: "upgrade", flush: 600000 });
      await page.evaluate(() => T.flush());
      // Real events of this SDK, stored the way the previous version stored them: each its
      // own record under its id; then a burst of this version (one record) after them.
      const old = await trackMany(page, 6);
      const burst = await outboxRecords(page, "tailor:upgrade");
      assert.equal(burst.length, 1, "a burst of 6 is one record");
      const events = burst[0][1].split("\n");
      assert.deepEqual(events.map((e) => JSON.parse(e).id), old);
      await writeOutbox(page, "tailor:upgrade", events.map((e) => [JSON.parse(e).id, e]));
      assert.equal((await outboxRecords(page, "tailor:upgrade")).length, 6, "the old format: 6 records");
      const fresh = await trackMany(page, 4);
      const report = await page.evaluate(() => T.flush());
      assert.equal(report.pending, 0, JSON.stringify(report));
      assert.deepEqual((await outboxRecords(page, "tailor:upgrade")).length, 0, "nothing left behind");
      assert.deepEqual(new Set(storedIds(server, "upgrade")), new Set([...old, ...fresh]), "every event stored, old and new");
      assert.equal(storedIds(server, "upgrade").length, 10);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  test("a partial acknowledgement leaves exactly the unacknowledged events in their record", { timeout: 60000 }, async () => {
    const server = await startServer(PKG, { www: PAGES });
    try {
      const page = await newPage(browser);
      await open(page, server, { site: "partial", flush: 600000 });
      await page.evaluate(() => T.flush());
      const ids = await trackMany(page, 10);
      // The real server stores all 10, but its answer loses the results of 3 of them (as a
      // proxy cutting the body would): those stay, the 7 acknowledged go.
      const unacked = [ids[1], ids[4], ids[9]];
      await page.route("**/v1/events", async (route) => {
        const answer = await route.fetch();
        const body = await answer.json();
        body.results = body.results.filter((r) => !unacked.includes(r.id));
        await route.fulfill({ response: answer, body: JSON.stringify(body) });
      });
      const first = await page.evaluate(() => T.flush());
      assert.equal(first.pending, 3, JSON.stringify(first));
      const left = await outboxRecords(page, "tailor:partial");
      assert.equal(left.length, 1, "the burst's record is rewritten, not split");
      assert.equal(left[0][0], ids[0], "under its key");
      assert.deepEqual(left[0][1].split("\n").map((e) => JSON.parse(e).id), unacked, "exactly the unacknowledged events, in order");
      await page.unroute("**/v1/events");
      // Sent again with the same ids: the server answers them as duplicates, stores none twice.
      const second = await page.evaluate(() => T.flush());
      assert.equal(second.pending, 0, JSON.stringify(second));
      assert.equal((await outboxRecords(page, "tailor:partial")).length, 0);
      assert.deepEqual(storedIds(server, "partial").sort(), [...ids].sort(), "each event stored once");
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});

describe("signed rulesets", () => {
  test("verified, cached for the next page, and a tampered, expired or older one is refused", { timeout: 60000 }, async () => {
    const server = await startServer([...PKG, "--admin-token", TOKEN], { www: PAGES });
    try {
      const publish = async (ruleset) => {
        const r = await fetch(server.url + "/v1/admin/rulesets/rs", {
          method: "POST",
          headers: { authorization: "Bearer " + TOKEN, "content-type": "application/json" },
          body: JSON.stringify(ruleset),
        });
        const text = await r.text();
        assert.equal(r.status, 201, text);
        return JSON.parse(text);
      };
      const key = (await (await fetch(server.url + "/v1/keys")).json()).keys[0].publicKey;
      const v1 = await publish({ version: 1, id: "first", placements: {}, offers: [] });
      assert.equal(v1.version, 1);

      const page = await newPage(browser);
      await open(page, server, { site: "rs", key });
      // Start fetched version 1 by itself.
      await page.waitForFunction(() => T.status.rulesetVersion === 1, null, { timeout: 10000 });
      let r = await page.evaluate(() => T.refreshRuleset());
      assert.deepEqual(r, { version: 1, changed: false, error: null }, "304 Not Modified");

      // Tampered on the way: the signature no longer matches; version 1 stays.
      await publish({ version: 1, id: "second", placements: {}, offers: [] });
      const tamper = (edit) => async (route) => {
        const response = await route.fetch();
        const env = JSON.parse(await response.text());
        edit(env);
        await route.fulfill({ response, body: JSON.stringify(env) });
      };
      await page.route("**/v1/rulesets/rs", tamper((env) => (env.ruleset.id = "evil")));
      r = await page.evaluate(() => T.refreshRuleset());
      assert.equal(r.version, 1);
      assert.match(r.error, /refused version 2: the signature does not match/);
      await page.unroute("**/v1/rulesets/rs");
      await page.route("**/v1/rulesets/rs", tamper((env) => (env.expiresAt = Date.now() - 1000)));
      r = await page.evaluate(() => T.refreshRuleset());
      assert.match(r.error, /refused version 2: outside its validity window/);
      await page.unroute("**/v1/rulesets/rs");

      // The genuine version 2 is taken; then version 1 replayed is refused as older.
      r = await page.evaluate(() => T.refreshRuleset());
      assert.deepEqual(r, { version: 2, changed: true, error: null });
      await page.route("**/v1/rulesets/rs", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(v1) }));
      r = await page.evaluate(() => T.refreshRuleset());
      assert.equal(r.version, 2);
      assert.match(r.error, /refused version 1, older than version 2/);

      // Next page with the server unreachable: the cached version 2 is used at once.
      await page.unroute("**/v1/rulesets/rs");
      await page.route("**/v1/rulesets/rs", (route) => route.abort());
      await page.reload();
      await page.waitForFunction(() => window.ready === true);
      assert.equal(await page.evaluate(() => T.status.rulesetVersion), 2);
      // Without a pinned key nothing from the server is used.
      await page.unroute("**/v1/rulesets/rs");
      const other = await newPage(browser);
      await open(other, server, { site: "rs" });
      r = await other.evaluate(() => T.refreshRuleset());
      assert.equal(r.version, null);
      assert.match(r.error, /publicKey is not set/);
      await other.context().close();
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});

describe("identity", () => {
  test("identify merges the other device's history; forget erases on the server, queued while offline", { timeout: 60000 }, async () => {
    const server = await startServer(PKG, { www: PAGES });
    try {
      // Device A: a purchase, sent, then identify.
      const a = await newPage(browser);
      await open(a, server, { site: "id", flush: 600000 });
      await a.evaluate(() => T.track("purchase", { orderId: "o-1", revenue: 120, currency: "EUR", items: [] }));
      await a.evaluate(() => T.flush());
      assert.equal(await a.evaluate(() => T.syncStats.sent), 1);
      await a.evaluate((token) => T.identify("user-7", { token, traits: { plan: "gold" } }), identityToken("id", "user-7"));

      // Device B: knows nothing, identifies as the same user and gets A's purchase and traits.
      const b = await newPage(browser);
      await open(b, server, { site: "id", flush: 600000 });
      await b.evaluate(() => T.track("page_view", { path: "/" }));
      await b.evaluate(() => T.flush());
      assert.equal(await b.evaluate(() => T.profile().orders.count), 0);
      await b.evaluate((token) => T.identify("user-7", { token }), identityToken("id", "user-7"));
      const p = await b.evaluate(() => T.profile());
      assert.equal(p.orders.count, 1);
      assert.equal(p.orders.revenue, 120);
      assert.equal(await b.evaluate(() => T.status.userId), "user-7");
      // Identifying again does not count the purchase twice.
      await b.evaluate((token) => T.identify("user-7", { token }), identityToken("id", "user-7"));
      assert.equal(await b.evaluate(() => T.profile().orders.count), 1);

      // Forget on B while offline: queued; the next page sends it; the server erases both devices' events.
      assert.equal(storedIds(server, "id").length, 2);
      await b.context().setOffline(true);
      await b.evaluate(() => T.forget());
      assert.equal(storedIds(server, "id").length, 2);
      // Queued: the device's anonymous id, and the user with the token identify was given.
      const queued = JSON.parse(await b.evaluate(() => localStorage.getItem("tailor:id:erase")));
      assert.equal(queued.length, 2, JSON.stringify(queued));
      assert.ok(queued.some((e) => /^[0-9a-f-]{36}$/.test(e)), JSON.stringify(queued));
      assert.ok(queued.some((e) => /^user\nuser-7\nv1\./.test(e)), JSON.stringify(queued));
      await b.context().setOffline(false);
      await b.reload();
      await b.waitForFunction(() => window.ready === true);
      const erased = await until(() => storedIds(server, "id").length === 0, 15000, 250);
      assert.ok(erased, "events left: " + storedIds(server, "id").length);
      // The queue entry goes once the server's answer arrives, just after the rows go.
      await b.waitForFunction(() => localStorage.getItem("tailor:id:erase") === null, null, { timeout: 10000 });
      await a.context().close();
      await b.context().close();
    } finally {
      await server.stop();
    }
  });

  test("an identify made offline reaches the server on the next page", { timeout: 60000 }, async () => {
    const server = await startServer(PKG, { www: PAGES });
    try {
      const page = await newPage(browser);
      await open(page, server, { site: "later", flush: 600000 });
      await page.context().setOffline(true);
      await page.evaluate((token) => T.identify("user-9", { token, traits: { plan: "silver" } }), identityToken("later", "user-9"));
      assert.match((await page.evaluate(() => T.status.problems)).join("\n"), /identify: the server could not be told/);
      const links = () =>
        execFileSync("sqlite3", ["-readonly", join(server.dir, ".tailor/tailor.db"), "SELECT user_id FROM identities WHERE site = 'later'"], { encoding: "utf8" }).trim();
      assert.equal(links(), "");
      await page.context().setOffline(false);
      await page.reload();
      await ready(page);
      assert.ok(await until(() => links() === "user-9", 10000, 250), "linked: " + links());
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  test("an experiment variant stays the same when the shopper logs in", { timeout: 90000 }, async () => {
    const ruleset = {
      version: 1,
      placements: {},
      offers: [],
      experiments: [
        { key: "x", seed: "s", hashAttribute: "id", fallbackAttribute: "anonymousId", hashVersion: 2, weights: [0.5, 0.5], variations: [{ key: "a" }, { key: "b" }] },
      ],
    };
    const file = join(mkdtempSync(join(tmpdir(), "tailor-rs-")), "ruleset.json");
    writeFileSync(file, JSON.stringify(ruleset));
    const server = await startServer([...PKG, "--site", "sticky", "--ruleset", file], { www: PAGES });
    try {
      const key = (await (await fetch(server.url + "/v1/keys")).json()).keys[0].publicKey;
      const variant = (page) => page.evaluate(() => T.decide({}).experiments.find((e) => e.key === "x").variation);
      const load = async (page) => {
        await open(page, server, { site: "sticky", key, flush: 600000 });
        await page.waitForFunction(() => T.status.rulesetVersion === 1, null, { timeout: 10000 });
      };
      const db = join(server.dir, ".tailor/tailor.db");
      const sql = (q) => {
        const out = execFileSync("sqlite3", ["-readonly", "-json", db, q], { encoding: "utf8" }).trim();
        return out ? JSON.parse(out) : [];
      };
      const exposures = (anonymousId) =>
        sql(`SELECT id, exp_variation FROM events WHERE site = 'sticky' AND type = 'experiment_exposure' AND exp_key = 'x' AND anonymous_id = '${anonymousId}'`);
      const assignment = (page) => page.evaluate(() => T.profile().experiments.x?.variation ?? null);
      const shopper = await newPage(browser);
      await load(shopper);
      const before = await variant(shopper);
      assert.equal(await assignment(shopper), before, "the shopper's sticky assignment is stored");
      // Another device of the same user, whose own assignment is the other variant.
      let userId = null;
      let other = null;
      for (let i = 0; i < 20 && userId === null; i++) {
        const fresh = await newPage(browser);
        await load(fresh);
        await fresh.evaluate(([u, token]) => T.identify(u, { token }), ["user-" + i, identityToken("sticky", "user-" + i)]);
        const v = await variant(fresh);
        if (v !== before) {
          userId = "user-" + i;
          other = { anonymousId: await fresh.evaluate(() => T.status.anonymousId), variation: v };
          assert.equal(await assignment(fresh), v, "the other device's sticky assignment is stored");
          // Its exposure reaches the server, so the shopper's identify replays it below.
          await fresh.evaluate(() => new Promise((r) => setTimeout(r, 100)).then(() => T.flush()));
        }
        await fresh.context().close();
      }
      assert.ok(userId, "some device buckets into the other variant");
      // The conflict is real before the merge: the server holds the other device's exposure
      // to the other variant, linked to the user the shopper is about to log in as.
      assert.ok(await until(() => exposures(other.anonymousId).length > 0, 10000, 250), "the other device's exposure is stored");
      const conflicting = exposures(other.anonymousId);
      assert.ok(conflicting.every((e) => Number(e.exp_variation) === other.variation), JSON.stringify(conflicting));
      assert.notEqual(other.variation, before);
      assert.deepEqual(sql(`SELECT user_id FROM identities WHERE site = 'sticky' AND anonymous_id = '${other.anonymousId}'`), [{ user_id: userId }]);
      await shopper.evaluate(() => T.flush());
      await shopper.evaluate(([u, token]) => T.identify(u, { token }), [userId, identityToken("sticky", userId)]);
      assert.equal(await shopper.evaluate(() => T.status.userId), userId);
      // The merge received the conflicting exposure (it is in the list of events merged) and
      // the variant seen before logging in is kept.
      const state = await shopper.evaluate(
        () =>
          new Promise((ok, fail) => {
            const r = indexedDB.open("tailor:sticky");
            r.onerror = () => fail(r.error);
            r.onsuccess = () => {
              const g = r.result.transaction("state").objectStore("state").get("merged");
              g.onsuccess = () => (r.result.close(), ok(g.result ? JSON.parse(g.result) : []));
              g.onerror = () => fail(g.error);
            };
          }),
      );
      for (const e of conflicting) assert.ok(state.includes(e.id), "the merge saw exposure " + e.id);
      assert.equal(await variant(shopper), before, "the variant seen before logging in is kept");
      assert.equal(await assignment(shopper), before, "and so is the stored assignment");
      await shopper.reload();
      await shopper.waitForFunction(() => window.ready === true);
      assert.equal(await variant(shopper), before, "and after a reload");
      await shopper.context().close();
    } finally {
      await server.stop();
    }
  });
});
