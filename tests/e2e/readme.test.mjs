// The README's examples, run as written: the script-tag snippet and the npm example, each on
// a page served by the real `tailor serve`, in headless Chromium.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codeBlocks, launchBrowser, newPage, readStore, ROOT, startServer } from "./harness.mjs";

/** The first fenced block of `lang` after the heading `## title`. */
function example(title, lang) {
  const block = codeBlocks(readFileSync(join(ROOT, "README.md"), "utf8"), lang).find((b) => b.section === title);
  assert.ok(block, "README has a section " + title + " with a " + lang + " example");
  return block.code;
}

let server;
let browser;
let www;
before(async () => {
  www = mkdtempSync(join(tmpdir(), "tailor-readme-"));
  const head = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">';
  writeFileSync(join(www, "script-tag.html"), head + example("Script tag", "html") + "</head><body>shop</body></html>");
  const importMap = '<script type="importmap">{"imports":{"@tailor-sdk/tailor":"/pkg/index.js"}}</script>';
  const module = example("npm", "js").replace(/console\.log\(/g, "window.readmeLog = (");
  writeFileSync(join(www, "npm.html"), head + importMap + '</head><body><script type="module">' + module + "</script></body></html>");
  server = await startServer([], { www });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(www, { recursive: true, force: true });
});

test("README script-tag example stores its queued product_view", async () => {
  const page = await newPage(browser);
  await page.goto(server.url + "/script-tag.html");
  await page.waitForFunction(() => window.tailor && window.tailor.loaded);
  await page.evaluate(() => tailor("ready", () => {}));
  const events = await readStore(page, "tailor:my-shop", "outbox");
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "product_view");
  assert.equal(events[0].props.sku, "SKU-1");
  assert.deepEqual(page.problems, []);
});

test("README npm example stores its add_to_cart", async () => {
  const page = await newPage(browser);
  await page.goto(server.url + "/npm.html");
  await page.waitForFunction(() => window.readmeLog !== undefined || document.readyState === "complete");
  await page.waitForFunction(() => window.readmeLog !== undefined);
  const events = await readStore(page, "tailor:my-shop", "outbox");
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "add_to_cart");
  assert.deepEqual(page.problems, []);
});
