// webpack 5: the default entry; webpack emits the Wasm file as an asset (new URL + import.meta.url).
import { Tailor } from "@tailor-sdk/tailor";
import { run } from "./app.js";

run(Tailor, "pack-webpack");
