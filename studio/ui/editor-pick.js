// Picking an element on the live page without the page noticing: while picking, listeners
// in the capture phase of the page's window take every pointer, mouse, touch, click and
// submit event before the page's own handlers (preventDefault + stopImmediatePropagation),
// highlight what is under the pointer in the Studio's overlay, and pick on click. The
// keyboard works too: arrows walk the page's tree, Enter picks, Escape cancels.
//
// Events that reach the Studio's own shadow host (its panel) pass untouched.

const BLOCKED = [
  "pointerdown",
  "pointerup",
  "pointerover",
  "pointerout",
  "pointerenter",
  "pointerleave",
  "pointercancel",
  "mousedown",
  "mouseup",
  "mouseover",
  "mouseout",
  "mouseenter",
  "mouseleave",
  "mousemove",
  "click",
  "dblclick",
  "auxclick",
  "contextmenu",
  "touchstart",
  "touchmove",
  "touchend",
  "submit",
  "dragstart",
];

/** The next element from `el` for an arrow key, or null. */
export function step(el, key, doc) {
  const ok = (n) => n && n !== doc.documentElement && n !== doc.head;
  if (key === "ArrowUp") return ok(el.parentElement) ? el.parentElement : null;
  if (key === "ArrowDown") return el.firstElementChild || null;
  if (key === "ArrowLeft") return el.previousElementSibling || null;
  if (key === "ArrowRight") return el.nextElementSibling || null;
  return null;
}

/**
 * A picker over `doc`. `host`: the Studio's shadow host (its events pass). `highlight(el)`
 * draws the hover box (null hides it). `done(el)` is called with the picked element, or
 * with null when picking was cancelled. `typing()`: is the focus in one of the Studio's text
 * fields (then its keys are the field's)? Returns `{ stop() }`.
 */
export function startPicking({ doc, host, highlight, done, start = null, typing = () => false }) {
  const win = doc.defaultView;
  let hovered = start;
  const ours = (e) => e.target === host || (host && host.contains && e.target instanceof win.Node && host.contains(e.target));
  const pageEl = (e) => {
    const t = e.composedPath ? e.composedPath()[0] : e.target;
    return t && t.nodeType === 1 ? t : e.target && e.target.nodeType === 1 ? e.target : null;
  };
  const block = (e) => {
    if (ours(e)) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (e.type === "mouseover" || e.type === "pointermove" || e.type === "mousemove") {
      const el = pageEl(e);
      if (el && el !== hovered) highlight((hovered = el));
    } else if (e.type === "click") {
      const el = pageEl(e) || hovered;
      finish(el);
    } else if (e.type === "touchend" && e.changedTouches && e.changedTouches[0]) {
      // A tap: with touchstart cancelled the browser makes no click, so the tap picks.
      const t = e.changedTouches[0];
      const el = doc.elementFromPoint(t.clientX, t.clientY);
      if (el && el !== host) finish(el);
    }
  };
  const key = (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopImmediatePropagation();
      return finish(null);
    }
    if (ours(e) && typing()) return; // typing in the Studio's panel
    if (e.key === "Enter" && hovered) {
      e.preventDefault();
      e.stopImmediatePropagation();
      return finish(hovered);
    }
    if (/^Arrow/.test(e.key)) {
      e.preventDefault();
      e.stopImmediatePropagation();
      const next = hovered ? step(hovered, e.key, doc) : doc.querySelector("main") || doc.body.firstElementChild;
      if (next) {
        hovered = next;
        highlight(next);
        next.scrollIntoView({ block: "nearest" });
      }
    }
  };
  const opts = { capture: true, passive: false };
  const types = [...BLOCKED, "pointermove"];
  for (const t of types) win.addEventListener(t, block, opts);
  win.addEventListener("keydown", key, opts);
  if (hovered) highlight(hovered);
  let stopped = false;
  function stop() {
    if (stopped) return;
    stopped = true;
    for (const t of types) win.removeEventListener(t, block, opts);
    win.removeEventListener("keydown", key, opts);
    highlight(null);
  }
  function finish(el) {
    stop();
    done(el);
  }
  return { stop };
}
