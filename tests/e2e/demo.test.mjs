// The demo storefront as a shopper sees it: the server publishes the demo ruleset, the SDK
// fetches it (signed, verified with the key the page pins), and placements follow what the
// shopper did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, launchBrowser, newPage, ROOT, startServer } from "./harness.mjs";

// The demo ruleset's global holdout keeps a share of shoppers (keyed on their id, which for
// an anonymous shopper is the anonymous id) away from personalisation. The shoppers below
// get ids chosen by asking the engine (`tailor hash`) which side of the holdout they fall
// on, so each test knows which shopper it has instead of failing about one run in twenty.
const RULESET = JSON.parse(readFileSync(join(ROOT, "www/ruleset.json"), "utf8"));
const HOLDOUT = RULESET.holdout;

/** The first candidate id whose holdout bucket satisfies `want(inHoldout)`. */
function pickId(want) {
  const candidates = Array.from({ length: 400 }, (_, i) => `e2e-shopper-${i}`);
  const lines = candidates.map((value) => JSON.stringify({ seed: HOLDOUT.seed, value, version: HOLDOUT.hashVersion ?? 2 }));
  const out = execFileSync(BIN, ["hash"], { input: lines.join("\n") + "\n", encoding: "utf8" }).trim().split("\n");
  assert.equal(out.length, candidates.length, "tailor hash answers every line");
  const i = out.findIndex((b) => want(Number(b) < HOLDOUT.percent));
  assert.ok(i >= 0, "no candidate id on the wanted side of the holdout");
  return candidates[i];
}

/**
 * A page for a new shopper whose anonymous id is `anonymousId`: before any demo page loads,
 * the SDK's database for the site is given a fresh profile with that id (the stored form
 * the SDK reads back: schema version 1, no history).
 */
async function shopperPage(anonymousId) {
  const page = await newPage(browser);
  await page.goto(server.url + "/favicon.svg");
  await page.evaluate(
    ([name, profile]) =>
      new Promise((ok, fail) => {
        const r = indexedDB.open(name);
        r.onupgradeneeded = () => ["outbox", "state"].forEach((s) => r.result.createObjectStore(s));
        r.onerror = () => fail(r.error);
        r.onsuccess = () => {
          const tx = r.result.transaction("state", "readwrite");
          tx.objectStore("state").put(profile, "profile");
          tx.oncomplete = () => (r.result.close(), ok());
          tx.onerror = () => fail(tx.error);
        };
      }),
    ["tailor:demo", JSON.stringify({ schemaVersion: 1, anonymousId, firstSeen: Date.now(), lastSeen: Date.now() })],
  );
  // Chromium asks for /favicon.ico for a page that is not HTML: that 404 is not the demo's.
  page.problems.length = 0;
  return page;
}

let server;
let browser;
before(async () => {
  server = await startServer(["--site", "demo", "--ruleset", join(ROOT, "www/ruleset.json")]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The anonymous id the SDK in the page uses. */
function anonymousId(page) {
  return page.evaluate(() => new Promise((ok) => tailor("ready", (t) => ok(t.status.anonymousId))));
}

async function heroOffers(page) {
  await page.waitForFunction(() => document.querySelector('[data-placement="home-hero"]').classList.contains("decided"));
  return page.$$eval('[data-placement="home-hero"] [data-offer]', (els) => els.map((e) => e.dataset.offer));
}

test("a new shopper gets the welcome offer; after looking at shoes, the running-shoes offer", async () => {
  const id = pickId((inHoldout) => !inHoldout);
  const page = await shopperPage(id);
  await page.goto(server.url + "/");
  assert.deepEqual(await heroOffers(page), ["welcome-10"]);
  const decision = await page.evaluate(() => window.lastDecision);
  assert.equal(decision.rulesetId, "demo-2026-11", "the signed ruleset from the server is in use");
  assert.equal((await anonymousId(page)), id, "the shopper has the chosen id");
  assert.equal(decision.globalHoldout, false);

  await page.goto(server.url + "/product.html?sku=SH-TRAIL-1");
  await page.waitForFunction(() => document.querySelector('[data-placement="product-recs"]').classList.contains("decided"));
  await page.click("[data-add]");
  await page.waitForFunction(() => document.querySelector("[data-add]").textContent.includes("Added"));

  await page.goto(server.url + "/");
  assert.deepEqual(await heroOffers(page), ["running-shoes"]);
  const profile = await page.evaluate(() => tailor("profile"));
  assert.equal(profile.topCategory, "shoes");
  assert.equal(profile.cart.count, 1);

  await page.goto(server.url + "/cart.html");
  await page.waitForFunction(() => !document.getElementById("checkout").disabled);
  await page.click("#checkout");
  await page.waitForFunction(() => document.getElementById("items").textContent.includes("Thank you"));
  assert.deepEqual(page.problems, []);
});

test("a shopper in the global holdout gets no experiments and only holdout-exempt offers", async () => {
  const id = pickId((inHoldout) => inHoldout);
  const exempt = new Set(RULESET.offers.filter((o) => o.holdoutExempt).map((o) => o.id));
  assert.ok(exempt.size > 0, "the demo ruleset has a holdout-exempt offer");
  const page = await shopperPage(id);

  await page.goto(server.url + "/");
  // The welcome offer a new shopper would get is not shown.
  assert.deepEqual(await heroOffers(page), []);
  let decision = await page.evaluate(() => window.lastDecision);
  assert.equal(decision.rulesetId, "demo-2026-11");
  assert.equal((await anonymousId(page)), id, "the shopper has the chosen id");
  assert.equal(decision.globalHoldout, true);
  // Every experiment shows its control (variation 0) and does not count the shopper.
  assert.equal(decision.experiments.length, RULESET.experiments.length);
  for (const x of decision.experiments) {
    assert.equal(x.inExperiment, false, x.key);
    assert.equal(x.variation, 0, x.key);
  }

  // A holdout-exempt offer still reaches the shopper (free shipping on the category page).
  await page.goto(server.url + "/category.html?c=shoes");
  await page.waitForFunction(() => document.querySelector('[data-placement="category-banner"]').classList.contains("decided"));
  const shown = await page.$$eval("[data-offer]", (els) => els.map((e) => e.dataset.offer));
  assert.ok(shown.length > 0, "an exempt offer is shown");
  for (const o of shown) assert.ok(exempt.has(o), `${o} is shown to a holdout shopper but is not holdout-exempt`);
  decision = await page.evaluate(() => window.lastDecision);
  assert.equal(decision.globalHoldout, true);
  for (const p of Object.values(decision.placements)) {
    for (const o of p.offers) assert.ok(exempt.has(o.offerId), o.offerId);
  }
  assert.deepEqual(page.problems, []);
});
