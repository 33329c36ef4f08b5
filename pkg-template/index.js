// Auto-initialising entry: starts loading the Wasm module beside this file at import time;
// `Tailor.init` waits for it. If WebAssembly cannot load, the API answers with defaults.
import { Tailor, load } from "./src/api.js";

load(new URL("./wasm/tailor_bg.wasm", import.meta.url));

export { Tailor };
