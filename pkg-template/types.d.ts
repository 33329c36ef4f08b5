// Types of Tailor's data: configuration, events, status and decisions.

/** Whether the shopper allowed storing and sending. */
export type Consent = "granted" | "denied" | "pending";

export interface TailorConfig {
  /** The shop's site key: 1-64 of a-z, 0-9, '-' and '_'. */
  site: string;
  /** Base URL of the Tailor server, or "/" for the page's own origin. Omit to stay on the device. */
  endpoint?: string;
  /** Consent before the shopper said anything. Default "pending": nothing stored or sent. */
  consent?: Consent;
  /** Whether navigator.globalPrivacyControl counts as an opt-out of sending. Default true. */
  respectGpc?: boolean;
  /** Where state is kept. Default "auto": IndexedDB, else localStorage, else memory. */
  storage?: "auto" | "indexeddb" | "localstorage" | "memory";
  /** Milliseconds between outbox flushes, 1000 to 600000. Default 5000. */
  flushInterval?: number;
  /** Base64 Ed25519 public key that rulesets must be signed with. */
  publicKey?: string;
  /** Events held in memory while consent is pending, 0 to 1000. Default 100. */
  pendingLimit?: number;
  /** A ruleset given inline (see docs/ruleset.md), used until the server sends a newer one. */
  ruleset?: object;
  /**
   * Take new ruleset versions as the server publishes them (Server-Sent Events while the tab
   * is visible; ETag polling every 60 s where EventSource is missing or refused). Needs
   * `endpoint` and `publicKey`. Default false: it holds a connection per visible tab.
   */
  liveUpdates?: boolean;
  /** Apply the page changes of experiments targeting this page automatically. Default true. */
  pageChanges?: boolean;
  /** Nonce for the `<style>` elements of page changes (default: `<meta name="csp-nonce">` or a script's nonce). */
  nonce?: string;
}

/** One declarative change of a page (docs/sdk.md, "Page changes"). */
export interface PageChange {
  /** 1 to 5 CSS selectors tried in order: the first that matches an element wins. */
  selector: string | string[];
  /** Text the element must contain: picks among several matches, refuses a wrong element. */
  fingerprint?: string;
  action: "text" | "html" | "attribute" | "addClass" | "removeClass" | "style" | "insertBefore" | "insertAfter" | "prepend" | "append" | "move" | "hide";
  /** Attribute name or CSS property. */
  name?: string;
  value?: string;
  /** Where `move` puts the element: a selector, and the position relative to it. */
  target?: string;
  position?: "before" | "after" | "prepend" | "append";
}

/** A decision's experiment entry with page changes (what `applyChanges` reads). */
export interface PageExperiment {
  key: string;
  variation: number;
  inExperiment?: boolean;
  changes?: PageChange[];
  css?: string;
  redirect?: { url: string; keepQuery?: boolean };
  [k: string]: unknown;
}

export interface Item {
  sku: string;
  quantity?: number;
  price?: number;
  name?: string;
  category?: string | string[];
  brand?: string;
}

/** Properties of each standard event type. */
export interface EventProps {
  page_view: { url?: string; path?: string; title?: string; referrer?: string; [k: string]: unknown };
  category_view: { category: string | string[]; [k: string]: unknown };
  product_view: {
    sku: string;
    name?: string;
    category?: string | string[];
    brand?: string;
    price?: number;
    currency?: string;
    [k: string]: unknown;
  };
  search: { query: string; results?: number; [k: string]: unknown };
  add_to_cart: { sku: string; quantity: number; price?: number; currency?: string; name?: string; category?: string | string[]; brand?: string; [k: string]: unknown };
  remove_from_cart: { sku: string; quantity: number; price?: number; currency?: string; name?: string; category?: string | string[]; brand?: string; [k: string]: unknown };
  checkout_start: { value?: number; currency?: string; items?: Item[]; [k: string]: unknown };
  purchase: { orderId: string; revenue: number; currency: string; items: Item[]; [k: string]: unknown };
  offer_impression: { offerId: string; placement?: string; variant?: string; [k: string]: unknown };
  offer_click: { offerId: string; placement?: string; variant?: string; [k: string]: unknown };
  experiment_exposure: { experimentKey: string; variation: number; bucketVersion?: number; [k: string]: unknown };
  custom: { name: string; [k: string]: unknown };
}

export type EventType = keyof EventProps;

export interface TailorStatus {
  /** False when the SDK runs on defaults (WebAssembly could not load or stopped working). */
  ready: boolean;
  /** "studio" or "preview" while a Studio or preview link is open in this tab: nothing is recorded or sent. */
  mode: "live" | "studio" | "preview";
  site?: string;
  storage: "indexeddb" | "localstorage" | "memory" | "none";
  consent: Consent;
  anonymousId?: string;
  userId?: string | null;
  /** Whether events may leave the device (consent, endpoint, Global Privacy Control). */
  sending: boolean;
  /** navigator.globalPrivacyControl was set. */
  gpc?: boolean;
  /** Published version of the ruleset in use; null when there is none. */
  rulesetVersion?: number | null;
  /** Events dropped unsent (oldest first) to keep an outbox that is not being sent bounded: while consent is pending, or granted with sending off (GPC, no endpoint). */
  dropped?: number;
  /** What went wrong so far (storage refused, quota exceeded, ...), newest last. */
  problems: string[];
}

export interface OfferContent {
  title?: string;
  body?: string;
  image?: string;
  cta?: string;
  url?: string;
  [k: string]: unknown;
}

/**
 * Reason codes (docs/api.md, "Reason codes"): stable codes with their fields, in the shopper's
 * module. The server, the CLI and the Studio give English sentences instead.
 */
/** Why an offer is shown: `candidates` offers were eligible in the placement, which shows `limit`. */
export interface ChosenReason {
  code: "chosen";
  candidates: number;
  limit: number;
}

/** Why an offer is not shown in a placement. Times are ms since 1970. */
export type SkipReason =
  | { code: "global_holdout" | "not_in_audience" | "condition_failed" }
  | { code: "not_started"; start: number }
  | { code: "ended"; end: number }
  | { code: "capped"; per: "hour" | "day" | "week" | "session"; max: number; count: number }
  | { code: "clicked"; max: number; clicks: number }
  | { code: "excluded"; by: string }
  | { code: "shown_elsewhere"; placement: string }
  | { code: "limit_reached"; limit: number }
  | { code: "unsafe_url"; field: string; why: string };

/** Why the shopper sees an experiment's variation, or is not in the experiment. */
export type ExperimentReason =
  | { code: "no_page_url" | "url_not_targeted" | "inactive" | "forced" | "global_holdout" | "not_in_audience" | "condition_failed" | "no_hash_attribute" }
  | { code: "sticky"; bucketVersion: number }
  | { code: "not_in_namespace"; namespace: string; start: number; end: number }
  | { code: "experiment_holdout"; holdout: number }
  | { code: "outside_coverage"; bucket: number; coverage: number }
  | { code: "bucketed"; bucket: number; start: number; end: number };

export interface ChosenOffer {
  offerId: string;
  content: OfferContent;
  priority: number;
  score: number;
  /** 1 for the best of the placement's eligible offers, by priority then score. */
  rank: number;
  /** The experiment whose variation supplied the content, and that variation. */
  experimentKey?: string;
  variation?: number;
  /** Why it was chosen (absent with `reasons: false`). */
  reason?: ChosenReason;
  /** The offer's page changes (docs/ruleset.md, "Page changes"). */
  changes?: PageChange[];
  css?: string;
  redirect?: { url: string; keepQuery?: boolean };
  [k: string]: unknown;
}

/** One experiment of a decision, in the ruleset's order. */
export interface ExperimentResult {
  key: string;
  inExperiment: boolean;
  /** The variation shown (0 is the control, also when not in the experiment). */
  variation: number;
  variationKey?: string;
  value?: unknown;
  /** Why `value` was withheld (it held a URL the URL rule refuses); `value` is then null. */
  valueRemoved?: string;
  hashAttribute: string;
  hashValue: string | null;
  /** Why this variation (absent with `reasons: false`). */
  reason?: ExperimentReason;
  /** The variation's page changes (docs/ruleset.md, "Page changes"). */
  changes?: PageChange[];
  css?: string;
  redirect?: { url: string; keepQuery?: boolean };
  [k: string]: unknown;
}

/** An impression or exposure a decision records (unless `record: false`). */
export interface Exposure {
  type: "experiment_exposure" | "offer_impression";
  experimentKey?: string;
  variation?: number;
  offerId?: string;
  placement?: string;
}

export interface Decision {
  /** The time the decision was made for (ms since 1970); absent from the empty decision. */
  now?: number;
  /** The ruleset's `id`, when it has one. */
  rulesetId?: string;
  /** Whether the shopper is in the ruleset's global holdout (no experiment, no experiment content); absent from the empty decision. */
  globalHoldout?: boolean;
  placements: Record<string, { offers: ChosenOffer[]; skipped?: { offerId: string; reason: SkipReason }[]; [k: string]: unknown }>;
  experiments: ExperimentResult[];
  /** Variations assigned for the first time by this decision, kept in the profile (absent from the empty decision). */
  stickyAssignments?: { experimentKey: string; variation: number; bucketVersion: number }[];
  /** What this decision records (empty with `record: false`; absent from the empty decision). */
  exposures?: Exposure[];
  /** What is recorded once the changes are on the page, with the elements they change (absent from the empty decision). */
  pageExposures?: (Exposure & { selectors?: string[] })[];
  /** Only in the empty decision (no ruleset loaded yet, or the SDK cannot run): why. */
  reasons?: string[];
  [k: string]: unknown;
}

export interface DecideOptions {
  /** Only these placements (default: all of the ruleset's). */
  placements?: string[];
  /** false: preview, without recording impressions and exposures. Default true. */
  record?: boolean;
  /** Variations to show, by experiment key (over the URL's `tailor_force`): `{ hero: 1 }`. */
  forced?: Record<string, number>;
  /** false: the same choices without the `reason` fields and the placements' `skipped` lists (faster). Default true. */
  reasons?: boolean;
}

/** What the Studio's own engine needs to decide as the page does (`Tailor.studioState()`). */
export interface StudioState {
  /** The stored profile, as the engine's JSON text (`Profile::to_json`). */
  profile: string;
  /** The page context decisions use (`context.*` of conditions). */
  context: Record<string, unknown>;
}

/** What the SDK hands the Studio module's `open(host)` (docs/sdk.md, "Studio and preview links"). */
export interface StudioHost {
  mode: "studio" | "preview";
  /** The Studio (ts1.) or preview (tp1.) token of the link. */
  token: string;
  /** The Tailor server, absolute, without a trailing slash. */
  endpoint: string;
  site: string;
  /** The page's Tailor instance. */
  tailor: unknown;
  /** Why the preview's draft is not in use (expired, tampered, another site), else null. */
  previewError: string | null;
  /** Ends the mode for this tab and reloads the page. */
  exit(): void;
}

/** Counts of one event type. */
export interface EventCounts {
  count: number;
  last7d: number;
  last30d: number;
  first?: number;
  last?: number;
}

/** The profile snapshot (`profile.*` in conditions); every attribute is in docs/profile.md. Times are ms since 1970. */
export interface ProfileSnapshot {
  anonymousId: string;
  userId?: string;
  firstSeen: number;
  lastSeen: number;
  events: Record<EventType, EventCounts>;
  custom: Record<string, EventCounts>;
  orders: { count: number; revenue: number; aov: number; last30d: number; revenue30d: number; first?: number; last?: number; currency?: string };
  rfm: { recencyDays?: number; frequency: number; monetary: number };
  categories: Record<string, number>;
  brands: Record<string, number>;
  topCategory?: string;
  topBrand?: string;
  recentlyViewed: { sku: string; category?: string; brand?: string; price?: number; ts: number }[];
  searches: string[];
  cart: { items: { sku: string; quantity: number; price?: number }[]; count: number; value: number; updatedAt?: number };
  session: { id?: string; start: number; last?: number; length?: number; pages: number; events: number; count: number; active: boolean };
  traits: Record<string, unknown>;
  /** The ruleset's audiences the shopper matched at the last recorded `decide()`, each with when it was entered (ms). */
  audiences: Record<string, { enteredAt: number }>;
  offers: Record<string, { shown: number[]; clicks: number; lastClick?: number }>;
  experiments: Record<string, { variation: number; bucketVersion: number }>;
}
