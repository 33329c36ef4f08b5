// What the Studio's end-to-end tests share: making a Studio link through the admin API, a
// browser context that records the Studio's closed shadow root (an init script wraps
// attachShadow before any page script runs, as a shop's own tests can), and reading and
// typing into the Studio's elements. Not a test file itself.
import assert from "node:assert/strict";

export const WAIT = { timeout: 15000 };

/** A Studio link of `site` (`POST /v1/admin/studio-links/{site}`): `{ link, token, ... }`. */
export async function studioLink(server, adminToken, site, role, { ttl = "30m", who = "Mia", path = "/" } = {}) {
  const r = await fetch(`${server.url}/v1/admin/studio-links/${site}`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ role, ttl, who, path }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return r.json();
}

/** A new context of `browser` whose pages record the Studio's closed shadow root as window.__studio. */
export async function studioContext(browser, options = {}) {
  const context = await browser.newContext(options);
  await context.addInitScript(() => {
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) {
      const root = attach.call(this, init);
      if (this.localName === "tailor-studio") window.__studio = root;
      return root;
    };
  });
  return context;
}

/** A page of `context` at `url` whose errors and console errors collect in `page.problems`. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push("pageerror: " + e.message));
  page.on("console", (m) => m.type() === "error" && page.problems.push("console: " + m.text()));
  await page.goto(url);
  return page;
}

/** An element inside the Studio (by a CSS selector), waited for. */
export async function q(page, selector) {
  await page.waitForFunction((s) => window.__studio?.querySelector(s), selector, WAIT);
  return page.evaluateHandle((s) => window.__studio.querySelector(s), selector);
}

export const text = (page, selector) => q(page, selector).then((e) => e.evaluate((el) => el.textContent));

/** The text of a Studio element once it matches `pattern`; else fails with what it says. */
export async function waitText(page, selector, pattern) {
  try {
    await page.waitForFunction(([s, p]) => new RegExp(p).test(window.__studio?.querySelector(s)?.textContent || ""), [selector, pattern.source], WAIT);
  } catch {
    const now = await page.evaluate((s) => window.__studio?.querySelector(s)?.textContent, selector);
    throw new Error(`${selector} did not match ${pattern}: it says ${JSON.stringify(now)}${page.problems?.length ? "; page problems: " + page.problems.join("; ") : ""}`);
  }
  return text(page, selector);
}

/** Types `value` into a Studio field and waits until the form has taken it. */
export async function type(page, selector, value) {
  await (await q(page, selector)).fill(value);
  await page.waitForTimeout(450); // the form takes edits after 300 ms without typing
}
