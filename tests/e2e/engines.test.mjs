// The SDK in each engine of the tests, Chromium, Firefox ESR and WebKitGTK, against the real
// `tailor serve`: the README's script-tag path (tests/e2e/pages/engines.html), consent gating,
// a signed ruleset verified with WebCrypto's Ed25519 (and one signed by another key refused),
// and a URL-targeted page experiment changing the page by itself. Counts come from the
// server's SQLite file, not from what the SDK says. The engines are driven through the
// harness's `openEngine` (playwright-core, puppeteer-core over WebDriver BiDi, WebKitWebDriver).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { ENGINES, openEngine, startServer } from "./harness.mjs";

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
function stored(site) {
  const out = execFileSync("sqlite3", ["-readonly", "-json", join(server.dir, ".tailor/tailor.db"), `SELECT id, type FROM events WHERE site = '${site}' ORDER BY id`], {
    encoding: "utf8",
  });
  return out.trim() ? JSON.parse(out) : [];
}

/** Polls (in Node) until `f()` is truthy or `ms` ran out; returns the last value. */
async function until(f, ms = 15000) {
  const end = Date.now() + ms;
  let v = await f();
  while (!v && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = await f();
  }
  return v;
}

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
  const r = await fetch(`${server.url}/v1/admin/rulesets/${site}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(ruleset),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text).version;
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

for (const name of ENGINES) {
  describe(name, () => {
    let engine;
    const site = (what) => `eng-${name}-${what}`;
    const open = (params) => engine.goto(`${server.url}/engines.html?${new URLSearchParams(params)}`);
    before(async () => {
      engine = await openEngine(name);
    });
    after(async () => {
      await engine?.close();
    });

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
}
