// Entry for Node (the "node" export condition: server-side rendering, tests run in Node).
// Tailor decides in the shopper's browser, from the profile kept there; on the server there is
// no shopper, so this entry loads no WebAssembly and every method answers with defaults
// (`status.ready` false, `decide` with no offers, `track` null): nothing is stored, sent or
// timed, and a server render shows the page's defaults. The "slim" entry with
// `initTailor(bytes)` runs the real engine in Node, on memory storage.
import { Tailor, load } from "./src/api.js";

load(Promise.reject(new Error("Tailor runs in the browser: in Node (server-side rendering) it answers with defaults")));

export { Tailor };
