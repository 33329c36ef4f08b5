// The Studio's visual editor (studio/ui/editor.js, issue 12) on the demo's home page
// (tests/e2e/pages/editor/), served by the real server under a strict Content-Security-
// Policy, in headless Chromium. The page loads the SDK from pkg/ and mounts the editor as
// the Studio does (studio-host.js: a closed shadow root, a constructable stylesheet, the
// preview through the SDK's applyChanges). The editor is bundled by esbuild here.
//
// A merchandiser picks the hero headline (the page's handlers do not fire), changes its text
// and the button's colour; the list of changes is checked against the ruleset format and by
// the engine (`tailor ruleset validate`, and the SDK's setRuleset); undo and redo restore;
// hostile HTML is cleaned and nothing runs; selector counts and Escape; the other kinds of
// change; 390 px wide. Screenshots go to docs/images/studio-editor-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, launchBrowser, newPage, ROOT, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages/editor");
const IMAGES = join(ROOT, "docs/images");
const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'";

let server;
let browser;
let bundle;
const scratch = mkdtempSync(join(tmpdir(), "tailor-editor-"));
before(async () => {
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

/** The fixture with the editor mounted; `page.violations` collects CSP violations. */
async function open({ width = 1280, height = 800 } = {}) {
  const page = await newPage(browser);
  await page.setViewportSize({ width, height });
  await page.route("**/editor.bundle.js", (r) => r.fulfill({ contentType: "text/javascript", body: bundle }));
  await page.route("**/index.html", async (r) => {
    const res = await r.fetch();
    r.fulfill({ response: res, headers: { ...res.headers(), "content-security-policy": POLICY } });
  });
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
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
     if (!el) return null; el.scrollIntoView({ block: "nearest" }); const r = el.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 };`,
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
