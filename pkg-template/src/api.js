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

  /** Records a touchpoint. Resolves to the event id once stored (null when the SDK is off). */
  track(type, props) {
    return this.#call((c) => c.track(type, props), Promise.resolve(null));
  }

  /** Where things stand: storage in use, consent, problems met. */
  get status() {
    const fallback = { ready: false, storage: "none", consent: "pending", problems: this.#error ? [String(this.#error.message || this.#error)] : [] };
    return this.#call((c) => c.status(), fallback);
  }

  /** The decision for the page: offers per placement and experiment variants. */
  decide(context) {
    return this.#call((c) => (c.decide ? c.decide(context) : EMPTY_DECISION), EMPTY_DECISION);
  }
}
