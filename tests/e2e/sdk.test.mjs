// End-to-end: the built SDK on real pages served by the real `tailor serve`, in headless Chromium.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, newPage, readStore, ROOT, startServer, waitForEvents } from "./harness.mjs";

let server;
let browser;
before(async () => {
  // As the demo runs: the server publishes the demo ruleset that the pages fetch.
  server = await startServer(["--site", "demo", "--ruleset", join(ROOT, "www/ruleset.json")]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("script tag", () => {
  test("a track call queued before the SDK loaded is stored after it loads, with no console errors", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/");
    // The snippet queued init + page_view before tailor.js arrived (it is async).
    await page.waitForFunction(() => window.tailor && window.tailor.loaded === true);
    await page.waitForFunction(() => document.getElementById("sdk-status").textContent.startsWith("Tailor "));
    // Stored in the outbox, or already delivered to the server by the sync loop.
    const events = await waitForEvents(page, server, "tailor:demo", (es) => es.some((e) => e.type === "page_view"));
    const views = events.filter((e) => e.type === "page_view");
    assert.equal(views.length, 1, JSON.stringify(events));
    assert.equal(views[0].props.path, "/");
    assert.match(views[0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const status = await page.textContent("#sdk-status");
    assert.match(status, /storage indexeddb, consent granted/);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("calls after load go straight through and return promises", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/");
    await page.waitForFunction(() => window.tailor && window.tailor.loaded === true);
    const id = await page.evaluate(() => tailor("track", "search", { query: "boots", results: 12 }));
    assert.match(id, /^[0-9a-f-]{36}$/);
    const err = await page.evaluate(() => tailor("track", "search", {}).then(() => "resolved", (e) => e.constructor.name + ": " + e.message));
    assert.match(err, /^TypeError: Tailor.track: props.query/);
    const events = await waitForEvents(page, server, "tailor:demo", (es) => es.some((e) => e.id === id));
    assert.ok(events.some((e) => e.id === id && e.props.query === "boots"));
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("on() calls listeners with the profile and the status, and stops after unsubscribing", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/");
    await page.waitForFunction(() => window.tailor && window.tailor.loaded === true);
    const seen = await page.evaluate(() =>
      tailor("ready", async (t) => {
        const profiles = [];
        const statuses = [];
        const off = t.on("profile", (p) => profiles.push(p.events.search.count));
        t.on("status", (s) => statuses.push(s.consent));
        await t.track("search", { query: "boots" });
        await t.track("search", { query: "socks" });
        off();
        await t.track("search", { query: "hats" });
        await t.consent("pending");
        let error = null;
        try {
          t.on("click", () => {});
        } catch (e) {
          error = e.constructor.name;
        }
        return { profiles, statuses, error };
      }),
    );
    // (the page's own exposures may call the listener too, with the same counts)
    assert.ok(seen.profiles.includes(1) && seen.profiles.includes(2), JSON.stringify(seen.profiles));
    assert.ok(!seen.profiles.includes(3), "no calls after unsubscribing: " + JSON.stringify(seen.profiles));
    assert.ok(seen.statuses.includes("pending"), JSON.stringify(seen.statuses));
    assert.equal(seen.error, "TypeError");
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("listeners that call back into the SDK are safe on every path that notifies them", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/");
    await page.waitForFunction(() => window.tailor && window.tailor.loaded === true);
    const result = await page.evaluate(() =>
      tailor("ready", async (t) => {
        const seen = { profile: 0, status: 0 };
        // Each listener reads the SDK back: it must never run inside the SDK's own call.
        t.on("profile", () => {
          seen.profile++;
          t.profile();
          t.status;
        });
        t.on("status", () => {
          seen.status++;
          t.status;
          t.profile();
        });
        t.on("status", () => {
          throw new Error("a broken listener");
        });
        await t.identify("user-9", { plan: "gold" });
        await t.consent("pending");
        await t.consent("granted");
        await t.track("page_view", {});
        await t.forget();
        await new Promise((r) => setTimeout(r, 50));
        return { seen, ready: t.status.ready, track: typeof (await t.track("page_view", {})) };
      }),
    );
    assert.ok(result.seen.profile >= 3 && result.seen.status >= 3, JSON.stringify(result.seen));
    assert.equal(result.ready, true, "the module still works");
    assert.equal(result.track, "string");
    // the broken listener's exceptions are reported, nothing else
    assert.ok(page.problems.length > 0 && page.problems.every((p) => p.includes("a broken listener")), JSON.stringify(page.problems));
    await page.context().close();
  });

  test("fails open: without WebAssembly the page works and the API answers with defaults", async () => {
    const page = await newPage(browser);
    await page.addInitScript(() => {
      delete window.WebAssembly;
    });
    await page.goto(server.url + "/");
    await page.waitForFunction(() => document.getElementById("sdk-status").textContent.startsWith("Tailor "));
    const result = await page.evaluate(async () => ({
      track: await tailor("track", "page_view", {}),
      ready: (await tailor("ready", (t) => t.status)).ready,
      decision: await tailor("decide", {}),
    }));
    assert.equal(result.track, null);
    assert.equal(result.ready, false);
    assert.deepEqual(result.decision.placements, {});
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});

describe("npm package", () => {
  test("a page importing the ESM entry from pkg/ initialises and stores an event", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/esm.html");
    await page.waitForFunction(() => window.esmResult);
    const result = await page.evaluate(() => window.esmResult);
    assert.equal(result.status.storage, "indexeddb");
    const events = await readStore(page, "tailor:demo-esm", "outbox");
    assert.deepEqual(events.map((e) => e.id), [result.id]);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("bad decide() options throw a TypeError or RangeError naming the option, and good ones still decide", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/esm.html");
    await page.waitForFunction(() => window.esmResult);
    const result = await page.evaluate(async () => {
      const { Tailor } = await import("@tailor-sdk/tailor");
      const ruleset = {
        version: 1,
        placements: { hero: { limit: 1 }, side: { limit: 1 } },
        offers: [{ id: "a", placements: ["hero", "side"], content: { title: "A" } }],
        experiments: [{ key: "x", variations: [{ key: "c" }, { key: "t" }] }],
      };
      const t = await Tailor.init({ site: "decide-options", consent: "granted", storage: "memory", ruleset });
      const thrown = (options) => {
        try {
          t.decide({}, options);
          return "no error";
        } catch (e) {
          return e.constructor.name + ": " + e.message;
        }
      };
      const bad = [{ reasons: "yes" }, { record: 1 }, { recrod: false }, { placements: "hero" }, { placements: ["hero", 7] }, "record", { forced: [1] }, { forced: { x: "t" } }, { forced: { x: -1 } }, { forced: { x: 1.5 } }];
      const errors = bad.map(thrown);
      const lean = t.decide({}, { record: false, reasons: false, placements: ["side", "gone"], forced: { x: 1 } });
      const plain = t.decide({}, null);
      return { errors, placements: Object.keys(lean.placements), reason: "reason" in lean.experiments[0], variation: lean.experiments[0].variation, plainReason: plain.experiments[0].reason };
    });
    assert.deepEqual(result.errors, [
      'TypeError: Tailor.decide: options.reasons must be true or false, not "yes"',
      "TypeError: Tailor.decide: options.record must be true or false, not number 1",
      'TypeError: Tailor.decide: unknown option "recrod" (options are placements, record, reasons and forced)',
      'TypeError: Tailor.decide: options.placements must be an array of placement ids (strings), not "hero"',
      "TypeError: Tailor.decide: options.placements[1] must be a placement id (a string), not number 7",
      'TypeError: Tailor.decide: options must be an object such as { record: false }, not "record"',
      "TypeError: Tailor.decide: options.forced must be an object of variation indexes by experiment key, such as { hero: 1 }, not an array",
      'TypeError: Tailor.decide: options.forced.x must be a variation index (0, 1, ...), not "t"',
      "RangeError: Tailor.decide: options.forced.x must be a variation index (0, 1, ...), not number -1",
      "RangeError: Tailor.decide: options.forced.x must be a variation index (0, 1, ...), not number 1.5",
    ]);
    // Ids the ruleset does not have are left out; the checked options reach the core.
    assert.deepEqual(result.placements, ["side"]);
    assert.equal(result.reason, false);
    assert.equal(result.variation, 1);
    // The shopper's module gives reason codes (docs/api.md, "Reason codes").
    assert.equal(result.plainReason.code, "bucketed");
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("a recorded decide() keeps the ruleset's audiences the shopper matches in the profile, stored and read back after a reload", async () => {
    const page = await newPage(browser);
    await page.goto(server.url + "/esm.html");
    await page.waitForFunction(() => window.esmResult);
    const open = () =>
      page.evaluate(async () => {
        const { Tailor } = await import("@tailor-sdk/tailor");
        const ruleset = {
          version: 1,
          audiences: {
            browser: { "profile.orders.count": { $lt: 1 } },
            buyer: { "profile.orders.count": { $gte: 1 } },
            "cart-builder": { "profile.cart.count": { $gte: 1 } },
          },
          placements: { home: { limit: 1 } },
          offers: [{ id: "o", placements: ["home"], audience: "buyer", content: { title: "Thanks" } }],
        };
        window.t = await Tailor.init({ site: "audiences", consent: "granted", storage: "localstorage", ruleset });
        return Object.keys(window.t.profile().audiences);
      });
    const audiences = () => page.evaluate(() => window.t.profile().audiences);
    // The page-change decision at load is a recorded one: the shopper is a browser.
    assert.deepEqual(await open(), ["browser"]);
    const first = await audiences();
    await page.evaluate(() => t.track("add_to_cart", { sku: "S-1", price: 20, quantity: 1 }));
    await page.evaluate(() => t.track("purchase", { orderId: "A-1", revenue: 20, currency: "EUR", items: [{ sku: "S-1", price: 20, quantity: 1 }] }));
    await page.evaluate(() => t.track("add_to_cart", { sku: "S-2", price: 5, quantity: 1 }));
    await page.evaluate(() => t.decide({}, { record: false }));
    assert.deepEqual(await audiences(), first, "decide({}, { record: false }) changes nothing");
    const offers = await page.evaluate(() => t.decide().placements.home.offers.map((o) => o.offerId));
    assert.deepEqual(offers, ["o"], "the buyer's offer");
    const second = await audiences();
    assert.deepEqual(Object.keys(second).sort(), ["buyer", "cart-builder"], JSON.stringify(second));
    assert.ok(second.buyer.enteredAt >= first.browser.enteredAt);
    await page.evaluate(() => t.flush());
    // Stored: a new page of the same shopper reads the membership back before deciding.
    await page.reload();
    await page.waitForFunction(() => window.esmResult);
    assert.deepEqual((await open()).sort(), ["buyer", "cart-builder"]);
    assert.equal((await audiences()).buyer.enteredAt, second.buyer.enteredAt, "entered-at kept");
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("tracking in a loop of promises alone still saves the profile on the way, not only once the loop ends", async () => {
    // localStorage answers in microtasks, so this loop never gives a task its turn: a save
    // that waited for one would hold every change in memory (1.4 KB each) until the end.
    const page = await newPage(browser);
    await page.goto(server.url + "/esm.html");
    await page.waitForFunction(() => window.esmResult);
    const saved = await page.evaluate(async () => {
      const { Tailor } = await import("@tailor-sdk/tailor");
      const t = await Tailor.init({ site: "burst-save", consent: "granted", storage: "localstorage" });
      const stored = () => JSON.parse(localStorage.getItem("tailor:burst-save:state:profile") || "null");
      const props = Array.from({ length: 100 }, (_, i) => ({ sku: "SKU-" + i, category: "shoes", price: 10 }));
      const counts = [];
      for (let round = 0; round < 20; round++) {
        await Promise.all(props.map((p) => t.track("product_view", p)));
        counts.push(stored()?.events?.product_view?.count ?? 0);
      }
      return { counts, inMemory: t.profile().events.product_view.count };
    });
    assert.equal(saved.inMemory, 2000);
    // Saved while the loop ran: by its end all but the last few hundred are stored.
    assert.ok(saved.counts.at(-1) >= 1500, JSON.stringify(saved.counts));
    assert.ok(saved.counts.some((c, i) => i < 19 && c > 0), JSON.stringify(saved.counts));
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});
