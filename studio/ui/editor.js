// The Studio's visual editor (issue 12): pick an element on the live page, change it, and
// get the variation's page changes in the ruleset's own format (docs/ruleset.md, "Page
// changes"), previewed through the SDK's applier so what is previewed is what ships.
//
//   const ed = createEditor({ mount, doc, overlay, initial, initialCss, onChange, preview });
//   ed.changes(); ed.css(); ed.setChanges(list, css); ed.undo(); ed.redo(); ed.destroy();
//
// `onChange(changes, css)` runs after every edit, undo and redo; `preview(changes, css)`
// shows them on the page. `css` is the variation's page CSS (its `css` field), kept beside
// the list. Nothing here throws into the page once created: a failing callback or a bad
// value becomes a message in the panel.
import { editorCss } from "./editor-css.js";
import { cleanHtml } from "./editor-html.js";
import { attributeProblem, cssProblem, selectorProblem, startPicking, step, styleProblem } from "./gen/studio_engine.js";
import { loadEngine } from "./engine.js";
import { MAX_CHANGES, MAX_CSS, MAX_VALUE, SETTABLE_ATTRIBUTES } from "./editor-rules.js";
import { countMatches, describe, selectorsFor } from "./editor-select.js";

export { editorCss };

// The element picker is the Studio's module (studio/src/picker.rs): loaded as soon as the
// editor is (the Studio has loaded it already), so picking starts at once.
let pickerLoaded = false;
const pickerReady = loadEngine().then(
  () => (pickerLoaded = true),
  () => false,
);
// For the Studio's other views (outlines, the inspector): the same selectors and counts.
export { countMatches, describe, selectorsFor } from "./editor-select.js";

const KINDS = [
  ["text", "Text"],
  ["html", "HTML"],
  ["style", "Style (colour, size, spacing…)"],
  ["attribute", "Attribute (link, title…)"],
  ["image", "Image (picture and its description)"],
  ["insert", "Insert new content next to it"],
  ["addClass", "Add a class"],
  ["removeClass", "Remove a class"],
  ["move", "Move it"],
  ["hide", "Hide it"],
];
const STYLE_PROPS = ["background-color", "color", "font-size", "font-weight", "font-style", "text-align", "text-transform", "letter-spacing", "line-height", "padding", "margin", "border", "border-radius", "width", "max-width", "display", "opacity"];
const INSERTS = [
  ["insertBefore", "Before it"],
  ["insertAfter", "After it"],
  ["prepend", "Inside it, first"],
  ["append", "Inside it, last"],
];
const POSITIONS = [
  ["before", "Before the target"],
  ["after", "After the target"],
  ["prepend", "Inside the target, first"],
  ["append", "Inside the target, last"],
];

// A tiny element builder: h("button", { class: "x", onclick }, "Label").
function h(doc, tag, attrs = {}, ...kids) {
  const el = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...kids.flat().filter((k) => k != null && k !== false));
  return el;
}

const clone = (x) => JSON.parse(JSON.stringify(x));
const selKey = (s) => JSON.stringify(Array.isArray(s) ? s : [s]);
const firstSel = (s) => (Array.isArray(s) ? s[0] : s) || "";
const short = (s, n = 60) => {
  const t = String(s).replace(/\s+/g, " ").trim();
  return t.length > n ? t.slice(0, n - 1) + "…" : t;
};
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** What a change does, in words (the list of changes shows it). */
export function describeChange(c) {
  const v = c.value == null ? "" : String(c.value);
  switch (c.action) {
    case "text":
      return `Text → “${short(v)}”`;
    case "html":
    case "insertBefore":
    case "insertAfter":
    case "prepend":
    case "append":
      return `${{ html: "HTML", insertBefore: "Insert before", insertAfter: "Insert after", prepend: "Insert first inside", append: "Insert last inside" }[c.action]} → ${short(v)}`;
    case "style":
      return `Style ${c.name}: ${short(v)}`;
    case "attribute":
      return `Attribute ${c.name} = “${short(v)}”`;
    case "addClass":
      return `Add class ${v}`;
    case "removeClass":
      return `Remove class ${v}`;
    case "move":
      return `Move ${({ before: "before", after: "after", prepend: "to the start of", append: "to the end of" })[c.position] || c.position} ${c.target}`;
    case "hide":
      return "Hide";
    default:
      return `Unknown action “${c.action}”`;
  }
}

// Two consecutive edits of the same element and kind make one change.
function sameSlot(a, b) {
  return a && b && a.action === b.action && selKey(a.selector) === selKey(b.selector) && (a.name || "") === (b.name || "") && (a.fingerprint || "") === (b.fingerprint || "");
}
function merged(prev, next) {
  if (next.action === "addClass" || next.action === "removeClass") {
    const all = [...new Set([...String(prev.value).split(/\s+/), ...String(next.value).split(/\s+/)].filter(Boolean))];
    return { ...next, value: all.join(" ") };
  }
  return next;
}

/**
 * Creates the editor in `mount`. Throws a TypeError naming the option when the options are
 * wrong; after that, never throws.
 */
export function createEditor(options) {
  const o = options || {};
  const { mount, doc, overlay } = o;
  const isEl = (x) => x && typeof x === "object" && x.nodeType === 1;
  if (!isEl(mount)) throw new TypeError("createEditor: `mount` must be an HTMLElement (where the panel is drawn)");
  if (!doc || doc.nodeType !== 9) throw new TypeError("createEditor: `doc` must be the page's Document");
  if (!isEl(overlay)) throw new TypeError("createEditor: `overlay` must be an HTMLElement fixed over the viewport");
  for (const f of ["onChange", "preview"]) if (o[f] != null && typeof o[f] !== "function") throw new TypeError(`createEditor: \`${f}\` must be a function`);
  const checkList = (list, where) => {
    if (!Array.isArray(list)) throw new TypeError(`${where}: the page changes must be an array, found ${list === null ? "null" : typeof list}`);
    list.forEach((c, i) => {
      if (!c || typeof c !== "object" || Array.isArray(c)) throw new TypeError(`${where}: change ${i + 1} must be an object like { selector, action, value }`);
    });
    return clone(list);
  };
  const win = doc.defaultView;
  const host = overlay.getRootNode && overlay.getRootNode().host;
  const mk = (tag, attrs, ...kids) => h(doc, tag, attrs, ...kids);

  let list = checkList(o.initial == null ? [] : o.initial, "createEditor: `initial`");
  let css = typeof o.initialCss === "string" ? o.initialCss : "";
  let past = [];
  let future = [];
  let session = null; // the field whose live edits merge into one undo step
  let picked = null; // the page element being edited
  let sels = []; // its selectors, as shown (the merchandiser may edit them)
  let target = null; // the move target and its selector
  let targetSel = "";
  let picker = null;
  let destroyed = false;
  let fieldUndo = false; // a Ctrl+Z typed in one of the panel's fields is on its way

  // ---- the panel ----------------------------------------------------------------------
  const status = mk("p", { class: "ted-status", role: "status", "aria-live": "polite" });
  const pickBtn = mk("button", { type: "button", class: "ted-pick ted-primary", "aria-pressed": "false", onclick: () => (picker ? cancelPick() : pick("edit")) }, "Pick an element");
  const undoBtn = mk("button", { type: "button", onclick: () => undo(), title: "Undo (Ctrl+Z)" }, "Undo");
  const redoBtn = mk("button", { type: "button", onclick: () => redo(), title: "Redo (Shift+Ctrl+Z)" }, "Redo");

  const elBox = mk("div", { class: "ted-el", tabindex: "0", role: "group", "aria-label": "Selected element. Arrow keys: up selects the parent, down the first child, left and right the siblings." });
  const navBtn = (label, key, aria) => mk("button", { type: "button", "aria-label": aria, onclick: () => walk(key) }, label);
  const nav = mk("div", { class: "ted-nav" }, navBtn("↑ Parent", "ArrowUp", "Select the parent element"), navBtn("↓ First child", "ArrowDown", "Select the first child element"), navBtn("← Previous", "ArrowLeft", "Select the previous sibling"), navBtn("→ Next", "ArrowRight", "Select the next sibling"));
  const selRows = mk("div", { class: "ted-sels" });
  const addSelBtn = mk("button", { type: "button", onclick: () => ((sels = [...sels, ""]), drawSelectors(sels.length - 1)) }, "+ Add a fallback selector");
  const selSummary = mk("span", {});
  const selBox = mk(
    "details",
    { class: "ted-found" },
    mk("summary", {}, "How the element is found: ", selSummary),
    mk(
      "div",
      {},
      mk("p", { class: "ted-hint" }, "Selectors are tried in order; the first that finds an element wins, so the change survives a redesign."),
      selRows,
      addSelBtn,
    ),
  );

  // The change form: one set of fields per kind.
  const kindSel = mk("select", { "aria-label": "What to change", onchange: () => drawKind() }, ...KINDS.map(([k, l]) => mk("option", { value: k }, l)));
  const textIn = mk("textarea", { "aria-label": "New text", rows: "3", oninput: (e) => live("text", e) });
  const htmlIn = mk("textarea", { "aria-label": "New HTML", rows: "4" });
  const insertIn = mk("textarea", { "aria-label": "HTML to insert", rows: "3", placeholder: '<p class="ribbon">Free delivery this week</p>' });
  const insertPos = mk("select", { "aria-label": "Where to insert it" }, ...INSERTS.map(([k, l]) => mk("option", { value: k }, l)));
  const textWarn = mk("p", { class: "ted-note" });
  const propIn = mk("input", { "aria-label": "CSS property", list: "ted-props", autocomplete: "off", spellcheck: "false", value: "background-color", oninput: () => fillStyle() });
  const propList = mk("datalist", { id: "ted-props" }, ...STYLE_PROPS.map((p) => mk("option", { value: p })));
  const valIn = mk("input", { "aria-label": "CSS value", autocomplete: "off", spellcheck: "false", oninput: (e) => (syncSwatch(), live("style", e)) });
  const colorIn = mk("input", { type: "color", "aria-label": "Pick a colour", oninput: () => ((valIn.value = colorIn.value), live("style")) });
  const attrName = mk("input", { "aria-label": "Attribute name", list: "ted-attrs", autocomplete: "off", spellcheck: "false", value: "title", oninput: () => fillAttr() });
  const attrList = mk("datalist", { id: "ted-attrs" }, ...SETTABLE_ATTRIBUTES.map((a) => mk("option", { value: a })));
  const attrVal = mk("input", { "aria-label": "Attribute value", autocomplete: "off", spellcheck: "false" });
  const srcIn = mk("input", { "aria-label": "Image address (src)", autocomplete: "off", spellcheck: "false", placeholder: "/img/winter.jpg" });
  const altIn = mk("input", { "aria-label": "Image description (alt)", autocomplete: "off" });
  const classIn = mk("input", { "aria-label": "Class names, separated by spaces", autocomplete: "off", spellcheck: "false", placeholder: "cta-large" });
  const targetBox = mk("p", { class: "ted-hint ted-target-info" }, "No target yet: pick the element to move it next to or into.");
  const targetBtn = mk("button", { type: "button", onclick: () => pick("target") }, "Pick the target element");
  const posSel = mk("select", { "aria-label": "Where to move it" }, ...POSITIONS.map(([k, l]) => mk("option", { value: k }, l)));
  const field = (label, input) => mk("label", {}, label, input);
  const forms = {
    text: mk("div", { class: "ted-text" }, field("New text", textIn), textWarn, mk("p", { class: "ted-hint" }, "Plain text; it replaces everything inside the element. The page shows it as you type.")),
    html: mk("div", {}, field("New HTML", htmlIn), mk("p", { class: "ted-hint" }, "Cleaned before it is shown: no scripts, no event handlers, only safe elements.")),
    style: mk("div", {}, field("CSS property", propIn), propList, mk("div", { class: "ted-row" }, field("Value", valIn), colorIn), mk("p", { class: "ted-hint" }, "The page shows it as you type.")),
    attribute: mk("div", {}, field("Attribute", attrName), attrList, field("Value", attrVal)),
    image: mk("div", {}, field("Image address (src)", srcIn), field("Description for screen readers (alt)", altIn)),
    insert: mk("div", {}, field("Where", insertPos), field("HTML to insert", insertIn), mk("p", { class: "ted-hint" }, "Cleaned before it is shown, as HTML changes are.")),
    addClass: mk("div", {}, field("Class names to add (separated by spaces)", classIn)),
    removeClass: mk("div", {}),
    move: mk("div", {}, targetBtn, targetBox, field("Where", posSel)),
    hide: mk("div", {}, mk("p", { class: "ted-hint" }, "The element is hidden for shoppers who see this variation.")),
  };
  const applyBtn = mk("button", { type: "button", class: "ted-primary", onclick: () => apply() }, "Apply");
  const formError = mk("p", { class: "ted-error", role: "alert" });
  const removedNote = mk("p", { class: "ted-removed", role: "status" });
  const editBox = mk("fieldset", { class: "ted-edit" }, mk("legend", {}, "Change it"), field("What to change", kindSel), ...Object.values(forms), mk("div", { class: "ted-bar" }, applyBtn), formError, removedNote);
  const selection = mk("div", { class: "ted-selection", hidden: true }, elBox, nav, selBox, editBox);

  const cssIn = mk("textarea", { "aria-label": "Page CSS", rows: "4", spellcheck: "false", placeholder: "#hero h1 { letter-spacing: 0.02em }" });
  const cssError = mk("p", { class: "ted-error", role: "alert" });
  const cssBox = mk("details", { class: "ted-css" }, mk("summary", {}, "Page CSS"), mk("div", {}, mk("p", { class: "ted-hint" }, "Added to the page while this variation is shown."), cssIn, mk("div", { class: "ted-bar" }, mk("button", { type: "button", onclick: () => applyCss() }, "Apply CSS")), cssError));

  const listTitle = mk("h3", {});
  const listEl = mk("ol", {});
  const empty = mk("p", { class: "ted-empty" }, "No changes yet: pick an element on the page, then change it.");
  const changesBox = mk("section", { class: "ted-changes", "aria-label": "Changes in this variation" }, listTitle, empty, listEl);

  const root = mk("section", { class: "ted", "aria-label": "Visual editor" }, mk("div", { class: "ted-bar" }, pickBtn, undoBtn, redoBtn), status, selection, cssBox, changesBox);
  mount.append(root);
  cssIn.value = css;

  // ---- overlay boxes ------------------------------------------------------------------
  const boxes = {};
  const box = (kind) => {
    if (!boxes[kind]) {
      const tag = mk("span", { class: "ted-tag" });
      boxes[kind] = { el: mk("div", { class: "ted-box ted-" + kind, hidden: true }, tag), tag, of: null };
      overlay.append(boxes[kind].el);
    }
    return boxes[kind];
  };
  function mark(kind, el, label) {
    const b = box(kind);
    b.of = el;
    b.tag.textContent = label || "";
    place(b);
  }
  function place(b) {
    if (!b.of || !b.of.isConnected) return (b.el.hidden = true);
    const r = b.of.getBoundingClientRect();
    const o = overlay.getBoundingClientRect();
    // A hidden element (display: none) has no box to outline.
    if (!r.width && !r.height) return (b.el.hidden = true);
    b.el.hidden = false;
    Object.assign(b.el.style, { left: r.left - o.left - 2 + "px", top: r.top - o.top - 2 + "px", width: r.width + 4 + "px", height: r.height + 4 + "px" });
    b.el.classList.toggle("ted-below", r.top < 24);
  }
  let raf = 0;
  const replace = () => {
    if (raf) return;
    raf = win.requestAnimationFrame(() => {
      raf = 0;
      Object.values(boxes).forEach(place);
    });
  };
  win.addEventListener("scroll", replace, { capture: true, passive: true });
  win.addEventListener("resize", replace, { passive: true });

  // ---- state and history --------------------------------------------------------------
  function say(text, tone = "") {
    status.textContent = text;
    status.className = "ted-status" + (tone ? " ted-" + tone : "");
  }
  function emit(notify = true) {
    const out = [clone(list), css];
    try {
      if (o.preview) o.preview(...out);
    } catch (e) {
      say("The preview failed: " + (e && e.message ? e.message : e), "bad");
    }
    if (notify)
      try {
        if (o.onChange) o.onChange(clone(list), css);
      } catch (e) {
        say("The Studio could not take the change: " + (e && e.message ? e.message : e), "bad");
      }
    // A preview may have replaced the picked element (an HTML change of its parent).
    if (picked && !picked.isConnected) {
      const again = sels.map((s) => safeQuery(s)).find(Boolean);
      if (again) picked = again;
    }
    if (target && !target.isConnected) target = safeQuery(targetSel);
    drawList();
    if (picked) drawSelectors(), drawPicked();
    // aria-disabled, not disabled: the focus stays on the button, so Ctrl+Z keeps working.
    undoBtn.setAttribute("aria-disabled", String(!past.length));
    redoBtn.setAttribute("aria-disabled", String(!future.length));
    mark("selected", picked, picked ? describe(picked) : "");
    mark("target", kindSel.value === "move" ? target : null, "move target");
  }
  function snapshot() {
    return { list: clone(list), css };
  }
  // Records the state before an edit (unless it continues the live edit `key`).
  function remember(key) {
    if (key && key === session) return;
    past.push(snapshot());
    if (past.length > 200) past.shift();
    future = [];
    session = key || null;
  }
  function commit(entry, key) {
    const last = list[list.length - 1];
    const next = sameSlot(last, entry) ? [...list.slice(0, -1), merged(last, entry)] : [...list, entry];
    if (JSON.stringify(next) === JSON.stringify(list)) return false;
    if (next.length > MAX_CHANGES) {
      fail(`A variation holds at most ${MAX_CHANGES} changes: delete some first.`);
      return false;
    }
    remember(key);
    list = next;
    emit();
    return true;
  }
  function undo() {
    if (!past.length) return say("Nothing to undo.");
    future.push(snapshot());
    ({ list, css } = past.pop());
    session = null;
    cssIn.value = css;
    emit();
    if (picked) drawKind(); // the form shows the element as it is now
    say(`Undone. ${plural(list.length, "change", "changes")} now.`);
  }
  function redo() {
    if (!future.length) return say("Nothing to redo.");
    past.push(snapshot());
    ({ list, css } = future.pop());
    session = null;
    cssIn.value = css;
    emit();
    if (picked) drawKind(); // the form shows the element as it is now
    say(`Redone. ${plural(list.length, "change", "changes")} now.`);
  }
  const safeQuery = (s) => {
    try {
      return s ? doc.querySelector(s) : null;
    } catch {
      return null;
    }
  };

  // ---- the list of changes ------------------------------------------------------------
  function drawList() {
    listTitle.textContent = `Changes (${list.length})`;
    empty.hidden = list.length > 0;
    listEl.replaceChildren(
      ...list.map((c, i) => {
        const sel = firstSel(c.selector);
        const el = (Array.isArray(c.selector) ? c.selector : [c.selector]).map((s) => safeQuery(s)).find(Boolean);
        const found = !!el;
        const what = describeChange(c);
        const kind = el ? (describe(el).match(/^[^"]+/) || [""])[0].trim() : "";
        return mk(
          "li",
          {},
          mk(
            "div",
            {},
            mk("span", {}, what, " · ", kind ? kind + " " : "", mk("code", {}, sel), found ? null : mk("span", { class: "ted-count ted-warn" }, "not on this page")),
            mk("button", { type: "button", "aria-label": `Delete change ${i + 1}: ${what}`, onclick: () => remove(i) }, "Delete"),
          ),
        );
      }),
    );
  }
  function remove(i) {
    remember(null);
    const [gone] = list.splice(i, 1);
    list = [...list];
    emit();
    say(`Deleted: ${describeChange(gone)}.`);
  }

  // ---- selecting ----------------------------------------------------------------------
  function pick(mode) {
    if (!pickerLoaded) {
      pickerReady.then((ok) => (ok ? !destroyed && pick(mode) : say("Picking does not work on this page: the Studio's module could not load.", "bad")));
      return;
    }
    cancelPick(true);
    const start = mode === "edit" ? picked : target;
    pickBtn.setAttribute("aria-pressed", "true");
    pickBtn.textContent = "Cancel picking";
    say(mode === "target" ? "Click the element to move it next to or into. Esc cancels." : "Click an element on the page to select it. Arrow keys move, Enter selects, Esc cancels.", "warn");
    try {
      picker = startPicking({
        doc,
        host,
        start,
        typing: () => {
          const a = mount.getRootNode().activeElement;
          return !!a && (a.localName === "textarea" || a.localName === "select" || (a.localName === "input" && !/^(checkbox|radio|button|color)$/.test(a.type)));
        },
        highlight: (el) => mark("hover", el, el ? describe(el) : ""),
        done: (el) => {
          picker = null;
          pickBtn.setAttribute("aria-pressed", "false");
          pickBtn.textContent = "Pick an element";
          if (!el) return say("Picking cancelled.");
          if (mode === "target") setTarget(el);
          else select(el);
        },
      });
    } catch (e) {
      picker = null;
      say("Picking does not work on this page: " + (e && e.message), "bad");
    }
  }
  function cancelPick(quiet) {
    if (!picker) return;
    picker.stop();
    picker = null;
    pickBtn.setAttribute("aria-pressed", "false");
    pickBtn.textContent = "Pick an element";
    if (!quiet) say("Picking cancelled.");
  }
  // Classes the variation adds or removes are not a way to find its elements.
  const ownClasses = () => new Set(list.filter((c) => c.action === "addClass" || c.action === "removeClass").flatMap((c) => String(c.value).split(/\s+/)));
  function select(el) {
    picked = el;
    session = null;
    sels = selectorsFor(el, doc, ownClasses());
    selection.hidden = false;
    drawPicked();
    const img = el.localName === "img";
    kindSel.querySelector('option[value="image"]').disabled = !img;
    if (img) kindSel.value = "image";
    else if (kindSel.value === "image") kindSel.value = "text";
    drawSelectors();
    drawKind();
    mark("selected", el, describe(el));
    say(`Selected: ${describe(el)}. Choose what to change.`);
  }
  function drawPicked() {
    if (picked) elBox.replaceChildren(describe(picked) || picked.localName, mk("small", {}, `<${picked.localName}>${picked.id ? " id " + picked.id : ""}`));
  }
  function setTarget(el) {
    if (picked && (el === picked || el.contains(picked) || picked.contains(el))) {
      return fail("The target must be outside the element you move (and not the element itself). To reorder, pick a sibling and choose before or after.");
    }
    target = el;
    targetSel = selectorsFor(el, doc, ownClasses())[0] || "";
    targetBox.replaceChildren("Target: ", describe(el), " · ", mk("code", {}, targetSel), ` (${plural(countMatches(doc, targetSel), "match", "matches")})`);
    mark("target", el, "move target");
    say("Target set. Choose where, then Apply.");
  }
  function walk(key) {
    if (!picked) return;
    const next = step(picked, key, doc);
    if (next && next !== doc.body.parentElement) select(next);
    else say("There is no element in that direction.");
  }

  function countLabel(n) {
    if (n < 0) return ["not a valid selector", "bad"];
    if (n === 0) return ["matches nothing here", "bad"];
    if (n === 1) return ["1 match", ""];
    return [`${n} matches: the first one is changed`, "warn"];
  }
  function drawSelectors(focus = -1) {
    const rows = sels.map((s, i) => {
      const input = mk("input", { value: s, "aria-label": i === 0 ? "Selector" : `Fallback selector ${i}`, spellcheck: "false", autocomplete: "off" });
      const [text, tone] = countLabel(s.trim() ? countMatches(doc, s) : -1);
      const count = mk("span", { class: "ted-count" + (tone ? " ted-" + tone : ""), "aria-live": "polite" }, text);
      input.addEventListener("input", () => {
        sels[i] = input.value;
        const [t, k] = countLabel(input.value.trim() ? countMatches(doc, input.value) : -1);
        count.textContent = t;
        count.className = "ted-count" + (k ? " ted-" + k : "");
        summarise();
      });
      const del = mk("button", { type: "button", "aria-label": `Remove selector ${i + 1}`, disabled: sels.length < 2, onclick: () => ((sels = sels.filter((_, j) => j !== i)), drawSelectors()) }, "✕");
      return mk("div", { class: "ted-sel" }, input, del, count);
    });
    selRows.replaceChildren(...rows);
    addSelBtn.disabled = sels.length >= 5;
    summarise();
    if (focus >= 0 && rows[focus]) rows[focus].querySelector("input").focus();
  }
  // The one line a merchandiser reads: the first selector and how many it finds. A
  // selector that finds none or several opens the details.
  function summarise() {
    const first = (sels[0] || "").trim();
    const n = first ? countMatches(doc, first) : -1;
    const [text, tone] = countLabel(n);
    const more = sels.filter((x) => x.trim()).length - 1;
    selSummary.replaceChildren(mk("code", {}, first || "(none)"), " ", mk("span", { class: "ted-count" + (tone ? " ted-" + tone : "") }, text), more > 0 ? ` + ${plural(more, "fallback", "fallbacks")}` : "");
    if (tone) selBox.open = true;
  }
  // The selector field of a change: one string, or the list with its fallbacks.
  function selectorValue() {
    const all = sels.map((s) => s.trim()).filter(Boolean);
    if (!all.length) return fail("Give at least one selector, so the change can find its element.");
    for (const [i, s] of all.entries()) {
      const why = selectorProblem(s, doc);
      if (why) return fail(`Selector ${i + 1} ${why}.`);
    }
    return all.length === 1 ? all[0] : all;
  }

  // ---- the change form ----------------------------------------------------------------
  function fail(text) {
    formError.textContent = text;
    say(text, "bad");
    return null;
  }
  function drawKind() {
    const k = kindSel.value;
    for (const [name, f] of Object.entries(forms)) f.hidden = name !== k;
    formError.textContent = "";
    removedNote.textContent = "";
    applyBtn.textContent = k === "hide" ? "Hide this element" : k === "move" ? "Move it" : k === "insert" ? "Insert it" : "Apply";
    if (!picked) return;
    if (k === "text") {
      textIn.value = written("text") ?? picked.textContent.replace(/\s+/g, " ").trim();
      const inside = [...picked.children].map((c) => describe(c).split(" ")[0]);
      textWarn.textContent = inside.length ? `This element holds other elements (${[...new Set(inside)].join(", ")}): the new text replaces them all. Pick the innermost element to change only its words.` : "";
    }
    if (k === "html") htmlIn.value = picked.innerHTML.trim();
    if (k === "style") fillStyle();
    if (k === "attribute") fillAttr();
    if (k === "image") {
      srcIn.value = picked.getAttribute("src") || "";
      altIn.value = picked.getAttribute("alt") || "";
    }
    if (k === "removeClass") {
      const have = [...picked.classList];
      forms.removeClass.replaceChildren(
        have.length
          ? mk("fieldset", {}, mk("legend", {}, "Classes to remove"), ...have.map((c) => mk("label", { class: "ted-check" }, mk("input", { type: "checkbox", value: c }), c)))
          : mk("p", { class: "ted-hint" }, "This element has no class to remove."),
      );
    }
    mark("target", k === "move" ? target : null, "move target");
  }
  function fillStyle() {
    if (!picked) return;
    const prop = propIn.value.trim();
    let v = written("style", prop);
    try {
      if (v == null) v = picked.style.getPropertyValue(prop) || win.getComputedStyle(picked).getPropertyValue(prop);
    } catch {}
    v = v || "";
    valIn.value = v.trim();
    const hex = toHex(v);
    colorIn.hidden = !/color$/.test(prop);
    if (hex) colorIn.value = hex;
  }
  // The value this variation already writes for the picked element (its selectors as
  // shown), or null.
  function written(action, name) {
    const key = selKey(sels.length === 1 ? sels[0] : sels);
    const c = [...list].reverse().find((c) => c.action === action && selKey(c.selector) === key && (name == null || c.name === name));
    return c ? String(c.value) : null;
  }
  function syncSwatch() {
    const hex = toHex(valIn.value);
    if (hex) colorIn.value = hex;
  }
  function fillAttr() {
    if (picked) attrVal.value = picked.getAttribute(attrName.value.trim()) || "";
  }
  // rgb(1, 2, 3) -> #010203 for the colour input (other forms: no swatch value).
  function toHex(v) {
    const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(String(v).trim());
    if (m) return "#" + m.slice(1, 4).map((n) => (+n).toString(16).padStart(2, "0")).join("");
    return /^#[0-9a-f]{6}$/i.test(String(v).trim()) ? String(v).trim() : "";
  }
  // An edit from typing: applied at once, merged into one undo step per field.
  function live(kind, e) {
    if (!picked || kindSel.value !== kind) return;
    // Ctrl+Z on the page runs the browser's own undo, which reaches the field last typed in
    // even without the focus: that is not the merchandiser editing; show the change again.
    // (A Ctrl+Z typed in the field itself is: keys() notes it.)
    if (e && /^history/.test(e.inputType || "") && !fieldUndo) return drawKind();
    apply(kind + ":" + (picked ? sels.join("|") : ""));
  }
  const tooLong = (v) => (v.length > MAX_VALUE ? fail(`At most ${MAX_VALUE} characters (this is ${v.length}).`) || true : false);

  function apply(key = null) {
    if (!picked) return fail("Pick an element first.");
    const selector = selectorValue();
    if (!selector) return;
    formError.textContent = "";
    const k = kindSel.value;
    const done = (entry, what) => {
      if (commit(entry, key)) say(`${what} ${plural(list.length, "change", "changes")} in this variation.`);
      else if (!key) say("Nothing new: the element already looks like this.");
    };
    if (k === "text") {
      const value = textIn.value;
      if (tooLong(value)) return;
      return done({ selector, action: "text", value }, "Text changed.");
    }
    if (k === "html") {
      const { html, removed } = cleanHtml(htmlIn.value, doc);
      if (tooLong(html)) return;
      removedNote.textContent = removed.length ? "Removed for safety: " + removed.join(", ") + "." : "";
      if (removed.length) htmlIn.value = html;
      if (commit({ selector, action: "html", value: html }, key) || removed.length) say(removed.length ? `HTML changed. Removed for safety: ${removed.join(", ")}.` : "HTML changed.", removed.length ? "warn" : "");
      else say("Nothing new: the element already looks like this.");
      return;
    }
    if (k === "style") {
      const name = propIn.value.trim();
      const value = valIn.value.trim();
      const why = styleProblem(name, value);
      if (why) return key ? null : fail(why);
      return done({ selector, action: "style", name, value }, `Style ${name} set.`);
    }
    if (k === "attribute") {
      const name = attrName.value.trim();
      const value = attrVal.value;
      const why = attributeProblem(name, value) || (tooLong(value) ? "too long" : null);
      if (why) return fail(why);
      return done({ selector, action: "attribute", name, value }, `Attribute ${name} set.`);
    }
    if (k === "image") {
      const src = srcIn.value.trim();
      const alt = altIn.value;
      const why = (src !== (picked.getAttribute("src") || "") && attributeProblem("src", src)) || null;
      if (why) return fail("Image address: " + why);
      let n = 0;
      remember(null);
      session = "image"; // both attributes: one undo step
      if (src !== (picked.getAttribute("src") || "")) n += commit({ selector, action: "attribute", name: "src", value: src }, "image") ? 1 : 0;
      if (alt !== (picked.getAttribute("alt") || "")) n += commit({ selector, action: "attribute", name: "alt", value: alt }, "image") ? 1 : 0;
      session = null;
      if (!n) {
        past.pop();
        return say("Nothing new: the image already has this address and description.");
      }
      return say(`Image changed. ${plural(list.length, "change", "changes")} in this variation.`);
    }
    if (k === "insert") {
      const { html, removed } = cleanHtml(insertIn.value, doc);
      removedNote.textContent = removed.length ? "Removed for safety: " + removed.join(", ") + "." : "";
      if (!html.trim()) return fail(removed.length ? "Nothing is left to insert once cleaned: " + removed.join(", ") + " removed." : "Write the HTML to insert.");
      if (tooLong(html)) return;
      if (removed.length) insertIn.value = html;
      const label = INSERTS.find(([a]) => a === insertPos.value)[1].toLowerCase();
      return done({ selector, action: insertPos.value, value: html }, `Inserted ${label}.`);
    }
    if (k === "addClass") {
      const value = classIn.value.trim().split(/\s+/).filter(Boolean).join(" ");
      if (!value) return fail("Give one or more class names, separated by spaces.");
      if (/[{}<>"';]/.test(value)) return fail("A class name cannot contain { } < > \" ' or ;.");
      return done({ selector, action: "addClass", value }, "Class added.");
    }
    if (k === "removeClass") {
      const value = [...forms.removeClass.querySelectorAll("input:checked")].map((i) => i.value).join(" ");
      if (!value) return fail("Tick the classes to remove.");
      return done({ selector, action: "removeClass", value }, "Class removed.");
    }
    if (k === "move") {
      if (!target || !targetSel) return fail("Pick the target element first: the element to move next to or into.");
      if (target === picked || target.contains(picked) || picked.contains(target)) return fail("The target must be outside the element you move.");
      return done({ selector, action: "move", target: targetSel, position: posSel.value }, "Moved.");
    }
    if (k === "hide") return done({ selector, action: "hide" }, "Hidden.");
  }

  function applyCss() {
    const text = cssIn.value;
    if (text.length > MAX_CSS) return (cssError.textContent = `Page CSS holds at most ${MAX_CSS} characters (this is ${text.length}).`);
    const why = cssProblem(text);
    if (why) return (cssError.textContent = `This CSS is refused: it ${why}.`), say("Page CSS not applied: see the message under it.", "bad");
    cssError.textContent = "";
    if (text === css) return say("Nothing new in the page CSS.");
    remember(null);
    css = text;
    emit();
    say(text ? "Page CSS applied." : "Page CSS removed.");
  }

  // ---- keyboard -----------------------------------------------------------------------
  const typing = (e) => {
    const t = e.composedPath()[0];
    return t && (t.localName === "textarea" || (t.localName === "input" && !/^(checkbox|radio|button|color)$/.test(t.type)));
  };
  function keys(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey && (e.key === "z" || e.key === "Z" || e.key === "y")) {
      if (typing(e)) {
        // The field's own undo (not the page's shortcut): its input event is an edit.
        fieldUndo = true;
        win.setTimeout(() => (fieldUndo = false), 0);
        return e.stopPropagation();
      }
      e.preventDefault();
      e.stopPropagation();
      if (e.key === "y" || e.shiftKey) redo();
      else undo();
      return;
    }
    if (e.key === "Escape" && picker) {
      e.preventDefault();
      e.stopPropagation();
      return cancelPick();
    }
    if (e.composedPath()[0] === elBox && /^Arrow(Up|Down|Left|Right)$/.test(e.key)) {
      e.preventDefault();
      e.stopPropagation();
      walk(e.key);
      elBox.focus();
    }
  }
  mount.addEventListener("keydown", keys);
  // What happens in the panel stays there: the page's own shortcuts and click handlers do
  // not hear the merchandiser typing or clicking in the Studio (the picker's listeners on
  // the window, in the capture phase, still do).
  const contained = ["keydown", "keyup", "keypress", "input", "click", "pointerdown", "mousedown", "pointerup", "mouseup", "submit"];
  const stay = (e) => e.stopPropagation();
  for (const t of contained) mount.addEventListener(t, stay);
  // Leaving a field ends its live edit: the next typing there is a new undo step.
  mount.addEventListener("focusout", () => (session = null));

  // ---- start ----------------------------------------------------------------------------
  drawKind();
  say("Pick an element on the page to change it.");
  emit(false);

  return {
    changes: () => clone(list),
    css: () => css,
    setChanges(next, nextCss) {
      list = checkList(next, "setChanges");
      if (typeof nextCss === "string") css = nextCss;
      past = [];
      future = [];
      session = null;
      cssIn.value = css;
      emit(false);
    },
    undo: () => undo(),
    redo: () => redo(),
    pick: () => pick("edit"),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      cancelPick(true);
      if (raf) win.cancelAnimationFrame(raf);
      win.removeEventListener("scroll", replace, { capture: true });
      win.removeEventListener("resize", replace);
      mount.removeEventListener("keydown", keys);
      for (const t of contained) mount.removeEventListener(t, stay);
      root.remove();
      Object.values(boxes).forEach((b) => b.el.remove());
    },
  };
}
