// Tailor Studio, Test setup (issue 12): the global and per-test holdouts, a redirect test,
// namespaces with their overlaps and the metric to judge by, driven in the real Studio on the
// demo shop (real server, SQLite, headless Chromium). Each field's value must reach the draft
// the server stores, and a wrong value must be refused by the engine (or, for metrics, by the
// server) with the message next to the field. Screenshot: docs/images/studio-setup.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, ROOT, startServer, uuid7 } from "./harness.mjs";
import { openPage, q, studioContext, studioLink as studioLink0, text, type, WAIT, waitText } from "./studio_pages.mjs";

const TOKEN = "studio-setup-admin-token";

let server;
let browser;
before(async () => {
  server = await startServer(["--site", "demo", "--ruleset", join(ROOT, "www/ruleset.json"), "--admin-token", TOKEN, "--rate-limit", "0"]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const studioLink = (role) => studioLink0(server, TOKEN, "demo", role);

async function openStudio(link) {
  const context = await studioContext(browser, { viewport: { width: 1280, height: 1000 } });
  return { context, page: await openPage(context, server.url + link) };
}
/** The Studio with the publish role, on its Test setup tab; `token` is the link's, for the server's API. */
async function openSetup() {
  const { link } = await studioLink("publish");
  const token = new URL(link, server.url).searchParams.get("tailor_studio");
  const { context, page } = await openStudio(link);
  await waitText(page, '[data-test="role"]', /role publish/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  return { context, page, token };
}
/** Saves the working ruleset as draft `name`, goes back to Test setup, and answers the ruleset the server stored. */
async function savedRuleset(page, token, name) {
  assert.match(await saveDraft(page, name), /saved/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  const r = await fetch(`${server.url}/v1/studio/demo/drafts/${name}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return (await r.json()).ruleset;
}
const errorsAt = (page, path) => page.evaluate((p) => window.__studio.querySelector(`[data-errors="${p}"]`)?.textContent ?? null, path);
async function accepted(page) {
  await waitText(page, '[data-test="problems"]', /The engine accepts this ruleset/);
}
async function saveDraft(page, name) {
  await (await q(page, '[data-test="tab-publish"]')).click();
  await type(page, '[data-test="draft-name"]', name);
  const was = await text(page, '[data-test="publish-status"]');
  await (await q(page, '[data-test="save-draft"]')).click();
  await page.waitForFunction((w) => { const t = window.__studio.querySelector('[data-test="publish-status"]').textContent; return t !== w && /saved/.test(t); }, was, WAIT);
  return text(page, '[data-test="publish-status"]');
}

test("Test setup: global and per-test holdout, a redirect test, a namespace with its overlaps and the goal metric reach the draft, each refused next to its field when wrong", async () => {
  const { context, page, token } = await openSetup();

  // The global holdout: the demo's 5%; a share above 1 is refused next to the field.
  assert.equal(await (await q(page, '[data-test="field-global-holdout"]')).evaluate((i) => i.value), "0.05");
  await type(page, '[data-test="field-global-holdout"]', "1.5");
  assert.match(await waitText(page, '[data-errors="holdout"]', /holdout/), /^holdout/);
  await type(page, '[data-test="field-global-holdout"]', "0.1");
  await accepted(page);

  // The home page's test: its own holdout, refused above 1, kept at 0.2.
  assert.equal(await (await q(page, '[data-test="pick-experiment"] option:checked')).evaluate((o) => o.textContent), "home-headline");
  await type(page, '[data-test="field-holdout"]', "2");
  assert.match(await waitText(page, '[data-errors="experiments[3].holdout"]', /holdout/), /experiments\[3\]\.holdout/);
  await type(page, '[data-test="field-holdout"]', "0.2");
  await accepted(page);
  // A redirect in a variation that also changes the page: refused, the page would be left.
  await type(page, '[data-test="field-redirect-1"]', "/category.html");
  assert.match(await waitText(page, '[data-errors="experiments[3].variations[1].redirect"]', /redirect/), /experiments\[3\]\.variations\[1\]/);
  await type(page, '[data-test="field-redirect-1"]', "");
  await accepted(page);

  // A new redirect test on this page.
  await (await q(page, '[data-test="new-experiment"]')).click();
  await waitText(page, '[data-test="pick-experiment"] option:checked', /test-7/);
  await type(page, '[data-test="field-key"]', "home-redirect");
  await type(page, '[data-test="field-redirect-0"]', "/category.html");
  assert.match(await waitText(page, '[data-errors="experiments[6].variations[0].redirect"]', /redirect/), /variations\[0\]/, "variation 0 cannot redirect");
  await type(page, '[data-test="field-redirect-0"]', "");
  await type(page, '[data-test="field-redirect-1"]', "/");
  assert.match(await waitText(page, '[data-errors="experiments[6].variations[1].redirect"]', /redirect/), /experiments\[6\]\.variations\[1\]\.redirect/, "a redirect to a page the test targets would loop");
  await type(page, '[data-test="field-redirect-1"]', "/category-grid.html");
  await accepted(page);
  await (await q(page, '[data-test="field-keep-query-1"]')).click();
  // Shown in the Studio, the redirect variation is not followed: Inspect says where it goes.
  await (await q(page, '[data-test="preview-variation-1"]')).click();
  await (await q(page, '[data-test="tab-inspect"]')).click();
  assert.match(await waitText(page, '[data-test="redirect-home-redirect"]', /sends/), /sends shoppers to \/category-grid\.html; the Studio stays on this page/);
  await page.waitForTimeout(500);
  assert.equal(new URL(page.url()).pathname, "/", "the Studio did not leave the page");
  await (await q(page, '[data-test="tab-setup"]')).click();
  await waitText(page, '[data-test="pick-experiment"] option:checked', /home-redirect/);

  // A namespace shared with the demo's two product-page tests, whose ranges it overlaps.
  await type(page, '[data-test="field-namespace-id"]', "product-page");
  await type(page, '[data-test="field-namespace-start"]', "0.4");
  await type(page, '[data-test="field-namespace-end"]', "0.6");
  const ov = await waitText(page, '[data-test="namespace-overlaps"]', /checkout-button/);
  assert.match(ov, /Overlaps “recs-layout” \[0, 0\.5\) on \[0\.4, 0\.5\)/);
  assert.match(ov, /Overlaps “checkout-button” \[0\.5, 1\) on \[0\.5, 0\.6\)/);
  await type(page, '[data-test="field-namespace-end"]', "7");
  assert.match(await waitText(page, '[data-errors="experiments[6].namespace"]', /namespace/), /experiments\[6\]\.namespace/);
  await type(page, '[data-test="field-namespace-end"]', "0.6");
  await accepted(page);

  // The goal: units added to the cart per shopper within 72 h; a window of 0 h is refused by the server.
  await (await q(page, '[data-test="field-goal"]')).selectOption("add_to_cart");
  await (await q(page, '[data-test="field-goal-kind"]')).selectOption("mean");
  await type(page, '[data-test="field-goal-property"]', "quantity");
  await type(page, '[data-test="field-goal-window"]', "0");
  assert.match(await saveDraft(page, "setup-fields"), /saved with 1 error/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  assert.match(await waitText(page, '[data-errors="experiments[6].metrics[0].windowHours"]', /windowHours/), /above 0/);
  await type(page, '[data-test="field-goal-window"]', "72");
  assert.equal(await errorsAt(page, "experiments[6].metrics[0].windowHours"), "", "the server's message goes once the field changes");
  await (await q(page, '[data-test="field-namespace-id"]')).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ROOT, "docs/images/studio-setup.png") });
  assert.match(await saveDraft(page, "setup-fields"), /Draft “setup-fields” saved/);
  assert.doesNotMatch(await text(page, '[data-test="publish-status"]'), /error/);

  // The draft as the server stores it.
  const r = await fetch(`${server.url}/v1/studio/demo/drafts/setup-fields`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const draft = await r.json();
  assert.deepEqual(draft.errors, []);
  const rs = draft.ruleset;
  assert.deepEqual(rs.holdout, { percent: 0.1, seed: "demo-holdout", hashAttribute: "id", fallbackAttribute: "anonymousId" });
  assert.equal(rs.experiments[3].holdout, 0.2);
  assert.equal(rs.experiments[3].variations[1].redirect, undefined);
  const x = rs.experiments[6];
  assert.equal(x.key, "home-redirect");
  assert.deepEqual(x.variations[0], { key: "control" });
  assert.deepEqual(x.variations[1].redirect, { url: "/category-grid.html", keepQuery: false });
  assert.deepEqual(x.namespace, ["product-page", 0.4, 0.6]);
  assert.deepEqual(x.metrics, [{ key: "goal", kind: "mean", event: "add_to_cart", role: "goal", property: "quantity", windowHours: 72 }]);

  // checkout-button shares the namespace with recs-layout without overlap.
  await (await q(page, '[data-test="tab-setup"]')).click();
  await (await q(page, '[data-test="pick-experiment"]')).selectOption("2");
  const own = await waitText(page, '[data-test="namespace-overlaps"]', /recs-layout/);
  assert.match(own, /“recs-layout” takes \[0, 0\.5\): no overlap/);
  assert.match(own, /Overlaps “home-redirect”/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Test setup shows the experiment's figures from the server beside the editor: none at first, the counted shoppers, uplift and significance once they are in", async () => {
  const { link } = await studioLink("view");
  const { context, page } = await openStudio(link);
  await waitText(page, '[data-test="role"]', /role view/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  assert.equal(await (await q(page, '[data-test="pick-experiment"] option:checked')).evaluate((o) => o.textContent), "home-headline");
  assert.match(await waitText(page, '[data-test="results-box"]', /exposed|shoppers/), /No shopper has been exposed to this experiment yet/);

  // 300 shoppers per variation: 5% of the control buy after their exposure, 15% of variation 1.
  const now = Date.now() - 3600000;
  const events = [];
  for (const [variation, buyers] of [[0, 15], [1, 45]]) {
    for (let i = 0; i < 300; i++) {
      const anonymousId = `setup-${variation}-${i}`;
      const ts = now + i * 1000;
      events.push({ id: uuid7(ts), ts, anonymousId, type: "experiment_exposure", props: { experimentKey: "home-headline", variation } });
      if (i < buyers) events.push({ id: uuid7(ts + 60000), ts: ts + 60000, anonymousId, type: "purchase", props: { orderId: `o-${anonymousId}`, revenue: 40, currency: "EUR", items: [{ sku: "A1" }] } });
    }
  }
  const sent = await fetch(`${server.url}/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ site: "demo", events }) });
  assert.equal(sent.status, 200, await sent.clone().text());
  assert.equal((await sent.json()).accepted, events.length);
  // What the server says, to compare the box with.
  let x = null;
  for (let t = 0; t < 50 && !(x?.variations?.[1]?.shoppers === 300); t++) {
    const r = await fetch(`${server.url}/v1/admin/results/demo?experiment=home-headline`, { headers: { authorization: `Bearer ${TOKEN}` } });
    x = (await r.json()).experiments?.find((e) => e.experimentKey === "home-headline");
    if (!(x?.variations?.[1]?.shoppers === 300)) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(x.variations[0].shoppers, 300);
  const goal = x.metrics.find((m) => m.goal);
  const c = goal.comparisons.find((y) => y.variation === 1);

  // Opening the tab again asks the server again.
  await (await q(page, '[data-test="tab-inspect"]')).click();
  await (await q(page, '[data-test="tab-setup"]')).click();
  await waitText(page, '[data-test="results-box"]', /300/);
  const rows = await page.evaluate(() => [...window.__studio.querySelectorAll('[data-test="results-box-table"] tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.deepEqual(rows, x.variations.map((v) => [`${v.variation}: ${v.key}`, String(v.shoppers), String(v.exposures), String(v.conversions), `${(v.conversionRate * 100).toFixed(1)}%`]));
  assert.deepEqual(rows.map((r) => r[3]), ["15", "45"]);
  const uplift = await text(page, '[data-test="results-uplift-1"]');
  assert.match(uplift, new RegExp(`against the control: \\+${(c.relative * 100).toFixed(1)}% \\(95% interval`));
  assert.match(uplift, c.significant ? /: significant$/ : /not significant yet$/);
  assert.equal(c.significant, true, "15% against 5% of 300 shoppers each is a clear difference");
  await (await q(page, '[data-test="results-box"]')).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ROOT, "docs/images/studio-setup-results.png") });
  // 390 px wide: the box and the form fit the panel, nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.waitForTimeout(300);
  const fits = await page.evaluate(() => {
    const body = window.__studio.querySelector('[data-test="panel-setup"]');
    const box = window.__studio.querySelector('[data-test="results-box"]');
    const widest = Math.max(...[...window.__studio.querySelectorAll("*")].map((e) => e.getBoundingClientRect().right));
    return { body: [body.scrollWidth, body.clientWidth], box: box.getBoundingClientRect().right, widest };
  });
  assert.ok(fits.body[0] <= fits.body[1], `the Test setup panel scrolls sideways: ${fits.body}`);
  assert.ok(fits.box <= 390 && fits.widest <= 390, JSON.stringify(fits));
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Test setup says whether this page and this shopper match the experiment, and why not when its condition is wrong", async () => {
  const { link } = await studioLink("publish");
  const { context, page } = await openStudio(link);
  await waitText(page, '[data-test="role"]', /role publish/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  // home-headline: targeted at "/", no condition.
  assert.equal(await waitText(page, '[data-test="page-match"]', /matches/), "This page matches: yes (/)");
  assert.equal(await text(page, '[data-test="shopper-match"]'), "This shopper matches: yes (no condition)");
  await type(page, '[data-test="field-condition"]', '{"profile.cart.count": {"$gte": 1}}');
  assert.match(await waitText(page, '[data-test="shopper-match"]', /: no/), /^This shopper matches: no \((this browser’s shopper|a new shopper .*)\)$/);
  await type(page, '[data-test="field-condition"]', '{"profile.cart.count": {"$exists": true}}');
  assert.match(await waitText(page, '[data-test="shopper-match"]', /matches/), /^This shopper matches: (yes|no) \(/);
  // A condition the engine refuses: its message instead of an answer, and next to the field.
  await type(page, '[data-test="field-condition"]', '{"$and": 5}');
  const refused = await waitText(page, '[data-test="shopper-match"] .error', /./);
  assert.match(refused, /condition/);
  assert.match(await errorsAt(page, "experiments[3].condition"), /experiments\[3\]\.condition/);
  // Pages that leave this page out: no.
  await type(page, '[data-test="field-condition"]', "");
  await type(page, '[data-test="field-urls"]', "exact /category.html");
  assert.equal(await waitText(page, '[data-test="page-match"]', /: no/), "This page matches: no (/)");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Test setup's JSON fields: the ruleset's value pretty-printed, text that is not JSON refused next to the field with the last valid value kept", async () => {
  const { readFileSync } = await import("node:fs");
  const ruleset = JSON.parse(readFileSync(join(ROOT, "www/ruleset.json"), "utf8"));
  const home = ruleset.experiments.find((x) => x.key === "home-headline");
  const { link } = await studioLink("publish");
  const { context, page } = await openStudio(link);
  await waitText(page, '[data-test="role"]', /role publish/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  const value = (s) => q(page, s).then((e) => e.evaluate((el) => el.value));
  assert.equal(await value('[data-test="field-changes-1"]'), JSON.stringify(home.variations[1].changes, null, 1));
  assert.equal(await value('[data-test="field-condition"]'), "");
  await type(page, '[data-test="field-condition"]', '{"profile.cart.count": {"$gte": 1}}');
  await waitText(page, '[data-test="shopper-match"]', /: no/);
  await type(page, '[data-test="field-condition"]', '{"profile.cart.count": ');
  await page.waitForFunction(() => /not JSON/.test(window.__studio.querySelector('[data-errors="experiments[3].condition"]')?.textContent || ""), null, WAIT);
  assert.match(await errorsAt(page, "experiments[3].condition"), /^experiments\[3\]\.condition: not JSON \(.+\); the last valid value is kept$/);
  assert.equal(await (await q(page, '[data-test="field-condition"]')).evaluate((el) => el.getAttribute("aria-invalid")), "true");
  // The last valid condition still decides.
  assert.match(await text(page, '[data-test="shopper-match"]'), /^This shopper matches: no/);
  // Emptied: no condition, nothing refused.
  await type(page, '[data-test="field-condition"]', "  ");
  assert.equal(await waitText(page, '[data-test="shopper-match"]', /no condition/), "This shopper matches: yes (no condition)");
  assert.equal(await errorsAt(page, "experiments[3].condition"), "");
  assert.equal(await (await q(page, '[data-test="field-condition"]')).evaluate((el) => el.getAttribute("aria-invalid")), "false");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Test setup's redirect: the query string box read when the URL is typed, kept across a redraw, the redirect gone with an empty URL", async () => {
  const { context, page, token } = await openSetup();
  await (await q(page, '[data-test="new-experiment"]')).click();
  await type(page, '[data-test="field-key"]', "redirect-box");
  const checked = () => q(page, '[data-test="field-keep-query-1"]').then((e) => e.evaluate((el) => el.checked));
  assert.equal(await checked(), true, "the query string goes along unless told otherwise");
  // Unticked before there is a redirect: the URL's edit reads the box.
  await (await q(page, '[data-test="field-keep-query-1"]')).click();
  await type(page, '[data-test="field-redirect-1"]', "  /category-grid.html ");
  await accepted(page);
  // A redraw (another experiment and back) draws the box from the ruleset.
  await (await q(page, '[data-test="pick-experiment"]')).selectOption("0");
  await (await q(page, '[data-test="pick-experiment"]')).selectOption("6");
  await waitText(page, '[data-test="pick-experiment"] option:checked', /redirect-box/);
  assert.equal(await checked(), false);
  assert.equal(await q(page, '[data-test="field-redirect-1"]').then((e) => e.evaluate((el) => el.value)), "/category-grid.html");
  assert.deepEqual((await savedRuleset(page, token, "redirect-box")).experiments[6].variations[1].redirect, { url: "/category-grid.html", keepQuery: false });
  await type(page, '[data-test="field-redirect-1"]', " ");
  await accepted(page);
  assert.deepEqual((await savedRuleset(page, token, "redirect-box-none")).experiments[6].variations[1], { key: "variant" });
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Test setup's namespace: the ruleset's namespace in its three inputs, an empty start or end read as 0 or 1, all three emptied removing it", async () => {
  const { context, page, token } = await openSetup();
  await (await q(page, '[data-test="pick-experiment"]')).selectOption("2");
  await waitText(page, '[data-test="pick-experiment"] option:checked', /checkout-button/);
  const values = () => page.evaluate(() => ["id", "start", "end"].map((k) => window.__studio.querySelector(`[data-test="field-namespace-${k}"]`).value));
  assert.deepEqual(await values(), ["product-page", "0.5", "1"]);
  await type(page, '[data-test="field-namespace-end"]', "");
  await type(page, '[data-test="field-namespace-start"]', " ");
  await accepted(page);
  assert.deepEqual((await savedRuleset(page, token, "namespace-defaults")).experiments[2].namespace, ["product-page", 0, 1]);
  await waitText(page, '[data-test="pick-experiment"] option:checked', /checkout-button/);
  assert.deepEqual(await values(), ["product-page", "0", "1"], "drawn again from the ruleset");
  await type(page, '[data-test="field-namespace-id"]', "  ");
  await type(page, '[data-test="field-namespace-start"]', "");
  await type(page, '[data-test="field-namespace-end"]', "");
  await accepted(page);
  assert.equal((await savedRuleset(page, token, "namespace-none")).experiments[2].namespace, undefined);
  assert.deepEqual(await values(), ["", "", ""]);
  assert.deepEqual(page.problems, []);
  await context.close();
});
