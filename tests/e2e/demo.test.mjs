// The demo storefront as a shopper sees it: the server publishes the demo ruleset, the SDK
// fetches it (signed, verified with the key the page pins), and placements follow what the
// shopper did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, launchBrowser, newPage, ROOT, startServer, waitForEvents } from "./harness.mjs";

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

// ---- Page experiments of the demo: the home page headline and button, the category layout
// redirect, the product page's Delivery tab (a single-page section). Each variation is seen
// as the README says (`?tailor_force=KEY:INDEX`), and bucketed shoppers are counted once.

const experiment = (key) => RULESET.experiments.find((x) => x.key === key);
const WAIT = { timeout: 15000 };

/** The first candidate id outside the global holdout that `key` buckets into `variation`. */
function pickBucketed(key, variation) {
  const x = experiment(key);
  const candidates = Array.from({ length: 400 }, (_, i) => `e2e-${key}-${i}`);
  const hash = (seed, version) =>
    execFileSync(BIN, ["hash"], { input: candidates.map((value) => JSON.stringify({ seed, value, version })).join("\n") + "\n", encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  const holdout = hash(HOLDOUT.seed, HOLDOUT.hashVersion ?? 2);
  const bucket = hash(x.seed, x.hashVersion ?? 2);
  const n = x.variations.length;
  const weights = x.weights || x.variations.map(() => 1 / n);
  const start = weights.slice(0, variation).reduce((a, b) => a + b, 0);
  const i = candidates.findIndex((_, i) => holdout[i] >= HOLDOUT.percent && bucket[i] >= start && bucket[i] < start + weights[variation]);
  assert.ok(i >= 0, `no candidate id in ${key} variation ${variation}`);
  return candidates[i];
}

/** What the shopper sees of the home page's hero: texts, the button's colour, visibility. */
const hero = (page) =>
  page.evaluate(() => {
    const h1 = document.querySelector("#hero h1");
    const cta = document.querySelector("#hero .cta");
    return {
      headline: h1.textContent,
      lead: document.querySelector("#hero .lead").textContent,
      cta: cta.textContent,
      ctaColour: getComputedStyle(cta).backgroundColor,
      visible: getComputedStyle(h1).visibility === "visible" && getComputedStyle(cta).visibility === "visible",
      shield: !!document.getElementById("tailor-hide"),
    };
  });

/** The page's decision for experiment `key` (made by the SDK for the current URL, not recorded). */
const shown = (page, key) =>
  page.evaluate(
    (key) => tailor("ready").then(() => tailor("decide", {}, { record: false })).then((d) => d.experiments.find((x) => x.key === key)),
    key,
  );

const exposures = (events, key) => events.filter((e) => e.type === "experiment_exposure" && e.props && e.props.experimentKey === key);

test("the home page experiment: control and free-returns are each seen with their headline and button", async () => {
  const x = experiment("home-headline");
  assert.equal(x.variations.length, 2);
  for (const [index, want] of [
    [0, { headline: "Autumn collection", cta: "Shop jackets", ctaColour: "rgb(69, 123, 157)" }],
    [1, { headline: "Free returns on every jacket, all winter", cta: "Find your jacket", ctaColour: "rgb(230, 57, 70)" }],
  ]) {
    const page = await shopperPage(pickId((inHoldout) => !inHoldout));
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.goto(`${server.url}/?tailor_force=home-headline:${index}`);
    const d = await shown(page, "home-headline");
    assert.equal(d.variation, index, d.reason);
    assert.equal(d.variationKey, x.variations[index].key);
    if (index === 1) await page.waitForFunction((t) => document.querySelector("#hero h1").textContent === t, want.headline, WAIT);
    await page.waitForFunction(() => document.querySelector('[data-placement="home-hero"]').classList.contains("decided"), null, WAIT);
    const seen = await hero(page);
    assert.equal(seen.headline, want.headline);
    assert.equal(seen.cta, want.cta);
    assert.equal(seen.ctaColour, want.ctaColour);
    assert.equal(seen.lead, index ? "Try them at home: 60 days to change your mind." : "Warm layers for cold days.");
    assert.ok(seen.visible, "the hero is visible");
    assert.equal(seen.shield, false, "the head snippet's style is gone");
    const status = await page.evaluate(() => tailor("ready", (t) => t.status));
    assert.deepEqual(status.problems.filter((p) => p.includes("home-headline")), []);
    await page.screenshot({ path: join(ROOT, `docs/images/pages-home-${index ? "treatment" : "control"}.png`), clip: { x: 0, y: 0, width: 1024, height: 440 } });
    assert.deepEqual(page.problems, []);
    await page.context().close();
  }
});

test("the category layout redirect: grid shoppers land on /category-grid.html with the query kept, counted once", async () => {
  // Forced, as the README shows it: both variations.
  let page = await shopperPage(pickId((inHoldout) => !inHoldout));
  await page.setViewportSize({ width: 1024, height: 640 });
  await page.goto(`${server.url}/category.html?c=jackets&tailor_force=category-layout:0`);
  await page.waitForFunction(() => document.querySelector("#grid .product"), null, WAIT);
  assert.equal((await shown(page, "category-layout")).variation, 0);
  assert.equal(new URL(page.url()).pathname, "/category.html", "control stays");
  await page.goto(`${server.url}/category.html?c=jackets&tailor_force=category-layout:1`);
  await page.waitForURL((u) => u.pathname === "/category-grid.html", WAIT);
  assert.deepEqual(Object.fromEntries(new URL(page.url()).searchParams), { c: "jackets", tailor_force: "category-layout:1" }, "the query is kept");
  await page.waitForFunction(() => document.getElementById("title").textContent === "Jackets", null, WAIT);
  assert.equal(await page.$$eval("#grid .product", (els) => els.length), 2);
  await page.screenshot({ path: join(ROOT, "docs/images/pages-category-grid.png") });
  await page.context().close();

  // A shopper bucketed into the grid: redirected, the query kept, one exposure.
  const id = pickBucketed("category-layout", 1);
  page = await shopperPage(id);
  await page.goto(`${server.url}/category.html?c=shoes`);
  await page.waitForURL((u) => u.pathname === "/category-grid.html", WAIT);
  assert.deepEqual(Object.fromEntries(new URL(page.url()).searchParams), { c: "shoes" }, "the query is kept");
  await page.waitForFunction(() => document.getElementById("title").textContent === "Shoes", null, WAIT);
  assert.equal(await anonymousId(page), id);
  let events = await waitForEvents(page, server, "tailor:demo", (ev) => exposures(ev, "category-layout").length >= 1);
  assert.deepEqual(exposures(events, "category-layout").map((e) => e.props.variation), [1]);
  // The grid page is not targeted: nothing more is recorded there, not even after a while.
  await page.waitForTimeout(1500);
  events = await waitForEvents(page, server, "tailor:demo", () => true);
  assert.equal(exposures(events, "category-layout").length, 1, "one exposure for one redirect");
  const d = await shown(page, "category-layout");
  assert.equal(d.variation, 0, "the grid page is not one the experiment runs on");
  assert.ok(!d.redirect);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("the product page's Delivery tab: a route change re-targets the delivery-promise experiment", async () => {
  const promise = (page) => page.$eval("#tab-delivery .promise", (el) => ({ text: el.textContent, strong: el.classList.contains("promise-strong") }));
  for (const index of [0, 1]) {
    const page = await shopperPage(pickId((inHoldout) => !inHoldout));
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.goto(`${server.url}/product.html?sku=SH-TRAIL-1&tailor_force=delivery-promise:${index}`);
    await page.waitForFunction(() => document.querySelector('[data-placement="product-recs"]').classList.contains("decided"), null, WAIT);
    const control = { text: "Delivered in 2 to 4 working days.", strong: false };
    const treatment = { text: "Order by 14:00 and it ships today.", strong: true };
    // The Details tab: the experiment does not run here, the delivery text is the page's own.
    assert.equal((await shown(page, "delivery-promise")).variation, 0);
    assert.deepEqual(await promise(page), control);
    const loads = await page.evaluate(() => performance.getEntriesByType("navigation").length + ":" + performance.timeOrigin);
    await page.click('[data-tab="delivery"]');
    await page.waitForFunction(() => !document.getElementById("tab-delivery").hidden, null, WAIT);
    assert.match(page.url(), /[?&]tab=delivery/);
    if (index === 1) await page.waitForFunction((t) => document.querySelector("#tab-delivery .promise").textContent === t, treatment.text, WAIT);
    const d = await shown(page, "delivery-promise");
    assert.equal(d.variation, index, d.reason);
    assert.deepEqual(await promise(page), index ? treatment : control);
    if (index === 1) await page.screenshot({ path: join(ROOT, "docs/images/pages-product-delivery-tab.png"), clip: { x: 0, y: 0, width: 1024, height: 400 } });
    // Back to Details (the History API's popstate): the change is taken off again.
    await page.goBack();
    await page.waitForFunction(() => document.getElementById("tab-delivery").hidden, null, WAIT);
    await page.waitForFunction((t) => document.querySelector("#tab-delivery .promise").textContent === t, control.text, WAIT);
    assert.deepEqual(await promise(page), control);
    assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation").length + ":" + performance.timeOrigin), loads, "no reload");
    assert.deepEqual(page.problems, []);
    await page.context().close();
  }
});
