// The Studio's frame and Inspect tab (studio/src/frame.rs, inspect.rs) on the demo shop, with
// the real server and headless Chromium: the tab bar's arrow keys (the next tab is shown and
// focused, wrapping at both ends), Minimise/Open in the top bar, and the outlines of the
// hovered or focused experiment row drawn highlighted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, ROOT, startServer } from "./harness.mjs";
import { openPage, q, studioContext, studioLink, text, WAIT, waitText } from "./studio_pages.mjs";

const TOKEN = "studio-frame-admin-token";

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

async function open(role = "edit") {
  const { link } = await studioLink(server, TOKEN, "demo", role);
  const context = await studioContext(browser, { viewport: { width: 1280, height: 860 } });
  const page = await openPage(context, server.url + link);
  await waitText(page, '[data-test="exp-home-headline"]', /variation/);
  return { context, page };
}

/** The selected tab, the focused element's data-test and the panel drawn. */
const tabs = (page) => page.evaluate(() => ({
  selected: [...window.__studio.querySelectorAll('[role="tab"]')].filter((t) => t.getAttribute("aria-selected") === "true").map((t) => t.dataset.test),
  focused: window.__studio.activeElement?.dataset.test,
  panel: window.__studio.querySelector('[role="tabpanel"]')?.dataset.test,
}));

test("the tab bar's arrow keys show and focus the next tab, wrapping at both ends", async () => {
  const { context, page } = await open();
  assert.deepEqual(await page.evaluate(() => [...window.__studio.querySelectorAll('[role="tab"]')].map((t) => t.textContent)),
    ["Inspect", "Test setup", "Shoppers", "Drafts & publish", "Results"]);
  await (await q(page, '[data-test="tab-inspect"]')).focus();
  await page.keyboard.press("ArrowRight");
  assert.deepEqual(await tabs(page), { selected: ["tab-setup"], focused: "tab-setup", panel: "panel-setup" });
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  assert.deepEqual(await tabs(page), { selected: ["tab-results"], focused: "tab-results", panel: "panel-results" });
  await page.keyboard.press("ArrowRight");
  assert.deepEqual(await tabs(page), { selected: ["tab-inspect"], focused: "tab-inspect", panel: "panel-inspect" });
  await page.keyboard.press("ArrowDown");
  assert.deepEqual(await tabs(page), { selected: ["tab-inspect"], focused: "tab-inspect", panel: "panel-inspect" }, "other keys do nothing");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("Minimise and Open in the top bar collapse and open the panel", async () => {
  const { context, page } = await open();
  const state = () => page.evaluate(() => {
    const b = [...window.__studio.querySelectorAll('[data-test="top"] button')].find((x) => x.dataset.test !== "exit");
    return { collapsed: window.__studio.querySelector(".panel").classList.contains("collapsed"), label: b.textContent, expanded: b.getAttribute("aria-expanded") };
  });
  assert.deepEqual(await state(), { collapsed: false, label: "Minimise", expanded: "true" });
  await page.evaluate(() => [...window.__studio.querySelectorAll('[data-test="top"] button')].find((x) => x.textContent === "Minimise").click());
  assert.deepEqual(await state(), { collapsed: true, label: "Open", expanded: "false" });
  await page.evaluate(() => [...window.__studio.querySelectorAll('[data-test="top"] button')].find((x) => x.textContent === "Open").click());
  assert.deepEqual(await state(), { collapsed: false, label: "Minimise", expanded: "true" });
  assert.equal(await text(page, '[data-test="exit"]'), "Exit");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("hovering or focusing an experiment's row highlights the outlines of what it changes", async () => {
  const { context, page } = await open();
  // Variation 1 of the home headline changes elements of this page.
  await (await q(page, '[data-test="force-home-headline"]')).selectOption("1");
  await waitText(page, '[data-test="exp-home-headline"]', /[1-9]\d* element\(s\) changed/);
  await page.waitForFunction(() => window.__studio.querySelectorAll(".outline").length > 0, null, WAIT);
  await (await q(page, '[data-test="exp-home-headline"]')).hover();
  await page.waitForFunction(() => window.__studio.querySelectorAll(".outline.hot").length > 0, null, WAIT);
  await page.mouse.move(5, 400);
  await page.waitForFunction(() => window.__studio.querySelectorAll(".outline.hot").length === 0, null, WAIT);
  await (await q(page, '[data-test="force-home-headline"]')).focus();
  await page.waitForFunction(() => window.__studio.querySelectorAll(".outline.hot").length > 0, null, WAIT);
  await (await q(page, '[data-test="tab-inspect"]')).focus();
  await page.waitForFunction(() => window.__studio.querySelectorAll(".outline.hot").length === 0, null, WAIT);
  assert.ok(await page.evaluate(() => window.__studio.querySelectorAll(".outline").length > 0), "the other outlines stay");
  assert.deepEqual(page.problems, []);
  await context.close();
});
