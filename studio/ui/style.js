// The Studio's styles, adopted by its closed shadow root as a constructable stylesheet: no
// <style> element and no style attribute, so a page whose CSP has no 'unsafe-inline' for
// styles shows it as designed, and the page's CSS does not reach inside (all: initial).
export const studioCss = `
:host { all: initial; }
* { box-sizing: border-box; }
.panel { position: fixed; top: 0; right: 0; bottom: 0; width: min(420px, 100vw); z-index: 2147483646;
  display: flex; flex-direction: column; background: #fff; color: #1b1f24; border-left: 1px solid #c9ced6;
  box-shadow: -4px 0 18px rgba(0,0,0,.12); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.panel.narrow { top: auto; left: 0; width: 100vw; height: 62vh; border-left: 0; border-top: 1px solid #c9ced6; }
.panel.collapsed { height: auto; bottom: 0; top: auto; }
.panel.collapsed .body, .panel.collapsed .tabs { display: none; }
.top { background: #14213d; color: #fff; padding: 8px 10px; display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; }
.top .brand { font-weight: 700; margin-right: auto; }
.chip { display: inline-block; padding: 1px 7px; border-radius: 10px; background: rgba(255,255,255,.16); font-size: 12px; white-space: nowrap; }
.chip.warn { background: #f4a261; color: #1b1f24; }
.chip.ok { background: #2a9d8f; }
button { font: inherit; cursor: pointer; border: 1px solid #8a94a3; background: #f3f5f8; color: #1b1f24; border-radius: 6px; padding: 4px 10px; }
button:hover { background: #e6eaf0; }
button.primary { background: #1d4ed8; border-color: #1d4ed8; color: #fff; }
button.primary:hover { background: #1e40af; }
button.danger { border-color: #b42318; color: #b42318; }
button[disabled] { opacity: .55; cursor: not-allowed; }
.top button { background: transparent; color: #fff; border-color: rgba(255,255,255,.6); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 1px; }
.tabs { display: flex; flex-wrap: wrap; border-bottom: 1px solid #d7dbe2; background: #f7f8fa; }
.tabs button { border: 0; border-radius: 0; background: transparent; padding: 8px 10px; border-bottom: 3px solid transparent; }
.tabs button[aria-selected="true"] { border-bottom-color: #1d4ed8; font-weight: 600; }
.body { overflow: auto; padding: 10px 12px 24px; flex: 1; }
h2 { font-size: 15px; margin: 14px 0 6px; }
h3 { font-size: 14px; margin: 10px 0 4px; }
.row { border: 1px solid #e1e4ea; border-radius: 8px; padding: 8px; margin: 6px 0; }
.row:hover, .row:focus-within { border-color: #1d4ed8; }
.muted { color: #5b6472; font-size: 12px; }
.reason { color: #37414f; font-size: 12px; }
.yes { color: #166534; font-weight: 600; }
.no { color: #9a3412; font-weight: 600; }
.error { color: #b42318; font-size: 12px; margin: 2px 0; }
.refused { margin: 16px 12px; padding: 12px; border: 2px solid #b42318; border-radius: 8px; background: #fff5f5; }
.refused h2 { margin-top: 0; color: #b42318; }
label { display: block; font-size: 12px; font-weight: 600; margin: 8px 0 2px; }
input, select, textarea { font: inherit; width: 100%; padding: 4px 6px; border: 1px solid #8a94a3; border-radius: 5px; background: #fff; color: #1b1f24; }
textarea { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; min-height: 64px; }
input[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: #b42318; background: #fff8f7; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.link { word-break: break-all; font-family: ui-monospace, monospace; font-size: 12px; background: #f3f5f8; padding: 4px; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; border-bottom: 1px solid #e1e4ea; padding: 3px 4px; vertical-align: top; }
.overlay { position: fixed; inset: 0; pointer-events: none; z-index: 2147483645; }
.outline { position: fixed; pointer-events: none; border: 2px dashed #1d4ed8; border-radius: 3px; z-index: 2147483645; }
.outline.hot { border: 3px solid #f59e0b; background: rgba(245,158,11,.08); }
.banner { position: fixed; left: 50%; bottom: 12px; transform: translateX(-50%); z-index: 2147483646; max-width: calc(100vw - 24px);
  background: #14213d; color: #fff; border-radius: 10px; padding: 8px 12px; display: flex; gap: 10px; align-items: center;
  font: 14px/1.4 system-ui, sans-serif; box-shadow: 0 4px 16px rgba(0,0,0,.25); }
.banner.bad { background: #7f1d1d; }
.banner button { background: transparent; color: #fff; border-color: rgba(255,255,255,.6); }
.status { min-height: 18px; font-size: 12px; margin: 4px 0; }
.status.ok { color: #166534; }
.status.bad { color: #b42318; }
.namespace { display: flex; gap: 4px; align-items: center; font-weight: 400; }
.namespace input { width: auto; flex: 1; min-width: 0; }
label.check { display: flex; gap: 6px; align-items: center; font-weight: 400; }
label.check input { width: auto; }
.box { border: 1px solid #c9d3e3; background: #f7f9fc; border-radius: 8px; padding: 8px; margin: 8px 0; }
`;
