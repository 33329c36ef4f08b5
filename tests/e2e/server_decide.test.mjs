// `POST /v1/decide` gives the answer the browser gives for the same profile and context.
// Generated shoppers (seeded) browse and buy on one device (the built SDK in headless
// Chromium against the real `tailor serve`), then identify; a second, fresh device
// identifies as the same user (so its profile is the server's, merged) and decides; the
// server decides for the user from its own profile. The offers per placement and the
// experiment variations must be the same, shopper by shopper.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { rng } from "./growthbook_corpus.mjs";
import { identityToken, launchBrowser, newPage, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "server-decide-admin-token";
const SITE = "sd";
const SHOPPERS = 12;
const CATEGORIES = ["shoes", "bags", "hats", "coats"];

const RULESET = {
  version: 1,
  placements: { "home-hero": { limit: 1 }, recs: { limit: 3 } },
  audiences: {
    buyer: { "profile.orders.count": { $gte: 1 } },
    vip: { $or: [{ "user.plan": "gold" }, { "profile.orders.revenue": { $gte: 300 } }] },
  },
  offers: [
    { id: "welcome", placements: ["home-hero"], priority: 1, condition: { "profile.orders.count": 0 }, content: { title: "Welcome" } },
    { id: "vip-sale", placements: ["home-hero"], priority: 5, audience: "vip", content: { title: "VIP sale" } },
    { id: "thanks", placements: ["home-hero", "recs"], priority: 2, audience: "buyer", content: { title: "Thanks" } },
    ...CATEGORIES.map((c) => ({
      id: `more-${c}`,
      placements: ["recs"],
      score: { path: `profile.categories.${c}`, weight: 1 },
      condition: { [`profile.categories.${c}`]: { $gt: 0 } },
      content: { title: `More ${c}` },
    })),
    { id: "home-only", placements: ["recs"], priority: -1, condition: { "context.pageType": "home" }, content: { title: "Home" } },
  ],
  experiments: [
    {
      key: "hero-copy",
      hashAttribute: "id",
      fallbackAttribute: null,
      variations: [{ key: "control" }, { key: "short", offers: { "vip-sale": { title: "Sale" } } }],
    },
    { key: "recs-order", hashAttribute: "id", fallbackAttribute: null, coverage: 0.7, weights: [0.3, 0.3, 0.4], variations: [{}, {}, {}], audience: "buyer" },
  ],
};

let server;
let browser;
let key;
before(async () => {
  server = await startServer(["--admin-token", TOKEN], { www: PAGES });
  browser = await launchBrowser();
  key = (await (await fetch(`${server.url}/v1/keys`)).json()).keys[0].publicKey;
  const r = await fetch(`${server.url}/v1/admin/rulesets/${SITE}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(RULESET),
  });
  assert.equal(r.status, 201, await r.text());
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function device() {
  const page = await newPage(browser);
  await page.goto(`${server.url}/sync.html?${new URLSearchParams({ site: SITE, flush: 600000, key })}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  await page.waitForFunction(() => T.status.rulesetVersion !== null, null, { timeout: 10000 });
  return page;
}

/** What matters of a decision: offer ids per placement, and each experiment's variation. */
function summary(d) {
  const placements = Object.fromEntries(Object.entries(d.placements).map(([p, v]) => [p, v.offers.map((o) => o.offerId)]));
  const experiments = Object.fromEntries(d.experiments.map((x) => [x.key, x.inExperiment ? x.variation : -1]));
  return { placements, experiments };
}

async function serverDecide(body, headers = { authorization: `Bearer ${TOKEN}` }) {
  const r = await fetch(`${server.url}/v1/decide`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  return { status: r.status, body: await r.json() };
}

test(`${SHOPPERS} generated shoppers: the server decides as the browser does`, { timeout: 240000 }, async () => {
  const r = rng(0x5d);
  const int = (n) => Math.floor(r() * n);
  const seen = { offers: new Set(), variations: new Set() };
  for (let i = 0; i < SHOPPERS; i++) {
    const userId = `shopper-${i}`;
    const context = { pageType: r() < 0.5 ? "home" : "category" };
    // Device A: a history, sent to the server, then identify (with traits).
    const a = await device();
    await a.evaluate(
      async ([views, orders]) => {
        for (const [n, category] of views) {
          for (let k = 0; k < n; k++) await T.track("product_view", { sku: `${category}-${k}`, category, price: 50, currency: "EUR" });
        }
        for (const [j, revenue] of orders) await T.track("purchase", { orderId: `o-${j}`, revenue, currency: "EUR", items: [] });
        await T.flush();
      },
      [CATEGORIES.map((c) => [int(4), c]), Array.from({ length: int(3) }, (_, j) => [j, 50 + int(300)])],
    );
    const plan = ["gold", "silver", null][int(3)];
    await a.evaluate(([u, token, plan]) => T.identify(u, { token, traits: plan ? { plan } : {} }), [userId, identityToken(SITE, userId), plan]);
    await a.context().close();

    // Device B: fresh; identifying merges the server's profile; then it decides.
    const b = await device();
    await b.evaluate(([u, token]) => T.identify(u, { token }), [userId, identityToken(SITE, userId)]);
    const browserSide = summary(await b.evaluate((context) => T.decide(context, { record: false }), context));
    assert.deepEqual(b.problems, []);
    await b.context().close();

    const answer = await serverDecide({ site: SITE, userId, context });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.rulesetVersion, 1);
    const serverSide = summary(answer.body);
    assert.deepEqual(serverSide, browserSide, `${userId} (${JSON.stringify(context)})`);
    Object.values(serverSide.placements).flat().forEach((o) => seen.offers.add(o));
    Object.entries(serverSide.experiments).forEach(([k, v]) => seen.variations.add(`${k}:${v}`));
  }
  console.log(`compared ${SHOPPERS} shoppers; offers shown: ${[...seen.offers].sort().join(" ")}; variations: ${[...seen.variations].sort().join(" ")}`);
  // The shoppers differ enough for the comparison to mean something.
  assert.ok(seen.offers.size >= 5, [...seen.offers].join(" "));
  assert.ok(seen.variations.size >= 4, [...seen.variations].join(" "));
});

test("POST /v1/decide: who may ask, and bad requests", async () => {
  const userId = "shopper-0";
  let r = await serverDecide({ site: SITE, userId }, {});
  assert.equal(r.status, 401);
  assert.match(r.body.message, /admin token .* or that user's identity token/);
  r = await serverDecide({ site: SITE, userId }, { "x-tailor-identity-token": identityToken(SITE, "someone-else") });
  assert.equal(r.status, 401, "another user's token proves nothing");
  r = await serverDecide({ site: SITE, userId }, { "x-tailor-identity-token": identityToken(SITE, userId) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await serverDecide({ site: SITE });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /userId is required/);
  r = await serverDecide({ site: SITE, userId, context: "home" });
  assert.match(r.body.message, /context must be an object/);
  r = await serverDecide({ site: "no-such-site", userId });
  assert.equal(r.status, 404);
  assert.equal(r.body.error, "no_ruleset");
  // Placements and the time are options, as in the browser.
  r = await serverDecide({ site: SITE, userId, placements: ["recs"], now: 1700000000000 });
  assert.deepEqual(Object.keys(r.body.placements), ["recs"]);
  assert.equal(r.body.now, 1700000000000);
});
