// A consumer of the npm package's types: compiled with `tsc --noEmit` by scripts/test.sh.
// The @ts-expect-error lines must fail to type-check, so wrong types are caught.
import { Tailor, type ReadyState, type TailorStatus } from "@tailor-sdk/tailor";
import { initTailor } from "@tailor-sdk/tailor/slim";

export async function main(): Promise<void> {
  await initTailor(new URL("/pkg/wasm/tailor_bg.wasm", "https://shop.example"));
  const tailor = await Tailor.init({ site: "my-shop", consent: "granted", flushInterval: 5000 });
  const id: string | null = await tailor.track("product_view", { sku: "SKU-1", price: 49, brand: "acme" });
  await tailor.track("purchase", { orderId: "o-1", revenue: 98, currency: "EUR", items: [{ sku: "SKU-1", quantity: 2 }] });
  await tailor.track("custom", { name: "newsletter_signup" });
  const status: TailorStatus = tailor.status;
  const version: string = Tailor.version;
  const decision = tailor.decide();
  const hero = decision.experiments.find((x) => x.key === "hero-copy");
  const shown: number | undefined = hero?.variation;
  console.log(id, status.storage, version, decision.placements.home?.offers[0]?.offerId, shown, hero?.variationKey);
  // @ts-expect-error experiments is a list in the ruleset's order, not a map by key
  console.log(decision.experiments["hero-copy"].variation);
  // Reason codes narrow on `code` (docs/api.md, "Reason codes").
  const skip = decision.placements.home?.skipped?.[0]?.reason;
  if (skip?.code === "capped") {
    const per: "hour" | "day" | "week" | "session" = skip.per;
    console.log(per, skip.max - skip.count);
  }
  if (hero?.reason?.code === "bucketed") console.log(hero.reason.bucket.toFixed(4), hero.reason.end - hero.reason.start);
  const chosen = decision.placements.home?.offers[0]?.reason;
  console.log(chosen?.candidates, chosen?.limit);
  // @ts-expect-error a skipped offer's reason is a code object, not a sentence
  console.log(decision.placements.home?.skipped?.[0]?.reason.startsWith("frequency"));
  const profile = tailor.profile();
  if (profile) {
    const views: number = profile.events.product_view.count;
    const top: string | undefined = profile.topCategory;
    const cartValue: number = profile.cart.value;
    console.log(views, top, cartValue, profile.offers["welcome-10"]?.shown.length);
  }
  const off = tailor.on("profile", (p) => console.log(p.session.count));
  off();
  const live = await Tailor.init({ site: "my-shop", endpoint: "/", liveUpdates: true });
  const offRuleset = live.on("ruleset", ({ version }) => console.log(version.toFixed(0)));
  offRuleset();
  const ready: ReadyState = await live.ready({ timeout: 1000 });
  const inUse: number | null = ready.version;
  const why: string | null = ready.error;
  console.log(inUse, why, (await live.ready()).version);
  // @ts-expect-error: liveUpdates is a boolean
  await Tailor.init({ site: "x", liveUpdates: "yes" });
  await tailor.consent("granted");
  await tailor.identify("user-1", { plan: "gold" });
  await tailor.identify("user-1", { token: "v1.1893456000.c2lnbmF0dXJl", traits: { plan: "gold" } });
  await tailor.reset();
  await tailor.forget();
  // @ts-expect-error: consent takes one of three words
  await tailor.consent("yes");
  // @ts-expect-error: listeners are for "profile", "status" or "ruleset"
  tailor.on("click", () => {});

  // @ts-expect-error: product_view needs a sku
  await tailor.track("product_view", { price: 49 });
  // @ts-expect-error: not an event type
  await tailor.track("page_veiw", {});
  // @ts-expect-error: consent is one of three words
  await Tailor.init({ site: "x", consent: "yes" });

  // The Studio's host API (docs/sdk.md, "Studio and preview links").
  const mode: "live" | "studio" | "preview" = tailor.status.mode;
  const forced = tailor.decide({}, { record: false, forced: { hero: 1 } });
  tailor.setRuleset(null);
  const state = tailor.studioState();
  const profileText: string | undefined = state?.profile;
  console.log(mode, forced.experiments.length, profileText, state?.context.url);
  // @ts-expect-error: a forced variation is its index
  tailor.decide({}, { forced: { hero: "b" } });
}
