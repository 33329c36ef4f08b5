// Types of the OpenFeature web provider (`@tailor-sdk/tailor/openfeature`).
import type { EvaluationContext, Hook, JsonValue, OpenFeatureEventEmitter, Provider, ProviderMetadata, ResolutionDetails, TrackingEventDetails } from "@openfeature/web-sdk";
import type { Tailor } from "../index.js";

export interface TailorProviderOptions {
  /** Record the exposure (experiment) or impression (offer) of what a flag resolves to, once per provider. Default true. */
  record?: boolean;
  /** Milliseconds `initialize` waits for a ruleset (`tailor.ready`). Default 3000. */
  timeout?: number;
}

/**
 * Flags from Tailor's decisions: an experiment key gives the value of the shopper's
 * variation, a placement key the placement's first offer (its id as a string, the offer as
 * an object). See docs/sdk.md, "OpenFeature".
 */
export declare class TailorProvider implements Provider {
  constructor(tailor: Tailor, options?: TailorProviderOptions);
  readonly metadata: ProviderMetadata;
  readonly runsOn: "client";
  readonly hooks: Hook[];
  readonly events: OpenFeatureEventEmitter;
  initialize(context?: EvaluationContext): Promise<void>;
  onContextChange(oldContext: EvaluationContext, newContext: EvaluationContext): void;
  onClose(): Promise<void>;
  /** Records a Tailor `custom` event `{ name: trackingEventName, ...details }`. */
  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails): void;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean>;
  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string>;
  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number>;
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T>;
}
