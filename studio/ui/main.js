// Tailor Studio: the tool a merchandiser opens on their own storefront. The shopper's SDK
// imports this file from the Tailor server when the page was opened with a Studio link and
// calls `open(host)`; see docs/studio.md.
//
// host = { mode: "studio" | "preview", token, endpoint, site, tailor, previewError, exit() }
//
// Everything is drawn in a closed shadow root with adopted stylesheets (no inline styles), so
// the page's CSS cannot reach it and a strict CSP does not stop it. Nothing here records
// anything: decisions are the Studio engine's (studio/src), made with record: false, and the
// decision handed to the SDK's applyChanges carries no exposures.
import { h, fill, when, fromNow } from "./dom.js";
import { client, readClaims } from "./server.js";
import { loadEngine, pageContext } from "./engine.js";
import { studioCss } from "./style.js";
import { Studio } from "./studio.js";
import { editorCss } from "./editor.js";

/** Opens the Studio (or, in preview mode, the preview banner). Never throws: a failure is shown. */
export async function open(host) {
  const el = document.createElement("tailor-studio");
  const root = el.attachShadow({ mode: "closed" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(studioCss + editorCss);
  root.adoptedStyleSheets = [sheet];
  document.documentElement.append(el);
  const handle = {
    /** The Studio's shadow root: for the shop's own tests (closed to the page otherwise). */
    shadow: root,
    studio: null,
    close() {
      handle.studio?.destroy();
      el.remove();
    },
  };
  const exit = () => {
    handle.close();
    try {
      host.exit?.();
    } catch {
      /* the page keeps working */
    }
  };
  try {
    if (host.mode === "preview") {
      previewBanner(root, host, exit);
    } else {
      handle.studio = new Studio(root, host, { client, readClaims, loadEngine, pageContext }, exit);
      await handle.studio.start();
    }
  } catch (e) {
    fill(root, h("div", { class: "panel", role: "dialog", "aria-label": "Tailor Studio" },
      h("div", { class: "refused", role: "alert" }, h("h2", {}, "The Studio could not start"), h("p", {}, String(e?.message || e)),
        h("button", { on: { click: exit } }, "Exit"))));
  }
  return handle;
}

function previewBanner(root, host, exit) {
  const bad = Boolean(host.previewError);
  const claims = readPreview(host.token);
  const text = bad
    ? `This preview link cannot be shown: ${host.previewError}`
    : `Preview of draft “${claims?.draft ?? "?"}”: not counted, expires ${when(claims?.expiresAt)} (${fromNow(claims?.expiresAt)}).`;
  fill(root, h("div", { class: "banner" + (bad ? " bad" : ""), role: bad ? "alert" : "status" }, h("span", {}, text),
    h("button", { on: { click: exit } }, "Exit")));
}

/** A preview token's claims (`tp1.`: site, draft, expiry, key id), for the banner only. */
function readPreview(token) {
  const m = /^tp1\.([A-Za-z0-9_-]+)\./.exec(String(token || ""));
  if (!m) return null;
  try {
    const bytes = Uint8Array.from(atob(m[1].replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const [site, draft, exp] = new TextDecoder().decode(bytes).split("\n");
    return { site, draft, expiresAt: Number(exp) };
  } catch {
    return null;
  }
}
