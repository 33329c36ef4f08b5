// The work both SDKs do on the benchmark page (www/bench/index.html): a ruleset of 100 offers
// over 4 placements and 20 experiments (the same as benches/decide.rs), a shopper history of
// 300 events, and the condition cases of the condition row. GrowthBook gets the same
// experiments and conditions in its own form (experimentsForGrowthBook).

const CATEGORIES = ["shoes", "bags", "coats", "shirts", "jeans", "hats", "socks", "watches", "belts", "scarves"];
const PLACEMENTS = ["home-hero", "category-banner", "product-recs", "cart-upsell"];
const AUDIENCES = {
  returning: { "profile.orders.count": { $gte: 1 } },
  anyone: {},
  engaged: { "profile.events.page_view.count": { $gt: 20 }, "profile.session.id": { $exists: true } },
};

function offerCondition(i) {
  const cat = CATEGORIES[i % CATEGORIES.length];
  switch (i % 5) {
    case 0:
      return { ["profile.categories." + cat]: { $gt: 0.2 } };
    case 1:
      return { "context.pageType": { $in: ["home", "category", "product"] }, "profile.orders.count": { $gte: 1 } };
    case 2:
      return { $or: [{ "user.plan": "gold" }, { "profile.orders.revenue": { $gte: 300 } }] };
    case 3:
      return { "context.userAgent": { $regexi: "iphone|android" } };
    default:
      return { "profile.recentlyViewed": { $elemMatch: { category: cat } } };
  }
}

const experimentCondition = { "context.pageType": { $ne: "checkout" } };

/** Tailor's ruleset document: 100 offers, 4 placements, 20 experiments. */
export function ruleset() {
  const offers = [];
  for (let i = 0; i < 100; i++) {
    const cat = CATEGORIES[i % CATEGORIES.length];
    offers.push({
      id: "offer-" + i,
      placements: [PLACEMENTS[i % 4], PLACEMENTS[(i + 1) % 4]],
      priority: i % 7,
      audience: ["returning", "anyone", "engaged"][i % 3],
      condition: offerCondition(i),
      score: [{ path: "profile.categories." + cat, weight: 1 }],
      cap: [
        { max: 3, per: "day" },
        { max: 1, per: "session" },
      ],
      window: { start: "2026-01-01T00:00:00Z", end: "2027-12-31T00:00:00Z" },
      content: { title: "Offer " + i, body: "All " + cat + " at a better price", image: "/img/" + cat + ".jpg", cta: "Shop " + cat, url: "/category/" + cat },
    });
  }
  const experiments = [];
  for (let i = 0; i < 20; i++) {
    const treatment = { key: "treatment", value: { v: 1 } };
    if (i < 5) treatment.offers = { ["offer-" + i * 3]: { title: "Offer " + i * 3 + " (B)" } };
    const start = Math.floor(i / 4) * 0.2;
    experiments.push({
      key: "exp-" + i,
      seed: "exp-" + i + "-seed",
      coverage: 0.9,
      weights: [0.5, 0.5],
      namespace: ["ns-" + (i % 4), start, start + 0.2],
      condition: experimentCondition,
      variations: [{ key: "control", value: { v: 0 } }, treatment],
    });
  }
  return {
    version: 1,
    id: "bench",
    audiences: AUDIENCES,
    placements: { "home-hero": { limit: 1 }, "category-banner": { limit: 1 }, "product-recs": { limit: 4 }, "cart-upsell": { limit: 2 } },
    offers,
    experiments,
  };
}

/** A ruleset whose `n` offers in one placement all carry `condition` (the condition row). */
export function conditionRuleset(condition, n) {
  const offers = [];
  for (let i = 0; i < n; i++) offers.push({ id: "c-" + i, placements: ["p"], condition, content: { title: "C" + i } });
  return { version: 1, id: "condition", placements: { p: { limit: 1 } }, offers };
}

/** GrowthBook's form of the same 20 experiments (`gb.run(experiment)`). */
export function experimentsForGrowthBook() {
  return ruleset().experiments.map((x) => ({
    key: x.key,
    seed: x.seed,
    hashVersion: 2,
    coverage: x.coverage,
    weights: x.weights,
    namespace: x.namespace,
    condition: x.condition,
    variations: x.variations.map((v) => v.value),
  }));
}

/** GrowthBook's share of the offers: each offer's audience and condition, evaluated with `evalCondition`. */
export function offerConditionsForGrowthBook() {
  return ruleset().offers.map((o) => [AUDIENCES[o.audience], o.condition]);
}

/** The 300 touchpoints of the shopper whose profile decisions read. */
export function history() {
  const out = [];
  for (let i = 0; i < 300; i++) {
    const cat = CATEGORIES[i % CATEGORIES.length];
    const sku = "SKU-" + (i % 60);
    if (i % 50 === 49) out.push(["purchase", { orderId: "order-" + i, revenue: 70 + (i % 30), currency: "EUR", items: [{ sku, quantity: 1, price: 70 }] }]);
    else if (i % 10 === 9) out.push(["add_to_cart", { sku, quantity: 1, price: 20 + (i % 80), currency: "EUR", category: cat, brand: "B" + (i % 7) }]);
    else if (i % 3 === 0) out.push(["page_view", { path: "/category/" + cat }]);
    else if (i % 7 === 1) out.push(["search", { query: cat, results: 12 }]);
    else out.push(["product_view", { sku, name: "Product " + (i % 60), category: cat, brand: "B" + (i % 7), price: 20 + (i % 80), currency: "EUR" }]);
  }
  return out;
}

/** The page context passed to `decide()` (the attributes' `context.*`). */
export const pageContext = { pageType: "category", country: "FR", appVersion: "2.4.1", userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)" };

/** The condition row's cases (the conditions of benches/decide.rs). */
export const conditionCases = [
  ["eq", { "context.country": "FR" }],
  ["range", { "profile.orders.count": { $gte: 1, $lt: 10 } }],
  ["in-20", { "context.country": { $in: ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "FR"] } }],
  ["and-or", { $and: [{ "context.pageType": { $ne: "checkout" } }, { $or: [{ "user.plan": "gold" }, { "profile.orders.revenue": { $gte: 300 } }] }] }],
  ["regex", { "context.userAgent": { $regexi: "iphone|android" } }],
  ["version", { "context.appVersion": { $vgte: "2.3.0" } }],
  ["elemMatch", { "profile.recentlyViewed": { $elemMatch: { category: "scarves", price: { $gt: 60 } } } }],
];

/** A track() call of a burst: a product view. */
export function productView(i) {
  return { sku: "SKU-" + (i % 50), name: "Product " + (i % 50), category: CATEGORIES[i % 3], brand: "acme", price: 10 + (i % 90), currency: "EUR" };
}
