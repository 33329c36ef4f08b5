// Explicit-init entry: the caller says where the Wasm module comes from (a URL, a Response,
// bytes or a compiled WebAssembly.Module) before calling `Tailor.init`.
export { Tailor, load as initTailor } from "./src/api.js";
