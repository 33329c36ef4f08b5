// The Studio in Chromium, Firefox ESR and WebKitGTK (issue 15), against the real `tailor serve`
// and its real Studio module: a Studio link opens it on tests/e2e/pages/engines-studio.html,
// Inspect lists the page's experiment and the offers by placement, forcing a variation changes
// the page, and nothing is recorded (the server's SQLite file gets no event for the site); the same under a strict Content-Security-Policy (added by the harness's proxy) with no
// violation; a preview link shows a saved draft, marked, and records nothing either.
// The Studio's shadow root is closed: tests/e2e/pages/engines-probe.js, loaded first by the
// page, keeps it as window.__studio (WebDriver classic has no init script).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishRuleset, startProxy, startServer, storedEvents } from "./harness.mjs";
import { forEachEngine, styleWithoutNonce } from "./each_engine.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "engines-studio-admin-token";
const SITE = "studio"; // tests/e2e/pages/studio-init.js
const POLICY = "script-src 'nonce-N0nce' 'strict-dynamic' 'wasm-unsafe-eval'; style-src 'self' 'nonce-N0nce'; object-src 'none'; base-uri 'none'";
const ORIGINAL = "Welcome to the shop";
const FORCED = "Big news";
const DRAFT = "A draft's button";
const SHOTS = mkdtempSync(join(tmpdir(), "tailor-engines-studio-"));

// Everyone gets the control: only forcing (or the draft) shows the other variation.
const ruleset = (weights, headline) => ({
  version: 1,
  placements: { banner: { limit: 1 } },
  offers: [{ id: "welcome", placements: ["banner"], priority: 1, content: { title: "Welcome" } }],
  experiments: [
    {
      key: "hero",
      weights,
      urlPatterns: [{ type: "prefix", pattern: "/engines-studio.html" }],
      variations: [{ key: "control" }, { key: "big", changes: [{ selector: "#hero h1", action: "text", value: headline }] }],
    },
  ],
});

let server;
let proxy;
before(async () => {
  server = await startServer(["--admin-token", TOKEN, "--rate-limit", "0"], { www: PAGES });
  proxy = await startProxy(server, { policy: POLICY });
  await publishRuleset(server, TOKEN, SITE, ruleset([1, 0], FORCED));
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

async function call(method, path, token, body) {
  const r = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}` }, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A Studio link (as the admin page's button makes it) to the fixture page: `{ link, token }`. */
async function studioLink(role = "edit") {
  const r = await call("POST", `/v1/admin/studio-links/${SITE}`, TOKEN, { role, ttl: "10m", who: "Eng", path: "/engines-studio.html" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

// In the page: the text of the Studio's element `selector` once it matches `pattern`, or
// rejects with what it says after `ms`.
function studioText(selector, pattern, ms) {
  return new Promise((ok, fail) => {
    const end = Date.now() + ms;
    (function poll() {
      const el = window.__studio && window.__studio.querySelector(selector);
      const text = el ? el.textContent : null;
      if (text !== null && new RegExp(pattern).test(text)) return ok(text);
      if (Date.now() > end) return fail(new Error(`${selector} did not match /${pattern}/: it says ${JSON.stringify(text)}`));
      setTimeout(poll, 50);
    })();
  });
}

// In the page: the text of `selector` once it is `want`, or what it is after `ms`.
function textOf(selector, want, ms) {
  return new Promise((ok) => {
    const end = Date.now() + ms;
    (function poll() {
      const text = document.querySelector(selector).textContent;
      if (text === want || Date.now() > end) return ok(text);
      setTimeout(poll, 50);
    })();
  });
}

// In the page: a shopper's calls, which record nothing in the Studio's modes; then a flush.
async function shopperCalls() {
  const t = await new Promise((ok) => tailor("ready", ok));
  const id = await t.track("page_view", { path: location.pathname });
  await t.decide({});
  const flush = await t.flush();
  await new Promise((r) => setTimeout(r, 500));
  return { id, flush, url: location.href };
}

// In the page: lets the page record what it records at load (its exposures), then sends
// the outbox until nothing is left to send.
async function settle() {
  const t = await new Promise((ok) => tailor("ready", ok));
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 20 && (await t.flush()).pending > 0; i++) await new Promise((r) => setTimeout(r, 100));
}

forEachEngine((name, engine) => {
  const text = (selector, pattern, ms = 20000) => engine.evaluate(studioText, selector, pattern.source, ms);

  /** Opens a Studio link on `base`, checks Inspect, forces variation 1; answers the page's probe. */
  async function studioRun(t, base, label) {
    const { link } = await studioLink();
    const before = storedEvents(server, SITE).length;
    await engine.goto(base + link);
    assert.match(await text('[data-test="role"]', /role edit/), /Eng/);
    assert.equal(await engine.evaluate(() => window.__studio.mode), "closed", "the Studio's shadow root is closed");
    assert.match(await text('[data-test="exp-hero"]', /variation/), /variation 0 \(control\)/);
    const inspect = await text('[data-test="panel-inspect"]', /Offers by placement/);
    assert.match(inspect, /Offers by placement\s*banner\s*shown: welcome/, "the placements and their offers: " + inspect);
    assert.equal(await engine.evaluate(textOf, "#hero h1", ORIGINAL, 0), ORIGINAL);
    // Force variation 1 from the Inspect panel (its select, as a merchandiser picks it).
    await engine.evaluate(() => {
      const select = window.__studio.querySelector('[data-test="force-hero"]');
      select.value = "1";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    assert.equal(await engine.evaluate(textOf, "#hero h1", FORCED, 15000), FORCED, "forcing the variation changed the page");
    await text('[data-test="exp-hero"]', /variation 1 \(big\)/);
    const shot = join(SHOTS, `studio-${label}-${name}.png`);
    await engine.screenshot(shot);
    t.diagnostic(`${name}: screenshot of the Studio in ${shot}`);
    const calls = await engine.evaluate(shopperCalls);
    assert.doesNotMatch(calls.url, /tailor_studio/, "the token left the address bar");
    assert.equal(storedEvents(server, SITE).length, before, "nothing recorded in the Studio: " + JSON.stringify(calls));
    return engine.evaluate(() => window.__probe);
  }

  test("a Studio link opens the Studio: Inspect lists the experiment and the placements, forcing a variation changes the page, nothing is recorded", { timeout: 120000 }, async (t) => {
    t.diagnostic(`${name}: ${engine.version}`);
    const probe = await studioRun(t, server.url, "open");
    assert.equal(probe.ran, 0);
    if (name === "webkit") t.diagnostic("webkit: WebKitWebDriver reports no console messages, so the page's console is not checked here");
    else assert.deepEqual(engine.problems, [], "no console errors");
  });

  test("the Studio under a strict CSP (nonce, 'strict-dynamic'): the same, with no policy violation", { timeout: 120000 }, async (t) => {
    const probe = await studioRun(t, proxy.url, "csp");
    assert.deepEqual(probe.violations, [], "policy violations");
    // The listener does count: a style without the nonce is refused and reported.
    const refused = await styleWithoutNonce(engine);
    assert.ok(refused.some((v) => /^style-src/.test(v)), "the policy is in force: " + JSON.stringify(refused));
  });

  test("a preview link shows the saved draft with its banner, and records nothing", { timeout: 120000 }, async (t) => {
    // Leave the Studio mode of the tests before (kept in this tab's sessionStorage).
    await engine.goto(`${server.url}/engines-studio.html?tailor_studio=off`);
    // That visit is a shopper's, recorded: sent now, so that nothing of it arrives later
    // (by the beacon of its pagehide) and is counted against the preview.
    await engine.evaluate(settle);
    const { token } = await studioLink();
    const draft = `engines-${name}`;
    // The draft adds an experiment for everyone (the shopper's sticky variation of "hero",
    // from the visit just made, would keep the control whatever its weights).
    const doc = ruleset([1, 0], FORCED);
    doc.experiments.push({
      key: "draft-cta",
      weights: [0, 1],
      urlPatterns: [{ type: "prefix", pattern: "/engines-studio.html" }],
      variations: [{ key: "control" }, { key: "new", changes: [{ selector: "#hero .cta", action: "text", value: DRAFT }] }],
    });
    const saved = await call("PUT", `/v1/studio/${SITE}/drafts/${draft}`, token, doc);
    assert.ok(saved.status === 200 || saved.status === 201, JSON.stringify(saved.body));
    const made = await call("POST", `/v1/studio/${SITE}/previews`, token, { draft, ttl: "10m", path: "/engines-studio.html" });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const before = storedEvents(server, SITE).length;
    await engine.goto(server.url + made.body.link);
    assert.match(await text(".banner", /Preview/), new RegExp(`Preview of draft “${draft}”: not counted`));
    assert.equal(await engine.evaluate(textOf, "#hero .cta", DRAFT, 15000), DRAFT, "the draft's variation is on the page");
    const version = await engine.evaluate(() => new Promise((ok) => tailor("ready", (t) => ok(t.status.rulesetVersion))));
    assert.equal(version, 0, "the page holds the draft (a preview envelope is version 0)");
    await engine.screenshot(join(SHOTS, `studio-preview-${name}.png`));
    const calls = await engine.evaluate(shopperCalls);
    assert.equal(storedEvents(server, SITE).length, before, "nothing recorded in a preview: " + JSON.stringify(calls));
    // Out of preview, the same browser is a shopper again: the live ruleset, and recorded.
    await engine.goto(`${server.url}/engines-studio.html?tailor_studio=off`);
    assert.equal(await engine.evaluate(textOf, "#hero .cta", "Shop now", 5000), "Shop now", "the draft is gone");
    const shopper = await engine.evaluate(shopperCalls);
    assert.ok(storedEvents(server, SITE).some((e) => e.id === shopper.id), "the shopper's page view is stored: " + JSON.stringify(shopper));
    t.diagnostic(`${name}: screenshots in ${SHOTS}`);
  });
});
