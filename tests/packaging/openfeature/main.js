// The OpenFeature test page: the real @openfeature/web-sdk with Tailor's provider, both as a
// user's bundler resolves them (the provider from the installed tarball). The test drives the
// scenarios through `window.of`. `?wasm=missing` makes the Wasm fail to load (Tailor off).
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { Tailor, initTailor } from "@tailor-sdk/tailor/slim";
import { TailorProvider } from "@tailor-sdk/tailor/openfeature";
import wasmUrl from "@tailor-sdk/tailor/tailor_bg.wasm";

const missing = new URLSearchParams(location.search).get("wasm") === "missing";
window.of = { OpenFeature, ProviderEvents, Tailor, TailorProvider };
window.of.loaded = initTailor(missing ? new URL("/missing.wasm", location.href) : new URL(wasmUrl, import.meta.url));
