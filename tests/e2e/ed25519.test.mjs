// A browser without WebCrypto's Ed25519 (Safari before 17, Chrome before 137, Firefox before
// 129), simulated in Chromium: an init script makes `crypto.subtle.importKey`, `verify` and
// `generateKey` reject for Ed25519 as those browsers do (NotSupportedError). The SDK then fails
// closed (docs/sync.md, "Browsers without Ed25519"): no ruleset from the server is used, neither
// a fetched one nor one cached by an earlier page, and the reason is in `ready()` and
// `status.problems`; the page keeps its own content and events are still recorded and sent.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { launchBrowser, newPage, publishRuleset, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "ed25519-test-admin-token";
const CHANGED = "Changed by a signed ruleset";
const ORIGINAL = "Welcome to the shop";
const WAIT = { timeout: 15000 };

// Installed before any page script: Ed25519 is an unknown algorithm, as in an older browser.
function withoutEd25519() {
  const isEd = (alg) => String((alg && alg.name) || alg).toLowerCase() === "ed25519";
  const at = { importKey: 2, verify: 0, generateKey: 0 };
  for (const [method, i] of Object.entries(at)) {
    const real = SubtleCrypto.prototype[method];
    SubtleCrypto.prototype[method] = function (...args) {
      if (isEd(args[i])) return Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
      return real.apply(this, args);
    };
  }
}

let server;
let browser;
before(async () => {
  server = await startServer(["--admin-token", TOKEN, "--rate-limit", "0"], { www: PAGES });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function publish(site) {
  const ruleset = {
    version: 1,
    placements: { "home-hero": { limit: 1 } },
    offers: [{ id: "welcome", placements: ["home-hero"], priority: 1, content: { title: "Welcome" } }],
    experiments: [
      {
        key: "ed25519-headline",
        weights: [0, 1],
        urlPatterns: [{ type: "exact", pattern: "/engines.html" }],
        variations: [{ key: "control" }, { key: "changed", changes: [{ selector: "#hero h1", action: "text", value: CHANGED }] }],
      },
    ],
  };
  await publishRuleset(server, TOKEN, site, ruleset);
}

function stored(site) {
  const out = execFileSync("sqlite3", ["-readonly", "-json", join(server.dir, ".tailor/tailor.db"), `SELECT id FROM events WHERE site = '${site}'`], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out).map((r) => r.id) : [];
}

/** What the page's SDK has once it is ready: the ruleset, its problems, the offers, the headline. */
function state(page) {
  return page.evaluate(async () => {
    const ready = await tailor("ready", { timeout: 10000 });
    const t = await new Promise((ok) => tailor("ready", ok));
    const d = await tailor("decide", {}, { record: false });
    const hero = d.placements["home-hero"];
    return {
      ready,
      problems: t.status.problems,
      offers: hero ? hero.offers.map((o) => o.offerId) : [],
      cached: localStorage.getItem("tailor:" + t.status.site + ":ruleset") !== null,
    };
  }, null, WAIT);
}

const headline = (page) => page.evaluate(() => document.querySelector("#hero h1").textContent);

test("without Ed25519 a fetched signed ruleset is refused (fail closed); the page keeps its content and events still reach the server", { timeout: 90000 }, async () => {
  const site = "no-ed25519";
  await publish(site);
  const url = `${server.url}/engines.html?site=${site}`;

  // With Ed25519 (the control): the same page takes the ruleset and the experiment changes it.
  const control = await newPage(browser);
  await control.goto(url);
  const ok = await state(control);
  assert.deepEqual(ok.ready, { version: 1, error: null });
  assert.deepEqual(ok.offers, ["welcome"]);
  await control.waitForFunction((want) => document.querySelector("#hero h1").textContent === want, CHANGED, WAIT);
  await control.context().close();

  // Without it: a fresh shopper (a new context) on the same page.
  const page = await newPage(browser);
  await page.context().addInitScript(withoutEd25519);
  await page.goto(url);
  const simulated = await page.evaluate(() =>
    crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"]).then(() => "imported", (e) => e.name),
  );
  assert.equal(simulated, "NotSupportedError", "the simulation is in place");
  const s = await state(page);
  assert.equal(s.ready.version, null, JSON.stringify(s));
  assert.match(s.ready.error, /refused version 1: the signature could not be checked: Algorithm: Unrecognized name/);
  assert.ok(s.problems.some((p) => /refused version 1: the signature could not be checked/.test(p)), JSON.stringify(s.problems));
  assert.deepEqual(s.offers, [], "no offers from an unverified ruleset");
  assert.equal(s.cached, false, "nothing unverified is cached");
  // The experiment is only in the refused ruleset: give it time to (wrongly) apply, then check.
  await page.waitForTimeout(1000);
  assert.equal(await headline(page), ORIGINAL);

  // The rest of the SDK works: an event is stored and sent.
  const id = await page.evaluate(() => tailor("track", "page_view", { path: "/engines.html" }).then(async (id) => (await tailor("flush"), id)), null, WAIT);
  const end = Date.now() + 15000;
  while (!stored(site).includes(id) && Date.now() < end) await page.waitForTimeout(100);
  assert.ok(stored(site).includes(id), "the event reached the server");
  // The only console lines: the SDK's own report of the refusal, if it logs one.
  assert.deepEqual(page.problems.filter((p) => !/could not be checked/.test(p)), []);
  await page.context().close();
});

test("without Ed25519 a ruleset cached by an earlier page is refused too, and the cache is dropped", { timeout: 90000 }, async () => {
  const site = "no-ed25519-cached";
  await publish(site);
  const url = `${server.url}/engines.html?site=${site}`;
  const page = await newPage(browser);
  await page.goto(url);
  const first = await state(page);
  assert.deepEqual(first.ready, { version: 1, error: null });
  assert.equal(first.cached, true, "the verified ruleset was cached for the next page");

  // The next page of the same shopper, in a browser without Ed25519, and the server unreachable
  // for rulesets: only the cache could give a ruleset.
  await page.context().addInitScript(withoutEd25519);
  await page.route(`**/v1/rulesets/${site}`, (route) => route.abort());
  await page.goto(url);
  const s = await state(page);
  assert.equal(s.ready.version, null, JSON.stringify(s));
  assert.ok(s.problems.some((p) => /refused the cached version: the signature could not be checked: Algorithm: Unrecognized name/.test(p)), JSON.stringify(s.problems));
  assert.deepEqual(s.offers, []);
  assert.equal(s.cached, false, "the cache that could not be verified is dropped");
  await page.waitForTimeout(1000);
  assert.equal(await headline(page), ORIGINAL);
  await page.context().close();
});

test("without Ed25519 an inline ruleset given to init is still used; the server's stays refused", { timeout: 90000 }, async () => {
  const site = "no-ed25519-inline";
  await publish(site);
  const key = (await (await fetch(server.url + "/v1/keys")).json()).keys[0].publicKey;
  const page = await newPage(browser);
  await page.context().addInitScript(withoutEd25519);
  await page.goto(`${server.url}/sync.html?site=${site}-page`); // the npm entry (import map), Tailor on window
  await page.waitForFunction(() => window.ready === true, null, WAIT);
  const r = await page.evaluate(
    async ([site, key]) => {
      const inline = { version: 1, placements: { "home-hero": { limit: 1 } }, offers: [{ id: "inline", placements: ["home-hero"], content: { title: "From the page" } }] };
      const t = await Tailor.init({ site, endpoint: "/", consent: "granted", publicKey: key, ruleset: inline });
      const refresh = await t.refreshRuleset();
      return { refresh, offers: t.decide({}, { record: false }).placements["home-hero"].offers.map((o) => o.offerId) };
    },
    [site, key],
  );
  assert.match(r.refresh.error, /refused version 1: the signature could not be checked: Algorithm: Unrecognized name/, JSON.stringify(r));
  assert.deepEqual(r.offers, ["inline"]);
  await page.context().close();
});
