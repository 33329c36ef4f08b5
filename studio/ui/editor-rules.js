// The limits and the settable attributes of page changes, as values for studio/ui/editor.js
// (a Wasm module exports functions, not constants). The rules themselves are Rust
// (studio/src/editor/rules.rs); its test `the_javascript_copy_is_the_engines` keeps these
// equal to the engine's (src/engine/page.rs).

/** Attributes the `attribute` action may set, besides `aria-*` and `data-*`. */
export const SETTABLE_ATTRIBUTES = ["alt", "dir", "height", "href", "lang", "loading", "placeholder", "rel", "role", "sizes", "src", "srcset", "target", "title", "value", "width"];
/** The value limit every change shares. */
export const MAX_VALUE = 10000;
export const MAX_CSS = 10000;
export const MAX_CHANGES = 100;
