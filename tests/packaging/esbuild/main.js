// esbuild: the slim entry. esbuild copies the Wasm file into the output (loader "file") and the
// import gives its URL, which initTailor loads before Tailor.init.
import { Tailor, initTailor } from "@tailor-sdk/tailor/slim";
import wasmUrl from "@tailor-sdk/tailor/tailor_bg.wasm";
import { run } from "./app.js";

await initTailor(new URL(wasmUrl, import.meta.url));
run(Tailor, "pack-esbuild");
