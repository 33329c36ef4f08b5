// The demo storefront as a shopper sees it: the server publishes the demo ruleset, the SDK
// fetches it (signed, verified with the key the page pins), and placements follow what the
// shopper did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, newPage, ROOT, startServer } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await startServer(["--site", "demo", "--ruleset", join(ROOT, "www/ruleset.json")]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function heroOffers(page) {
  await page.waitForFunction(() => document.querySelector('[data-placement="home-hero"]').classList.contains("decided"));
  return page.$$eval('[data-placement="home-hero"] [data-offer]', (els) => els.map((e) => e.dataset.offer));
}

test("a new shopper gets the welcome offer; after looking at shoes, the running-shoes offer", async () => {
  const page = await newPage(browser);
  await page.goto(server.url + "/");
  assert.deepEqual(await heroOffers(page), ["welcome-10"]);
  const decision = await page.evaluate(() => window.lastDecision);
  assert.equal(decision.rulesetId, "demo-2026-11", "the signed ruleset from the server is in use");

  await page.goto(server.url + "/product.html?sku=SH-TRAIL-1");
  await page.waitForFunction(() => document.querySelector('[data-placement="product-recs"]').classList.contains("decided"));
  await page.click("[data-add]");
  await page.waitForFunction(() => document.querySelector("[data-add]").textContent.includes("Added"));

  await page.goto(server.url + "/");
  assert.deepEqual(await heroOffers(page), ["running-shoes"]);
  const profile = await page.evaluate(() => tailor("profile"));
  assert.equal(profile.topCategory, "shoes");
  assert.equal(profile.cart.count, 1);

  await page.goto(server.url + "/cart.html");
  await page.waitForFunction(() => !document.getElementById("checkout").disabled);
  await page.click("#checkout");
  await page.waitForFunction(() => document.getElementById("items").textContent.includes("Thank you"));
  assert.deepEqual(page.problems, []);
});
