// Vite: the default entry; Vite emits the Wasm file that `new URL(..., import.meta.url)` names.
import { Tailor } from "@tailor-sdk/tailor";
import { run } from "./app.js";

run(Tailor, "pack-vite");
