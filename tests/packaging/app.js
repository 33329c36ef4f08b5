// The app every packaging fixture builds: it starts Tailor with an inline ruleset, decides,
// records a product view, decides again, and puts what it saw on `window.packaging` for the
// test to check. `Tailor` comes from whichever entry the fixture imports.
const ruleset = {
  version: 1,
  placements: { "home-hero": { limit: 1 } },
  offers: [
    { id: "shoes", placements: ["home-hero"], priority: 10, condition: { "profile.topCategory": "shoes" }, content: { title: "Running shoes" } },
    { id: "welcome", placements: ["home-hero"], priority: 1, content: { title: "Welcome" } },
  ],
};

export async function run(Tailor, site) {
  try {
    const tailor = await Tailor.init({ site, consent: "granted", ruleset });
    const offer = () => tailor.decide({}, { record: false }).placements["home-hero"]?.offers[0]?.offerId ?? null;
    const before = offer();
    const eventId = await tailor.track("product_view", { sku: "SH-1", category: "shoes", price: 89 });
    window.packaging = {
      ready: tailor.status.ready,
      storage: tailor.status.storage,
      before,
      after: offer(),
      eventId,
      views: tailor.profile()?.events.product_view.count ?? null,
    };
  } catch (e) {
    window.packaging = { error: String((e && e.stack) || e) };
  }
}
