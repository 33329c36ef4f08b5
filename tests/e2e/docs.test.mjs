// Every ```js example in docs/sdk.md, run as written in its own page (fresh storage), against
// the real server: a failed console.assert, an exception or a console error fails the test.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codeBlocks, launchBrowser, newPage, ROOT, startServer } from "./harness.mjs";

const doc = readFileSync(join(ROOT, "docs/sdk.md"), "utf8");
const examples = codeBlocks(doc, "js").map((b) => b.code);

let server;
let browser;
let www;
before(async () => {
  www = mkdtempSync(join(tmpdir(), "tailor-docs-"));
  examples.forEach((code, i) => {
    const page = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports":{"@tailor-sdk/tailor":"/pkg/index.js"}}</script></head><body>
<script type="module">
import { Tailor } from "@tailor-sdk/tailor";
try {
${code}
  window.exampleResult = "done";
} catch (e) {
  window.exampleResult = "threw " + (e && e.stack || e);
}
</script></body></html>`;
    writeFileSync(join(www, `example-${i}.html`), page);
  });
  server = await startServer([], { www });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(www, { recursive: true, force: true });
});

test("docs/sdk.md has examples", () => {
  assert.ok(examples.length >= 5, "found " + examples.length);
});

examples.forEach((code, i) => {
  test(`docs/sdk.md example ${i + 1}: ${code.split("\n")[0].slice(0, 60)}`, async () => {
    const page = await newPage(browser);
    await page.goto(`${server.url}/example-${i}.html`);
    await page.waitForFunction(() => window.exampleResult !== undefined, null, { timeout: 15000 });
    assert.equal(await page.evaluate(() => window.exampleResult), "done");
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});
