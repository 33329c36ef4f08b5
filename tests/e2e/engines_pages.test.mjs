// Page changes in Chromium, Firefox ESR and WebKitGTK (issue 15), from a signed ruleset the
// real `tailor serve` published, on tests/e2e/pages/engines-pages.html under a strict
// Content-Security-Policy (added by the harness's proxy): every action of the page-change
// format (docs/ruleset.md, "Page changes"), page CSS with the page's nonce, HTML sanitised, a
// redirect; single-page navigation (pushState takes the changes off, popstate puts them back);
// the head snippet's anti-flicker hide on a returning visit and its release by the timeout
// when the SDK cannot run. Everything is checked by reading the DOM in each engine;
// tests/e2e/pages/engines-probe.js records what happens before the test can look.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishRuleset, startProxy, startServer } from "./harness.mjs";
import { forEachEngine, styleWithoutNonce } from "./each_engine.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "engines-pages-admin-token";
const POLICY = "script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'nonce-N0nce'; object-src 'none'; base-uri 'none'";
const CHANGED = "Changed in every engine";
const ORIGINAL = "Welcome to the shop";
const TIMEOUT = 2000; // the head snippet's data-timeout on engines-pages.html (headroom on a loaded machine)
const SHOTS = mkdtempSync(join(tmpdir(), "tailor-engines-pages-")); // the head snippet's data-timeout on engines-pages.html

const CHANGES = [
  { selector: ["#hero h1", ".title"], fingerprint: "Welcome", action: "text", value: CHANGED },
  // Sanitised by the server when published, and by the SDK again: no script, no handler.
  { selector: "#hero .lead", action: "html", value: 'Now <strong>20%</strong> off <a href="/sale">everything</a><script>__xss()</script><img src="/img-b.svg" onerror="__xss()">' },
  { selector: "#hero .cta", action: "attribute", name: "href", value: "/sale?from=engines" },
  { selector: "#hero .cta", action: "addClass", value: "cta-big" },
  { selector: "#hero .cta", action: "removeClass", value: "old" },
  { selector: "#hero .cta", action: "style", name: "background-color", value: "#b91c1c" },
  { selector: "#hero", action: "insertBefore", value: '<p class="ribbon">Free delivery this week</p>' },
  { selector: "#hero h1", action: "insertAfter", value: '<p class="after">Only online</p>' },
  { selector: "#list", action: "prepend", value: '<li class="pre">Zero</li>' },
  { selector: "#list", action: "append", value: '<li class="app">Last</li>' },
  { selector: "#second", action: "move", target: "#first", position: "before" },
  { selector: "#hero .badge", action: "hide" },
  { selector: "#pic", action: "attribute", name: "src", value: "/img-b.svg" },
  { selector: "#pic", action: "attribute", name: "alt", value: "A red coat" },
];
const CSS = "#hero .title { letter-spacing: 3px } .ribbon { color: rgb(200, 0, 0) }";
const RULESET = {
  version: 1,
  placements: {},
  offers: [],
  experiments: [
    { key: "pages-all", weights: [0, 1], urlPatterns: [{ type: "exact", pattern: "/engines-pages.html" }], variations: [{ key: "control" }, { key: "changed", changes: CHANGES, css: CSS }] },
    {
      key: "pages-route",
      weights: [0, 1],
      urlPatterns: [{ type: "prefix", pattern: "/engines-pages/" }],
      variations: [{ key: "control" }, { key: "changed", changes: [{ selector: "#hero .lead", action: "text", value: "On the other route" }] }],
    },
    { key: "pages-redirect", weights: [0, 1], urlPatterns: [{ type: "exact", pattern: "/engines.html" }], variations: [{ key: "control" }, { key: "away", redirect: { url: "/engines-pages.html", keepQuery: true } }] },
  ],
};

// What the page shows before any change (as `readDom` reads it).
const UNCHANGED = {
  headline: ORIGINAL,
  lead: "Everything for the season.",
  href: "/old",
  classes: "cta old",
  ctaColour: "rgb(69, 123, 157)",
  before: null,
  after: "Everything for the season.",
  list: ["First", "Second"],
  badge: "inline",
  pic: { src: "/img-a.svg", alt: "A coat" },
  style: null,
  spacing: "normal",
};

let server;
let proxy;
let published;
before(async () => {
  server = await startServer(["--admin-token", TOKEN, "--rate-limit", "0"], { www: PAGES });
  proxy = await startProxy(server, { policy: POLICY });
  published = await publishRuleset(server, TOKEN, "pages", RULESET);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

// In the page: what the changes touch, read from the DOM, once `read[key]` equals `want` (as
// JSON), or as it is after `ms`. (One function: the page's policy allows no eval.)
function readDom(key, want, ms) {
  const read = () => {
    const cta = document.querySelector("#hero .cta");
    const style = document.querySelector('style[data-tailor="pages-all"]');
    const ribbon = document.querySelector(".ribbon");
    const pic = document.querySelector("#pic");
    const before = document.querySelector("#hero").previousElementSibling;
    return {
      headline: document.querySelector("#hero h1").textContent,
      lead: document.querySelector("#hero .lead").innerHTML,
      href: cta.getAttribute("href"),
      classes: cta.className,
      ctaColour: getComputedStyle(cta).backgroundColor,
      before: before ? before.outerHTML : null,
      after: document.querySelector("#hero h1").nextElementSibling.textContent,
      list: [...document.querySelectorAll("#list li")].map((li) => li.textContent),
      badge: getComputedStyle(document.querySelector("#hero .badge")).display,
      pic: { src: pic.getAttribute("src"), alt: pic.alt },
      style: style ? { nonce: style.nonce, ribbon: ribbon && getComputedStyle(ribbon).color } : null,
      spacing: getComputedStyle(document.querySelector("#hero h1")).letterSpacing,
    };
  };
  return new Promise((ok) => {
    const end = Date.now() + ms;
    (function poll() {
      let now;
      try {
        now = read();
      } catch (e) {
        now = { error: String(e) };
      }
      if (JSON.stringify(now[key]) === JSON.stringify(want) || Date.now() > end) return ok(now);
      setTimeout(poll, 50);
    })();
  });
}

forEachEngine((name, engine) => {
  const until = (key, want, ms = 15000) => engine.evaluate(readDom, key, want, ms);
  const problems = () => engine.evaluate(() => new Promise((ok) => tailor("ready", (t) => ok(t.status.problems))));

  test("every change action, page CSS by nonce and sanitised HTML apply under a strict CSP; pushState takes them off, popstate puts them back", { timeout: 120000 }, async (t) => {
    t.diagnostic(`${name}: ${engine.version}`);
    assert.ok(published.sanitised && published.sanitised.length > 0, "the server sanitised the HTML value: " + JSON.stringify(published));
    await engine.goto(`${proxy.url}/engines-pages.html`);
    const seen = await until("list", ["Zero", "Second", "First", "Last"]);
    assert.deepEqual(seen, {
      headline: CHANGED,
      lead: 'Now <strong>20%</strong> off <a href="/sale" rel="noopener noreferrer">everything</a><img src="/img-b.svg">',
      href: "/sale?from=engines",
      classes: "cta cta-big",
      ctaColour: "rgb(185, 28, 28)",
      before: '<p class="ribbon">Free delivery this week</p>',
      after: "Only online",
      list: ["Zero", "Second", "First", "Last"],
      badge: "none",
      pic: { src: "/img-b.svg", alt: "A red coat" },
      style: { nonce: "N0nce", ribbon: "rgb(200, 0, 0)" },
      spacing: "3px",
    });
    const image = await engine.evaluate(() => {
      const pic = document.querySelector("#pic");
      return new Promise((ok) => (pic.complete ? ok() : pic.addEventListener("load", ok))).then(() => ({ loaded: pic.naturalWidth, src: pic.currentSrc }));
    });
    assert.ok(image.loaded > 0 && image.src.endsWith("/img-b.svg"), "the new image is shown: " + JSON.stringify(image));
    const probe = await engine.evaluate(() => window.__probe);
    assert.deepEqual(probe.violations, [], "policy violations");
    assert.equal(probe.ran, 0, "code from the ruleset ran");
    assert.equal(await engine.evaluate(() => document.querySelectorAll("#hero script, #hero [onerror]").length), 0);
    assert.deepEqual(await problems(), []);
    const shot = join(SHOTS, `engines-pages-${name}.png`);
    await engine.screenshot(shot);
    t.diagnostic(`${name}: screenshot of the changed page in ${shot}`);

    // A route of the single-page app that the experiment does not target: everything is taken off.
    await engine.evaluate(() => history.pushState({}, "", "/engines-pages/other"));
    const off = await until("lead", "On the other route");
    assert.deepEqual(off, { ...UNCHANGED, lead: "On the other route", after: "On the other route" }, "pushState reverted pages-all and applied pages-route");
    // Back (popstate): the first experiment's changes again.
    await engine.evaluate(() => history.back());
    const again = await until("list", ["Zero", "Second", "First", "Last"]);
    assert.equal(again.headline, CHANGED, JSON.stringify(again));
    assert.equal(again.before, '<p class="ribbon">Free delivery this week</p>');
    assert.equal(await engine.evaluate(() => location.pathname), "/engines-pages.html");
    assert.deepEqual((await engine.evaluate(() => window.__probe)).violations, []);
    if (name === "webkit") t.diagnostic("webkit: WebKitWebDriver reports no console messages, so the page's console is not checked here");
    else assert.deepEqual(engine.problems, [], "no console errors");
    // The listener does count: a style without the nonce is refused and reported.
    const refused = await styleWithoutNonce(engine);
    assert.ok(refused.some((v) => /^style-src/.test(v)), "the policy is in force: " + JSON.stringify(refused));
  });

  test("anti-flicker: a returning visit hides the changed elements until they are changed; without WebAssembly the hide is released by its timeout", { timeout: 120000 }, async () => {
    // The first test's visit stored the hide list; this visit is a returning one.
    const hide = await engine.evaluate(() => JSON.parse(localStorage.getItem("tailor:pages:hide") || "{}"));
    assert.ok(hide["/engines-pages.html"] && hide["/engines-pages.html"].includes("#hero h1"), "the hide list: " + JSON.stringify(hide));
    await engine.goto(`${proxy.url}/engines-pages.html`);
    await until("headline", CHANGED);
    const p = await engine.evaluate((ms) => new Promise((ok) => setTimeout(() => ok(window.__probe), ms)), TIMEOUT + 200);
    assert.ok(p.shield, "the head snippet hid the changed elements: " + JSON.stringify(p));
    assert.equal(p.shield.nonce, "N0nce", "with the page's style nonce");
    assert.equal(p.inserted.visibility, "hidden", "the headline was hidden when the parser inserted it");
    assert.ok(p.shown, "the hide was released");
    assert.equal(p.shown.text, CHANGED, "released once the headline was changed: no frame of the original");
    assert.ok(p.shown.t - p.shield.t < TIMEOUT, `released by the SDK before the timeout (${Math.round(p.shown.t - p.shield.t)} ms)`);
    assert.deepEqual(p.violations, []);

    // A browser where the SDK cannot run: the hide goes at its timeout, the page is the page's own.
    await engine.goto(`${proxy.url}/engines-pages.html?nowasm=1`);
    const q = await engine.evaluate((ms) => new Promise((ok) => setTimeout(() => ok({ probe: window.__probe, wasm: typeof WebAssembly, headline: document.querySelector("#hero h1").textContent, visibility: getComputedStyle(document.querySelector("#hero h1")).visibility }), ms)), TIMEOUT + 1500);
    assert.equal(q.wasm, "undefined");
    assert.ok(q.probe.shield && q.probe.shown, "hidden, then released: " + JSON.stringify(q.probe));
    const hidden = q.probe.shown.t - q.probe.shield.t;
    assert.ok(hidden >= TIMEOUT - 50 && hidden < TIMEOUT + 1500, `released by the timeout after ${Math.round(hidden)} ms (data-timeout ${TIMEOUT})`);
    assert.deepEqual([q.headline, q.visibility], [ORIGINAL, "visible"]);
  });

  test("a redirect variation sends the shopper on with the query kept, and the target page gets its changes", { timeout: 120000 }, async () => {
    // engines.html's own snippet is inline: served without the policy, straight from the server.
    await engine.goto(`${server.url}/engines.html?site=pages&from=ad`);
    const end = Date.now() + 15000;
    let at = null;
    while (Date.now() < end) {
      at = await engine.evaluate(() => location.pathname + location.search).catch(() => null);
      if (at && at.startsWith("/engines-pages.html")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(at, "/engines-pages.html?site=pages&from=ad");
    const seen = await until("headline", CHANGED);
    assert.equal(seen.headline, CHANGED);
  });
});
