import type { Consent, Decision, DecideOptions, EventProps, EventType, PageExperiment, ProfileSnapshot, StudioState, TailorConfig, TailorStatus } from "./types.js";
export type * from "./types.js";

export declare class Tailor {
  private constructor();
  /** The SDK version. */
  static readonly version: string;
  /**
   * Starts Tailor for a site. Rejects with a TypeError or RangeError naming the option when
   * the config is wrong; resolves to an instance answering with defaults if Wasm cannot load.
   */
  static init(config: TailorConfig): Promise<Tailor>;
  /** Records a touchpoint; resolves to its id once stored (null when the SDK is off). */
  track<T extends EventType>(type: T, props?: EventProps[T]): Promise<string | null>;
  /**
   * Links the shopper to a known user id. `token` is the identity token the shop's backend
   * issued at login (see docs/sdk.md); without a valid one the server links the ids as
   * unverified and merges nothing of the user (said in `status.problems`).
   */
  identify(userId: string, options?: IdentifyOptions): Promise<void>;
  /** Links the shopper to a known user id with traits only (no identity token: nothing of the user is merged). */
  identify(userId: string, traits?: Record<string, unknown>): Promise<void>;
  /** Logout on a shared device: a new anonymous id; the user id, traits and history are cleared. */
  reset(): Promise<void>;
  /** A read-only snapshot of the shopper's profile (null when the SDK is off). */
  profile(): ProfileSnapshot | null;
  /** Sets consent. "denied" drops held events and erases what was stored. */
  consent(state: Consent): Promise<void>;
  /** Erases everything kept about the shopper on this device and asks the server to erase it too. */
  forget(): Promise<void>;
  /** Listens for profile or status changes; returns a function that unsubscribes. */
  on(event: "profile", callback: (profile: ProfileSnapshot) => void): () => void;
  on(event: "status", callback: (status: TailorStatus) => void): () => void;
  /**
   * A new signed ruleset from the server (a fetch, a live update or a poll) is in use; with
   * the Studio or a preview open, also each ruleset it sets and the return to the live one.
   */
  on(event: "ruleset", callback: (ruleset: RulesetChange) => void): () => void;
  /**
   * Resolves once a ruleset is in use (cached, inline or fetched), or the first fetch failed,
   * or `timeout` ms (default 3000) have passed. Never rejects (except for a bad timeout).
   */
  ready(options?: { timeout?: number }): Promise<ReadyState>;
  /** Where things stand. */
  readonly status: TailorStatus;
  /**
   * Offers per placement and experiment variations for the page, with reason codes. Throws a
   * TypeError (unknown option, wrong type) or RangeError (value not allowed) naming a bad option.
   */
  decide(context?: Record<string, unknown>, options?: DecideOptions): Decision;
  /**
   * Applies page changes now: those of `decision` or, without one, of a new decision for this
   * URL. Returns the keys of the experiments whose changes are on the page.
   */
  applyChanges(decision?: { experiments: PageExperiment[] | Record<string, unknown>; pageExposures?: { experimentKey: string; variation: number }[] }): string[];
  /** Takes every page change off the page and stops watching the page and its route changes. */
  revertChanges(): void;
  /**
   * Replaces the ruleset; throws a RangeError listing each problem with its path. In the
   * Studio or a preview it holds over the server's updates until `setRuleset(null)`.
   */
  setRuleset(ruleset: object | null): void;
  /** For the Studio: the stored profile and page context the engine decides on (null when the SDK is off). */
  studioState(): StudioState | null;
  /** Sends the outbox now (when this tab is the sender); never rejects. */
  flush(): Promise<FlushReport>;
  /** Sync counts since start. */
  readonly syncStats: FlushReport;
  /** Fetches the signed ruleset now; a missing, tampered, expired or older one keeps the last good. */
  refreshRuleset(): Promise<RulesetRefresh>;
}

export interface IdentifyOptions {
  /** The identity token from the shop's backend: `v1.<exp>.<sig>` (docs/sdk.md). */
  token?: string;
  /** Traits (`user.*` in conditions). */
  traits?: Record<string, unknown>;
}

/** What a flush did: events confirmed, failed requests, dropped events, what is left. */
export interface FlushReport {
  sent: number;
  failed: number;
  deadLettered: number;
  givenUp: number;
  pending: number;
  /** Whether this tab is the one that sends for the origin. */
  sender: boolean;
}

export interface RulesetRefresh {
  /** Version of the ruleset in use (null: none). */
  version: number | null;
  /** Whether a new ruleset was taken. */
  changed: boolean;
  /** Why the server's ruleset was not taken, if it was not. */
  error: string | null;
}

/** What `on("ruleset")` listeners get. */
export interface RulesetChange {
  /** The published version now in use. */
  version: number;
}

/** What `ready()` resolves to. */
export interface ReadyState {
  /** Version of the ruleset in use: 0 for an inline one, null when there is none. */
  version: number | null;
  /** Why there is no ruleset (the first fetch failed, or the timeout ran out); null when there is one. */
  error: string | null;
}
