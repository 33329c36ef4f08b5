// The script-tag build (pkg/dist/tailor.js). The page's inline snippet defines
// `window.tailor(...)`, which queues each call with the resolvers of the promise it returned;
// this file loads the Wasm module from beside itself, replaces `window.tailor` with the real
// dispatcher, runs the queued calls in order and settles their promises.
//
//   tailor("init", { site: "my-shop", consent: "granted" });
//   tailor("track", "product_view", { sku: "SKU-1", price: 49 });
//   tailor("ready", (t) => { ... });     // t is the Tailor instance
//   tailor("ready").then(({ version }) => { ... });   // t.ready(): a ruleset is in use
//
// Every call returns a promise of the method's result. Nothing here can throw into the page.
import { Tailor, load } from "./api.js";

const me = document.currentScript;
load(new URL("tailor_bg.wasm", (me && me.src) || location.href));

const queued = (window.tailor && window.tailor.q) || [];
let resolveInstance;
const instance = new Promise((r) => (resolveInstance = r));
let started = false;

function tailor(command, ...args) {
  if (command === "init") {
    if (started) return Promise.reject(new Error('tailor("init") was called twice'));
    started = true;
    const t = Tailor.init(args[0]);
    // A bad config is a bug in the page: say so, and keep answering with defaults.
    resolveInstance(
      t.catch((e) => {
        console.warn("[tailor] " + e.message);
        return new Tailor(null, e);
      }),
    );
    return t.then(() => undefined);
  }
  return instance.then((t) => {
    if (command === "ready") return typeof args[0] === "function" ? args[0](t) : t.ready(args[0]);
    if (typeof t[command] !== "function") throw new TypeError('tailor: unknown command "' + command + '"');
    return t[command](...args);
  });
}

tailor.loaded = true;
window.tailor = tailor;
window.Tailor = Tailor;
for (const item of queued) {
  // [arguments, resolve, reject] from the snippet; a bare arguments object from older snippets.
  const [args, ok, fail] = Array.isArray(item) ? item : [item];
  const result = tailor(...args);
  if (ok) result.then(ok, fail);
  else result.catch((e) => console.warn("[tailor] " + args[0] + ": " + e.message));
}
