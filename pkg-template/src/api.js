// The Tailor API: one class over the Wasm core. It fails open: when WebAssembly cannot load
// (an old browser, a CSP without 'wasm-unsafe-eval', a network error) or the core stops
// working, every method still answers, with defaults, and the page keeps working.
import initWasm, { TailorCore, version as coreVersion } from "../wasm/tailor.js";

let loading = null;
let failure = null;

/**
 * Loads and instantiates the Wasm module once. `source` is a URL, a Response, bytes or a
 * WebAssembly.Module. Resolves to true when the core is usable, false (never rejects) when not.
 */
export function load(source) {
  if (!loading) {
    loading = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("WebAssembly is not available in this browser");
      await initWasm({ module_or_path: source });
      return true;
    })().catch((e) => {
      failure = e;
      return false;
    });
  }
  return loading;
}

const EMPTY_DECISION = Object.freeze({ placements: {}, experiments: {}, reasons: [] });

export class Tailor {
  #core;
  #error;

  constructor(core, error) {
    this.#core = core;
    this.#error = error || null;
  }

  /** The SDK version. */
  static get version() {
    try {
      return coreVersion();
    } catch {
      return "0.1.0";
    }
  }

  /**
   * Starts Tailor for a site. Rejects with a TypeError or RangeError naming the option when
   * the config is wrong. When WebAssembly cannot load, resolves to an instance that answers
   * with defaults (see `status`).
   */
  static async init(config) {
    if (!loading) {
      throw new Error("Tailor.init: the Wasm module was not loaded; with the 'slim' entry call initTailor(wasm) first");
    }
    if (!(await loading)) return new Tailor(null, failure);
    return new Tailor(await TailorCore.init(config));
  }

  // Runs `f` on the core; a trap (the module broke) switches this instance to defaults.
  #call(f, fallback) {
    if (!this.#core) return fallback;
    try {
      return f(this.#core);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        this.#error = e;
        this.#core = null;
        return fallback;
      }
      throw e;
    }
  }

  /** Records a touchpoint. Resolves to the event id once stored (null when nothing is kept). */
  track(type, props) {
    return this.#call((c) => c.track(type, props), Promise.resolve(null));
  }

  /** Links the shopper to a known user id, with traits (`user.*` in conditions). */
  identify(userId, traits) {
    return this.#call((c) => c.identify(userId, traits), Promise.resolve());
  }

  /** A read-only snapshot of the shopper's profile (null when the SDK is off). */
  profile() {
    return this.#call((c) => c.profile(), null);
  }

  /** Sets consent: "granted", "denied" or "pending". */
  consent(state) {
    return this.#call((c) => c.consent(state), Promise.resolve());
  }

  /** Erases everything this SDK keeps about the shopper, here and on the server. */
  forget() {
    return this.#call((c) => c.forget(), Promise.resolve());
  }

  /**
   * Calls `callback` on "profile" (the profile changed; gets the snapshot) or "status"
   * (storage, consent or problems changed; gets the status). Returns a function that unsubscribes.
   */
  on(event, callback) {
    if (event !== "profile" && event !== "status") throw new TypeError('Tailor.on: event must be "profile" or "status"');
    if (typeof callback !== "function") throw new TypeError("Tailor.on: callback must be a function");
    if (!this.#listeners) {
      this.#listeners = { profile: new Set(), status: new Set() };
      this.#call(
        (c) =>
          c.setListener((what) => {
            const value = what === "profile" ? this.profile() : this.status;
            // One listener's exception must not keep the others from hearing.
            this.#listeners[what].forEach((f) => {
              try {
                f(value);
              } catch (e) {
                console.error(e);
              }
            });
          }),
        null,
      );
    }
    this.#listeners[event].add(callback);
    return () => this.#listeners[event].delete(callback);
  }
  #listeners;

  /** Where things stand: storage in use, consent, sending, problems met. */
  get status() {
    const fallback = { ready: false, storage: "none", consent: "pending", sending: false, problems: this.#error ? [String(this.#error.message || this.#error)] : [] };
    return this.#call((c) => c.status(), fallback);
  }

  /**
   * Offers per placement and experiment variations for this page, with reasons.
   * `context` adds page attributes; `options.placements` limits the placements;
   * `options.record === false` previews without recording impressions and exposures.
   */
  decide(context, options) {
    return this.#call((c) => c.decide(context, options), EMPTY_DECISION);
  }

  /** Replaces the ruleset; throws a RangeError listing each problem with its path. */
  setRuleset(ruleset) {
    return this.#call((c) => c.setRuleset(ruleset), undefined);
  }

  /**
   * Sends the outbox now (when this tab is the sender). Resolves to
   * `{ sent, failed, deadLettered, givenUp, pending, sender }`; never rejects.
   */
  flush() {
    const none = { sent: 0, failed: 0, deadLettered: 0, givenUp: 0, pending: 0, sender: false };
    return this.#call((c) => c.flush(), Promise.resolve(none));
  }

  /** Counts since start, same shape as `flush()`'s report. */
  get syncStats() {
    return this.#call((c) => c.syncStats(), { sent: 0, failed: 0, deadLettered: 0, givenUp: 0, pending: 0, sender: false });
  }

  /** Fetches the signed ruleset now. Resolves to `{ version, changed, error }`; never rejects. */
  refreshRuleset() {
    return this.#call((c) => c.refreshRuleset(), Promise.resolve({ version: null, changed: false, error: "the SDK is off" }));
  }
}
