// Mounts the visual editor as the Studio does: a closed shadow root with a constructable
// stylesheet, a panel (`mount`) and an overlay fixed over the viewport, the preview through
// the SDK's own applyChanges on a decision holding the draft's changes. The test serves
// /editor.bundle.js (studio/ui/editor.js bundled by esbuild).
import { Tailor } from "/pkg/index.js";
import { createEditor, editorCss } from "/editor.bundle.js";

const tailor = await Tailor.init({ site: "editor-fixture", pageChanges: false });

const hostEl = document.createElement("tailor-studio");
document.documentElement.append(hostEl);
const shadow = hostEl.attachShadow({ mode: "closed" });
const sheet = new CSSStyleSheet();
sheet.replaceSync(
  `:host { all: initial; }
  .panel { position: fixed; top: 0; right: 0; bottom: 0; width: min(380px, 100vw); overflow: auto; background: #fff; border-left: 1px solid #cbd2d9; box-shadow: -4px 0 16px rgba(0,0,0,.12); padding: 12px; z-index: 2147483647; }
  @media (max-width: 600px) { .panel { top: auto; left: 0; width: auto; height: 50vh; border-left: 0; border-top: 1px solid #cbd2d9; box-shadow: 0 -4px 16px rgba(0,0,0,.12); } }
  .overlay { position: fixed; inset: 0; pointer-events: none; z-index: 2147483646; }
  ` + editorCss,
);
shadow.adoptedStyleSheets = [sheet];
const overlay = document.createElement("div");
overlay.className = "overlay";
const mount = document.createElement("div");
mount.className = "panel";
shadow.append(overlay, mount);

// What the Studio keeps: every list it was told, and the decision previewed last.
const seen = { changes: [], previews: 0, applied: [] };
const preview = (changes, css) => {
  seen.previews++;
  tailor.revertChanges();
  const decision = { experiments: [{ key: "studio-draft", variation: 1, changes, css }], pageExposures: [] };
  seen.applied = tailor.applyChanges(decision);
};
const editor = createEditor({ mount, doc: document, overlay, initial: [], onChange: (changes, css) => seen.changes.push({ changes, css }), preview });
// The test reaches the editor through this (the real Studio keeps it private).
window.studioFixture = { editor, seen, tailor, shadow, mount, overlay };
