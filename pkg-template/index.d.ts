import type { Decision, EventProps, EventType, TailorConfig, TailorStatus } from "./types.js";
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
  /** Where things stand. */
  readonly status: TailorStatus;
  /** Offers per placement and experiment variants for the page. */
  decide(context?: Record<string, unknown>): Decision;
}
