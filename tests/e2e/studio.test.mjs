// Tailor Studio end to end (issue 12), on the demo shop (www/, site demo) with the real server
// and headless Chromium: a merchandiser opens a Studio link, edits the home page's headline
// experiment (a 50/50 split, the hero headline text and the button colour), previews both
// variations, saves a draft, shares a preview link (a second browser sees the draft and
// nothing is counted), publishes; 200 fresh shoppers get the two versions in a split a
// binomial test accepts and exposures reach the results; a rollback restores the previous
// version. Then refused tokens, a view-only link, a strict CSP and a 390 px viewport.
// Screenshots go to docs/images/studio-*.png (docs/studio.md shows them).
//
// The Studio's shadow root is closed: the test records it by wrapping attachShadow before any
// page script runs (an init script), the way a shop's own tests can reach it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { join } from "node:path";
import { launchBrowser, ROOT, serverEvents, startServer } from "./harness.mjs";
import { openPage, q, studioContext as studioContext0, studioLink as studioLink0, text, type, WAIT, waitText } from "./studio_pages.mjs";

const TOKEN = "studio-e2e-admin-token";
const ORIGINAL = JSON.parse(readFileSync(join(ROOT, "www/ruleset.json"), "utf8"));
const IMAGES = join(ROOT, "docs/images");
const NEW_HEADLINE = "Winter jackets: free returns for 60 days";

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

const studioLink = (role, options) => studioLink0(server, TOKEN, "demo", role, options);
const studioContext = (options) => studioContext0(browser, options);

/** In the page: the ruleset version the SDK holds and its decision, recording nothing. */
async function shopperView() {
  let v = null;
  // The ruleset arrives after "ready" on a first visit: wait for it.
  for (let i = 0; i < 100 && v == null; i++) {
    v = await new Promise((ok) => tailor("ready", (t) => ok(t.status.rulesetVersion)));
    if (v == null) await new Promise((r) => setTimeout(r, 100));
  }
  const d = await tailor("decide", {}, { record: false });
  // The wrapper may answer experiments keyed by experiment key: a list either way.
  const list = Array.isArray(d.experiments) ? d.experiments : Object.entries(d.experiments || {}).map(([key, x]) => ({ key, ...x }));
  return { v, d: { ...d, experiments: list } };
}
const shot = (page, name) => page.screenshot({ path: join(IMAGES, `studio-${name}.png`) });

/** Two-sided exact binomial p-value of k successes in n trials with p = 1/2. */
function binomialP(k, n) {
  const logC = (n, k) => { let s = 0; for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i); return s; };
  const pk = (i) => Math.exp(logC(n, i) - n * Math.LN2);
  const observed = pk(k);
  let p = 0;
  for (let i = 0; i <= n; i++) if (pk(i) <= observed * (1 + 1e-9)) p += pk(i);
  return Math.min(1, p);
}

test("a merchandiser edits, previews, shares, publishes and rolls back the home headline test", async () => {
  const { link } = await studioLink("publish");
  const context = await studioContext({ viewport: { width: 1280, height: 860 } });
  const page = await openPage(context, server.url + link);
  // The top bar: site, mode, role, the live ruleset's version and signature, the expiry.
  assert.match(await waitText(page, '[data-test="role"]', /role publish/), /Mia/);
  assert.equal(await text(page, '[data-test="version"]'), "live ruleset v1 · signed");
  assert.match(await text(page, '[data-test="expiry"]'), /link expires .* \(in (29|30) min\)/);
  assert.doesNotMatch(page.url(), /tailor_studio/, "the token left the address bar");
  // Inspect: the home page's experiment with its variation and the engine's reason.
  const row = await waitText(page, '[data-test="exp-home-headline"]', /variation/);
  assert.match(row, /bucket .* falls in variation|global holdout|sticky/);
  assert.match(await text(page, '[data-test="panel-inspect"]'), /skipped: /, "skipped offers are listed with reasons");
  await (await q(page, '[data-test="exp-home-headline"]')).hover();
  await shot(page, "inspect");

  // Test setup: the experiment targeted at this page is selected; a 50/50 split, new text and colour.
  await (await q(page, '[data-test="tab-setup"]')).click();
  assert.equal(await (await q(page, '[data-test="pick-experiment"] option:checked')).evaluate((o) => o.textContent), "home-headline");
  assert.match(await waitText(page, '[data-test="page-match"]', /matches/), /This page matches: yes/);
  await type(page, '[data-test="field-weights"]', "0.5, 0.5");
  await type(page, '[data-test="field-condition"]', '{"profile.cart.count": {"$gte": 1}}');
  assert.match(await waitText(page, '[data-test="shopper-match"]', /matches/), /This shopper matches: no/);
  await type(page, '[data-test="field-condition"]', "");
  // A wrong action: the engine's message appears next to the field, by its path.
  await type(page, '[data-test="field-changes-1"]', JSON.stringify([{ selector: "#hero h1", action: "blink", value: "x" }]));
  assert.match(await waitText(page, '[data-errors="experiments[3].variations[1].changes"]', /changes/), /experiments\[3\]\.variations\[1\]\.changes\[0\]\.action/);
  await shot(page, "setup-error");
  const changes = [
    { selector: ["#hero h1", ".hero-title"], action: "text", value: NEW_HEADLINE },
    { selector: "#hero .cta", action: "style", name: "background-color", value: "#2a9d8f" },
  ];
  await type(page, '[data-test="field-changes-1"]', JSON.stringify(changes));
  await waitText(page, '[data-test="problems"]', /The engine accepts this ruleset/);
  // Preview both variations on the page itself.
  await (await q(page, '[data-test="preview-variation-1"]')).click();
  await page.waitForFunction((t) => document.querySelector("#hero h1").textContent === t, NEW_HEADLINE, WAIT);
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero .cta")).backgroundColor), "rgb(42, 157, 143)");
  await shot(page, "variation");
  await (await q(page, '[data-test="preview-variation-0"]')).click();
  await page.waitForFunction(() => document.querySelector("#hero h1").textContent === "Autumn collection", null, WAIT);

  // Drafts & publish: save, share a preview link.
  await (await q(page, '[data-test="tab-publish"]')).click();
  await type(page, '[data-test="draft-name"]', "winter-headline");
  await (await q(page, '[data-test="share-preview"]')).click();
  const previewUrl = await waitText(page, '[data-test="preview-url"]', /tailor_preview=tp1\./);
  assert.match(await text(page, '[data-test="publish-status"]'), /Draft “winter-headline” saved/);
  await shot(page, "publish");

  // A colleague opens the preview link: the draft is shown, marked, and nothing is counted.
  const before = serverEvents(server).length;
  const colleague = await studioContext({ viewport: { width: 1000, height: 700 } });
  const other = await openPage(colleague, previewUrl);
  assert.match(await waitText(other, ".banner", /Preview/), /Preview of draft “winter-headline”: not counted, expires/);
  const seen = await other.evaluate(`(${shopperView})()`);
  assert.equal(seen.v, 0, "the page holds the draft (a preview envelope is version 0)");
  const x = seen.d.experiments.find((e) => e.key === "home-headline");
  const want = x.variation === 1 ? NEW_HEADLINE : "Autumn collection";
  await other.waitForFunction((t) => document.querySelector("#hero h1").textContent === t, want, WAIT);
  await shot(other, "preview-banner");
  await other.waitForTimeout(1500);
  await other.close();
  await colleague.close();
  assert.equal(serverEvents(server).length, before, "a preview visit sends nothing");

  // Publish.
  await (await q(page, '[data-test="publish"]')).click();
  assert.match(await waitText(page, '[data-test="publish-status"]', /Published/), /Published as version 2/);
  assert.equal(await waitText(page, '[data-test="version"]', /v2/), "live ruleset v2 · signed");
  assert.equal(serverEvents(server).filter((e) => e.type === "experiment_exposure").length, 0, "the Studio counted nothing");

  // 200 fresh shoppers: the server's decide for most, real page loads for some.
  let inTest = 0;
  let variant = 0;
  for (let i = 0; i < 190; i++) {
    const r = await fetch(`${server.url}/v1/decide`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ site: "demo", userId: `shopper-${i}`, context: { url: `${server.url}/` } }),
    });
    assert.equal(r.status, 200);
    const d = await r.json();
    assert.equal(d.rulesetVersion, 2);
    const e = d.experiments.find((y) => y.key === "home-headline");
    if (!e.inExperiment) continue;
    inTest++;
    if (e.variation === 1) {
      variant++;
      assert.deepEqual(e.changes.map((c) => c.value), [NEW_HEADLINE, "#2a9d8f"]);
    }
  }
  for (let i = 0; i < 10; i++) {
    const shopper = await browser.newContext();
    const p = await shopper.newPage();
    await p.goto(server.url + "/");
    const d = await p.evaluate(`(${shopperView})()`).then((s) => s.d.experiments.find((e) => e.key === "home-headline"));
    const headline = d.variation === 1 ? NEW_HEADLINE : "Autumn collection";
    await p.waitForFunction((t) => document.querySelector("#hero h1").textContent === t, headline, WAIT);
    if (d.inExperiment) {
      inTest++;
      if (d.variation === 1) variant++;
    }
    await p.close(); // pagehide sends the exposure
    await shopper.close();
  }
  const p = binomialP(variant, inTest);
  assert.ok(inTest >= 170, `most shoppers are in the test (${inTest} of 200; the demo holds 5% out)`);
  assert.ok(p > 0.001, `a 50/50 split: ${variant} of ${inTest} saw the variation, p = ${p}`);
  console.log(`# split: ${variant} of ${inTest} shoppers in the test saw variation 1 (binomial p = ${p.toFixed(3)})`);
  // Exposures of the page loads reach the results API.
  let results = null;
  for (let t = 0; t < 50; t++) {
    const r = await fetch(`${server.url}/v1/admin/results/demo?experiment=home-headline`, { headers: { authorization: `Bearer ${TOKEN}` } });
    results = await r.json();
    const xs = results.experiments?.find((e) => e.experimentKey === "home-headline");
    if (xs && xs.variations.reduce((s, v) => s + v.exposures, 0) > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const exposures = results.experiments.find((e) => e.experimentKey === "home-headline").variations.reduce((s, v) => s + v.exposures, 0);
  assert.ok(exposures > 0, "exposures appear in the results");
  await (await q(page, '[data-test="tab-results"]')).click();
  await waitText(page, '[data-test="results"]', /control/);
  await shot(page, "results");

  // Roll back to version 1: new page loads get it again, and a shopper's open tab too (live updates).
  const openTab = await browser.newContext();
  const tab = await openTab.newPage();
  await tab.goto(server.url + "/");
  assert.equal((await tab.evaluate(`(${shopperView})()`)).v, 2);
  await (await q(page, '[data-test="tab-publish"]')).click();
  await (await q(page, '[data-test="rollback-1"]')).click();
  assert.match(await waitText(page, '[data-test="publish-status"]', /Rolled back/), /version 1's ruleset is live again as version 3/);
  const live = await (await fetch(`${server.url}/v1/rulesets/demo`)).json();
  assert.equal(live.version, 3);
  assert.deepEqual(live.ruleset.experiments[3], ORIGINAL.experiments[3]);
  await tab.waitForFunction(() => new Promise((ok) => tailor("ready", (t) => ok(t.status.rulesetVersion === 3))), null, WAIT);
  await openTab.close();
  const fresh = await browser.newContext();
  const fp = await fresh.newPage();
  await fp.goto(server.url + "/");
  const after = await fp.evaluate(`(${shopperView})()`).then((s) => ({ v: s.v, d: s.d.experiments.find((e) => e.key === "home-headline") }));
  assert.equal(after.v, 3);
  const expected = after.d.variation === 1 ? "Free returns on every jacket, all winter" : "Autumn collection";
  await fp.waitForFunction((t) => document.querySelector("#hero h1").textContent === t, expected, WAIT);
  await fresh.close();
  // Each version's diff against the one before; a saved draft opens in the Studio again.
  await waitText(page, '[data-test="version-2"]', /Diff against v1/);
  const diffOf2 = await page.evaluateHandle(() => [...window.__studio.querySelectorAll('[data-test="version-2"] button')].find((b) => b.textContent === "Diff against v1"));
  await diffOf2.click();
  assert.match(await waitText(page, '[data-test="version-2"] .reason + .actions + div', /./), /home-headline/);
  const openDraft = await page.evaluateHandle(() => [...window.__studio.querySelectorAll('[data-test="drafts"] button')].find((b) => b.textContent === "Open in the Studio"));
  await openDraft.click();
  assert.match(await waitText(page, '[data-test="publish-status"]', /opened/), /^Draft “winter-headline” opened: the page shows it now\.$/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("an expired or tampered Studio token is refused with the server's message, and nothing else is offered", async () => {
  const expired = await studioLink("publish", { ttl: "1s" });
  await new Promise((r) => setTimeout(r, 1500));
  const context = await studioContext({ viewport: { width: 1100, height: 700 } });
  const page = await openPage(context, server.url + expired.link);
  assert.match(await waitText(page, '[data-test="refusal"]', /./), /expired/);
  assert.equal(await page.evaluate(() => window.__studio.querySelectorAll('[data-test^="tab-"]').length), 0, "no panel is offered");
  await shot(page, "refused");
  const good = await studioLink("publish");
  const [head, claims, sig] = good.token.split(".");
  const forged = claims.slice(0, -2) + (claims.at(-2) === "A" ? "B" : "A") + claims.at(-1);
  const page2 = await openPage(context, `${server.url}/?tailor_studio=${head}.${forged}.${sig}`);
  assert.match(await waitText(page2, '[data-test="refusal"]', /./), /tamper|signature|changed/i);
  await context.close();
});

test("a view-only link cannot publish: the button is disabled with why, and the server answers 403", async () => {
  const view = await studioLink("view", { who: "Vic" });
  const context = await studioContext({ viewport: { width: 1100, height: 760 } });
  const page = await openPage(context, server.url + view.link);
  await waitText(page, '[data-test="role"]', /role view/);
  await (await q(page, '[data-test="tab-publish"]')).click();
  const publish = await q(page, '[data-test="publish"]');
  assert.equal(await publish.evaluate((b) => b.disabled), true);
  assert.match(await text(page, '[data-test="publish-why"]'), /“view” role: this needs “publish”/);
  assert.equal(await (await q(page, '[data-test="save-draft"]')).evaluate((b) => b.disabled), true);
  const r = await fetch(`${server.url}/v1/studio/demo/drafts/anything/publish`, { method: "POST", headers: { authorization: `Bearer ${view.token}` } });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error, "studio_token_role");
  await waitText(page, '[data-test="versions"]', /v\d/);
  await shot(page, "view-role");
  await context.close();
});

test("when the Studio's module cannot load, a panel says why with Exit, and the shop's page keeps working", async () => {
  const { link } = await studioLink("publish");
  const context = await studioContext({ viewport: { width: 1100, height: 700 } });
  // The server's /studio/ Wasm answers 404, as a deploy that forgot it would.
  await context.route("**/studio/tailor-studio_bg.wasm", (r) => r.fulfill({ status: 404, contentType: "text/plain", body: "not here" }));
  const page = await openPage(context, server.url + link);
  assert.equal(await waitText(page, ".refused h2", /./), "The Studio could not start");
  assert.match(await text(page, ".refused p"), /did not load: .*404.*tailor-studio_bg\.wasm/);
  assert.equal(await page.evaluate(() => window.__studio.querySelectorAll('[data-test^="tab-"]').length), 0, "no panel is offered");
  // The shopper's SDK still decides on the page, and nothing threw.
  const decided = await page.evaluate(() => tailor("decide", {}, { record: false }));
  assert.ok(decided && decided.experiments, JSON.stringify(decided));
  assert.deepEqual(page.problems.filter((p) => p.startsWith("pageerror")), []);
  // Exit ends it: the page is the shopper's again.
  await (await q(page, ".refused button")).click();
  await page.waitForLoadState("load");
  await page.waitForFunction(() => !document.querySelector("tailor-studio"), null, WAIT);
  await context.close();
});

test("the Studio opens under a strict CSP without a violation, and is usable at 390 px", async () => {
  const policy = "script-src 'nonce-N0nce' 'strict-dynamic' 'wasm-unsafe-eval'; style-src 'self' 'nonce-N0nce'; object-src 'none'; base-uri 'none'";
  const strict = await startServer(["--site", "studio", "--admin-token", TOKEN, "--rate-limit", "0"], { www: join(ROOT, "tests/e2e/pages") });
  const target = new URL(strict.url);
  const proxy = createServer((req, res) => {
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      const headers = { ...r.headers };
      if (String(headers["content-type"] || "").startsWith("text/html")) headers["content-security-policy"] = policy;
      res.writeHead(r.statusCode, headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise((ok) => proxy.listen(0, "127.0.0.1", ok));
  const base = `http://127.0.0.1:${proxy.address().port}`;
  try {
    const doc = { version: 1, placements: {}, experiments: [{ key: "hero", urlPatterns: [{ type: "exact", pattern: "/studio.html" }], variations: [{ key: "control" }, { key: "big", changes: [{ selector: "#hero h1", action: "text", value: "Big news" }] }] }] };
    const pub = await fetch(`${strict.url}/v1/admin/rulesets/studio`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(doc) });
    assert.equal(pub.status, 201);
    const l = await fetch(`${strict.url}/v1/admin/studio-links/studio`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ role: "edit", path: "/studio.html" }) });
    const { link } = await l.json();
    const context = await studioContext({ viewport: { width: 390, height: 844 } });
    await context.addInitScript(() => {
      window.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
    });
    const page = await openPage(context, base + link);
    await waitText(page, '[data-test="role"]', /role edit/);
    await waitText(page, '[data-test="exp-hero"]', /variation/);
    // Force the variation from the Inspect panel with the keyboard.
    const select = await q(page, '[data-test="force-hero"]');
    await select.selectOption("1");
    await page.waitForFunction(() => document.querySelector("#hero h1").textContent === "Big news", null, WAIT);
    // The panel fits the narrow screen and its buttons are on screen.
    const box = await (await q(page, ".panel")).boundingBox();
    assert.ok(box.width <= 390 && box.x >= 0, `panel ${JSON.stringify(box)}`);
    const exit = await (await q(page, '[data-test="exit"]')).boundingBox();
    assert.ok(exit.x + exit.width <= 390, "Exit is on screen");
    await shot(page, "narrow");
    // Keyboard: Escape minimises the panel, the button opens it again.
    await (await q(page, '[data-test="tab-inspect"]')).focus();
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => window.__studio.querySelector(".panel").classList.contains("collapsed"), null, WAIT);
    await (await q(page, '[aria-expanded="false"]')).press("Enter");
    await page.waitForFunction(() => !window.__studio.querySelector(".panel").classList.contains("collapsed"), null, WAIT);
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    assert.deepEqual(page.problems, []);
    // Exit ends the Studio: the page is the shopper's again.
    await (await q(page, '[data-test="exit"]')).click();
    await page.waitForLoadState("load");
    await page.waitForFunction(() => !document.querySelector("tailor-studio"), null, WAIT);
    await context.close();
  } finally {
    await new Promise((ok) => proxy.close(ok));
    await strict.stop();
  }
});

test("docs/studio.md: the CLI command it shows makes a link the server accepts", async () => {
  const { execFileSync } = await import("node:child_process");
  const { BIN, codeBlocks } = await import("./harness.mjs");
  const doc = readFileSync(join(ROOT, "docs/studio.md"), "utf8");
  const line = codeBlocks(doc, "sh").map((b) => b.code).join("\n").split("\n").find((l) => l.startsWith("target/debug/tailor studio link"));
  assert.ok(line, "docs/studio.md shows `tailor studio link`");
  const args = line.split(/\s+/).slice(1);
  // The CLI finds the server's key beside its database (.tailor/tailor.db in its directory).
  const out = execFileSync(BIN, [...args, "--base", server.url], { cwd: server.dir, encoding: "utf8" });
  const [link, token] = out.trim().split("\n");
  assert.match(link, new RegExp(`^${server.url}/\\?tailor_studio=ts1\\.`));
  const r = await fetch(`${server.url}/v1/studio/demo/drafts`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, await r.clone().text());
  // Its role is the one the command names: publishing is allowed (404: no such draft, not 403).
  const p = await fetch(`${server.url}/v1/studio/demo/drafts/none/publish`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  assert.equal(p.status, 404);
});

test("the server serves the Studio at /studio/ with its content types, CORS for any origin and an ETag", async () => {
  const js = await fetch(`${server.url}/studio/tailor-studio.js`, { headers: { origin: "https://shop.example" } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(js.headers.get("access-control-allow-origin"), "*");
  assert.match(js.headers.get("cache-control"), /max-age=300/);
  const etag = js.headers.get("etag");
  assert.match(etag, /^"[0-9a-f]{24}"$/);
  assert.match(await js.text(), /export\s*\{/);
  const again = await fetch(`${server.url}/studio/tailor-studio.js`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  const wasm = await fetch(`${server.url}/studio/tailor-studio_bg.wasm`);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer()).slice(0, 4)], [0, 0x61, 0x73, 0x6d]);
  for (const bad of ["/studio/..%2Fpackage.json", "/studio/.hidden.js", "/studio/nothing.js", "/studio/index.html"]) {
    const r = await fetch(server.url + bad);
    assert.equal(r.status, 404, bad);
    assert.match((await r.json()).message, /no Studio file/);
  }
});

test("preview as a shopper: personas get what the engine gives them, and moving the clock ends a time window", async () => {
  const { link } = await studioLink("view", { who: "Pat" });
  const context = await studioContext({ viewport: { width: 1280, height: 900 } });
  const page = await openPage(context, server.url + link);
  await waitText(page, '[data-test="role"]', /role view/);
  await (await q(page, '[data-test="tab-shoppers"]')).click();
  assert.match(await waitText(page, '[data-test="persona-row-Shoe lover"]', /home-hero/), /running-shoes/);
  assert.match(await text(page, '[data-test="persona-row-New visitor"]'), /home-hero: welcome-10/);
  assert.match(await text(page, '[data-test="persona-row-VIP"]'), /home-hero: vip-early-access/);
  // 1,000 hours on: after the VIP window (until 2027-01-15), VIP no longer gets it.
  const clock = await q(page, '[data-test="clock-hours"]');
  await clock.fill("1000");
  await clock.press("Enter");
  await page.waitForFunction(() => !/vip-early-access/.test(window.__studio.querySelector('[data-test="persona-row-VIP"]')?.textContent), null, WAIT);
  await clock.fill("0");
  await clock.press("Enter");
  await waitText(page, '[data-test="persona-row-VIP"]', /vip-early-access/);
  // Edit a persona; it is kept in this browser under the Studio's key.
  const cats = await q(page, '[data-test="persona-categories-0"]');
  await cats.fill("shoes: 4");
  await cats.press("Enter");
  await waitText(page, '[data-test="persona-row-New visitor"]', /running-shoes|category-banner/);
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem("tailor-studio:personas:demo")));
  assert.deepEqual(kept[0].categories, { shoes: 4 });
  await (await q(page, '[data-test="persona-use-1"]')).click();
  await (await q(page, '[data-test="tab-inspect"]')).click();
  assert.match(await waitText(page, '[data-test="panel-inspect"]', /persona/), /decided for.*persona “Shoe lover”/);
  await (await q(page, '[data-test="tab-shoppers"]')).click();
  await waitText(page, '[data-test="persona-table"]', /VIP/);
  await shot(page, "shoppers");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("personas: traits that are not JSON are refused next to the field and nothing is kept; a persona is added, renamed and removed", async () => {
  const { link } = await studioLink("view", { who: "Pia" });
  const context = await studioContext({ viewport: { width: 1280, height: 900 } });
  const page = await openPage(context, server.url + link);
  await page.evaluate(() => localStorage.removeItem("tailor-studio:personas:demo"));
  await waitText(page, '[data-test="role"]', /role view/);
  await (await q(page, '[data-test="tab-shoppers"]')).click();
  await waitText(page, '[data-test="persona-row-VIP"]', /home-hero/);
  const kept = () => page.evaluate(() => JSON.parse(localStorage.getItem("tailor-studio:personas:demo")));
  // Traits that are not JSON: the message under the field, the persona as it was.
  const traits = await q(page, '[data-test="persona-3"] textarea');
  await traits.fill("{plan: gold");
  await traits.evaluate((t) => t.dispatchEvent(new Event("change", { bubbles: true })));
  assert.match(await waitText(page, '[data-test="persona-3"] .error', /./), /^traits: not JSON \(.+\)$/);
  assert.equal(await kept(), null, "nothing was stored");
  await traits.fill('{"plan": "silver"}');
  await traits.evaluate((t) => t.dispatchEvent(new Event("change", { bubbles: true })));
  await page.waitForFunction(() => !window.__studio.querySelector('[data-test="persona-3"] .error'), null, WAIT);
  assert.deepEqual((await kept())[3].traits, { plan: "silver" });
  // Add a persona, rename it, then remove it: the table follows.
  const add = await page.evaluateHandle(() => [...window.__studio.querySelectorAll("button")].find((b) => b.textContent === "Add a persona"));
  await add.click();
  await waitText(page, '[data-test="persona-row-Persona 5"]', /Persona 5/);
  const name = await q(page, '[data-test="persona-4"] input');
  await name.fill("Night owl");
  await name.press("Enter");
  await waitText(page, '[data-test="persona-row-Night owl"]', /Night owl/);
  assert.deepEqual((await kept()).map((p) => p.name), ["New visitor", "Shoe lover", "Returning buyer", "VIP", "Night owl"]);
  const remove = await page.evaluateHandle(() => [...window.__studio.querySelectorAll('[data-test="persona-0"] button')].find((b) => b.textContent === "Remove"));
  await remove.click();
  await page.waitForFunction(() => !window.__studio.querySelector('[data-test="persona-row-New visitor"]'), null, WAIT);
  assert.deepEqual((await kept()).map((p) => p.name), ["Shoe lover", "Returning buyer", "VIP", "Night owl"]);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("on a single-page section the Studio decides again when the route changes", async () => {
  const { link } = await studioLink("view", { path: "/product.html?sku=trail-runner" });
  const context = await studioContext({ viewport: { width: 1280, height: 800 } });
  const page = await openPage(context, server.url + link);
  await waitText(page, '[data-test="role"]', /role view/);
  await waitText(page, '[data-test="panel-inspect"]', /Other experiments/);
  assert.equal(await page.evaluate(() => window.__studio.querySelector('[data-test="exp-delivery-promise"]')), null);
  await page.click('a[data-tab="delivery"]'); // the page's History API route, no reload
  assert.match(await waitText(page, '[data-test="exp-delivery-promise"]', /variation/), /delivery-promise/);
  const select = await q(page, '[data-test="force-delivery-promise"]');
  await select.selectOption("1");
  await page.waitForFunction(() => document.querySelector("#tab-delivery .promise").textContent === "Order by 14:00 and it ships today.", null, WAIT);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Edit on the page opens the visual editor on the variation's changes, and Done brings the form back", async () => {
  const { link } = await studioLink("edit");
  const context = await studioContext({ viewport: { width: 1280, height: 860 } });
  const page = await openPage(context, server.url + link);
  await waitText(page, '[data-test="role"]', /role edit/);
  await (await q(page, '[data-test="tab-setup"]')).click();
  await (await q(page, '[data-test="edit-visually-1"]')).click();
  // The editor lists the variation's four changes of www/ruleset.json.
  await page.waitForFunction(() => (window.__studio.querySelector('[data-test="visual-editor"]')?.textContent || "").includes("Find your jacket"), null, WAIT);
  await page.waitForFunction(() => document.querySelector("#hero .cta").textContent === "Find your jacket", null, WAIT);
  await shot(page, "visual-editor");
  await (await q(page, '[data-test="editor-done"]')).click();
  await q(page, '[data-test="field-changes-1"]');
  const changes = JSON.parse(await (await q(page, '[data-test="field-changes-1"]')).evaluate((t) => t.value));
  assert.equal(changes.length, 4);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Inspect forces any offer of a placement: the page's SDK answers it, nothing is counted, and the engine's own choice stays in view", async () => {
  const { link } = await studioLink("view", { who: "Ola" });
  const context = await studioContext({ viewport: { width: 1280, height: 900 } });
  const page = await openPage(context, server.url + link);
  await waitText(page, '[data-test="role"]', /role view/);
  // A new shopper gets the welcome offer (or none, in the demo's 5% global holdout): the VIP
  // one is skipped either way.
  const row = await waitText(page, '[data-test="placement-home-hero"]', /skipped: vip-early-access/);
  const natural = /shown: welcome-10/.test(row) ? "welcome-10" : null;
  if (!natural) assert.match(row, /global holdout/);
  const engineChose = await page.evaluate(() => tailor("decide", {}, { record: false }).then((d) => d.placements["home-hero"].offers.map((o) => o.offerId)));
  assert.deepEqual(engineChose, natural ? [natural] : []);
  const before = serverEvents(server).length;
  const select = await q(page, '[data-test="force-offer-home-hero"]');
  assert.deepEqual(await select.evaluate((s) => [...s.options].map((o) => o.value)), ["", "welcome-10", "vip-early-access", "running-shoes"]);
  await select.selectOption("vip-early-access");
  const forced = await waitText(page, '[data-test="placement-home-hero"]', /Forced in the Studio/);
  assert.match(forced, /shown: vip-early-access/);
  assert.match(forced, natural ? /would show: welcome-10/ : /skipped: welcome-10/, "the engine's own choice is still shown");
  assert.match(forced, /skipped: vip-early-access/);
  // The page's own SDK answers the forced offer, with its content, and records nothing.
  const d = await page.evaluate(() => tailor("decide", {}, { record: false }));
  assert.deepEqual(d.placements["home-hero"].offers.map((o) => o.offerId), ["vip-early-access"]);
  assert.equal(d.placements["home-hero"].offers[0].content.title.length > 0, true);
  assert.deepEqual(d.placements["category-banner"].offers.map((o) => o.offerId).includes("vip-early-access"), false, "only the placement picked is forced");
  // The page itself redraws: its "ruleset" listener (www/shop.js) draws the forced offer.
  const vipTitle = ORIGINAL.offers.find((o) => o.id === "vip-early-access").content.title;
  await page.waitForSelector('[data-placement="home-hero"] [data-offer="vip-early-access"]', WAIT);
  assert.equal(await page.textContent('[data-placement="home-hero"] [data-offer="vip-early-access"] strong'), vipTitle);
  assert.equal(await page.locator('[data-placement="home-hero"] [data-offer]').count(), 1, "the forced offer is the one the page shows");
  await (await q(page, '[data-test="placement-home-hero"]')).scrollIntoViewIfNeeded();
  await shot(page, "force-offer");
  // Back to the engine's choice.
  await (await q(page, '[data-test="force-offer-home-hero"]')).selectOption("");
  await page.waitForFunction(() => !/Forced/.test(window.__studio.querySelector('[data-test="placement-home-hero"]')?.textContent), null, WAIT);
  const again = await page.evaluate(() => tailor("decide", {}, { record: false }));
  assert.deepEqual(again.placements["home-hero"].offers.map((o) => o.offerId), engineChose);
  // The page draws the engine's own offer again (shop.js leaves a placement as it was when
  // there is none to draw, as for a shopper in the holdout).
  if (natural) await page.waitForSelector(`[data-placement="home-hero"] [data-offer="${natural}"]`, WAIT);
  await page.waitForTimeout(500);
  assert.equal(serverEvents(server).length, before, "forcing an offer sends nothing");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("the Studio's own listeners: the outlines follow the page's scroll, the panel's narrow layout follows the window's width, Escape in a select leaves the panel open", async () => {
  const { link } = await studioLink("edit");
  const context = await studioContext({ viewport: { width: 1280, height: 600 } });
  const page = await openPage(context, server.url + link);
  await waitText(page, '[data-test="role"]', /role edit/);
  await waitText(page, '[data-test="exp-home-headline"]', /variation/);
  await (await q(page, '[data-test="force-home-headline"]')).selectOption("1");
  await page.waitForFunction(() => window.__studio.querySelectorAll(".outline").length > 0, null, WAIT);
  const top = () => page.evaluate(() => parseFloat(window.__studio.querySelector(".outline").style.top));
  const before = await top();
  const scrolled = await page.evaluate(() => { scrollTo(0, 120); return scrollY; });
  assert.ok(scrolled > 0, "the demo page scrolls");
  await page.waitForFunction((want) => Math.abs(parseFloat(window.__studio.querySelector(".outline").style.top) - want) < 1, before - scrolled, WAIT);
  const narrow = () => page.evaluate(() => window.__studio.querySelector(".panel").classList.contains("narrow"));
  assert.equal(await narrow(), false);
  await page.setViewportSize({ width: 390, height: 600 });
  await page.waitForFunction(() => window.__studio.querySelector(".panel").classList.contains("narrow"), null, WAIT);
  await page.setViewportSize({ width: 1280, height: 600 });
  await page.waitForFunction(() => !window.__studio.querySelector(".panel").classList.contains("narrow"), null, WAIT);
  // Escape closes a select's own list, not the panel.
  await (await q(page, '[data-test="force-home-headline"]')).focus();
  await page.keyboard.press("Escape");
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__studio.querySelector(".panel").classList.contains("collapsed")), false);
  await (await q(page, '[data-test="tab-inspect"]')).focus();
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => window.__studio.querySelector(".panel").classList.contains("collapsed"), null, WAIT);
  assert.deepEqual(page.problems, []);
  await context.close();
});
