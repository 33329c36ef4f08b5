// An OpenFeature web provider over a Tailor instance (`@tailor-sdk/tailor/openfeature`).
// Flags resolve from the decision Tailor makes for the evaluation context: a flag key that is
// an experiment key gives the value of the shopper's variation, a placement key gives the
// placement's first offer (docs/sdk.md, "OpenFeature"). The decision is made once per
// context, ruleset and initialisation (a preview that records nothing) and read by every
// evaluation, so values stay stable between those changes; a resolution the shopper counts
// in records its exposure or impression once per provider.
import { ErrorCode, OpenFeatureEventEmitter, ProviderEvents, StandardResolutionReasons as Reason } from "@openfeature/web-sdk";

const WHAT = "TailorProvider";

/** The JSON form of an evaluation context (a Date becomes its ISO string), or a TypeError. */
function contextOf(context) {
  try {
    return JSON.parse(JSON.stringify(context || {}));
  } catch (e) {
    throw new TypeError(`${WHAT}: the evaluation context is not JSON: ${e.message}`);
  }
}

/** `value` as the flag type asked for: `{ value }`, or `{ errorCode, errorMessage }`. */
function typed(key, value, type) {
  if (type === "object") {
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch (e) {
        return { errorCode: ErrorCode.PARSE_ERROR, errorMessage: `${WHAT}: flag "${key}" holds a string that is not JSON: ${e.message}` };
      }
    }
    if (typeof value === "object" && value !== null) return { value };
  } else if (typeof value === type) return { value };
  const got = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return { errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${WHAT}: flag "${key}" is ${got}, asked for ${type}` };
}

/** The OpenFeature reason of an experiment entry of a Tailor decision. */
function experimentReason(x) {
  if (x.inExperiment) return Reason.SPLIT;
  const why = x.reason && x.reason.code;
  if (why == "forced") return Reason.TARGETING_MATCH;
  if (why == "inactive") return Reason.DISABLED;
  return Reason.DEFAULT;
}

/** The decision's experiment entries by key (decide() lists them in ruleset order). */
function experimentsOf(decision) {
  const list = Array.isArray(decision.experiments) ? decision.experiments : Object.values(decision.experiments || {});
  return new Map(list.map((x) => [x.key, x]));
}

function offersOf(placement) {
  return (Array.isArray(placement) ? placement : placement && placement.offers) || [];
}

export class TailorProvider {
  metadata = Object.freeze({ name: "tailor" });
  runsOn = "client";
  hooks = [];
  events = new OpenFeatureEventEmitter();

  #tailor;
  #record;
  #timeout;
  #context = {};
  #decision = null;
  #experiments = new Map();
  #failure = null;
  #recorded = new Set();
  #stop = null;

  /**
   * `tailor`: a started Tailor instance (`await Tailor.init(...)`). `options.record` (default
   * true): record the exposure or impression of what a flag resolves to; `options.timeout`
   * (ms, default 3000): how long `initialize` waits for a ruleset (`tailor.ready`).
   */
  constructor(tailor, options = {}) {
    if (!tailor || typeof tailor.decide !== "function" || typeof tailor.on !== "function") {
      throw new TypeError(`${WHAT}: the first argument must be a Tailor instance (await Tailor.init(config))`);
    }
    if (typeof options !== "object" || options === null) throw new TypeError(`${WHAT}: options must be an object`);
    for (const k of Object.keys(options)) {
      if (k !== "record" && k !== "timeout") throw new TypeError(`${WHAT}: unknown option "${k}" (known: record, timeout)`);
    }
    if (options.record !== undefined && typeof options.record !== "boolean") throw new TypeError(`${WHAT}: options.record must be a boolean`);
    if (options.timeout !== undefined && !(typeof options.timeout === "number" && options.timeout >= 0)) {
      throw new RangeError(`${WHAT}: options.timeout must be a number of milliseconds`);
    }
    this.#tailor = tailor;
    this.#record = options.record !== false;
    this.#timeout = options.timeout ?? 3000;
  }

  /** Waits for a ruleset (or the timeout), decides for `context`, and listens for new rulesets. */
  async initialize(context) {
    await this.#tailor.ready({ timeout: this.#timeout });
    this.#context = context || {};
    this.#evaluate();
    if (!this.#stop) this.#stop = this.#tailor.on("ruleset", () => this.#rulesetChanged());
  }

  /** A new static context: decided again at once (no reconciling state). */
  onContextChange(_old, context) {
    this.#context = context || {};
    this.#evaluate();
  }

  async onClose() {
    if (this.#stop) this.#stop();
    this.#stop = null;
  }

  /** OpenFeature's tracking API: `client.track(name, details)` records a Tailor `custom` event `{ name, ...details }`. */
  track(trackingEventName, _context, details) {
    this.#tailor.track("custom", { ...details, name: trackingEventName }).catch((e) => console.warn(`[tailor] ${WHAT}: track("${trackingEventName}") not recorded: ${e.message}`));
  }

  resolveBooleanEvaluation(flagKey, defaultValue) {
    return this.#resolve(flagKey, defaultValue, "boolean");
  }

  resolveStringEvaluation(flagKey, defaultValue) {
    return this.#resolve(flagKey, defaultValue, "string");
  }

  resolveNumberEvaluation(flagKey, defaultValue) {
    return this.#resolve(flagKey, defaultValue, "number");
  }

  resolveObjectEvaluation(flagKey, defaultValue) {
    return this.#resolve(flagKey, defaultValue, "object");
  }

  // Decides for the current context; a failure is kept and answered by every resolution.
  #evaluate() {
    this.#decision = null;
    this.#experiments = new Map();
    this.#failure = null;
    const status = this.#tailor.status;
    if (!status.ready) {
      const why = status.problems.length ? status.problems[status.problems.length - 1] : "WebAssembly did not load";
      this.#failure = { errorCode: ErrorCode.GENERAL, errorMessage: `${WHAT}: Tailor is off and answers with defaults: ${why}` };
    } else if (status.rulesetVersion == null) {
      this.#failure = { errorCode: ErrorCode.PROVIDER_NOT_READY, errorMessage: `${WHAT}: no ruleset is in use yet` };
    } else {
      try {
        this.#decision = this.#tailor.decide(contextOf(this.#context), { record: false });
        this.#experiments = experimentsOf(this.#decision);
      } catch (e) {
        this.#failure = { errorCode: ErrorCode.GENERAL, errorMessage: `${WHAT}: ${e.message}` };
      }
    }
  }

  #rulesetChanged() {
    const flags = () => new Map([...this.#experiments.keys(), ...Object.keys(this.#decision?.placements || {})].map((k) => [k, this.#fingerprint(k)]));
    const was = flags();
    this.#evaluate();
    const now = flags();
    const flagsChanged = [...new Set([...was.keys(), ...now.keys()])].filter((k) => was.get(k) !== now.get(k));
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
  }

  // What a flag resolves to, as a string to compare before and after a new ruleset.
  #fingerprint(key) {
    const x = this.#experiments.get(key);
    if (x) return JSON.stringify([x.variation, x.value, experimentReason(x)]);
    const top = offersOf(this.#decision.placements[key])[0];
    return JSON.stringify(top ? [top.offerId, top.content] : null);
  }

  #resolve(key, defaultValue, type) {
    if (this.#failure) return { value: defaultValue, reason: Reason.ERROR, ...this.#failure };
    const d = this.#decision;
    const x = this.#experiments.get(key);
    if (x) {
      const reason = experimentReason(x);
      const variant = x.variationKey || String(x.variation);
      const flagMetadata = { variation: x.variation, inExperiment: !!x.inExperiment, tailorReason: (x.reason && x.reason.code) || "" };
      if (x.value === undefined || x.value === null) {
        this.#exposed(x, reason);
        return { value: defaultValue, variant, reason, flagMetadata };
      }
      const out = typed(key, x.value, type);
      if (out.errorCode) return { value: defaultValue, reason: Reason.ERROR, ...out, flagMetadata };
      this.#exposed(x, reason);
      return { value: out.value, variant, reason, flagMetadata };
    }
    if (d.placements[key]) {
      if (type !== "string" && type !== "object") {
        return { value: defaultValue, reason: Reason.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${WHAT}: flag "${key}" is a placement: ask for a string (the offer id) or an object (the offer)` };
      }
      const top = offersOf(d.placements[key])[0];
      if (!top) return { value: defaultValue, reason: Reason.DEFAULT, flagMetadata: { tailorReason: "no_offer" } };
      const flagMetadata = { rank: top.rank, tailorReason: (top.reason && top.reason.code) || "" };
      const props = { offerId: top.offerId, placement: key };
      if (top.experimentKey != null) props.variant = top.experimentKey + ":" + top.variation;
      this.#once("o:" + key + ":" + top.offerId, "offer_impression", props);
      return { value: type === "string" ? top.offerId : top, variant: top.offerId, reason: Reason.TARGETING_MATCH, flagMetadata };
    }
    return { value: defaultValue, reason: Reason.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND, errorMessage: `${WHAT}: "${key}" is neither an experiment key nor a placement of the ruleset` };
  }

  #exposed(x, reason) {
    if (reason === Reason.SPLIT) this.#once("x:" + x.key + ":" + x.variation, "experiment_exposure", { experimentKey: x.key, variation: x.variation });
  }

  // Records what the shopper was shown, once per provider (evaluations repeat on every render).
  #once(id, type, props) {
    if (!this.#record || this.#recorded.has(id)) return;
    this.#recorded.add(id);
    this.#tailor.track(type, props).catch((e) => console.warn(`[tailor] ${WHAT}: ${type} not recorded: ${e.message}`));
  }
}
