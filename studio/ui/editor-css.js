// The visual editor's styles, added by the Studio to the constructable stylesheet of its
// shadow root (no <style> element, no style attribute: a strict CSP allows this). Every
// rule is scoped to a `ted-` class, so nothing leaks to or from the Studio's other parts.
export const editorCss = `
.ted { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; display: grid; gap: 12px; min-width: 0; }
.ted * { box-sizing: border-box; }
.ted h3 { font-size: 14px; margin: 0 0 6px; }
.ted-bar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.ted button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #9aa5b1; background: #fff; color: #1f2933; cursor: pointer; min-height: 34px; }
.ted button:not(.ted-primary):hover:not(:disabled):not([aria-disabled="true"]) { background: #f0f4f8; }
.ted button:disabled, .ted button[aria-disabled="true"] { color: #9aa5b1; border-color: #d9e2ec; cursor: default; }
.ted button:focus-visible, .ted input:focus-visible, .ted select:focus-visible, .ted textarea:focus-visible, .ted-el:focus-visible, .ted summary:focus-visible { outline: 3px solid #2457c5; outline-offset: 1px; }
.ted .ted-primary { background: #2457c5; border-color: #2457c5; color: #fff; font-weight: 600; }
.ted .ted-primary:hover:not(:disabled) { background: #1c4399; }
.ted .ted-pick[aria-pressed="true"] { background: #fff3c4; border-color: #b7791f; color: #5c3b00; }
.ted-status { margin: 0; padding: 8px 10px; border-radius: 6px; background: #f0f4f8; }
.ted-status.ted-warn { background: #fff3c4; color: #5c3b00; }
.ted-status.ted-bad { background: #fde8e8; color: #8a1c1c; }
.ted fieldset { border: 1px solid #d9e2ec; border-radius: 8px; padding: 8px 10px 10px; margin: 0; min-width: 0; display: grid; gap: 8px; }
.ted legend { font-weight: 600; padding: 0 4px; }
.ted label { display: grid; gap: 3px; font-weight: 500; }
.ted input, .ted select, .ted textarea { font: inherit; width: 100%; min-width: 0; padding: 5px 8px; border: 1px solid #9aa5b1; border-radius: 6px; background: #fff; color: #1f2933; }
.ted input[type="color"] { width: 48px; height: 34px; padding: 2px; }
.ted textarea { min-height: 70px; resize: vertical; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.ted-text textarea { font-family: inherit; font-size: 14px; }
.ted-el { padding: 8px 10px; border: 2px solid #2457c5; border-radius: 8px; background: #eef3fd; overflow-wrap: anywhere; }
.ted-el small { display: block; color: #52606d; }
.ted-nav { display: flex; flex-wrap: wrap; gap: 4px; }
.ted-nav button { padding: 4px 8px; min-height: 30px; font-size: 13px; }
.ted-sel { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 2px 6px; align-items: center; }
.ted-sel .ted-count { grid-column: 1; justify-self: start; }
.ted-sel input { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.ted-count { font-size: 12px; padding: 2px 8px; border-radius: 10px; white-space: nowrap; background: #e3f9e5; color: #0e5e1b; }
.ted-count.ted-warn { background: #fff3c4; color: #5c3b00; }
.ted-count.ted-bad { background: #fde8e8; color: #8a1c1c; }
.ted-hint { margin: 0; font-size: 12px; color: #52606d; }
.ted-row { display: flex; gap: 6px; align-items: end; }
.ted-row > label { flex: 1; }
.ted .ted-check { display: flex; gap: 6px; align-items: center; font-weight: 400; }
.ted .ted-check input { width: auto; }
.ted-error { margin: 0; color: #8a1c1c; font-weight: 500; }
.ted-error:empty, .ted-removed:empty, .ted-note:empty { display: none; }
.ted-removed, .ted-note { margin: 0; padding: 6px 10px; border-radius: 6px; background: #fff3c4; color: #5c3b00; }
.ted-changes ol { margin: 0; padding: 0 0 0 22px; display: grid; gap: 6px; }
.ted-changes li { overflow-wrap: anywhere; }
.ted-changes li > div { display: flex; gap: 6px; align-items: start; justify-content: space-between; }
.ted-changes li button { padding: 2px 8px; min-height: 28px; font-size: 12px; flex: none; }
.ted code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; background: #f0f4f8; padding: 0 3px; border-radius: 3px; }
.ted-empty { margin: 0; color: #52606d; }
.ted details { border: 1px solid #d9e2ec; border-radius: 8px; padding: 8px 10px; }
.ted summary { cursor: pointer; font-weight: 600; }
.ted details[open] summary { margin-bottom: 8px; }
.ted details > div { display: grid; gap: 8px; }
.ted-found summary { font-weight: 500; overflow-wrap: anywhere; }
.ted-found summary .ted-count { font-weight: 400; }
.ted [hidden] { display: none !important; }
.ted-box { position: absolute; pointer-events: none; border: 2px solid #2457c5; background: rgba(36, 87, 197, 0.12); border-radius: 2px; }
.ted-box.ted-hover { border-color: #d97706; background: rgba(217, 119, 6, 0.14); }
.ted-box.ted-target { border-style: dashed; border-color: #7c3aed; background: rgba(124, 58, 237, 0.1); }
.ted-tag { position: absolute; left: -2px; bottom: 100%; margin-bottom: 2px; max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font: 12px/1.4 system-ui, sans-serif; padding: 1px 6px; border-radius: 4px; background: #2457c5; color: #fff; }
.ted-hover .ted-tag { background: #b45309; }
.ted-target .ted-tag { background: #6d28d9; }
.ted-box.ted-below .ted-tag { bottom: auto; top: 100%; margin: 2px 0 0; }
`;
