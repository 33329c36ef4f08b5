// A small element builder for the Studio's UI. Text always goes in as text (never as HTML),
// so nothing from a ruleset, a server answer or the page can inject markup into the Studio.

/**
 * h("button", { class: "x", on: { click }, disabled: true, title: "..." }, "Save", child, [more])
 * Attributes whose value is false, null or undefined are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "on") for (const [type, f] of Object.entries(v)) el.addEventListener(type, f);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A date and time in the merchandiser's locale, e.g. "7 Dec 2026, 09:30". */
export function when(ms) {
  if (!Number.isFinite(ms)) return "unknown";
  return new Date(ms).toLocaleString(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** "in 29 min", "in 3 h", "expired 2 min ago". */
export function fromNow(ms, now = Date.now()) {
  const d = ms - now;
  const m = Math.round(Math.abs(d) / 60000);
  const text = m < 60 ? `${m} min` : m < 48 * 60 ? `${Math.round(m / 60)} h` : `${Math.round(m / 1440)} days`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}
