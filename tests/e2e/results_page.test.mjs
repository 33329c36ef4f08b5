// The results page (GET /admin/results) in headless Chromium against the real `tailor serve`:
// two seeded experiments, one with a clear winner and one with a broken split. The figures
// read from the page must be those of GET /v1/admin/results, the SRM banner must show for
// the broken split only, the uplift-over-time chart must draw the API's timeline, and the CSV
// download must hold the API's figures at full precision. A Studio link made with the page's
// button opens the same figures in a fresh tab without the admin token; a tampered one is
// refused. Saves docs/images/results-desktop.png, results-winner.png and
// results-studio-link.png (1280 wide), results-phone.png and results-phone-winner.png (390 wide).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, newPage, ROOT, startServer, uuid7 } from "./harness.mjs";

const TOKEN = "results-page-admin-token";
const SITE = "default";
const IMAGES = join(ROOT, "docs/images");

const RULESET = {
  version: 1,
  placements: {},
  experiments: [
    { key: "hero-copy", weights: [0.5, 0.5], variations: [{ key: "control" }, { key: "free-shipping" }] },
    { key: "checkout-button", weights: [0.5, 0.5], variations: [{ key: "blue" }, { key: "green" }] },
  ],
};

const DAY = 24 * 3600 * 1000;
const DAYS = 5;

/**
 * `buyers` of `shoppers` indexes, picked by a shuffle with a fixed seed: the same every run,
 * uneven from day to day as real buyers are.
 */
function pickBuyers(shoppers, buyers, seed) {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const order = [...Array(shoppers).keys()];
  for (let i = shoppers - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return new Set(order.slice(0, buyers));
}

/**
 * Events for `shoppers` shoppers of `experiment` in `variation`, first exposed evenly over
 * the `DAYS` days from `start`; `buyers` of them (see `pickBuyers`) buy after their exposure;
 * every third shopper sees the experiment twice.
 */
function arm(experiment, variation, shoppers, buyers, start) {
  const events = [];
  const buying = pickBuyers(shoppers, buyers, 7 + variation + experiment.length);
  for (let i = 0; i < shoppers; i++) {
    const anonymousId = `${experiment}-${variation}-${i}`;
    const ts = start + Math.floor((i * DAYS * DAY) / shoppers);
    const exposure = { type: "experiment_exposure", props: { experimentKey: experiment, variation } };
    events.push({ id: uuid7(ts), ts, anonymousId, ...exposure });
    if (i % 3 === 0) events.push({ id: uuid7(ts + 5000), ts: ts + 5000, anonymousId, ...exposure });
    if (buying.has(i)) {
      const revenue = 20 + ((i * 37) % 90) + 0.5;
      const props = { orderId: `o-${anonymousId}`, revenue, currency: "EUR", items: [{ sku: "A1" }] };
      events.push({ id: uuid7(ts + 60000), ts: ts + 60000, anonymousId, type: "purchase", props });
    }
  }
  return events;
}

async function post(server, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(server.url + path, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function seed(server) {
  await post(server, `/v1/admin/rulesets/${SITE}`, RULESET, TOKEN);
  // Midnight UTC, DAYS + 1 days ago: the exposures fill DAYS whole days.
  const start = Math.floor(Date.now() / DAY) * DAY - (DAYS + 1) * DAY;
  const events = [
    // 5.0% against 9.0% of 1,000 shoppers each: a clear winner.
    ...arm("hero-copy", 0, 1000, 50, start),
    ...arm("hero-copy", 1, 1000, 90, start),
    // 620 against 380 shoppers on a 50/50 split: broken.
    ...arm("checkout-button", 0, 620, 40, start),
    ...arm("checkout-button", 1, 380, 25, start),
  ];
  for (let i = 0; i < events.length; i += 1000) {
    const batch = events.slice(i, i + 1000);
    const answer = await post(server, "/v1/events", { site: SITE, events: batch });
    assert.equal(answer.accepted, batch.length, JSON.stringify(answer.results.find((r) => r.status !== "accepted")));
  }
}

/**
 * Asserts that `text` shows `value` (times `scale`) rounded to the decimals it is written
 * with: "5.20%" shows 0.052 with scale 100, "1,000" shows 1000.
 */
function shows(text, value, scale = 1, what = "") {
  const m = /([+-]?)([\d,]+(?:\.(\d+))?)/.exec(text);
  assert.ok(m, `${what}: no number in '${text}'`);
  const shown = Number(m[1] + m[2].replace(/,/g, ""));
  const decimals = m[3] ? m[3].length : 0;
  const tolerance = 0.5 * 10 ** -decimals + 1e-9;
  assert.ok(Math.abs(shown - value * scale) <= tolerance, `${what}: '${text}' does not show ${value * scale}`);
}

/** "4.10% to 6.30%" shows [0.041, 0.063]. */
function showsRange(text, [lo, hi], scale, what) {
  const [a, b] = text.split(" to ");
  assert.ok(b !== undefined, `${what}: '${text}' is not a range`);
  shows(a, lo, scale, what + " low");
  shows(b, hi, scale, what + " high");
}

function showsChance(text, x, what) {
  if (text === "> 99.9%") return assert.ok(x > 0.999, `${what}: ${x}`);
  if (text === "< 0.1%") return assert.ok(x < 0.001, `${what}: ${x}`);
  shows(text, x, 100, what);
}

function showsP(text, p, what) {
  if (text === "< 0.0001") return assert.ok(p < 0.0001, `${what}: ${p}`);
  shows(text, p, 1, what);
}

/** What the page shows of each experiment, read from the DOM. */
function readPage(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("article[data-experiment]")].map((article) => {
      const text = (root, selector) => root.querySelector(selector)?.textContent.trim() ?? null;
      return {
        key: article.dataset.experiment,
        verdict: text(article, ".exp-head .verdict"),
        guidance: text(article, ".guidance"),
        srm: article.querySelector("[data-srm]") ? text(article, "[data-srm]") : null,
        metrics: [...article.querySelectorAll("section[data-metric]")].map((section) => ({
          key: section.dataset.metric,
          rows: [...section.querySelectorAll("table.figures:not(.stats) tbody tr")].map((tr) => {
            const cell = {};
            for (const field of tr.querySelectorAll("[data-field]")) {
              const name = field.dataset.field;
              // A value cell holds its interval: keep the main figure apart.
              cell[name] = name === "value" ? field.querySelector(".big").textContent.trim() : field.textContent.trim();
            }
            return { variation: Number(tr.dataset.variation), name: text(tr, "th"), ...cell };
          }),
          stats: [...section.querySelectorAll("table.stats tbody tr")].map((tr) => {
            const cell = { variation: Number(tr.dataset.variation) };
            for (const field of tr.querySelectorAll("[data-field]")) cell[field.dataset.field] = field.textContent.trim();
            return cell;
          }),
        })),
      };
    }),
  );
}

/** A variation's value, interval and shoppers on a metric, whichever shape the report has. */
function figures(metric, v) {
  const own = Array.isArray(metric.variations) ? metric.variations.find((x) => x.variation === v.variation) : null;
  if (own) return { value: own.value, interval: own.interval, shoppers: own.shoppers };
  const conversion = metric.key === "conversion";
  return {
    value: conversion ? v.conversionRate : v.revenuePerShopper,
    interval: conversion ? v.conversionInterval : v.revenuePerShopperInterval,
    shoppers: v.shoppers,
  };
}

function parseCsv(text) {
  const rows = text.trim().split("\r\n").map((line) => line.split(","));
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer(["--admin-token", TOKEN, "--rate-limit", "0"]);
  await seed(server);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the results page shows the API's figures, flags the broken split only, and exports them as CSV", { timeout: 120000 }, async () => {
  const report = await (await fetch(`${server.url}/v1/admin/results/${SITE}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  const hero = report.experiments.find((e) => e.experimentKey === "hero-copy");
  const broken = report.experiments.find((e) => e.experimentKey === "checkout-button");
  // The seed is what the test means it to be.
  assert.equal(hero.metrics[0].comparisons[0].significant, true, "conversion of hero-copy is significant");
  assert.equal(hero.srm.mismatch, false);
  assert.equal(broken.srm.mismatch, true);

  const page = await newPage(browser);
  await page.setViewportSize({ width: 1280, height: 900 });
  const response = await page.goto(`${server.url}/admin/results`);
  assert.match(response.headers()["content-security-policy"], /script-src 'sha256-/);

  // A wrong token is refused with a sentence, and forgotten.
  await page.fill("#token", "not-the-admin-token-at-all");
  await page.click("#sign-in button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#sign-in-error").textContent.includes("refused"));
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tailor.adminToken")), null);
  // Chromium logs the refused request (401) to the console: expected here, and only here.
  page.problems = page.problems.filter((p) => !/status of 401/.test(p));

  await page.fill("#token", TOKEN);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("body[data-ready=true]", { timeout: 20000 });
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tailor.adminToken")), TOKEN);
  assert.equal(await page.isVisible("#sign-in"), false);

  const shown = await readPage(page);
  assert.deepEqual(
    shown.map((e) => e.key),
    report.experiments.map((e) => e.experimentKey),
  );
  for (const experiment of report.experiments) {
    const view = shown.find((e) => e.key === experiment.experimentKey);
    const names = RULESET.experiments.find((e) => e.key === experiment.experimentKey).variations.map((v) => v.key);
    assert.equal(view.guidance, experiment.guidance);
    assert.equal(view.srm !== null, experiment.srm.mismatch, `${view.key}: SRM banner only for a broken split`);
    assert.deepEqual(
      view.metrics.map((m) => m.key),
      experiment.metrics.map((m) => m.key),
    );
    for (const metric of experiment.metrics) {
      const table = view.metrics.find((m) => m.key === metric.key);
      const percent = ["proportion", "conversion"].includes(metric.kind) ? 100 : 1;
      assert.equal(table.rows.length, experiment.variations.length);
      for (const v of experiment.variations) {
        const row = table.rows[v.variation];
        const what = `${view.key}/${metric.key}/${v.variation}`;
        assert.ok(row.name.startsWith(names[v.variation]), `${what}: named '${row.name}'`);
        const { value, interval, shoppers } = figures(metric, v);
        assert.equal(row.shoppers, shoppers.toLocaleString("en-US"), what);
        shows(row.value, value, percent, what + " value");
        showsRange(row.interval, interval, percent, what + " interval");
        // Average order value: a metric of its own, or else a column of revenue per shopper.
        const aovMetric = experiment.metrics.some((m) => m.key === "averageOrderValue");
        if (metric.key === "revenuePerShopper" && !aovMetric) shows(row.averageOrderValue, v.averageOrderValue, 1, what + " AOV");
        const c = metric.comparisons.find((x) => x.variation === v.variation);
        if (!c) {
          assert.equal(row.relative, undefined, `${what}: the control has no uplift`);
          continue;
        }
        shows(row.relative, c.relative, 100, what + " uplift");
        showsRange(row.relativeInterval, c.relativeInterval, 100, what + " uplift interval");
        showsChance(row.chanceToBeat, c.chanceToBeat, what + " chance to beat");
        assert.equal(row.significant, c.significant ? (c.absolute > 0 ? "Yes, better" : "Yes, worse") : "Not yet", what);
        const stats = table.stats.find((s) => s.variation === v.variation);
        showsP(stats.pValue, c.pValue, what + " p");
        showsP(stats.pValueAdjusted, c.pValueAdjusted, what + " Holm p");
        showsP(stats.sequentialPValue, c.sequentialPValue, what + " sequential p");
      }
    }
  }
  const heroView = shown.find((e) => e.key === "hero-copy");
  assert.equal(heroView.verdict, "Winner found");
  assert.equal(heroView.metrics[0].rows[1].significant, "Yes, better");
  const brokenView = shown.find((e) => e.key === "checkout-button");
  assert.equal(brokenView.verdict, "Broken split");
  assert.match(brokenView.srm, /50% \/ 50% of shoppers to blue \/ green, but 62\.0% \/ 38\.0% arrived/);

  // The uplift over time: one point per day and variation, at the API's figures, higher
  // uplift drawn higher; the last day counts every shopper of the test.
  assert.equal(hero.timeline.length, DAYS, "one day of the timeline per day of exposures");
  const last = hero.timeline[DAYS - 1].metrics.find((m) => m.key === "conversion");
  assert.deepEqual(
    last.variations.map((v) => v.shoppers),
    hero.variations.map((v) => v.shoppers),
  );
  for (const experiment of report.experiments) {
    const goal = experiment.metrics.find((m) => m.goal);
    const dots = await page.$$eval(`article[data-experiment="${experiment.experimentKey}"] [data-timeline="${goal.key}"] circle[data-day]`, (list) =>
      list.map((c) => ({ day: c.dataset.day, variation: Number(c.dataset.variation), relative: Number(c.dataset.relative), cy: Number(c.getAttribute("cy")), title: c.textContent })),
    );
    const expected = experiment.timeline.flatMap((d) =>
      d.metrics.find((m) => m.key === goal.key).comparisons.map((c) => ({ day: d.day, variation: c.variation, relative: c.relative })),
    );
    assert.equal(dots.length, expected.length, `${experiment.experimentKey}: a dot per day and variation`);
    assert.ok(dots.length >= DAYS, `${experiment.experimentKey}: ${dots.length} dots`);
    for (const [i, e] of expected.entries()) {
      assert.equal(dots[i].day, e.day);
      assert.equal(dots[i].variation, e.variation);
      assert.equal(dots[i].relative, e.relative, `${experiment.experimentKey} ${e.day}`);
      assert.ok(dots[i].title.includes(e.day) && dots[i].title.includes(e.relative > 0 ? "+" : "-"), dots[i].title);
    }
    const byHeight = [...dots].sort((a, b) => a.cy - b.cy);
    for (let i = 1; i < byHeight.length; i++) assert.ok(byHeight[i - 1].relative >= byHeight[i].relative - 1e-12, "higher uplift drawn higher");
  }

  // The CSV download holds the API's figures at full precision.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('article[data-experiment="hero-copy"] a[data-csv]')]);
  assert.equal(download.suggestedFilename(), "results-default-hero-copy.csv");
  const csv = parseCsv(readFileSync(await download.path(), "utf8"));
  assert.equal(csv.length, hero.metrics.length * hero.variations.length);
  for (const row of csv) {
    const v = hero.variations[Number(row.variation)];
    const metric = hero.metrics.find((m) => m.key === row.metric);
    const c = metric.comparisons.find((x) => x.variation === v.variation);
    assert.equal(row.experiment, "hero-copy");
    assert.equal(Number(row.shoppers), figures(metric, v).shoppers);
    assert.equal(Number(row.conversions), v.conversions);
    assert.equal(Number(row.value), figures(metric, v).value);
    if (c) {
      assert.equal(Number(row.relative_uplift), c.relative);
      assert.equal(Number(row.p_value_holm), c.pValueAdjusted);
      assert.equal(Number(row.chance_to_beat), c.chanceToBeat);
      assert.equal(row.significant, String(c.significant));
    } else {
      assert.equal(row.relative_uplift, "");
    }
  }

  mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: join(IMAGES, "results-desktop.png"), fullPage: true });
  await page.locator('article[data-experiment="hero-copy"]').screenshot({ path: join(IMAGES, "results-winner.png") });

  // The admin makes a Studio link with the page's button.
  assert.equal(await page.isVisible("#studio-open"), true);
  await page.click("#studio-open");
  await page.selectOption("#studio-role", "view");
  await page.selectOption("#studio-ttl", "2h");
  await page.click("#studio-link button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#studio-link-out").value.startsWith("http"), null, { timeout: 10000 });
  const link = await page.inputValue("#studio-link-out");
  assert.match(link, new RegExp(`^${server.url}/admin/results\\?site=default&tailor_studio=ts1\\.`));
  const left = Number(await page.getAttribute("#studio-link-out", "data-expires-at")) - Date.now();
  assert.ok(left > 2 * 3600 * 1000 - 60000 && left <= 2 * 3600 * 1000, `a two-hour link: ${left} ms`);
  assert.match(await page.textContent("#studio-link-note"), /Anyone with this link can read the results of site default until \d{4}-\d\d-\d\d \d\d:\d\d UTC\./);
  // The same token opens the Studio on the shop: the demo shop on this server by default.
  const token = new URL(link).searchParams.get("tailor_studio");
  const shopLink = await page.inputValue("#studio-shop-out");
  assert.equal(shopLink, `${server.url}/?tailor_studio=${token}`);
  assert.equal(await page.getAttribute("#studio-shop-open", "href"), shopLink);
  assert.equal(await page.isVisible("#studio-shop-open"), true);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(IMAGES, "results-studio-link.png"), clip: { x: 0, y: 0, width: 1280, height: 560 } });
  // The shop's own address, with its query kept; a shop page that is not http(s) is refused.
  await page.fill("#studio-shop", "https://shop.example/sale?ref=mail");
  await page.click("#studio-link button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#studio-shop-out").value.startsWith("https://shop.example/"), null, { timeout: 10000 });
  assert.match(await page.inputValue("#studio-shop-out"), /^https:\/\/shop\.example\/sale\?ref=mail&tailor_studio=ts1\.[A-Za-z0-9_.-]+$/);
  await page.fill("#studio-shop", "javascript:alert(1)");
  await page.click("#studio-link button[type=submit]");
  assert.match(await page.textContent("#studio-link-error"), /The shop page must be a path/);
  assert.equal(await page.inputValue("#studio-shop-out"), "");
  await page.fill("#studio-shop", "/");
  await page.click("#studio-open");
  // Opened, the shop link loads the Studio on the storefront page (the token leaves the address).
  const shopper = await newPage(browser);
  await shopper.goto(shopLink);
  await shopper.waitForSelector("tailor-studio", { state: "attached", timeout: 20000 });
  assert.equal(new URL(shopper.url()).searchParams.get("tailor_studio"), null, "the token leaves the shop's address at once");
  await shopper.context().close();

  // A fresh tab (no admin token) opens it: same figures, the token gone from the address,
  // no button to make links.
  const guest = await newPage(browser);
  await guest.goto(link);
  await guest.waitForSelector("body[data-ready=true]", { timeout: 20000 });
  assert.equal(new URL(guest.url()).searchParams.get("tailor_studio"), null, "the token leaves the address at once");
  assert.equal(new URL(guest.url()).searchParams.get("site"), "default");
  assert.equal(await guest.isVisible("#studio-open"), false);
  assert.equal(await guest.isVisible("#sign-in"), false);
  const guestView = await readPage(guest);
  assert.deepEqual(guestView, shown, "the Studio link shows what the admin sees");
  assert.deepEqual(guest.problems, []);
  await guest.context().close();
  // A tampered link is refused, saying so.
  const tampered = link.replace(/tailor_studio=ts1\.(.)/, (m, c) => `tailor_studio=ts1.${c === "A" ? "B" : "A"}`);
  const refused = await fetch(tampered);
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).error, "studio_token_tampered");
  // The phone: the top of the page, and the winner's conversion table.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(IMAGES, "results-phone.png") });
  await page.evaluate(() => document.querySelector('article[data-experiment="hero-copy"]').scrollIntoView());
  await page.screenshot({ path: join(IMAGES, "results-phone-winner.png") });
  // Nothing on the phone is wider than the screen.
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, "no sideways scrolling at 390 px");

  // Another site, with the token this tab keeps: nothing to show yet, said in words.
  await page.goto(`${server.url}/admin/results?site=empty-shop`);
  await page.waitForFunction(() => document.querySelector("#status").textContent.includes("No experiment"));
  assert.equal(await page.textContent("#site-name"), "empty-shop");
  assert.equal(await page.locator("article[data-experiment]").count(), 0);
  // The ruleset request of a site without one answers 404: expected.
  page.problems = page.problems.filter((p) => !/status of 404/.test(p));

  // Reloading keeps the token for this tab; signing out forgets it.
  await page.goto(`${server.url}/admin/results`);
  await page.waitForSelector("body[data-ready=true]");
  await page.click("#sign-out");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tailor.adminToken")), null);
  assert.equal(await page.isVisible("#sign-in"), true);
  assert.deepEqual(page.problems, []);
});
