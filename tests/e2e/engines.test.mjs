// The SDK in each engine of the tests, Chromium, Firefox ESR and WebKitGTK, against the real
// `tailor serve`: the README's script-tag path (tests/e2e/pages/engines.html), consent gating,
// a signed ruleset verified with WebCrypto's Ed25519 (and one signed by another key refused),
// and a URL-targeted page experiment changing the page by itself. Counts come from the
// server's SQLite file, not from what the SDK says. The engines are driven through the
// harness's `openEngine` (playwright-core, puppeteer-core over WebDriver BiDi, WebKitWebDriver).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { openEngine, publishRuleset, startServer, storedEvents, until } from "./harness.mjs";
import { forEachEngine } from "./each_engine.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "engines-test-admin-token";
const CHANGED = "Changed in every engine";
const ORIGINAL = "Welcome to the shop";

let server;
before(async () => {
  server = await startServer(["--admin-token", TOKEN, "--rate-limit", "0"], { www: PAGES });
});
after(async () => {
  await server?.stop();
});

/** The events the server stored for `site`: [{ id, type }]. */
const stored = (site) => storedEvents(server, site);

/** Publishes, signed by the server, a ruleset for `site`: two offers and a page experiment. */
async function publish(site) {
  const ruleset = {
    version: 1,
    placements: { "home-hero": { limit: 1 } },
    offers: [
      { id: "shoes", placements: ["home-hero"], priority: 10, condition: { "profile.topCategory": "shoes" }, content: { title: "Running shoes" } },
      { id: "welcome", placements: ["home-hero"], priority: 1, content: { title: "Welcome" } },
    ],
    experiments: [
      {
        key: "engines-headline",
        weights: [0, 1],
        urlPatterns: [{ type: "exact", pattern: "/engines.html" }],
        variations: [{ key: "control" }, { key: "changed", changes: [{ selector: "#hero h1", action: "text", value: CHANGED }] }],
      },
    ],
  };
  return (await publishRuleset(server, TOKEN, site, ruleset)).version;
}

/** A raw Ed25519 public key (base64) the server did not sign with. */
function otherKey() {
  const { publicKey } = generateKeyPairSync("ed25519");
  return Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("base64");
}

// In the page: waits for the SDK (script tag) and answers with what the test checks.
async function sdkState() {
  const ready = await tailor("ready", { timeout: 10000 });
  const t = await new Promise((ok) => tailor("ready", ok));
  const d = await tailor("decide", {}, { record: false });
  const hero = d.placements["home-hero"];
  return {
    ready,
    storage: t.status.storage,
    consent: t.status.consent,
    problems: t.status.problems,
    offers: hero ? hero.offers.map((o) => o.offerId) : [],
  };
}

// In the page: the headline's text once it is `want`, or what it is after `ms`.
function headline(want, ms) {
  return new Promise((ok) => {
    const end = Date.now() + ms;
    (function poll() {
      const text = document.querySelector("#hero h1").textContent;
      if (text === want || Date.now() > end) return ok(text);
      setTimeout(poll, 50);
    })();
  });
}

forEachEngine((name, engine) => {
  const site = (what) => `eng-${name}-${what}`;
  const open = (params) => engine.goto(`${server.url}/engines.html?${new URLSearchParams(params)}`);

  test("script tag: signed ruleset in use, decide, a page experiment applied, track reaches the server", { timeout: 120000 }, async (t) => {
    t.diagnostic(`${name}: ${engine.version}`);
    const s = site("demo");
    const version = await publish(s);
    await open({ site: s });
    const state = await engine.evaluate(sdkState);
    assert.deepEqual(state.ready, { version, error: null }, JSON.stringify(state));
    assert.equal(state.storage, "indexeddb");
    assert.deepEqual(state.offers, ["welcome"], "a new shopper gets the fallback offer");
    assert.equal(await engine.evaluate(headline, CHANGED, 10000), CHANGED, "the URL-targeted experiment changed the headline");

    const id = await engine.evaluate(() => tailor("track", "product_view", { sku: "SH-1", name: "Trail shoe", category: "shoes", price: 89, currency: "EUR" }));
    assert.equal(typeof id, "string");
    const after = await engine.evaluate(() => tailor("decide", {}, { record: false }).then((d) => d.placements["home-hero"].offers.map((o) => o.offerId)));
    assert.deepEqual(after, ["shoes"], "the profile changed the decision");
    await engine.evaluate(() => tailor("flush"));
    const events = await until(() => stored(s).some((e) => e.id === id) && stored(s));
    assert.ok(events, `the server stored the product view ${id}: ${JSON.stringify(stored(s))}`);
    assert.ok(events.some((e) => e.id === id && e.type === "product_view"));
    if (name === "webkit") t.diagnostic("webkit: WebKitWebDriver reports no console messages, so the page's console is not checked here");
    else assert.deepEqual(engine.problems, [], "no console errors");
  });

  test("consent: nothing stored or sent while pending; granted, the held event is stored and sent with its id", { timeout: 120000 }, async (t) => {
    const s = site("consent");
    await publish(s);
    await open({ site: s, consent: "pending" });
    const before = await engine.evaluate(async (site) => {
      const id = await tailor("track", "page_view", { path: "/engines.html" });
      const flush = await tailor("flush");
      const t = await new Promise((ok) => tailor("ready", ok));
      const dbs = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : null;
      // The origin is shared with the other tests' sites: only this site's keys count.
      const keys = Object.keys(localStorage).filter((k) => k.startsWith("tailor:" + site));
      return { id, flush, storage: t.status.storage, consent: t.status.consent, dbs, keys, cookie: document.cookie };
    }, s);
    assert.equal(before.consent, "pending");
    assert.equal(before.storage, "memory", JSON.stringify(before));
    assert.deepEqual(before.keys, [], "nothing in localStorage for the site");
    assert.equal(before.cookie, "", "no cookie");
    if (before.dbs === null) t.diagnostic(`${name}: indexedDB.databases() is missing, so the absence of a database is not checked`);
    else assert.deepEqual(before.dbs.filter((n) => n.startsWith("tailor:" + s)), [], "no IndexedDB database: " + before.dbs);
    // The flush had nothing to send; give a stray request time to arrive anyway.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(stored(s), [], "the server has nothing for the site");

    const granted = await engine.evaluate(async () => {
      await tailor("consent", "granted");
      await tailor("flush");
      const t = await new Promise((ok) => tailor("ready", ok));
      return { storage: t.status.storage, consent: t.status.consent };
    });
    assert.deepEqual(granted, { storage: "indexeddb", consent: "granted" });
    const events = await until(() => stored(s).some((e) => e.id === before.id));
    assert.ok(events, `the held page view ${before.id} reached the server: ${JSON.stringify(stored(s))}`);
  });

  test("script tag: a call queued before the SDK loaded is stored with its UUIDv7 id; a bad event is a TypeError naming the field; listeners stop when unsubscribed", { timeout: 120000 }, async () => {
    const s = site("queue");
    await publish(s);
    await open({ site: s, queued: 1 });
    const r = await engine.evaluate(async () => {
      const queued = await window.queued;
      const loaded = window.tailor.loaded === true;
      const bad = await tailor("track", "search", {}).then(
        () => "resolved",
        (e) => ({ error: e instanceof Error, type: e.constructor.name, message: e.message }),
      );
      const seen = await tailor("ready", async (t) => {
        const profiles = [];
        const statuses = [];
        const off = t.on("profile", (p) => profiles.push(p.events.search ? p.events.search.count : 0));
        t.on("status", (st) => statuses.push(st.consent));
        await t.track("search", { query: "boots" });
        await t.track("search", { query: "socks" });
        off();
        await t.track("search", { query: "hats" });
        await t.consent("pending");
        await t.consent("granted");
        return { profiles, statuses, searches: t.profile().events.search.count };
      });
      await tailor("flush");
      return { queued, loaded, bad, seen };
    });
    assert.match(r.queued, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, JSON.stringify(r));
    assert.equal(r.loaded, true);
    assert.equal(r.bad.error, true, "a real Error: " + JSON.stringify(r.bad));
    assert.equal(r.bad.type, "TypeError");
    assert.match(r.bad.message, /^Tailor.track: props.query/);
    // (the page's own exposures may call the profile listener too, with the same counts)
    assert.ok(r.seen.profiles.includes(1) && r.seen.profiles.includes(2), JSON.stringify(r.seen));
    assert.ok(!r.seen.profiles.includes(3), "no call after unsubscribing: " + JSON.stringify(r.seen));
    assert.equal(r.seen.searches, 3);
    assert.ok(r.seen.statuses.includes("pending") && r.seen.statuses.includes("granted"), JSON.stringify(r.seen));
    const events = await until(() => stored(s).some((e) => e.id === r.queued) && stored(s));
    assert.ok(events, `the queued page view ${r.queued} reached the server: ${JSON.stringify(stored(s))}`);
    assert.equal(events.filter((e) => e.type === "search").length, 3, JSON.stringify(events));
  });

  test("consent: denied after granted erases what was stored and sends nothing more; forget() leaves consent pending and an empty profile", { timeout: 120000 }, async (t) => {
    const s = site("withdraw");
    await publish(s);
    await open({ site: s });
    const r = await engine.evaluate(async (site) => {
      const t = await new Promise((ok) => tailor("ready", ok));
      const outbox = () =>
        new Promise((ok, fail) => {
          const q = indexedDB.open("tailor:" + site);
          q.onerror = () => fail(q.error);
          q.onsuccess = () => {
            const db = q.result;
            if (!db.objectStoreNames.contains("outbox")) return db.close(), ok(-1);
            const c = db.transaction("outbox").objectStore("outbox").count();
            c.onsuccess = () => (db.close(), ok(c.result));
            c.onerror = () => (db.close(), fail(c.error));
          };
        });
      await t.track("page_view", { path: "/kept" });
      const before = await outbox();
      await t.consent("denied");
      const held = await t.track("page_view", { path: "/dropped" });
      await t.flush();
      const denied = { consent: t.status.consent, storage: t.status.storage, sending: t.status.sending };
      const dbs = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name).filter((n) => n === "tailor:" + site) : null;
      await t.consent("granted");
      await t.track("page_view", { path: "/again" });
      await t.forget();
      return {
        before,
        held,
        denied,
        dbs,
        // The ruleset cache and its version floor are the shop's, the same for every shopper.
        keys: Object.keys(localStorage).filter((k) => k.startsWith("tailor:" + site + ":") && !/:ruleset(:floor)?$/.test(k)),
        forgotten: { consent: t.status.consent, views: t.profile().events.page_view?.count ?? 0 },
      };
    }, s);
    assert.ok(r.before >= 1, "the first page view was stored: " + JSON.stringify(r));
    assert.deepEqual(r.denied, { consent: "denied", storage: "memory", sending: false }, JSON.stringify(r));
    assert.equal(r.held, null, "an event tracked while denied is dropped");
    if (r.dbs === null) t.diagnostic(`${name}: indexedDB.databases() is missing, so the erased database is not looked for`);
    else assert.deepEqual(r.dbs, [], "the site's database is erased");
    assert.deepEqual(r.forgotten, { consent: "pending", views: 0 });
    await t.test("forget() leaves nothing of the shopper in localStorage", () => {
      assert.deepEqual(r.keys, [], JSON.stringify(r.keys));
    });
    // Nothing tracked while denied reached the server.
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(!stored(s).some((e) => e.id === r.held), JSON.stringify(stored(s)));
  });

  test("fails open: without WebAssembly the page keeps its content and the API answers with defaults", { timeout: 120000 }, async () => {
    const s = site("nowasm");
    await publish(s);
    await open({ site: s, nowasm: 1 });
    const r = await engine.evaluate(async () => {
      const wasm = typeof WebAssembly;
      const track = await tailor("track", "page_view", {});
      const ready = await tailor("ready", (t) => t.status.ready);
      const decision = await tailor("decide", {});
      return { wasm, track, ready, placements: decision.placements, headline: document.querySelector("#hero h1").textContent };
    });
    assert.deepEqual(r, { wasm: "undefined", track: null, ready: false, placements: {}, headline: ORIGINAL });
    assert.deepEqual(stored(s), []);
    if (name !== "webkit") assert.deepEqual(engine.problems, [], "no console errors");
  });

  test("npm entry: the ESM entry (import map) initialises and stores an event in IndexedDB", { timeout: 120000 }, async () => {
    const s = site("esm");
    await engine.goto(`${server.url}/sync.html?site=${s}`);
    const r = await engine.evaluate(async () => {
      const end = Date.now() + 15000;
      while (!window.ready && Date.now() < end) await new Promise((ok) => setTimeout(ok, 50));
      const id = await T.track("page_view", { path: "/sync.html" });
      await T.flush();
      return { storage: T.status.storage, id };
    });
    assert.equal(r.storage, "indexeddb", JSON.stringify(r));
    assert.ok(await until(() => stored(s).some((e) => e.id === r.id)), `the event reached the server: ${JSON.stringify(stored(s))}`);
  });

  test("a ruleset signed by another key is refused: no offers, the page left as it is", { timeout: 120000 }, async () => {
    const s = site("wrong-key");
    await publish(s);
    await open({ site: s, key: otherKey() });
    const state = await engine.evaluate(sdkState);
    assert.equal(state.ready.version, null, JSON.stringify(state));
    assert.match(state.ready.error, /refused version 1: the signature does not match the pinned public key/);
    assert.deepEqual(state.offers, []);
    // The experiment is in the refused ruleset only: the headline stays.
    assert.equal(await engine.evaluate(headline, CHANGED, 1500), ORIGINAL);
  });
});
