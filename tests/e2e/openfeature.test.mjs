// Tailor's OpenFeature provider with the real @openfeature/web-sdk in headless Chromium: the
// page is bundled by esbuild from a fresh project that installed the packed tarball, and
// served by the real `tailor serve`, which signs the rulesets the page fetches. Every reason
// and error code the provider gives, a context change, and a ruleset update event.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser, newPage, startServer } from "./harness.mjs";
import { bundle, FIXTURES, packTarball, project, ROOT } from "../packaging/support.mjs";

const TOKEN = "openfeature-test-admin-token";
const WAIT = { timeout: 15000 };
// Each test as a whole is bounded too (a page.evaluate that never settles).
const BOUND = { timeout: 60000 };

/** Experiments for every path: weights [0, 1] put everyone in variation 1 (SPLIT). */
const ruleset = (cta) => ({
  version: 1,
  placements: { "home-hero": { limit: 1 }, "empty-slot": { limit: 1 } },
  offers: [{ id: "welcome", placements: ["home-hero"], priority: 1, content: { title: "Welcome" } }],
  experiments: [
    { key: "cta-color", weights: [0, 1], variations: [{ key: "control", value: "blue" }, { key: "treatment", value: cta }] },
    { key: "free-shipping", weights: [0, 1], variations: [{ value: false }, { value: true }] },
    { key: "max-items", weights: [0, 1], variations: [{ value: 3 }, { value: 5 }] },
    { key: "layout", weights: [0, 1], variations: [{ value: { cols: 2 } }, { value: { cols: 3 } }] },
    { key: "json-string", weights: [0, 1], variations: [{ value: "{}" }, { value: '{"a":1}' }] },
    { key: "bad-json", weights: [0, 1], variations: [{ value: "{}" }, { value: "not json{" }] },
    { key: "paused", active: false, variations: [{ key: "off", value: "off" }, { key: "on", value: "on" }] },
    { key: "vip-only", weights: [0, 1], condition: { "context.tier": "vip" }, variations: [{ key: "std", value: "standard" }, { key: "vip", value: "gold" }] },
    { key: "forced-exp", weights: [1, 0], variations: [{ key: "a", value: "A" }, { key: "b", value: "B" }] },
    { key: "no-value", weights: [0, 1], variations: [{ key: "x" }, { key: "y" }] },
  ],
});

let server;
let browser;
let dir;
let scratch;
let publicKey;
before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "tailor-openfeature-"));
  dir = project("openfeature", packTarball(scratch));
  // The provider imports @openfeature/web-sdk, the app's peer: resolved, like the page's own
  // import, from the repository's node_modules (one copy, as in an app).
  const out = await bundle("esbuild", dir, { esbuildConfig: join(FIXTURES, "esbuild/build.json"), nodePaths: [join(ROOT, "node_modules")] });
  server = await startServer(["--admin-token", TOKEN], { www: out });
  publicKey = (await (await fetch(server.url + "/v1/keys")).json()).keys[0].publicKey;
  await publish("of-shop", ruleset("red"));
  browser = await launchBrowser();
}, BOUND);
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}, BOUND);

async function publish(site, doc) {
  const r = await fetch(`${server.url}/v1/admin/rulesets/${site}`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(doc) });
  assert.equal(r.status, 201, await r.text());
}

/** Opens the page (`query` added to its URL) and waits for the Wasm load to settle. */
async function open(query = "") {
  const page = await newPage(browser);
  await page.goto(`${server.url}/index.html${query}`, WAIT);
  await page.waitForFunction(() => window.of && window.of.loaded, null, WAIT);
  await page.evaluate(() => window.of.loaded);
  return page;
}

/** In the page: Tailor for `site` on the server, its provider set (in `domain`) and awaited. */
function start(page, site, domain) {
  return page.evaluate(
    async ([site, domain, publicKey]) => {
      const { OpenFeature, ProviderEvents, Tailor, TailorProvider } = window.of;
      const tailor = await Tailor.init({ site, consent: "granted", endpoint: "/", publicKey });
      const provider = new TailorProvider(tailor, { timeout: 5000 });
      const events = [];
      const client = OpenFeature.getClient(domain);
      for (const e of [ProviderEvents.Ready, ProviderEvents.ConfigurationChanged, ProviderEvents.ContextChanged, ProviderEvents.Error]) {
        client.addHandler(e, (d) => events.push({ type: e, flagsChanged: d && d.flagsChanged }));
      }
      const waiting = OpenFeature.setProviderAndWait(domain, provider);
      // Before initialize has finished, the SDK itself answers PROVIDER_NOT_READY.
      const early = client.getStringDetails("cta-color", "early");
      await waiting;
      window.t = { ...(window.t || {}), [domain]: { tailor, provider, client, events } };
      return { early };
    },
    [site, domain, publicKey],
  );
}

/** Evaluates flags in the page: [method, key, default] -> the evaluation details. */
function evaluate(page, domain, calls) {
  return page.evaluate(
    ([domain, calls]) => calls.map(([method, key, dflt]) => window.t[domain].client[method](key, dflt)),
    [domain, calls],
  );
}

const pick = ({ value, variant, reason, errorCode }) => ({ value, variant, reason, errorCode });

test("flags resolve with the OpenFeature reasons; a context change re-evaluates; exposures are recorded once", BOUND, async () => {
  const page = await open("?tailor_force=forced-exp:1");
  const { early } = await start(page, "of-shop", "shop");
  assert.deepEqual(pick(early), { value: "early", variant: undefined, reason: "ERROR", errorCode: "PROVIDER_NOT_READY" });
  const got = await evaluate(page, "shop", [
    ["getStringDetails", "cta-color", "x"],
    ["getBooleanDetails", "free-shipping", false],
    ["getNumberDetails", "max-items", 0],
    ["getObjectDetails", "layout", {}],
    ["getObjectDetails", "json-string", {}],
    ["getStringDetails", "paused", "dflt"],
    ["getStringDetails", "vip-only", "dflt"],
    ["getStringDetails", "forced-exp", "dflt"],
    ["getStringDetails", "no-value", "dflt"],
    ["getStringDetails", "home-hero", "dflt"],
    ["getObjectDetails", "home-hero", {}],
    ["getStringDetails", "empty-slot", "dflt"],
  ]);
  assert.deepEqual(got.map(pick), [
    { value: "red", variant: "treatment", reason: "SPLIT", errorCode: undefined },
    { value: true, variant: "1", reason: "SPLIT", errorCode: undefined },
    { value: 5, variant: "1", reason: "SPLIT", errorCode: undefined },
    { value: { cols: 3 }, variant: "1", reason: "SPLIT", errorCode: undefined },
    { value: { a: 1 }, variant: "1", reason: "SPLIT", errorCode: undefined },
    { value: "off", variant: "off", reason: "DISABLED", errorCode: undefined },
    { value: "standard", variant: "std", reason: "DEFAULT", errorCode: undefined },
    { value: "B", variant: "b", reason: "TARGETING_MATCH", errorCode: undefined },
    { value: "dflt", variant: "y", reason: "SPLIT", errorCode: undefined },
    { value: "welcome", variant: "welcome", reason: "TARGETING_MATCH", errorCode: undefined },
    { value: got[10].value, variant: "welcome", reason: "TARGETING_MATCH", errorCode: undefined },
    { value: "dflt", variant: undefined, reason: "DEFAULT", errorCode: undefined },
  ]);
  assert.deepEqual([got[10].value.offerId, got[10].value.content], ["welcome", { title: "Welcome" }]);
  assert.equal(got[0].flagMetadata.inExperiment, true);
  assert.equal(got[0].flagMetadata.tailorReason, "bucketed");
  // A placement's flag: the top offer's rank among the eligible offers, and its reason code.
  assert.deepEqual([got[9].flagMetadata.rank, got[10].value.rank], [1, 1]);
  assert.equal(got[9].flagMetadata.tailorReason, "chosen");

  // A new static context is decided again at once: the shopper now matches the condition.
  const after = await page.evaluate(async () => {
    const { OpenFeature } = window.of;
    await OpenFeature.setContext("shop", { tier: "vip", signedUpAt: new Date(0) });
    return window.t.shop.client.getStringDetails("vip-only", "dflt");
  });
  assert.deepEqual(pick(after), { value: "gold", variant: "vip", reason: "SPLIT", errorCode: undefined });
  assert.ok((await page.evaluate(() => window.t.shop.events.map((e) => e.type))).includes("PROVIDER_CONTEXT_CHANGED"));

  // Evaluated many times, each variation the shopper counts in is recorded once, as are offers shown.
  await evaluate(page, "shop", [["getStringDetails", "cta-color", "x"], ["getStringDetails", "cta-color", "x"], ["getStringDetails", "home-hero", "x"]]);
  await page.waitForFunction(() => window.t.shop.tailor.profile().events.experiment_exposure.count >= 7, null, WAIT);
  await page.waitForTimeout(200);
  const profile = await page.evaluate(() => window.t.shop.tailor.profile());
  // cta-color, free-shipping, max-items, layout, json-string, no-value, vip-only (after the change): not paused, std or forced.
  assert.equal(profile.events.experiment_exposure.count, 7);
  assert.deepEqual(Object.keys(profile.experiments).sort(), ["cta-color", "free-shipping", "json-string", "layout", "max-items", "no-value", "vip-only"]);
  assert.equal(profile.events.offer_impression.count, 1);

  // OpenFeature's tracking API records a custom event.
  const tracked = await page.evaluate(async () => {
    const { client, tailor } = window.t.shop;
    client.track("signup", { value: 1, plan: "gold" });
    for (let i = 0; i < 50 && !tailor.profile().custom.signup; i++) await new Promise((r) => setTimeout(r, 20));
    return tailor.profile().custom.signup?.count;
  });
  assert.equal(tracked, 1);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("error codes: FLAG_NOT_FOUND, TYPE_MISMATCH, PARSE_ERROR, and the default value with each", BOUND, async () => {
  const page = await open();
  await start(page, "of-shop", "errors");
  const got = await evaluate(page, "errors", [
    ["getStringDetails", "no-such-flag", "d"],
    ["getBooleanDetails", "cta-color", false],
    ["getNumberDetails", "home-hero", 7],
    ["getBooleanDetails", "empty-slot", true],
    ["getObjectDetails", "bad-json", { fallback: true }],
    ["getObjectDetails", "max-items", []],
  ]);
  assert.deepEqual(
    got.map(({ value, reason, errorCode }) => [value, reason, errorCode]),
    [
      ["d", "ERROR", "FLAG_NOT_FOUND"],
      [false, "ERROR", "TYPE_MISMATCH"],
      [7, "ERROR", "TYPE_MISMATCH"],
      [true, "ERROR", "TYPE_MISMATCH"],
      [{ fallback: true }, "ERROR", "PARSE_ERROR"],
      [[], "ERROR", "TYPE_MISMATCH"],
    ],
  );
  assert.match(got[0].errorMessage, /"no-such-flag" is neither an experiment key nor a placement/);
  assert.match(got[1].errorMessage, /flag "cta-color" is string, asked for boolean/);
  assert.match(got[4].errorMessage, /flag "bad-json" holds a string that is not JSON/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("no ruleset yet: PROVIDER_NOT_READY; a published ruleset fires ConfigurationChanged with the flags that changed", BOUND, async () => {
  const page = await open();
  await start(page, "of-later", "later");
  const [none] = await evaluate(page, "later", [["getStringDetails", "cta-color", "d"]]);
  assert.deepEqual(pick(none), { value: "d", variant: undefined, reason: "ERROR", errorCode: "PROVIDER_NOT_READY" });
  assert.match(none.errorMessage, /no ruleset is in use yet/);

  await publish("of-later", ruleset("red"));
  await page.evaluate(() => window.t.later.tailor.refreshRuleset());
  await page.waitForFunction(() => window.t.later.events.some((e) => e.type === "PROVIDER_CONFIGURATION_CHANGED"), null, WAIT);
  const [first] = await evaluate(page, "later", [["getStringDetails", "cta-color", "d"]]);
  assert.deepEqual(pick(first), { value: "red", variant: "treatment", reason: "SPLIT", errorCode: undefined });
  let changed = await page.evaluate(() => window.t.later.events.filter((e) => e.type === "PROVIDER_CONFIGURATION_CHANGED"));
  assert.equal(changed.length, 1);
  assert.ok(changed[0].flagsChanged.includes("cta-color") && changed[0].flagsChanged.includes("home-hero"), JSON.stringify(changed));

  // A new version that changes one flag: the event names only it, and the flag has its new value.
  await publish("of-later", ruleset("green"));
  await page.evaluate(() => window.t.later.tailor.refreshRuleset());
  await page.waitForFunction(() => window.t.later.events.filter((e) => e.type === "PROVIDER_CONFIGURATION_CHANGED").length === 2, null, WAIT);
  changed = await page.evaluate(() => window.t.later.events.filter((e) => e.type === "PROVIDER_CONFIGURATION_CHANGED"));
  assert.deepEqual(changed[1].flagsChanged, ["cta-color"]);
  const [second] = await evaluate(page, "later", [["getStringDetails", "cta-color", "d"]]);
  assert.deepEqual(pick(second), { value: "green", variant: "treatment", reason: "SPLIT", errorCode: undefined });
  // Once closed (providers cleared), the provider no longer listens to Tailor.
  await publish("of-later", ruleset("yellow"));
  const afterClose = await page.evaluate(async () => {
    const { OpenFeature, ProviderEvents } = window.of;
    const { tailor, provider } = window.t.later;
    let emitted = 0;
    provider.events.addHandler(ProviderEvents.ConfigurationChanged, () => emitted++);
    await OpenFeature.clearProviders();
    const seen = new Promise((ok) => tailor.on("ruleset", ok));
    await tailor.refreshRuleset();
    await Promise.race([seen, new Promise((r) => setTimeout(r, 5000))]);
    return { emitted, version: tailor.status.rulesetVersion };
  });
  assert.deepEqual(afterClose, { emitted: 0, version: 3 });
  // The one problem: the first fetch, before anything was published, answered 404.
  assert.deepEqual(page.problems.filter((p) => !p.includes("404")), []);
  await page.context().close();
});

test("Tailor off (the Wasm did not load): GENERAL, with the default value", BOUND, async () => {
  const page = await open("?wasm=missing");
  assert.equal(await page.evaluate(() => window.of.loaded), false);
  await start(page, "of-shop", "off");
  const [off] = await evaluate(page, "off", [["getStringDetails", "cta-color", "d"]]);
  assert.deepEqual(pick(off), { value: "d", variant: undefined, reason: "ERROR", errorCode: "GENERAL" });
  assert.match(off.errorMessage, /Tailor is off and answers with defaults/);
  // The only problem on the page is the refused Wasm file itself.
  assert.deepEqual(page.problems.filter((p) => !p.includes("404")), []);
  await page.context().close();
});

test("the provider refuses a bad argument with a clear error", BOUND, async () => {
  const page = await open();
  const errors = await page.evaluate(async () => {
    const { Tailor, TailorProvider } = window.of;
    const tailor = await Tailor.init({ site: "of-args" });
    const message = (f) => {
      try {
        f();
        return "no error";
      } catch (e) {
        return e.constructor.name + ": " + e.message;
      }
    };
    return [message(() => new TailorProvider({})), message(() => new TailorProvider(tailor, { recrod: false })), message(() => new TailorProvider(tailor, { timeout: -1 }))];
  });
  assert.deepEqual(errors, [
    "TypeError: TailorProvider: the first argument must be a Tailor instance (await Tailor.init(config))",
    'TypeError: TailorProvider: unknown option "recrod" (known: record, timeout)',
    "RangeError: TailorProvider: options.timeout must be a number of milliseconds",
  ]);
  await page.context().close();
});
