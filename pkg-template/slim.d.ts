export { Tailor } from "./index.js";
export type * from "./types.js";
/** Loads the Wasm module from a URL, Response, bytes or WebAssembly.Module; call before Tailor.init. */
export declare function initTailor(source: string | URL | Response | BufferSource | WebAssembly.Module): Promise<boolean>;
