// Tailor Studio: the tool a merchandiser opens on their own storefront. The shopper's SDK
// imports this file from the Tailor server when the page was opened with a Studio link and
// calls `open(host)`; see docs/studio.md.
//
// host = { mode: "studio" | "preview", token, endpoint, site, tailor, previewError, exit() }
//
// The shell is Rust (studio/src/shell.rs): the `<tailor-studio>` element with its closed
// shadow root and adopted stylesheet, the preview banner and the failure panel. This file
// loads the module and hands the shell the styles and the panels (still JavaScript).
// When the module itself cannot load, Rust cannot run: `cannotStart` below draws the same
// "could not start" panel in plain DOM, and the page keeps working.
// Nothing here records anything: decisions are the Studio engine's, made with record: false.
import { client, openShell, readClaims } from "./gen/studio_engine.js";
import { loadEngine, pageContext } from "./engine.js";
import { Studio } from "./studio.js";
import { editorCss } from "./editor.js";
import studioCss from "./studio.css"; // as text (esbuild's text loader, scripts/build.sh)

/** Opens the Studio (or, in preview mode, the preview banner): `{ shadow, studio, close() }`. Never throws. */
export async function open(host) {
  try {
    await loadEngine();
  } catch (e) {
    return cannotStart(host, e);
  }
  return openShell(host, studioCss + editorCss, (root, exit) => new Studio(root, host, { client, readClaims, loadEngine, pageContext }, exit));
}

/** The shell's failure panel without the module: "The Studio could not start", why, and Exit. */
function cannotStart(host, e) {
  const el = document.createElement("tailor-studio");
  const root = el.attachShadow({ mode: "closed" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(studioCss);
  root.adoptedStyleSheets = [sheet];
  const make = (tag, attrs, ...children) => {
    const x = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) x.setAttribute(k, v);
    x.append(...children);
    return x;
  };
  const handle = { shadow: root, studio: null, close: () => el.remove() };
  const exit = make("button", {}, "Exit");
  exit.addEventListener("click", () => {
    handle.close();
    try {
      host.exit?.();
    } catch {
      /* the page keeps working */
    }
  });
  root.append(make("div", { class: "panel", role: "dialog", "aria-label": "Tailor Studio" },
    make("div", { class: "refused", role: "alert" }, make("h2", {}, "The Studio could not start"),
      make("p", {}, "Its module did not load: " + String(e?.message || e)), exit)));
  document.documentElement.append(el);
  return handle;
}
