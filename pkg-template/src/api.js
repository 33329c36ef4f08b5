// The Tailor API: one class over the Wasm core. It fails open: when WebAssembly cannot load
// (an old browser, a CSP without 'wasm-unsafe-eval', a network error) or the core stops
// working, every method still answers, with defaults, and the page keeps working.
import initWasm, { TailorCore, abandonTracks, version as coreVersion } from "../wasm/tailor.js";
import { fetchPreview, openStudio, takeMode } from "./studio.js";

let loading = null;
let failure = null;
// Resolves with null the track() promises of bursts the core has not settled (after a trap).
let abandonTracksOf = () => {};
// A Studio or preview token leaves the address bar as soon as this module runs, before the
// Wasm module is fetched; `init` reads the mode kept for the tab.
if (typeof location == "object") takeMode();

/**
 * Loads and instantiates the Wasm module once. `source` is a URL, a Response, bytes or a
 * WebAssembly.Module. Resolves to true when the core is usable, false (never rejects) when not.
 */
export function load(source) {
  if (!loading) {
    loading = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("WebAssembly is not available in this browser");
      await initWasm({ module_or_path: source });
      abandonTracksOf = abandonTracks();
      return true;
    })().catch((e) => {
      failure = e;
      return false;
    });
  }
  return loading;
}

// Instances with calls in flight, and one listener for traps raised in the core's own tasks
// (they surface as uncaught errors or unhandled rejections, not through a call's promise).
const instances = new Set();
let watching = false;
function watchTraps() {
  if (watching || typeof globalThis.addEventListener !== "function") return;
  watching = true;
  const seen = (e) => e instanceof WebAssembly.RuntimeError && Tailor._trapped(e);
  globalThis.addEventListener("error", (ev) => seen(ev.error));
  globalThis.addEventListener("unhandledrejection", (ev) => seen(ev.reason));
}

const LISTENED = ["profile", "status", "ruleset"];
// What decide() answers when the SDK cannot run: the shape of a decision without a ruleset.
const EMPTY_DECISION = Object.freeze({ placements: {}, experiments: [], reasons: [] });

// decide()'s options, checked as init() checks its config: a TypeError (unknown option, wrong
// type) or RangeError (value not allowed) that names the option. Checked here, even when the
// SDK cannot run, and handed to the core as plain values.
const shown = (v) => (typeof v == "string" ? JSON.stringify(v) : v === null || typeof v != "object" ? typeof v + " " + v : Array.isArray(v) ? "an array" : "an object");
function decideOptions(options) {
  const o = { record: true, reasons: true };
  if (options == null) return o;
  const fail = (E, what, ...v) => {
    throw new E("Tailor.decide: " + what + (v.length ? ", not " + shown(v[0]) : ""));
  };
  const isObject = (v) => v && typeof v == "object" && !Array.isArray(v);
  if (!isObject(options)) fail(TypeError, "options must be an object such as { record: false }", options);
  for (const k of Object.keys(options)) {
    const v = options[k];
    if (v === undefined) continue;
    if (k == "record" || k == "reasons") {
      if (typeof v != "boolean") fail(TypeError, "options." + k + " must be true or false", v);
      o[k] = v;
    } else if (k == "placements") {
      if (!Array.isArray(v)) fail(TypeError, "options.placements must be an array of placement ids (strings)", v);
      v.forEach((p, i) => typeof p == "string" || fail(TypeError, "options.placements[" + i + "] must be a placement id (a string)", p));
      o.placements = v;
    } else if (k == "forced") {
      if (!isObject(v)) fail(TypeError, "options.forced must be an object of variation indexes by experiment key, such as { hero: 1 }", v);
      // As the core reads `tailor_force`: "key:index,..." (a key's "+" and "%" kept by encoding it).
      o.forced = Object.entries(v)
        .map(([x, i]) => {
          const what = "options.forced." + x + " must be a variation index (0, 1, ...)";
          if (typeof i != "number") fail(TypeError, what, i);
          if (!(Number.isInteger(i) && i >= 0)) fail(RangeError, what, i);
          if (x.includes(",")) fail(RangeError, "options.forced: experiment keys have no comma: " + JSON.stringify(x));
          return encodeURIComponent(x) + ":" + i;
        })
        .join();
    } else fail(TypeError, "unknown option " + JSON.stringify(k) + " (options are placements, record, reasons and forced)");
  }
  return o;
}

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
   * with defaults (see `status`). A Studio or preview link (`tailor_studio`, `tailor_preview`
   * in the URL) is taken out of the URL at once; nothing is recorded then, and the Studio loads.
   */
  static async init(config) {
    const studio = typeof location == "object" ? takeMode() : null;
    if (!loading) {
      throw new Error("Tailor.init: the Wasm module was not loaded; with the 'slim' entry call initTailor(wasm) first");
    }
    // A preview's draft is fetched while the module loads; the core verifies it.
    const preview = studio && studio.mode == "preview" ? fetchPreview(config, studio.token) : [];
    const [envelope, refused] = await preview;
    const t = new Tailor((await loading) && (await TailorCore.init(config, studio && studio.mode, envelope)), failure);
    const note = (text) => t.#notes.push(text);
    if (refused) note(refused);
    if (studio) openStudio(t, studio, config, note, refused);
    return t;
  }
  #notes = [];

  // Runs `f` on the core; a trap (the module broke) switches this instance to defaults. An
  // async method answers with a promise that always settles: with the core's answer, or
  // with the default answer of `fallback` (a promise) when the core traps meanwhile, even
  // when the trap happens in a task of the core and its own promise would never settle.
  #call(f, fallback) {
    if (!this.#core) return fallback;
    let out;
    try {
      out = f(this.#core);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        this.#off(e);
        return fallback;
      }
      throw e;
    }
    if (!(out instanceof Promise)) return out;
    return new Promise((ok, fail) => {
      const settle = () => ok(fallback);
      this.#pending.add(settle);
      out.then(
        (v) => (this.#pending.delete(settle), ok(v)),
        (e) => {
          this.#pending.delete(settle);
          if (e instanceof WebAssembly.RuntimeError) {
            this.#off(e);
            ok(fallback);
          } else fail(e);
        },
      );
      watchTraps();
      instances.add(this);
    });
  }
  #pending = new Set();

  // The core trapped: answer with defaults from now on, and settle what was waiting on it.
  #off(e) {
    this.#error = e;
    this.#core = null;
    const waiting = [...this.#pending];
    this.#pending.clear();
    waiting.forEach((settle) => settle());
    abandonTracksOf();
    instances.delete(this);
  }

  /** @internal A trap reported outside any call (in one of the core's tasks). */
  static _trapped(e) {
    for (const t of [...instances]) if (t.#pending.size || t.#tracks) t.#off(e);
  }

  /** Records a touchpoint. Resolves to the event id once stored (null when nothing is kept). */
  track(type, props) {
    // The core's own promise, without one of the wrapper's per call (a burst of a thousand
    // calls is one task in the core): should the core trap before it settles the burst,
    // #off settles its promises with null.
    const core = this.#core;
    if (!core) return Promise.resolve(null);
    if (!this.#tracks) {
      this.#tracks = true;
      instances.add(this);
      watchTraps();
    }
    try {
      return core.track(type, props);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      this.#off(e);
      return Promise.resolve(null);
    }
  }
  #tracks = false;

  /**
   * Links the shopper to a known user id: `identify(userId, { token, traits })`, where `token`
   * is the identity token the shop's backend issued at login (without a valid one the server
   * merges nothing of the user), or `identify(userId, traits)`.
   */
  identify(userId, options) {
    return this.#call((c) => c.identify(userId, options), Promise.resolve());
  }

  /** Logout on a shared device: a new anonymous id; user id, traits and history cleared. */
  reset() {
    return this.#call((c) => c.reset(), Promise.resolve());
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
   * Calls `callback` on "profile" (the profile changed; gets the snapshot), "status"
   * (storage, consent or problems changed; gets the status) or "ruleset" (a new signed
   * ruleset from the server is in use, or, with the Studio or a preview open, the ruleset
   * it set or `setRuleset(null)` going back to the live one; gets `{ version }`). Returns a
   * function that unsubscribes.
   */
  on(event, callback) {
    if (!LISTENED.includes(event)) throw new TypeError('Tailor.on: event must be "profile", "status" or "ruleset"');
    if (typeof callback !== "function") throw new TypeError("Tailor.on: callback must be a function");
    this.#listen();
    this.#listeners[event].add(callback);
    return () => this.#listeners[event].delete(callback);
  }

  #listen() {
    if (this.#listeners) return;
    this.#listeners = { profile: new Set(), status: new Set(), ruleset: new Set() };
    this.#call(
      (c) =>
        c.setListener((what) => {
          const value = what === "profile" ? this.profile() : what === "status" ? this.status : { version: this.status.rulesetVersion };
          // One listener's exception must not keep the others from hearing.
          (this.#listeners[what] || []).forEach((f) => {
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

  /**
   * Resolves once a ruleset is in use (cached, inline or fetched), or the first fetch failed,
   * or `options.timeout` ms (default 3000) have passed: to `{ version, error }`, where
   * `version` is the version in use (null: none) and `error` says why there is none. Never rejects.
   */
  ready(options) {
    const ms = options && options.timeout != null ? options.timeout : 3000;
    if (typeof ms !== "number" || !(ms >= 0)) return Promise.reject(new RangeError("Tailor.ready: options.timeout must be a number of milliseconds"));
    const answer = (error) => {
      const version = this.status.rulesetVersion ?? null;
      return { version, error: version == null ? error || null : null };
    };
    if (!this.#core || this.status.rulesetVersion != null) return Promise.resolve(answer("the SDK is off"));
    return new Promise((ok) => {
      const timer = setTimeout(() => ok(answer("no ruleset within " + ms + " ms")), ms);
      this.#call((c) => c.firstFetch(), Promise.resolve("the SDK is off")).then((e) => {
        clearTimeout(timer);
        ok(answer(e));
      });
    });
  }
  #listeners;

  /** Where things stand: storage in use, consent, sending, problems met. */
  get status() {
    const fallback = { ready: false, mode: "live", storage: "none", consent: "pending", sending: false, problems: this.#error ? [String(this.#error.message || this.#error)] : [] };
    const status = this.#call((c) => c.status(), fallback);
    status.problems.push(...this.#notes);
    return status;
  }

  /**
   * Offers per placement and experiment variations for this page, with reasons.
   * `context` adds page attributes; `options.placements` limits the placements;
   * `options.record === false` previews without recording impressions and exposures;
   * `options.reasons === false` leaves out the reasons; `options.forced`
   * (`{ experimentKey: variationIndex }`) forces variations. A bad option throws a TypeError
   * or RangeError that names it.
   */
  decide(context, options) {
    const o = decideOptions(options);
    return this.#call((c) => c.decide(context, o.record, o.reasons, o.forced, o.placements), EMPTY_DECISION);
  }

  /**
   * Applies page changes now: those of `decision` (shaped like `decide()`'s answer) or, without
   * one, of a new decision for this URL (with `pageChanges: false`, call it after each route
   * change). Returns the keys of the experiments whose changes are on the page.
   */
  applyChanges(decision) {
    return this.#call((c) => c.applyChanges(decision), []);
  }

  /** Takes every page change off the page and stops watching the page and its route changes. */
  revertChanges() {
    return this.#call((c) => c.revertChanges(), undefined);
  }

  /**
   * Replaces the ruleset; throws a RangeError listing each problem with its path. In the
   * Studio or a preview it holds over the server's updates until `setRuleset(null)`.
   */
  setRuleset(ruleset) {
    return this.#call((c) => c.setRuleset(ruleset), undefined);
  }

  /**
   * For the Studio: `{ profile, context }`, the stored profile as the engine's JSON text and
   * the page context decisions use (null when the SDK is off).
   */
  studioState() {
    return this.#call((c) => c.studioState(), null);
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
