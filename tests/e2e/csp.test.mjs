// A page with a strict Content-Security-Policy: the SDK loaded by script tag (its snippet an
// external file), page changes of every action applied, page CSS with the page's nonce, and
// a securitypolicyviolation listener installed before any page script. Then the XSS corpus
// (tests/vectors/xss.json) through every change type, in a signed ruleset the real server
// published, applied on that page: nothing runs, nothing is refused by the policy.
//
// `tailor serve --www` serves files without per-page headers, so the test puts a small proxy
// in front of it that adds the policy to HTML responses; everything else is the real server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, newPage, ROOT, startProxy, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "csp-test-admin-token";
const POLICY = "script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'nonce-XYZ'; object-src 'none'; base-uri 'none'";
const WAIT = { timeout: 15000 };

let server;
let proxy;
let base;
let browser;
before(async () => {
  server = await startServer(["--admin-token", TOKEN], { www: PAGES });
  proxy = await startProxy(server, { policy: POLICY });
  base = proxy.url;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.stop();
});

async function publish(doc) {
  const r = await fetch(`${server.url}/v1/admin/rulesets/csp`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(doc) });
  return { status: r.status, body: await r.json() };
}

// Installed before any page script: counts policy violations and code that runs.
function listen() {
  window.__violations = [];
  window.__ran = 0;
  window.alert = window.confirm = window.prompt = window.__xss = () => window.__ran++;
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || "")));
  // The head snippet's style, when it puts one in: with the page's nonce?
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.id === "tailor-hide") window.__shield = { nonce: n.nonce, css: n.textContent };
  }).observe(document, { childList: true, subtree: true });
}

async function cspPage() {
  const page = await newPage(browser);
  await page.context().addInitScript(listen);
  return page;
}

/** Loads `path` and waits until the SDK has a ruleset of at least `version` in use. */
async function load(page, path, version) {
  const r = await page.goto(base + path);
  assert.equal(r.headers()["content-security-policy"], POLICY, "the page is served with the policy");
  const got = await page.evaluate(() => tailor("ready").then((s) => s.version), null, WAIT);
  assert.ok(got >= version, `ruleset version ${got} in use, ${version} published`);
}

const experiment = (key, urlPattern, changes, css) => ({
  key,
  weights: [0, 1],
  urlPatterns: [{ type: "exact", pattern: urlPattern }],
  variations: [{ key: "control" }, { key: "changed", ...(changes ? { changes } : {}), ...(css ? { css } : {}) }],
});

test("strict CSP: every action and page CSS by nonce apply with 0 violations", { timeout: 60000 }, async () => {
  const changes = [
    { selector: ["#hero h1", ".title"], fingerprint: "Welcome", action: "text", value: "Under a strict policy" },
    { selector: "#hero .lead", action: "html", value: 'Now <strong>20%</strong> off <a href="/sale">everything</a>' },
    { selector: "#hero .cta", action: "attribute", name: "href", value: "/sale?from=csp" },
    { selector: "#hero .cta", action: "addClass", value: "cta-big" },
    { selector: "#hero .cta", action: "removeClass", value: "old" },
    { selector: "#hero .cta", action: "style", name: "background-color", value: "#b91c1c" },
    { selector: "#hero", action: "insertBefore", value: '<p class="ribbon">Free delivery this week</p>' },
    { selector: "#hero h1", action: "insertAfter", value: '<p class="after">Only online</p>' },
    { selector: "#list", action: "prepend", value: '<li class="pre">Zero</li>' },
    { selector: "#list", action: "append", value: '<li class="app">Last</li>' },
    { selector: "#second", action: "move", target: "#first", position: "before" },
    { selector: "#hero .badge", action: "hide" },
  ];
  const css = "#hero .title { letter-spacing: 3px } .ribbon { color: rgb(200, 0, 0) }";
  const pub = await publish({ version: 1, placements: {}, experiments: [experiment("csp-page", "/csp.html", changes, css)] });
  assert.equal(pub.status, 201, JSON.stringify(pub.body));
  const page = await cspPage();
  await load(page, "/csp.html", pub.body.version);
  await page.waitForFunction(() => document.querySelector("#hero h1").textContent === "Under a strict policy", null, WAIT);
  await page.waitForFunction(() => document.querySelector("#list").children[1].id === "second", null, WAIT).catch(async (e) => {
    throw new Error(e.message + "\n" + (await page.evaluate(() => document.body.innerHTML + JSON.stringify(window.__violations))) + JSON.stringify(await page.evaluate(() => tailor("ready", (t) => t.status.problems))));
  });
  const seen = await page.evaluate(() => {
    const cta = document.querySelector("#hero .cta");
    const style = document.querySelector('style[data-tailor="csp-page"]');
    return {
      lead: document.querySelector("#hero .lead").innerHTML,
      href: cta.getAttribute("href"),
      classes: cta.className,
      ctaColour: getComputedStyle(cta).backgroundColor,
      ribbon: document.querySelector("#hero").previousElementSibling.outerHTML,
      ribbonColour: getComputedStyle(document.querySelector(".ribbon")).color,
      after: document.querySelector("#hero h1").nextElementSibling.textContent,
      list: [...document.querySelectorAll("#list li")].map((li) => li.textContent),
      badge: getComputedStyle(document.querySelector("#hero .badge")).display,
      styleNonce: style && style.nonce,
      spacing: getComputedStyle(document.querySelector("#hero h1")).letterSpacing,
      shield: !!document.getElementById("tailor-hide"),
    };
  });
  assert.deepEqual(seen, {
    lead: 'Now <strong>20%</strong> off <a href="/sale" rel="noopener noreferrer">everything</a>',
    href: "/sale?from=csp",
    classes: "cta cta-big",
    ctaColour: "rgb(185, 28, 28)",
    ribbon: '<p class="ribbon">Free delivery this week</p>',
    ribbonColour: "rgb(200, 0, 0)",
    after: "Only online",
    list: ["Zero", "Second", "First", "Last"],
    badge: "none",
    styleNonce: "XYZ",
    spacing: "3px",
    shield: false,
  });
  const status = await page.evaluate(() => tailor("ready", (t) => t.status));
  assert.deepEqual(status.problems, []);
  // A second load: the head snippet hides the changed elements from the cache, with the nonce.
  const hide = JSON.parse(await page.evaluate(() => localStorage.getItem("tailor:csp:hide")));
  assert.ok(hide && hide["/csp.html"], "the hide list for the next visit: " + JSON.stringify(hide));
  await load(page, "/csp.html", pub.body.version);
  const shield = await page.evaluate(() => window.__shield);
  assert.equal(shield && shield.nonce, "XYZ", "the head snippet's style has the nonce: " + JSON.stringify(shield));
  await page.waitForFunction(() => document.querySelector("#hero h1").textContent === "Under a strict policy", null, WAIT);
  await page.waitForFunction(() => !document.getElementById("tailor-hide"), null, WAIT);
  assert.deepEqual(await page.evaluate(() => window.__violations), [], "policy violations");
  assert.equal(await page.evaluate(() => window.__ran), 0);
  assert.deepEqual(page.problems, []);
  // The listener does count: a style without the nonce is refused and reported.
  await page.evaluate(() => {
    const s = document.createElement("style");
    s.textContent = "body { color: red }";
    document.head.append(s);
  });
  await page.waitForFunction(() => window.__violations.length > 0, null, WAIT);
  await page.context().close();
});

test("strict CSP: the XSS corpus through every change type, signed by the server, runs 0 times with 0 violations", { timeout: 240000 }, async () => {
  const payloads = JSON.parse(readFileSync(join(ROOT, "tests/vectors/xss.json"), "utf8")).payloads;
  assert.ok(payloads.length >= 50, `${payloads.length} payloads`);
  const kinds = {
    html: (v) => [{ selector: "#t", action: "html", value: v }],
    text: (v) => [{ selector: "#t", action: "text", value: v }],
    insertBefore: (v) => [{ selector: "#t", action: "insertBefore", value: v }],
    insertAfter: (v) => [{ selector: "#t", action: "insertAfter", value: v }],
    prepend: (v) => [{ selector: "#t", action: "prepend", value: v }],
    append: (v) => [{ selector: "#t", action: "append", value: v }],
    href: (v) => [{ selector: "#x", action: "attribute", name: "href", value: v }],
    src: (v) => [{ selector: "#im", action: "attribute", name: "src", value: v }],
    srcset: (v) => [{ selector: "#im", action: "attribute", name: "srcset", value: v }],
    title: (v) => [{ selector: "#x", action: "attribute", name: "title", value: v }],
    style: (v) => [{ selector: "#t", action: "style", name: "background-image", value: v }],
    addClass: (v) => [{ selector: "#t", action: "addClass", value: v }],
    selector: (v) => [{ selector: v, action: "text", value: "s" }],
    fingerprint: (v) => [{ selector: "#t", fingerprint: v, action: "text", value: "f" }],
  };
  let experiments = [];
  payloads.forEach((p, i) => {
    for (const [k, make] of Object.entries(kinds)) experiments.push(experiment(`x${i}-${k}`, `/csp.html?p=${i}`, make(p)));
    experiments.push(experiment(`x${i}-css`, `/csp.html?p=${i}`, null, p));
  });
  const offered = experiments.length;
  // Publishing refuses a ruleset with any value its validator refuses: take those
  // experiments out (the errors name them) until the rest is published.
  let pub;
  for (let round = 0; round < 5; round++) {
    pub = await publish({ version: 1, placements: {}, experiments });
    if (pub.status === 201) break;
    assert.equal(pub.status, 422, JSON.stringify(pub.body).slice(0, 500));
    const bad = new Set([...JSON.stringify(pub.body.errors).matchAll(/experiments\[(\d+)\]/g)].map((m) => Number(m[1])));
    assert.ok(bad.size > 0, "the errors name the experiments: " + JSON.stringify(pub.body.errors).slice(0, 500));
    experiments = experiments.filter((_, i) => !bad.has(i));
  }
  assert.equal(pub.status, 201, JSON.stringify(pub.body).slice(0, 500));
  const sanitised = (pub.body.sanitised || []).length;
  console.log(`XSS corpus: ${payloads.length} payloads x ${Object.keys(kinds).length + 1} change types = ${offered} changes; refused on publish ${offered - experiments.length}, published ${experiments.length} (${sanitised} values sanitised)`);
  assert.ok(experiments.length > payloads.length, "a good share of the changes is published and applied");

  const page = await cspPage();
  // Clicks must not take the page away: ordinary navigations are cancelled (a javascript: URL
  // fires no navigate event, so it would run and be counted).
  await page.context().addInitScript(() => navigation.addEventListener("navigate", (e) => e.cancelable && e.preventDefault()));
  let applied = 0;
  let refused = 0;
  let ran = 0;
  const violations = [];
  for (let i = 0; i < payloads.length; i++) {
    const mine = experiments.filter((x) => x.key.startsWith(`x${i}-`)).map((x) => x.key);
    await load(page, `/csp.html?p=${i}`, pub.body.version);
    // Wait until the SDK has dealt with every change of this payload: applied, or reported.
    const keys = await page.evaluate(
      (mine) =>
        tailor("decide", {}, { record: false }).then((d) =>
          d.experiments.filter((x) => mine.includes(x.key) && x.variation === 1).map((x) => x.key),
        ),
      mine,
    );
    assert.deepEqual(keys.sort(), [...mine].sort(), `payload ${i}: the page's experiments are decided for it`);
    await page.waitForTimeout(150);
    const r = await page.evaluate(() => {
      for (const el of document.querySelectorAll("#xss a, #xss button, #xss *[href]")) {
        try {
          el.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
        } catch {}
      }
      const styles = document.querySelectorAll("style[data-tailor]").length;
      return new Promise((ok) => setTimeout(() => tailor("ready", (t) => ok({ ran: window.__ran, violations: window.__violations, styles, refused: t.status.problems.filter((p) => /refused/.test(p)).length })), 150));
    });
    applied += r.styles;
    refused += r.refused;
    ran += r.ran;
    violations.push(...r.violations.map((v) => `payload ${i}: ${v}`));
  }
  console.log(`XSS corpus on the strict-CSP page: ${payloads.length} pages, ${applied} page CSS blocks applied, ${refused} changes refused by the browser's checks, ${ran} executions, ${violations.length} violations`);
  assert.equal(ran, 0, "payloads that ran");
  assert.deepEqual(violations, [], "policy violations");
  await page.context().close();
});
