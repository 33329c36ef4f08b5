// The Studio's visual editor (studio/ui/editor.js, issue 12) on the demo's home page
// (tests/e2e/pages/editor/), served by the real server under a strict Content-Security-
// Policy, in headless Chromium. The page loads the SDK from pkg/ and mounts the editor as
// the Studio does (studio-host.js: a closed shadow root, a constructable stylesheet, the
// preview through the SDK's applyChanges). The editor is bundled by esbuild here, and its
// element picker is the Studio's Wasm module (pkg/studio/, `bash scripts/build.sh`).
//
// A merchandiser picks the hero headline (the page's handlers do not fire), changes its text
// and the button's colour; the list of changes is checked against the ruleset format and by
// the engine (`tailor ruleset validate`, and the SDK's setRuleset); undo and redo restore;
// hostile HTML is cleaned and nothing runs; selector counts and Escape; the other kinds of
// change; 390 px wide. Screenshots go to docs/images/studio-editor-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, launchBrowser, newPage, ROOT, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages/editor");
const IMAGES = join(ROOT, "docs/images");
const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'nonce-editor-fixture'; img-src 'self'; object-src 'none'; base-uri 'none'";

let server;
let browser;
let bundle;
let studioWasm;
const scratch = mkdtempSync(join(tmpdir(), "tailor-editor-"));
before(async () => {
  studioWasm = readFileSync(join(ROOT, "pkg/studio/tailor-studio_bg.wasm"));
  bundle = execFileSync(join(ROOT, "node_modules/.bin/esbuild"), [join(ROOT, "studio/ui/editor.js"), "--bundle", "--format=esm", "--log-level=warning"], { encoding: "utf8" });
  server = await startServer([], { www: PAGES });
  browser = await launchBrowser();
  mkdirSync(IMAGES, { recursive: true });
});
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The fixture with the editor mounted; `window.__violations` collects CSP violations. */
async function open({ width = 1280, height = 800, touch = false } = {}) {
  let page;
  if (touch) {
    const context = await browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: true });
    page = await context.newPage();
    page.problems = [];
    page.on("pageerror", (e) => page.problems.push("pageerror: " + e.message));
  } else {
    page = await newPage(browser);
    await page.setViewportSize({ width, height });
  }
  await page.route("**/editor.bundle.js", (r) => r.fulfill({ contentType: "text/javascript", body: bundle }));
  // The element picker is the Studio's Wasm module, which the editor loads from beside itself.
  await page.route("**/tailor-studio_bg.wasm", (r) => r.fulfill({ contentType: "application/wasm", body: studioWasm }));
  await page.route("**/index.html", async (r) => {
    const res = await r.fetch();
    r.fulfill({ response: res, headers: { ...res.headers(), "content-security-policy": POLICY } });
  });
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI + (e.sample ? " " + e.sample : "") + (e.sourceFile ? " at " + e.sourceFile.replace(/^.*\//, "") + ":" + e.lineNumber : "")));
  });
  await page.goto(server.url + "/index.html");
  await page.waitForFunction(() => window.studioFixture, null, { timeout: 15000 });
  return page;
}

// The panel lives in a closed shadow root: the test finds controls through the fixture's
// reference (as only the Studio can) and then uses the real mouse and keyboard on them.
const inPanel = (page, fn, arg) => page.evaluate(([src, arg]) => new Function("s", "arg", src)(window.studioFixture.shadow, arg), [fn, arg]);
async function rectOf(page, query) {
  const r = await inPanel(
    page,
    `const q = arg; let el = null;
     if (q.text) el = [...s.querySelectorAll(q.tag || "button")].find((b) => b.textContent.trim() === q.text && !b.closest("[hidden]"));
     else el = s.querySelector(q.css);
     if (!el) return null; el.scrollIntoView({ block: "nearest" });
     return new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => { const r = el.getBoundingClientRect(); ok({ x: r.x + r.width / 2, y: r.y + r.height / 2 }); })));`,
    query,
  );
  assert.ok(r, "panel control " + JSON.stringify(query) + " exists");
  return r;
}
async function clickPanel(page, query) {
  const r = await rectOf(page, query);
  await page.mouse.click(r.x, r.y);
}
const button = (page, text) => clickPanel(page, { text });
/** Types into the labelled field (its text replaced). */
async function typeInto(page, label, text) {
  await clickPanel(page, { css: `[aria-label="${label}"]` });
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
}
async function choose(page, label, value) {
  await inPanel(page, `const el = s.querySelector('[aria-label="' + arg[0] + '"]'); el.focus(); el.value = arg[1]; el.dispatchEvent(new Event("change", { bubbles: true }));`, [label, value]);
}
const panelText = (page, css) => inPanel(page, `const el = s.querySelector(arg); return el ? el.textContent : null;`, css);
const statusText = (page) => panelText(page, ".ted-status");
const changes = (page) => page.evaluate(() => window.studioFixture.editor.changes());
const events = (page) => page.evaluate(() => ({ ...window.pageEvents }));
async function centre(page, selector) {
  const r = await page.evaluate((s) => {
    const b = document.querySelector(s).getBoundingClientRect();
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  }, selector);
  return r;
}
/** Picks the page element `selector` with the mouse, as a merchandiser does. */
async function pick(page, selector) {
  await button(page, "Pick an element");
  const c = await centre(page, selector);
  await page.mouse.move(c.x, c.y, { steps: 3 });
  await page.mouse.click(c.x, c.y);
}
const selectorRows = (page) => inPanel(page, `return [...s.querySelectorAll(".ted-sel")].map((r) => [r.querySelector("input").value, r.querySelector(".ted-count").textContent]);`);

/** Runs the engine's validator (the CLI) on a ruleset holding `changes` and `css`. */
function engineCheck(list, css) {
  const doc = {
    version: 1,
    placements: {},
    experiments: [{ key: "home-headline", urlPatterns: [{ type: "exact", pattern: "/index.html" }], variations: [{ key: "control" }, { key: "winter", changes: list, ...(css ? { css } : {}) }] }],
  };
  const file = join(scratch, "ruleset.json");
  writeFileSync(file, JSON.stringify(doc));
  const r = spawnSync(BIN, ["ruleset", "validate", file], { encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr, doc };
}

test("pick the hero headline without the page noticing, change its text and the button's colour, undo and redo", async () => {
  const page = await open();
  const original = await page.evaluate(() => ({ bg: getComputedStyle(document.querySelector("#hero .cta")).backgroundColor, url: location.href }));

  // Hovering while picking highlights what would be picked, labelled for a person.
  await button(page, "Pick an element");
  assert.match(await statusText(page), /Click an element on the page/);
  const h1 = await centre(page, "#hero h1");
  await page.mouse.move(h1.x, h1.y, { steps: 4 });
  const hover = await inPanel(page, `const b = s.querySelector(".ted-box.ted-hover"); return b && !b.hidden ? b.textContent : null;`);
  assert.equal(hover, 'headline "Autumn collection"');
  await page.screenshot({ path: join(IMAGES, "studio-editor-pick.png") });
  await page.mouse.click(h1.x, h1.y);

  // Nothing of the page heard the picking: not its click handler on the headline, not its
  // window listeners.
  assert.deepEqual(await events(page), { click: 0, pointerdown: 0, submit: 0, keydown: 0, heroClick: 0 });
  assert.match(await statusText(page), /Selected: headline "Autumn collection"/);
  assert.deepEqual(await selectorRows(page), [
    [".hero-title", "1 match"],
    ["#hero h1", "1 match"],
    ["#hero > h1", "1 match"],
  ]);

  // Text, typed: the preview follows each key, through the SDK's applier.
  await typeInto(page, "New text", "Winter sale: 48 hours only");
  assert.equal(await page.textContent("#hero h1"), "Winter sale: 48 hours only");

  // The call-to-action: picking a link does not follow it.
  await pick(page, "#hero .cta");
  assert.equal(page.url(), original.url, "the link was not followed");
  assert.deepEqual(await events(page), { click: 0, pointerdown: 0, submit: 0, keydown: 0, heroClick: 0 });
  await choose(page, "What to change", "style");
  assert.equal(await inPanel(page, `return s.querySelector('[aria-label="CSS value"]').value;`), original.bg, "the field starts from the element's colour");
  await typeInto(page, "CSS value", "#b91c1c");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero .cta")).backgroundColor), "rgb(185, 28, 28)");

  const expected = [
    { selector: [".hero-title", "#hero h1", "#hero > h1"], action: "text", value: "Winter sale: 48 hours only" },
    { selector: [".cta", "#hero a", "#hero > a"], action: "style", name: "background-color", value: "#b91c1c" },
  ];
  assert.deepEqual(await changes(page), expected, "one change per element and kind, typing merged");
  const seen = await page.evaluate(() => window.studioFixture.seen);
  assert.deepEqual(seen.changes.at(-1), { changes: expected, css: "" }, "onChange got the list");
  assert.deepEqual(seen.applied, ["studio-draft"], "the SDK applied the draft");

  // The engine accepts it: the CLI's validator and the SDK's own loader.
  const check = engineCheck(expected);
  assert.equal(check.code, 0, check.out);
  assert.equal(await page.evaluate((doc) => window.studioFixture.tailor.setRuleset(doc), check.doc), undefined);

  await page.screenshot({ path: join(IMAGES, "studio-editor-changes.png") });

  // Undo (button, then Ctrl+Z with the focus in the panel) and redo (Shift+Ctrl+Z).
  await button(page, "Undo");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero .cta")).backgroundColor), original.bg);
  assert.deepEqual(await changes(page), expected.slice(0, 1), "one undo takes back the whole typed colour");
  assert.deepEqual((await page.evaluate(() => window.studioFixture.seen.changes.at(-1))).changes, expected.slice(0, 1), "onChange heard the undo");
  assert.equal(await inPanel(page, `return s.querySelector('[aria-label="CSS value"]').value;`), original.bg, "the form shows the colour as it is again");
  await page.keyboard.press("Control+Z");
  assert.equal(await page.textContent("#hero h1"), "Autumn collection");
  assert.deepEqual(await changes(page), []);
  await page.keyboard.press("Shift+Control+Z");
  assert.equal(await page.textContent("#hero h1"), "Winter sale: 48 hours only");
  await button(page, "Redo");
  assert.deepEqual(await changes(page), expected);
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero .cta")).backgroundColor), "rgb(185, 28, 28)");

  // With the focus on the page, Ctrl+Z is the page's: the editor keeps its changes.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.mouse.click(5, 700);
  await page.keyboard.press("Control+Z");
  assert.deepEqual(await changes(page), expected, "the page's shortcut did not undo the editor");
  assert.equal(await inPanel(page, `return s.querySelector('[aria-label="CSS value"]').value;`), "#b91c1c", "the field shows the change");
  assert.equal((await events(page)).keydown, 2, "the page heard its own shortcut (Control, then z)");

  // Deleting a change from the list.
  await clickPanel(page, { css: '[aria-label^="Delete change 1"]' });
  assert.deepEqual(await changes(page), expected.slice(1));
  assert.equal(await page.textContent("#hero h1"), "Autumn collection");

  assert.deepEqual(await page.evaluate(() => window.__violations), [], "nothing broke the strict CSP");
  assert.deepEqual(page.problems, []);
});

test("hostile HTML is cleaned by the SDK's own sanitiser before the preview, says what was removed, and nothing runs", async () => {
  const page = await open();
  await page.evaluate(() => {
    window.__ran = 0;
    window.alert = window.__xss = () => window.__ran++;
  });
  await pick(page, "#hero .lead");
  await choose(page, "What to change", "html");
  const hostile = `<img src=x onerror="__xss()">Now <b title="tap onclick=here" onclick="__xss()">-20%</b><script>__xss()</script><a href="javascript:__xss()">everything</a><form><input onfocus="__xss()" autofocus></form>`;
  await typeInto(page, "New HTML", hostile);
  assert.deepEqual(await changes(page), [], "HTML is written on Apply, not while typing");
  await button(page, "Apply");
  await page.waitForTimeout(300); // an onerror would have fired by now (src=x is a 404)

  const [c] = await changes(page);
  assert.deepEqual(c, { selector: [".lead", "#hero p", "#hero > p"], action: "html", value: '<img src="x">Now <b title="tap onclick=here">-20%</b><a>everything</a>' });
  assert.equal(await page.evaluate(() => document.querySelector("#hero .lead").innerHTML), c.value, "the preview is the value");
  assert.equal(await page.evaluate(() => window.__ran), 0, "nothing ran");
  const removed = await panelText(page, ".ted-removed");
  assert.ok((await statusText(page)).startsWith("HTML changed. Removed for safety: the onerror attribute of <img>"), "said at the top of the panel too");
  for (const what of ["the onerror attribute of <img>", "the onclick attribute of <b>", "<script>", "the href attribute of <a>", "<form>", "<input>"]) assert.ok(removed.includes(what), `"${what}" in: ${removed}`);
  assert.equal(await inPanel(page, `return s.querySelector('[aria-label="New HTML"]').value;`), c.value, "the field shows what is kept");
  const check = engineCheck([c]);
  assert.equal(check.code, 0, check.out);
  await page.screenshot({ path: join(IMAGES, "studio-editor-sanitised.png") });
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(page.problems.filter((p) => !/404|Failed to load resource/.test(p)), []);
});

test("selectors: how many elements each matches, warnings for none and several; generated classes are not used", async () => {
  const page = await open();
  await pick(page, '[data-testid="product-2"] button');
  assert.deepEqual(await selectorRows(page), [
    ['[data-testid="product-2"] .add', "1 match"],
    ['[data-testid="product-2"] button', "1 match"],
    ['[data-testid="product-2"] > button', "1 match"],
  ]);
  // Folded to one line while the first selector finds just the element.
  assert.equal(await inPanel(page, `return s.querySelector(".ted-found").open;`), false);
  assert.equal(await panelText(page, ".ted-found summary"), 'How the element is found: [data-testid="product-2"] .add 1 match + 2 fallbacks');
  await clickPanel(page, { css: ".ted-found summary" });
  // The merchandiser edits the first selector: the count follows as they type.
  await typeInto(page, "Selector", ".add");
  assert.deepEqual((await selectorRows(page))[0], [".add", "3 matches: the first one is changed"]);
  assert.equal(await panelText(page, ".ted-found summary"), "How the element is found: .add 3 matches: the first one is changed + 2 fallbacks");
  await page.screenshot({ path: join(IMAGES, "studio-editor-selectors.png") });
  await typeInto(page, "Selector", ".nothing-here");
  assert.deepEqual((await selectorRows(page))[0], [".nothing-here", "matches nothing here"]);
  await typeInto(page, "Selector", "p[");
  assert.deepEqual((await selectorRows(page))[0], ["p[", "not a valid selector"]);
  await choose(page, "What to change", "hide");
  await button(page, "Hide this element");
  assert.match(await panelText(page, ".ted-error"), /Selector 1 is not a valid CSS selector/);
  assert.deepEqual(await changes(page), []);

  // A class made by a CSS-in-JS tool (css-1x9fz2a) is not a selector to rely on.
  await pick(page, "main > p.status");
  const rows = await selectorRows(page);
  assert.ok(rows.length > 0 && rows.every(([s, n]) => !s.includes("css-1x9fz2a") && n === "1 match"), JSON.stringify(rows));
  assert.equal(rows[0][0], ".status");

  // Ids and attributes written by frameworks are skipped; ids and test ids people wrote win.
  await page.evaluate(() => {
    document.querySelector("main").insertAdjacentHTML(
      "beforeend",
      `<div id="radix-:r1:" class="Card_root__x7Yq2 card"><span data-v-1a2b3c4d class="sc-bdVaJa price">€49</span></div>
       <div id="promo-banner" class="banner">Free delivery</div> <button data-testid="buy-now" class="btn">Buy</button> <span id="ember1234">x</span>`,
    );
  });
  await pick(page, ".card .price");
  assert.deepEqual((await selectorRows(page)).map(([s]) => s), [".price", ".card > span"]);
  await pick(page, "#promo-banner");
  assert.deepEqual((await selectorRows(page)).map(([s]) => s), ["#promo-banner", ".banner", "main > div:nth-of-type(3)"]);
  await pick(page, '[data-testid="buy-now"]');
  assert.deepEqual((await selectorRows(page)).map(([s]) => s), ['[data-testid="buy-now"]', ".btn", "main > button"]);
});

test("Escape cancels picking and gives the page its clicks back; the keyboard picks and walks the tree", async () => {
  const page = await open();
  await button(page, "Pick an element");
  const h1 = await centre(page, "#hero h1");
  await page.mouse.move(h1.x, h1.y, { steps: 3 });
  await page.keyboard.press("Escape");
  assert.equal(await statusText(page), "Picking cancelled.");
  assert.equal(await inPanel(page, `const b = s.querySelector(".ted-box.ted-hover"); return !b || b.hidden;`), true, "no highlight left");
  assert.equal(await inPanel(page, `return s.querySelector(".ted-selection").hidden;`), true, "nothing selected");
  await page.mouse.click(h1.x, h1.y);
  assert.equal((await events(page)).heroClick, 1, "the page's handler works again");

  // Keyboard only: start picking from the button, arrows move the highlight, Enter picks.
  await inPanel(page, `[...s.querySelectorAll("button")].find((b) => b.textContent === "Pick an element").focus();`);
  await page.keyboard.press("Enter");
  await page.keyboard.press("ArrowDown"); // the page's main area
  await page.keyboard.press("ArrowDown"); // its first child: the hero
  await page.keyboard.press("Enter");
  assert.match(await statusText(page), /^Selected: section "Autumn collection/);
  assert.equal((await selectorRows(page))[0][0], "#hero");
  // The selected element box: down to the first child, right to the next sibling, up again.
  await clickPanel(page, { css: ".ted-el" });
  await page.keyboard.press("ArrowDown");
  assert.equal((await selectorRows(page))[0][0], ".hero-title");
  await page.keyboard.press("ArrowRight");
  assert.equal((await selectorRows(page))[0][0], ".lead");
  await page.keyboard.press("ArrowUp");
  assert.equal((await selectorRows(page))[0][0], "#hero");
  assert.equal((await events(page)).keydown, 0, "the page heard none of these keys");
});

test("attributes, classes, an image, a move, hide and page CSS: each one change in the ruleset's format, refused values explained", async () => {
  const page = await open();
  const errorText = () => panelText(page, ".ted-edit .ted-error");

  // An attribute: the link's address. Values the ruleset refuses are explained.
  await pick(page, "#hero .cta");
  await choose(page, "What to change", "attribute");
  await typeInto(page, "Attribute name", "onclick");
  await typeInto(page, "Attribute value", "steal()");
  await button(page, "Apply");
  assert.equal(await errorText(page), '"onclick" is an event handler: it can never be set.');
  await typeInto(page, "Attribute name", "href");
  await typeInto(page, "Attribute value", "javascript:steal()");
  await button(page, "Apply");
  assert.equal(await errorText(page), 'The URL "javascript:steal()" is refused: it has a scheme other than http: or https:.');
  await typeInto(page, "Attribute value", "/sale?from=hero");
  await button(page, "Apply");
  assert.equal(await errorText(page), "");
  assert.equal(await page.getAttribute("#hero .cta", "href"), "/sale?from=hero");

  // A class, added.
  await choose(page, "What to change", "addClass");
  await typeInto(page, "Class names, separated by spaces", "cta-large  promo");
  await button(page, "Apply");
  assert.equal(await page.getAttribute("#hero .cta", "class"), "cta cta-large promo");
  // Right after, another class for the same element: one change with both.
  await typeInto(page, "Class names, separated by spaces", "promo wide");
  await button(page, "Apply");
  assert.equal(await page.getAttribute("#hero .cta", "class"), "cta cta-large promo wide");

  // An image: the form offers its address and description.
  await pick(page, '[data-testid="product-1"] img');
  assert.equal(await inPanel(page, `return s.querySelector('[aria-label="What to change"]').value;`), "image");
  await typeInto(page, "Image address (src)", "/coat.svg?colour=navy");
  await typeInto(page, "Image description (alt)", "Wool coat in navy");
  await button(page, "Apply");
  assert.deepEqual(await page.evaluate(() => [document.querySelector('[data-testid="product-1"] img').getAttribute("src"), document.querySelector('[data-testid="product-1"] img').alt]), ["/coat.svg?colour=navy", "Wool coat in navy"]);

  // A move: the newsletter form to the start of the footer, the target picked with the
  // keyboard (the footer's paragraph, then up to the footer); the form reached from its
  // field with the Parent button.
  await pick(page, "#newsletter input");
  assert.match(await statusText(page), /^Selected: field/);
  await button(page, "↑ Parent"); // the label
  await button(page, "↑ Parent");
  assert.equal((await selectorRows(page))[0][0], "#newsletter");
  await choose(page, "What to change", "move");
  await button(page, "Pick the target element");
  const foot = await centre(page, "#footer p");
  await page.mouse.move(foot.x, foot.y, { steps: 2 });
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("Enter");
  assert.match(await panelText(page, ".ted-target-info"), /Target: footer/);
  await choose(page, "Where to move it", "prepend");
  await button(page, "Move it");
  assert.equal(await page.evaluate(() => document.querySelector("#footer").firstElementChild.id), "newsletter");

  // Hide.
  await pick(page, "main > p.status");
  await choose(page, "What to change", "hide");
  await button(page, "Hide this element");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("main > p.status")).display), "none");

  // Page CSS: refused CSS is explained, good CSS is applied.
  await clickPanel(page, { css: ".ted-css summary" });
  await typeInto(page, "Page CSS", "@import url(https://evil.example/x.css); h1 { color: red }");
  await button(page, "Apply CSS");
  assert.equal(await panelText(page, ".ted-css .ted-error"), "This CSS is refused: it uses @import.");
  await typeInto(page, "Page CSS", "#hero h1 { letter-spacing: 0.05em }");
  await button(page, "Apply CSS");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero h1")).letterSpacing), "1.6px");

  const expected = [
    { selector: [".cta", "#hero a", "#hero > a"], action: "attribute", name: "href", value: "/sale?from=hero" },
    { selector: [".cta", "#hero a", "#hero > a"], action: "addClass", value: "cta-large promo wide" },
    { selector: ['[data-testid="product-1"] img', '[data-testid="product-1"] > img'], action: "attribute", name: "src", value: "/coat.svg?colour=navy" },
    { selector: ['[data-testid="product-1"] img', '[data-testid="product-1"] > img'], action: "attribute", name: "alt", value: "Wool coat in navy" },
    { selector: ["#newsletter", ".newsletter", "main > form"], action: "move", target: "#footer", position: "prepend" },
    { selector: [".status", "main > p"], action: "hide" },
  ];
  assert.deepEqual(await changes(page), expected);
  assert.equal(await page.evaluate(() => window.studioFixture.editor.css()), "#hero h1 { letter-spacing: 0.05em }");
  const check = engineCheck(expected, "#hero h1 { letter-spacing: 0.05em }");
  assert.equal(check.code, 0, check.out);
  assert.equal(await page.evaluate((doc) => window.studioFixture.tailor.setRuleset(doc), check.doc), undefined);
  await page.screenshot({ path: join(IMAGES, "studio-editor-kinds.png") });

  // Undo takes the page CSS off, then the hide; the list's delete takes the move out.
  await button(page, "Undo");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("#hero h1")).letterSpacing), "normal");
  await button(page, "Undo");
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector("main > p.status")).display), "block");
  await clickPanel(page, { css: '[aria-label^="Delete change 5"]' });
  assert.deepEqual(await changes(page), expected.slice(0, 4));
  assert.equal(await page.evaluate(() => document.querySelector("#newsletter").parentElement.localName), "main");
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(page.problems, []);
});

test("390 px wide, on a touch screen: a tap picks (the page hears nothing), the panel fits, nothing scrolls sideways", async () => {
  const page = await open({ width: 390, height: 844, touch: true });
  await page.evaluate(() => document.querySelector("#hero h1").addEventListener("touchstart", () => window.pageEvents.heroClick++));
  const r = await rectOf(page, { text: "Pick an element" });
  await page.touchscreen.tap(r.x, r.y);
  const h1 = await centre(page, "#hero h1");
  await page.touchscreen.tap(h1.x, h1.y);
  assert.match(await statusText(page), /^Selected: headline "Autumn collection"/);
  assert.deepEqual(await events(page), { click: 0, pointerdown: 0, submit: 0, keydown: 0, heroClick: 0 });
  await typeInto(page, "New text", "Winter sale");
  const fit = await inPanel(page, `const p = s.querySelector(".panel"); return { scroll: p.scrollWidth, client: p.clientWidth };`);
  assert.ok(fit.scroll <= fit.client, `the panel scrolls sideways: ${fit.scroll} > ${fit.client}`);
  await page.screenshot({ path: join(IMAGES, "studio-editor-narrow.png") });
  assert.deepEqual(await changes(page), [{ selector: [".hero-title", "#hero h1", "#hero > h1"], action: "text", value: "Winter sale" }]);
});

test("the Studio's side: initial changes listed and previewed, setChanges, clear errors for bad options, destroy leaves the page as it was", async () => {
  const page = await open();
  const got = await page.evaluate(async () => {
    const { createEditor } = await import("/editor.bundle.js");
    const { shadow, tailor } = window.studioFixture;
    window.studioFixture.editor.destroy();
    const errors = [];
    const mount = document.createElement("div");
    const overlay = document.createElement("div");
    shadow.querySelector(".panel").append(mount);
    shadow.querySelector(".overlay").append(overlay);
    for (const bad of [undefined, { mount: "x", doc: document, overlay }, { mount, doc: window, overlay }, { mount, doc: document, overlay, initial: "[]" }, { mount, doc: document, overlay, initial: [null] }, { mount, doc: document, overlay, preview: "no" }]) {
      try {
        createEditor(bad);
        errors.push("no error");
      } catch (e) {
        errors.push(`${e.constructor.name}: ${e.message}`);
      }
    }
    const previews = [];
    const initial = [{ selector: "#hero .lead", action: "text", value: "Layers for winter" }];
    const ed = createEditor({ mount, doc: document, overlay, initial, initialCss: "#hero { outline: 1px solid red }", preview: (list, css) => (previews.push([list.length, css]), tailor.revertChanges(), tailor.applyChanges({ experiments: [{ key: "draft", variation: 1, changes: list, css }], pageExposures: [] })) });
    const lead = document.querySelector("#hero .lead").textContent;
    const listed = shadow.querySelector(".ted-changes li").textContent;
    let setError = "";
    try {
      ed.setChanges({});
    } catch (e) {
      setError = e.message;
    }
    ed.setChanges([{ selector: ".cta", action: "hide" }]);
    const afterSet = [getComputedStyle(document.querySelector(".cta")).display, document.querySelector("#hero .lead").textContent, shadow.querySelectorAll(".ted-changes li").length];
    ed.undo(); // nothing to undo: setChanges starts a new history
    const afterUndo = ed.changes().length;
    ed.destroy();
    tailor.revertChanges();
    document.querySelector("#hero h1").click();
    return { errors, lead, listed, setError, afterSet, afterUndo, previews, panelLeft: mount.childElementCount + overlay.childElementCount, heroClicks: window.pageEvents.heroClick };
  });
  assert.deepEqual(got.errors, [
    "TypeError: createEditor: `mount` must be an HTMLElement (where the panel is drawn)",
    "TypeError: createEditor: `mount` must be an HTMLElement (where the panel is drawn)",
    "TypeError: createEditor: `doc` must be the page's Document",
    "TypeError: createEditor: `initial`: the page changes must be an array, found string",
    "TypeError: createEditor: `initial`: change 1 must be an object like { selector, action, value }",
    "TypeError: createEditor: `preview` must be a function",
  ]);
  assert.equal(got.lead, "Layers for winter", "the initial changes are previewed at once");
  assert.match(got.listed, /^Text → “Layers for winter” · paragraph #hero \.leadDelete$/);
  assert.equal(got.setError, "setChanges: the page changes must be an array, found object");
  assert.deepEqual(got.afterSet, ["none", "Warm layers for cold days.", 1]);
  assert.equal(got.afterUndo, 1);
  assert.deepEqual(got.previews, [[1, "#hero { outline: 1px solid red }"], [1, "#hero { outline: 1px solid red }"]]);
  assert.equal(got.panelLeft, 0, "destroy removed the panel and the outlines");
  assert.equal(got.heroClicks, 1, "the page's own handler runs");
  assert.deepEqual(page.problems, []);
});

test("inserting new content next to an element, cleaned; a text change over other elements is warned about", async () => {
  const page = await open();
  await pick(page, '[data-testid="product-3"] p');
  await choose(page, "What to change", "insert");
  await choose(page, "Where to insert it", "insertAfter");
  await typeInto(page, "HTML to insert", '<small class="badge" onmouseover="steal()">Only 3 left</small><iframe src="/x"></iframe>');
  await button(page, "Insert it");
  assert.deepEqual(await changes(page), [{ selector: ['[data-testid="product-3"] p', '[data-testid="product-3"] > p'], action: "insertAfter", value: '<small class="badge">Only 3 left</small>' }]);
  assert.equal(await page.evaluate(() => document.querySelector('[data-testid="product-3"] p').nextElementSibling.outerHTML), '<small class="badge">Only 3 left</small>');
  assert.match(await statusText(page), /^Inserted after it\./);
  assert.match(await panelText(page, ".ted-edit .ted-removed:not(:empty)"), /the onmouseover attribute of <small>, <iframe>/);
  await typeInto(page, "HTML to insert", "<script>steal()</script>");
  await button(page, "Insert it");
  assert.equal(await panelText(page, ".ted-edit .ted-error"), "Nothing is left to insert once cleaned: <script> removed.");
  const check = engineCheck(await changes(page));
  assert.equal(check.code, 0, check.out);

  // The hero holds a headline, a paragraph and a link: new text would replace them all.
  await pick(page, "#hero h1");
  await button(page, "↑ Parent");
  await choose(page, "What to change", "text");
  assert.equal(await panelText(page, ".ted-text .ted-note"), "This element holds other elements (headline, paragraph, link): the new text replaces them all. Pick the innermost element to change only its words.");
  assert.deepEqual(page.problems, []);
});
