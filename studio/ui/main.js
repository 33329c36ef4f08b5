// Tailor Studio: the tool a merchandiser opens on their own storefront. The shopper's SDK
// imports this file from the Tailor server when the page was opened with a Studio link and
// calls `open(host)`; see docs/studio.md.
//
// host = { mode: "studio" | "preview", token, endpoint, site, tailor, previewError, exit() }
//
// The shell is Rust (studio/src/shell.rs): the `<tailor-studio>` element with its closed
// shadow root and adopted stylesheet, the preview banner and the failure panel. This file
// loads the module and hands the shell the panels (still JavaScript) and the editor's styles.
// When the module cannot load, `open` rejects and the SDK reports it; the page keeps working.
// Nothing here records anything: decisions are the Studio engine's, made with record: false.
import { openShell } from "./gen/studio_engine.js";
import { client, readClaims } from "./server.js";
import { loadEngine, pageContext } from "./engine.js";
import { Studio } from "./studio.js";
import { editorCss } from "./editor.js";

/** Opens the Studio (or, in preview mode, the preview banner): `{ shadow, studio, close() }`. */
export async function open(host) {
  await loadEngine();
  return openShell(host, editorCss, (root, exit) => new Studio(root, host, { client, readClaims, loadEngine, pageContext }, exit));
}
