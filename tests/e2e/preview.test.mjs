// Studio and preview links in the shopper's SDK (docs/sdk.md, "Studio and preview links"),
// end to end: the built script tag in headless Chromium against the real `tailor serve`.
// A small proxy in front of the server records every request (URL and Referer), serves a
// stand-in Studio module at /studio/tailor-studio.js (tests/e2e/pages/fake-studio.js) that
// records the host it was opened with, and adds a strict Content-Security-Policy when asked.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, newPage, readStore, serverEvents, startProxy, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "preview-test-admin-token";
const SITE = "studio";
const POLICY = "script-src 'nonce-N0nce' 'strict-dynamic' 'wasm-unsafe-eval'; style-src 'self' 'nonce-N0nce'; object-src 'none'; base-uri 'none'";
const WAIT = { timeout: 15000 };

let server;
let proxy;
let base;
let browser;
// What the proxy does: the Studio module it answers with (null: 404) and whether it adds the policy.
const fake = { studio: readFileSync(join(PAGES, "fake-studio.js"), "utf8"), csp: false };
let requests = []; // { url, referer }

before(async () => {
  server = await startServer(["--admin-token", TOKEN], { www: PAGES });
  proxy = await startProxy(server, {
    policy: () => (fake.csp ? POLICY : null),
    answer(req, res) {
      requests.push({ url: req.url, referer: req.headers.referer || "" });
      if (req.url.split("?")[0] !== "/studio/tailor-studio.js") return false;
      if (fake.studio == null) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found");
      } else {
        res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" });
        res.end(fake.studio);
      }
      return true;
    },
  });
  base = proxy.url;
  browser = await launchBrowser();
  await publish(ruleset("Live headline"));
});
after(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.stop();
});

// A ruleset whose one experiment changes the home headline for everyone, and one offer.
const ruleset = (headline) => ({
  version: 1,
  placements: { banner: { limit: 1 } },
  offers: [{ id: "welcome", placements: ["banner"], priority: 1, content: { title: "Welcome" } }],
  experiments: [
    {
      key: "hero",
      urlPatterns: [{ type: "prefix", pattern: "/studio.html" }],
      variations: [{ key: "control" }, { key: "changed", changes: [{ selector: "#hero .title", action: "text", value: headline }] }],
      weights: [0, 1],
    },
  ],
});

async function call(method, path, token, body) {
  const r = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}` }, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function publish(doc) {
  const r = await call("POST", `/v1/admin/rulesets/${SITE}`, TOKEN, doc);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.version;
}

/** A Studio token for the site (as the admin page's button makes it). */
async function studioToken(role = "edit") {
  const r = await call("POST", `/v1/admin/studio-links/${SITE}`, TOKEN, { role, ttl: "10m", who: "Ed" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token;
}

/** Saves `doc` as draft `name` with a Studio token and makes a preview link to studio.html. */
async function previewLink(name, doc, ttl = "10m") {
  const token = await studioToken();
  const saved = await call("PUT", `/v1/studio/${SITE}/drafts/${name}`, token, doc);
  assert.ok(saved.status === 200 || saved.status === 201, JSON.stringify(saved.body));
  const made = await call("POST", `/v1/studio/${SITE}/previews`, token, { draft: name, ttl, path: "/studio.html" });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.match(made.body.link, /^\/studio\.html\?tailor_preview=tp1\./);
  return made.body;
}

/** Loads `path` and waits for the SDK's instance (window.T) and, when `studio`, the Studio's host. */
async function open(page, path, { studio = false } = {}) {
  await page.goto(base + path);
  await page.waitForFunction(() => window.T && window.T.status.ready, null, WAIT);
  await page.evaluate(() => window.T.ready());
  if (studio) await page.waitForFunction(() => window.studioHost, null, WAIT);
}

/** The page's headline, once it is `expected` (or after 5 s, whatever it is then). */
const headline = (page, expected) =>
  page
    .waitForFunction((t) => document.querySelector("#hero .title").textContent === t, expected, { timeout: 5000 })
    .catch(() => {})
    .then(() => page.evaluate(() => document.querySelector("#hero .title").textContent));
const status = (page) => page.evaluate(() => window.T.status);
const outbox = (page) => readStore(page, "tailor:" + SITE, "outbox");
const storedProfile = (page) => readStore(page, "tailor:" + SITE, "state");
const studioRequests = () => requests.filter((r) => r.url.startsWith("/studio/"));

/** Sends the outbox and waits until the server has stored at least `n` events in all. */
async function recorded(page, n) {
  const end = Date.now() + 10000;
  for (;;) {
    await page.evaluate(() => window.T.flush());
    const events = serverEvents(server);
    if (events.length >= n) return events;
    if (Date.now() > end) throw new Error(`the server stored ${events.length} events, expected at least ${n}`);
    await page.waitForTimeout(100);
  }
}

describe("Studio and preview links", () => {
  test("a Studio link: the token leaves the URL at once, the mode survives reloads and route changes, nothing is recorded", { timeout: 90000 }, async () => {
    const page = await newPage(browser);
    // A shopper's visit first: recorded as always.
    await open(page, "/studio.html");
    assert.equal(await headline(page, "Live headline"), "Live headline");
    assert.equal((await status(page)).mode, "live");
    await page.evaluate(() => window.T.track("product_view", { sku: "SKU-1" }));
    const before = await recorded(page, 2); // the experiment's exposure and the product view
    assert.deepEqual(studioRequests(), [], "a shopper's page never asks for the Studio");
    const profileBefore = await storedProfile(page);
    assert.ok(profileBefore.length > 0, "the shopper's profile is stored");

    const token = await studioToken();
    requests = [];
    await open(page, `/studio.html?utm_source=a%20b&tailor_studio=${token}&x=1#top`, { studio: true });
    // Out of the URL (other parameters and the hash kept, byte for byte), history.state kept.
    assert.equal(await page.evaluate(() => window.urlAtInit), `${base}/studio.html?utm_source=a%20b&x=1#top`);
    assert.equal(await page.evaluate(() => location.href), `${base}/studio.html?utm_source=a%20b&x=1#top`);
    assert.deepEqual(await page.evaluate(() => history.state), { shop: "state" });
    assert.equal(await page.evaluate(() => sessionStorage.getItem("tailor:studio")), token);
    // The host the Studio module got.
    const host = await page.evaluate(() => {
      const h = window.studioHost;
      return { mode: h.mode, token: h.token, endpoint: h.endpoint, site: h.site, previewError: h.previewError, same: h.tailor === window.T, exit: typeof h.exit };
    });
    assert.deepEqual(host, { mode: "studio", token, endpoint: base, site: SITE, previewError: null, same: true, exit: "function" });
    assert.equal(studioRequests().length, 1, "the Studio module is imported once");
    const s = await status(page);
    assert.equal(s.mode, "studio");
    assert.equal(s.sending, false);
    // The live page as shoppers see it, and nothing recorded: no track, no exposure, no impression.
    assert.equal(await headline(page, "Live headline"), "Live headline");
    assert.equal(await page.evaluate(() => window.T.track("product_view", { sku: "SKU-2" })), null);
    const d = await page.evaluate(() => window.T.decide({}));
    assert.equal(d.placements.banner.offers[0].offerId, "welcome");
    await page.evaluate(() => window.T.flush());
    await page.waitForTimeout(1500);
    assert.deepEqual(await outbox(page), [], "the outbox stays empty");
    assert.equal(serverEvents(server).length, before.length, "the server received no event");
    assert.deepEqual(await storedProfile(page), profileBefore, "the stored profile is untouched");

    // A reload keeps the mode (sessionStorage), without the token in the URL.
    await page.evaluate(() => (window.studioHost = null));
    await page.reload();
    await page.waitForFunction(() => window.T && window.studioHost, null, WAIT);
    assert.equal((await status(page)).mode, "studio");
    await open(page, "/studio.html?x=2", { studio: true });
    assert.equal((await status(page)).mode, "studio");
    assert.equal(await page.evaluate(() => location.search), "?x=2");
    // A route change of a single-page app keeps it too.
    await page.evaluate(() => history.pushState({}, "", "/studio.html?route=2"));
    await page.evaluate(() => window.T.track("page_view"));
    assert.equal((await status(page)).mode, "studio");
    assert.equal(studioRequests().length, 3, "each page of the tab opens the Studio");
    // The token went nowhere but the page's own navigation.
    const carrying = requests.filter((r) => r.url.includes(token));
    assert.deepEqual(carrying.map((r) => r.url.split("?")[0]), ["/studio.html"], "only the link's own page load carries the token");
    const later = requests.filter((r) => r.url.startsWith("/v1/") || r.url.startsWith("/studio/") || r.url.endsWith(".wasm"));
    assert.ok(later.length >= 3, JSON.stringify(later));
    assert.deepEqual(later.filter((r) => r.referer.includes(token)), [], "no request after the SDK started sends it as Referer");

    // Leaving: tailor_studio=off, and the next visit records again.
    await open(page, "/studio.html?tailor_studio=off");
    assert.equal(await page.evaluate(() => location.search), "");
    assert.equal((await status(page)).mode, "live");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("tailor:studio")), null);
    await page.evaluate(() => window.T.track("product_view", { sku: "SKU-3" }));
    const afterwards = await recorded(page, before.length + 2);
    assert.ok(afterwards.some((e) => e.type === "product_view" && e.props.sku === "SKU-3"));
    assert.ok(!afterwards.some((e) => e.props && e.props.sku === "SKU-2"), "what was tracked in the Studio never arrives");
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("the Studio's host API: forced variations, a held ruleset, the engine's inputs, a decision made elsewhere applied; nothing recorded", { timeout: 60000 }, async () => {
    const page = await newPage(browser);
    const token = await studioToken();
    await open(page, `/studio.html?tailor_studio=${token}`, { studio: true });
    const events = serverEvents(server).length;
    // Forced variations, over tailor_force; a wrong one is a TypeError naming it.
    const forced = await page.evaluate(() => {
      const d = window.T.decide({}, { record: false, forced: { hero: 0 } });
      return d.experiments.find((x) => x.key === "hero").variation;
    });
    assert.equal(forced, 0);
    const wrong = await page.evaluate(() => {
      try {
        window.T.decide({}, { record: false, forced: { hero: "b" } });
      } catch (e) {
        return [e instanceof TypeError, e.message];
      }
    });
    assert.deepEqual(wrong, [true, "Tailor.decide: options.forced.hero must be a variation index (0, 1, ...), not \"b\""]);
    // studioState: the stored profile as the engine's JSON text and the page context.
    const state = await page.evaluate(() => window.T.studioState());
    assert.equal(JSON.parse(state.profile).anonymousId, (await status(page)).anonymousId);
    assert.equal(state.context.url, base + "/studio.html");
    // A decision made by the engine elsewhere (the Studio's copy), handed to applyChanges.
    const applied = await page.evaluate(() =>
      window.T.applyChanges({
        experiments: [{ key: "studio-edit", variation: 1, changes: [{ selector: "#hero .cta", action: "text", value: "Edited in the Studio" }], css: "#hero { outline: 3px solid rgb(255, 0, 0) }" }],
        pageExposures: [{ type: "experiment_exposure", experimentKey: "studio-edit", variation: 1 }],
      }),
    );
    assert.ok(applied.includes("studio-edit"), JSON.stringify(applied));
    await page.waitForFunction(() => document.querySelector("#hero .cta").textContent === "Edited in the Studio", null, WAIT);
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero")).outlineColor), "rgb(255, 0, 0)");
    // setRuleset holds over the server's updates until setRuleset(null).
    await page.evaluate(() => window.T.setRuleset({ version: 1, placements: {}, offers: [], experiments: [] }));
    assert.equal((await status(page)).rulesetVersion, 0);
    const published = await publish(ruleset("Live headline"));
    const refreshed = await page.evaluate(() => window.T.refreshRuleset());
    assert.equal(refreshed.error, null);
    assert.equal((await status(page)).rulesetVersion, 0, "the Studio's ruleset holds");
    await page.evaluate(() => window.T.setRuleset(null));
    assert.equal((await status(page)).rulesetVersion, published, "back to the live ruleset, with what was published meanwhile");
    await page.evaluate(() => window.T.revertChanges());
    assert.equal(await page.evaluate(() => document.querySelector("#hero .cta").textContent), "Shop now");
    await page.evaluate(() => window.T.flush());
    await page.waitForTimeout(500);
    assert.deepEqual(await outbox(page), []);
    assert.equal(serverEvents(server).length, events, "nothing recorded");
    assert.deepEqual(page.problems, []);
    await page.evaluate(() => window.studioHost.exit());
    await page.waitForFunction(() => window.T && window.T.status.mode === "live", null, WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("tailor:studio")), null, "exit() ends the mode");
    await page.context().close();
  });

  test("the Studio module is loaded under a strict CSP (nonce + 'strict-dynamic'); a failure to load it leaves the page working", { timeout: 60000 }, async () => {
    const token = await studioToken();
    fake.csp = true;
    try {
      const page = await newPage(browser);
      await page.context().addInitScript(() => {
        window.violations = [];
        document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective + " " + e.blockedURI));
      });
      const r = await page.goto(`${base}/studio.html?tailor_studio=${token}`);
      assert.equal(r.headers()["content-security-policy"], POLICY);
      await page.waitForFunction(() => window.T && window.studioHost, null, WAIT);
      assert.equal(await page.evaluate(() => window.studioHost.mode), "studio");
      assert.equal(await headline(page, "Live headline"), "Live headline");
      assert.deepEqual(await page.evaluate(() => window.violations), []);
      assert.deepEqual(page.problems, []);
      await page.context().close();
    } finally {
      fake.csp = false;
    }
    // The module missing (404) or throwing: a warning and a problem, the page keeps working.
    for (const [body, expected] of [
      [null, "studio: the Studio could not open: "],
      ["export function open() { throw new Error('the Studio broke'); }", "studio: the Studio could not open: the Studio broke"],
    ]) {
      fake.studio = body;
      try {
        const page = await newPage(browser);
        await open(page, `/studio.html?tailor_studio=${token}`);
        await page.waitForFunction(() => window.T.status.problems.some((p) => p.startsWith("studio: ")), null, WAIT);
        const problems = (await status(page)).problems.filter((p) => p.startsWith("studio: "));
        assert.equal(problems.length, 1);
        assert.ok(problems[0].startsWith(expected), problems[0]);
        // (the browser's own line for the 404 aside)
        const warnings = page.problems.filter((p) => !p.startsWith("error: Failed to load resource"));
        assert.equal(warnings.length, 1, page.problems.join("\n"));
        assert.ok(warnings[0].startsWith("warning: [tailor] " + expected), warnings[0]);
        assert.equal(await headline(page, "Live headline"), "Live headline");
        assert.equal((await status(page)).mode, "studio");
        await page.context().close();
      } finally {
        fake.studio = readFileSync(join(PAGES, "fake-studio.js"), "utf8");
      }
    }
  });

  test("a preview link shows the draft's page change, never cached nor replaced by live updates, nothing recorded", { timeout: 60000 }, async () => {
    const made = await previewLink("summer", ruleset("Draft headline"));
    const page = await newPage(browser);
    const events = serverEvents(server).length;
    requests = [];
    await open(page, made.link, { studio: true });
    assert.equal(await headline(page, "Draft headline"), "Draft headline");
    assert.equal(await page.evaluate(() => location.href), base + "/studio.html");
    const s = await status(page);
    assert.equal(s.mode, "preview");
    assert.equal(s.rulesetVersion, 0, "the preview's envelope (version 0) is in use");
    assert.deepEqual(s.problems, []);
    const host = await page.evaluate(() => ({ mode: window.studioHost.mode, token: window.studioHost.token, previewError: window.studioHost.previewError }));
    assert.deepEqual(host, { mode: "preview", token: made.token, previewError: null });
    // The token went to the preview endpoint only.
    const carrying = requests.filter((r) => r.url.includes(made.token)).map((r) => r.url.split("?")[0]);
    assert.deepEqual(carrying, ["/studio.html", `/v1/studio/${SITE}/preview`]);
    // A live update or refreshRuleset() does not replace it while previewing.
    const published = await publish(ruleset("Live headline"));
    assert.equal((await page.evaluate(() => window.T.refreshRuleset())).error, null);
    assert.equal((await status(page)).rulesetVersion, 0);
    // Never cached: the cache keeps the live envelope.
    const cached = await page.evaluate((site) => localStorage.getItem("tailor:" + site + ":ruleset"), SITE);
    assert.ok(cached && !cached.includes("Draft headline") && JSON.parse(cached).version === published, String(cached).slice(0, 200));
    assert.equal(await headline(page, "Draft headline"), "Draft headline");
    await page.evaluate(() => window.T.track("add_to_cart", { sku: "SKU-9", price: 10 }));
    await page.evaluate(() => window.T.flush());
    await page.waitForTimeout(1000);
    assert.deepEqual(await outbox(page), []);
    assert.equal(serverEvents(server).length, events, "0 events from a preview");
    // A reload keeps the preview (sessionStorage).
    await page.reload();
    await page.waitForFunction(() => window.T && window.T.status.ready, null, WAIT);
    assert.equal(await headline(page, "Draft headline"), "Draft headline");
    assert.equal((await status(page)).mode, "preview");
    // Back to the live ruleset.
    await page.evaluate(() => window.T.setRuleset(null));
    assert.equal((await status(page)).rulesetVersion, published);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("an expired or tampered preview token keeps the live page, with the server's message", { timeout: 60000 }, async () => {
    const expired = await previewLink("soon", ruleset("Draft headline"), "1s");
    await new Promise((r) => setTimeout(r, 1200));
    const good = await previewLink("good", ruleset("Draft headline"));
    // One character of the signature changed.
    const last = good.token.at(-2);
    const tampered = good.token.slice(0, -2) + (last === "A" ? "B" : "A") + good.token.at(-1);
    for (const [token, message] of [
      [expired.token, /^preview: the preview link expired at .* UTC: ask for a new one; the live ruleset stays in use$/],
      [tampered, /^preview: the preview token was tampered with: its signature does not match \(or another server made it\); the live ruleset stays in use$/],
    ]) {
      const page = await newPage(browser);
      await open(page, `/studio.html?tailor_preview=${token}`, { studio: true });
      assert.equal(await headline(page, "Live headline"), "Live headline");
      const s = await status(page);
      assert.equal(s.mode, "preview");
      assert.ok(s.rulesetVersion > 0, "the live ruleset is in use");
      assert.equal(s.problems.length, 1, JSON.stringify(s.problems));
      assert.match(s.problems[0], message);
      assert.equal(await page.evaluate(() => window.studioHost.previewError), s.problems[0]);
      assert.equal(await page.evaluate(() => location.search), "");
      // (the browser's own line for the refused request aside)
      assert.deepEqual(page.problems.filter((p) => !p.startsWith("error: Failed to load resource")), []);
      await page.context().close();
    }
  });

  test("a parameter that is not a token of its kind is removed and ignored, with a warning", { timeout: 30000 }, async () => {
    const page = await newPage(browser);
    const studio = await studioToken();
    // A Studio token given as a preview token, and garbage.
    await open(page, `/studio.html?tailor_preview=${studio}&a=1`);
    assert.equal(await page.evaluate(() => location.search), "?a=1");
    assert.equal((await status(page)).mode, "live");
    assert.deepEqual(page.problems, ["warning: [tailor] ignored tailor_preview: not a preview token"]);
    await open(page, "/studio.html?tailor_studio=%3Cscript%3E");
    assert.equal(await page.evaluate(() => location.search), "");
    assert.equal((await status(page)).mode, "live");
    assert.equal(page.problems[1], "warning: [tailor] ignored tailor_studio: not a studio token");
    assert.deepEqual(studioRequests().filter((r) => r.referer.includes("/studio.html?tailor_")), []);
    await page.context().close();
  });
});
