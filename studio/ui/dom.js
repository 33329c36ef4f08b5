// The Studio's element builder is Rust (studio/src/dom.rs): text always goes in as text
// (never as HTML), so nothing from a ruleset, a server answer or the page can inject markup.
// These are the panels' names for it; the module is loaded before any panel is drawn.
import { buildElement, fillElement, fromNow, when } from "./gen/studio_engine.js";

/**
 * h("button", { class: "x", on: { click }, disabled: true, title: "..." }, "Save", child, [more])
 * Attributes whose value is false, null or undefined are left out.
 */
export const h = (tag, attrs = {}, ...children) => buildElement(tag, attrs, children);

/** Replaces the children of `el`. */
export const fill = (el, ...children) => fillElement(el, children);

export { fromNow, when };
