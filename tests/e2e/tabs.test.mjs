// Several tabs of one origin, in headless Chromium against the real `tailor serve`:
// forget() and consent changes reach every tab at once (BroadcastChannel, and the storage
// event where BroadcastChannel is missing), and profile writes from several tabs merge.
// What reached the server is read from its SQLite file (sqlite3 CLI), not from the SDK.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, startServer, until } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
// TAILOR_PKG serves another build of the package (e.g. a copy while pkg/ is being rebuilt).
const PKG = process.env.TAILOR_PKG ? ["--pkg", process.env.TAILOR_PKG] : [];
const CHANNELS = ["BroadcastChannel", "the storage event (no BroadcastChannel)"];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** A browser context whose pages are tabs of one origin; `channel` picks how they talk. */
async function tabsContext(channel) {
  const context = await browser.newContext();
  if (channel !== CHANNELS[0]) await context.addInitScript(() => delete globalThis.BroadcastChannel);
  return context;
}

/** Opens a tab on the sync test page and waits for the SDK; `page.problems` collects errors. */
async function openTab(context, server, params) {
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => ["error", "assert"].includes(m.type()) && page.problems.push(m.type() + ": " + m.text()));
  page.on("pageerror", (e) => page.problems.push("pageerror: " + e.message));
  await page.goto(server.url + "/sync.html?" + new URLSearchParams({ flush: 1000, ...params }));
  try {
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  } catch (e) {
    throw new Error("the tab did not get ready: " + page.problems.join("\n"));
  }
  return page;
}

const status = (page) => page.evaluate(() => T.status);
const track = (page, path, n = 1) =>
  page.evaluate(([path, n]) => Promise.all(Array.from({ length: n }, (_, i) => T.track("page_view", { path: path + "/" + i }))), [path, n]);
/** The events the server stored for `site` (its SQLite file), as sent. */
function serverEvents(server, site) {
  const db = join(server.dir, ".tailor/tailor.db");
  if (!existsSync(db)) return [];
  const out = execFileSync("sqlite3", ["-readonly", "-json", db, `SELECT body FROM events WHERE site = '${site}'`], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out).map((r) => JSON.parse(r.body)) : [];
}
/** Those of them whose `props.path` starts with `prefix`. */
const stored = (server, site, prefix) => serverEvents(server, site).filter((e) => (e.props?.path || "").startsWith(prefix));

describe("several tabs", () => {
  for (const channel of CHANNELS) {
    test("forget() in one tab: the other stops sending under the old ids at once and takes the new id, with " + channel, { timeout: 180000 }, async () => {
      const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
      const site = "tabs-forget";
      try {
        const context = await tabsContext(channel);
        const a = await openTab(context, server, { site });
        await track(a, "/a-before");
        await a.evaluate(() => T.flush());
        // The second tab loads the profile the first one saved: one shopper, one id.
        const b = await openTab(context, server, { site });
        const old = (await status(a)).anonymousId;
        assert.equal((await status(b)).anonymousId, old);
        await track(b, "/b-before", 3);
        assert.ok(await until(() => stored(server, site, "/b-before").length === 3, 30000), "B's first events were not stored");

        const t0 = Date.now();
        await a.evaluate(() => T.forget());
        // B goes on tracking straight away, before anything was waited for.
        const during = await track(b, "/b-during", 5);
        const changed = await until(async () => (await status(b)).anonymousId !== old, 20000, 5);
        const reachedMs = Date.now() - t0;
        assert.ok(changed, "B kept the old anonymous id: " + JSON.stringify(await status(b)));
        const [sa, sb] = [await status(a), await status(b)];
        assert.equal(sb.anonymousId, sa.anonymousId, "both tabs take the same new id");
        assert.equal(sb.consent, "pending");
        assert.equal(sb.sending, false);
        // A's erasure removes the old id's events from the server.
        assert.ok(await until(() => serverEvents(server, site).every((e) => e.anonymousId !== old), 30000), "the old id was not erased");

        // Consent again, from B: A follows. Events made now are sent under the new id only.
        await b.evaluate(() => T.consent("granted"));
        assert.ok(await until(async () => (await status(a)).consent === "granted", 20000), "A did not follow B's consent");
        await track(b, "/b-after", 5);
        await track(a, "/a-after", 5);
        assert.ok(await until(() => stored(server, site, "/b-after").length === 5 && stored(server, site, "/a-after").length === 5, 60000));
        const oldAfter = serverEvents(server, site).filter((e) => e.anonymousId === old).length;
        const duringStored = stored(server, site, "/b-during");
        assert.equal(oldAfter, 0, "events under the old anonymous id after forget()");
        assert.ok(duringStored.every((e) => e.anonymousId !== old));
        for (const e of stored(server, site, "/b-after")) assert.equal(e.anonymousId, sb.anonymousId);
        assert.deepEqual([...a.problems, ...b.problems], []);
        console.log(
          `# tabs (${channel}): forget() in A reached B in ${reachedMs} ms; B tracked ${during.length} events meanwhile, ` +
            `${duringStored.length} of them stored (held with the new id, sent once consent came back), ` +
            `${oldAfter} events under the old id after forget(); consent granted in B reached A`,
        );
        await context.close();
      } finally {
        await server.stop();
      }
    });
  }

  test("consent denied in one tab: the others stop at once and drop what they held; granted is shared too", { timeout: 180000 }, async () => {
    const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
    const site = "tabs-consent";
    try {
      const context = await tabsContext(CHANNELS[0]);
      const tabs = [];
      for (let i = 0; i < 3; i++) tabs.push(await openTab(context, server, { site, consent: "pending" }));
      const [a, b, c] = tabs;
      // Pending: held in memory by each tab.
      await track(b, "/b-held", 10);
      await track(c, "/c-held", 10);
      await a.evaluate(() => T.consent("denied"));
      const t0 = Date.now();
      const denied = await until(async () => (await Promise.all(tabs.map(status))).every((s) => s.consent === "denied"), 20000, 5);
      const deniedMs = Date.now() - t0;
      assert.ok(denied, JSON.stringify(await Promise.all(tabs.map(status))));
      // Nothing tracked while denied is kept.
      assert.deepEqual(await track(b, "/b-denied", 3), [null, null, null]);

      await c.evaluate(() => T.consent("granted"));
      const granted = await until(async () => (await Promise.all(tabs.map(status))).every((s) => s.consent === "granted" && s.sending), 20000);
      assert.ok(granted, JSON.stringify(await Promise.all(tabs.map(status))));
      await track(b, "/b-marker");
      // The outbox is sent oldest first: once the marker is stored, nothing older is waiting.
      assert.ok(await until(() => stored(server, site, "/b-marker").length === 1, 60000), "the marker was not stored");
      // The tabs agree on one shopper once the first saved profile has reached them.
      const ids = async () => new Set((await Promise.all(tabs.map(status))).map((s) => s.anonymousId)).size;
      assert.ok(await until(async () => (await ids()) === 1, 20000), "anonymous ids in use: " + (await ids()));

      // Denied again while granted: the other tabs stop sending at once.
      await b.evaluate(() => T.consent("denied"));
      const racing = await track(a, "/a-after-deny", 5);
      assert.ok(await until(async () => (await Promise.all(tabs.map(status))).every((s) => s.consent === "denied" && !s.sending), 20000));
      await c.evaluate(() => T.consent("granted"));
      assert.ok(await until(async () => (await Promise.all(tabs.map(status))).every((s) => s.sending), 20000));
      await track(c, "/c-marker");
      assert.ok(await until(() => stored(server, site, "/c-marker").length === 1, 60000), "the second marker was not stored");

      const held = stored(server, site, "/b-held").length + stored(server, site, "/c-held").length;
      const deniedStored = stored(server, site, "/b-denied").length;
      const afterDeny = stored(server, site, "/a-after-deny").length;
      assert.equal(held, 0, "events held before the denial reached the server");
      assert.equal(deniedStored, 0);
      assert.equal(afterDeny, 0, "events tracked as the denial arrived reached the server");
      assert.deepEqual(tabs.flatMap((t) => t.problems), []);
      console.log(
        `# tabs: consent denied in A reached the 2 other tabs in ${deniedMs} ms; 20 held events dropped (0 stored), ` +
          `${racing.filter(Boolean).length} tracked as a later denial arrived, 0 of them stored; ` +
          `granted in C reached every tab, which then agree on one anonymous id`,
      );
      await context.close();
    } finally {
      await server.stop();
    }
  });

  test("5 tabs x 200 events at once: every one counted in the profile after reload", { timeout: 300000 }, async () => {
    const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
    const site = "tabs-merge";
    try {
      const context = await tabsContext(CHANNELS[0]);
      const first = await openTab(context, server, { site });
      const tabs = [first];
      for (let i = 1; i < 5; i++) tabs.push(await openTab(context, server, { site }));
      const t0 = Date.now();
      await Promise.all(
        tabs.map((t, k) =>
          t.evaluate(async (k) => {
            for (let i = 0; i < 200; i += 20) {
              const chunk = [];
              for (let j = i; j < i + 20; j++) chunk.push(T.track("page_view", { path: "/t" + k + "/" + j }));
              if (i % 100 === 0) chunk.push(T.track("purchase", { orderId: "o-" + k + "-" + i, revenue: 10, currency: "EUR", items: [] }));
              await Promise.all(chunk);
            }
          }, k),
        ),
      );
      const trackedMs = Date.now() - t0;
      // Each tab's own view after the others saved: they take each other's changes.
      const views = async () => Promise.all(tabs.map((t) => t.evaluate(() => T.profile().events.page_view.count)));
      const agreed = await until(async () => (await views()).every((n) => n === 1000), 60000, 250);
      const inTabs = await views();
      // A reload reads only what was stored.
      await first.reload();
      await first.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const after = await first.evaluate(() => {
        const p = T.profile();
        return { views: p.events.page_view.count, orders: p.orders.count, revenue: p.orders.revenue };
      });
      console.log(
        `# tabs: 5 tabs x 200 page views (+ 2 orders each) tracked at once in ${trackedMs} ms: ${after.views} views and ` +
          `${after.orders} orders (${after.revenue} EUR) counted in the profile after reload; each tab's own view: ${inTabs.join(", ")}`,
      );
      assert.equal(after.views, 1000);
      assert.equal(after.orders, 10);
      assert.equal(after.revenue, 100);
      assert.ok(agreed, "tabs' views: " + inTabs);
      assert.deepEqual(tabs.flatMap((t) => t.problems), []);
      await context.close();
    } finally {
      await server.stop();
    }
  });
});
