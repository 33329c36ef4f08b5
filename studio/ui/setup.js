// Test setup: one experiment of the working ruleset as a form. Every edit goes into the
// working ruleset, the engine validates it at once and its messages appear next to the field
// whose JSON path they name; the page shows the result as soon as the ruleset is valid.
// Placing the messages, the lines under the fields (the namespace's overlaps, whether
// this page and this shopper match), the JSON fields, the namespace and a variation's
// redirect fields are Rust (studio/src/setup.rs).
import { h, fill } from "./dom.js";
import { createEditor } from "./editor.js";
import { Debounce, jsonTextarea, namespaceFields, redirectFields, resultsBoxFor, setupLive, showProblems as showProblemsIn } from "./gen/studio_engine.js";

const PATTERN_TYPES = ["exact", "simple", "wildcard", "regex"];

export function setupPanel(studio, body) {
  const doc = studio.doc;
  doc.experiments ||= [];
  const xs = doc.experiments;
  if (studio.selected >= xs.length) studio.selected = Math.max(0, xs.length - 1);
  const i = studio.selected;
  const x = xs[i];
  const at = `experiments[${i}]`;
  const picker = h("select", { "aria-label": "experiment", "data-test": "pick-experiment", on: { change: (e) => { studio.selected = Number(e.target.value); setupPanel(studio, body); } } },
    xs.map((e, j) => h("option", { value: String(j), selected: j === i }, e.key || `(experiment ${j + 1})`)));
  const add = h("button", { "data-test": "new-experiment", on: { click: () => {
    xs.push({ key: `test-${xs.length + 1}`, urlPatterns: [{ type: "exact", pattern: location.pathname }], weights: [0.5, 0.5], variations: [{ key: "control" }, { key: "variant" }] });
    studio.selected = xs.length - 1;
    changed();
  } } }, "New experiment");
  const fields = [];
  const changed = () => {
    studio.refresh();
    setupPanel(studio, body);
  };
  // Edits of text fields go in after a pause, so typing is not interrupted by a redraw.
  const pause = new Debounce(300);
  const later = (f) => (e) => {
    // The event's target is read now: after dispatch it is cleared for nodes in a shadow tree.
    const el = e.target;
    const v = el.value;
    pause.run(() => {
      f(v, el);
      studio.refresh();
      showProblems();
      live();
    });
  };
  const field = (label, path, control, help) => {
    const errs = h("div", { "data-errors": path });
    fields.push({ path, control, errs });
    control.setAttribute("data-path", path);
    return h("div", {}, h("label", {}, label, control), help ? h("div", { class: "muted" }, help) : null, errs);
  };
  const parts = [h("div", { class: "actions" }, picker, add),
    x && studio.api ? resultsBoxFor(studio, x.key) : null,
    field("Global holdout (share of all shoppers who get no test and no offer, 0 to 1)", "holdout",
      h("input", { type: "number", min: "0", max: "1", step: "0.01", value: doc.holdout?.percent ?? "", "data-test": "field-global-holdout", on: { input: later((v) => {
        if (v === "") delete doc.holdout;
        else doc.holdout = { ...(doc.holdout || {}), percent: Number(v) };
      }) } }),
      "for the whole ruleset: it measures the lift of all personalisation; empty: none")];
  if (!x) {
    parts.push(h("p", { class: "muted" }, "This ruleset has no experiment yet: make one with “New experiment”."));
    return fill(body, parts);
  }
  const textField = (label, key, help) =>
    field(label, `${at}.${key}`, h("input", { value: x[key] ?? "", "data-test": `field-${key}`, on: { input: later((v) => (v === "" ? delete x[key] : (x[key] = v))) } }), help);
  parts.push(
    textField("Key (names the experiment in results)", "key"),
    textField("Description", "description"),
    field("Traffic weights, one per variation", `${at}.weights`,
      h("input", { value: (x.weights || []).join(", "), "data-test": "field-weights", on: { input: later((v) => {
        if (!v.trim()) delete x.weights;
        else x.weights = v.split(/[,\s]+/).filter(Boolean).map(Number);
      }) } }), "e.g. 0.5, 0.5; left empty, the variations get equal shares"),
    field("Coverage (share of shoppers in the test, 0 to 1)", `${at}.coverage`,
      h("input", { type: "number", min: "0", max: "1", step: "0.05", value: x.coverage ?? "", "data-test": "field-coverage", on: { input: later((v) => (v === "" ? delete x.coverage : (x.coverage = Number(v)))) } })),
    field("Holdout of this test (share of its shoppers kept out, 0 to 1)", `${at}.holdout`,
      h("input", { type: "number", min: "0", max: "1", step: "0.05", value: x.holdout ?? "", "data-test": "field-holdout", on: { input: later((v) => (v === "" ? delete x.holdout : (x.holdout = Number(v)))) } }),
      "they see variation 0 and are not counted; empty: none"),
    namespaceFields(x, at, field, later),
    h("div", { "data-test": "namespace-overlaps" }),
    field("Pages (one per line: type and pattern)", `${at}.urlPatterns`,
      h("textarea", { "data-test": "field-urls", value: (x.urlPatterns || []).map((p) => `${p.type} ${p.pattern}`).join("\n"), on: { input: later((v) => {
        const lines = v.split("\n").map((l) => l.trim()).filter(Boolean);
        if (!lines.length) return delete x.urlPatterns;
        x.urlPatterns = lines.map((l) => {
          const [type, ...rest] = l.split(/\s+/);
          return PATTERN_TYPES.includes(type) ? { type, pattern: rest.join(" ") } : { type: "simple", pattern: l };
        });
      }) } }), `types: ${PATTERN_TYPES.join(", ")}; e.g. “exact /”`),
    h("div", { "data-test": "page-match", class: "status" }),
    jsonField(field, later, x, "Audience condition (JSON, as in the ruleset)", at, "condition", "field-condition", "e.g. {\"profile.cart.count\": {\"$gte\": 1}}; empty: every shopper"),
    h("div", { "data-test": "shopper-match", class: "status" }),
    goalFields(studio, field, later, x, at, changed),
    h("h2", {}, "Variations"));
  (x.variations ||= []).forEach((v, j) => {
    const vat = `${at}.variations[${j}]`;
    parts.push(h("div", { class: "row", "data-test": `variation-${j}` },
      field(`Variation ${j} key`, `${vat}.key`, h("input", { value: v.key ?? "", on: { input: later((t) => (v.key = t)) } })),
      jsonField(field, later, v, "Page changes (the ruleset’s page-change format)", vat, "changes", `field-changes-${j}`, "[{\"selector\": \"#hero h1\", \"action\": \"text\", \"value\": \"...\"}]"),
      field("Page CSS", `${vat}.css`, h("textarea", { value: v.css ?? "", "data-test": `field-css-${j}`, on: { input: later((t) => (t.trim() ? (v.css = t) : delete v.css)) } })),
      redirectFields(v, vat, j, field, later),
      h("div", { class: "actions" },
        h("button", { "data-test": `edit-visually-${j}`, on: { click: () => visual(studio, body, x, v, j) } }, "Edit on the page"),
        h("button", { "data-test": `preview-variation-${j}`, on: { click: () => { studio.force(x.key, j); setupPanel(studio, body); } } },
          studio.forced[x.key] === j ? `Showing variation ${j}` : `Show variation ${j} on this page`),
        x.variations.length > 2 ? h("button", { class: "danger", on: { click: () => { x.variations.splice(j, 1); if (x.weights) x.weights.splice(j, 1); changed(); } } }, "Remove") : null)));
  });
  parts.push(h("div", { class: "actions" },
    h("button", { on: { click: () => { x.variations.push({ key: `variant-${x.variations.length}` }); if (x.weights) x.weights = x.variations.map(() => 1 / x.variations.length); changed(); } } }, "Add variation"),
    h("button", { on: { click: () => { delete studio.forced[x.key]; changed(); } } }, "Back to the engine’s choice")));
  const general = h("div", { "data-test": "problems" });
  parts.unshift(general);
  fill(body, parts);

  // Each problem goes next to the field whose path it names (studio/src/setup.rs).
  const showProblems = () => showProblemsIn(studio, fields, general);

  // The namespace's overlaps, "This page matches", "This shopper matches" (studio/src/setup.rs).
  const live = () => setupLive(studio, body, xs, i);
  showProblems();
  live();
}

/** A textarea holding a JSON value of `obj[key]` (studio/src/setup.rs); text that is not JSON is shown as such. */
function jsonField(field, later, obj, label, at, key, test, help) {
  return field(label, `${at}.${key}`, jsonTextarea(obj, key, at, test, later), help);
}

/** The visual editor (editor.js) for variation `j`: its output is the variation's page changes. */
function visual(studio, body, x, v, j) {
  studio.editor?.destroy();
  studio.force(x.key, j);
  const mount = h("div", { "data-test": "visual-editor" });
  const done = h("button", { class: "primary", "data-test": "editor-done", on: { click: () => { studio.editor?.destroy(); studio.editor = null; studio.refresh(); setupPanel(studio, body); } } }, "Done editing");
  fill(body, h("h2", {}, `Editing ${x.key}, variation ${j} (${v.key})`), h("div", { class: "actions" }, done), mount);
  studio.editor = createEditor({
    mount,
    doc: document,
    overlay: studio.editorLayer,
    initial: v.changes || [],
    initialCss: v.css || "",
    onChange(changes, css) {
      if (changes.length) v.changes = changes;
      else delete v.changes;
      if (css) v.css = css;
      else delete v.css;
      studio.problems = studio.engine.validate(JSON.stringify(studio.doc));
    },
    preview(changes, css) {
      const t = studio.host.tailor;
      try {
        t.revertChanges();
        t.applyChanges({ experiments: [{ key: x.key, variation: j, changes, css }], exposures: [], pageExposures: [] });
      } catch (e) {
        studio.applyError = e.message;
      }
    },
  });
}

const GOAL_EVENTS = ["purchase", "add_to_cart", "checkout_start", "product_view", "offer_click", "search"];

/** The metric that decides the test (the results' goal): an event, counted as a rate or summed per shopper. */
function goalFields(studio, field, later, x, at, redraw) {
  const metrics = Array.isArray(x.metrics) ? x.metrics : [];
  const gi = metrics.findIndex((m) => m?.role === "goal");
  const goal = gi >= 0 ? metrics[gi] : null;
  const path = gi >= 0 ? `${at}.metrics[${gi}]` : `${at}.metrics`;
  // Each change starts from the metrics as they are now (several fields edit the same one).
  const set = (change) => {
    studio.serverProblems = null;
    const list = Array.isArray(x.metrics) ? x.metrics.slice() : [];
    const at = list.findIndex((m) => m?.role === "goal");
    if (change === null) {
      const rest = list.filter((m) => m?.role !== "goal");
      if (rest.length) x.metrics = rest;
      else delete x.metrics;
      return;
    }
    const next = { key: "goal", kind: "conversion", event: "purchase", role: "goal", ...(at >= 0 ? list[at] : {}), ...change };
    for (const [k, v] of Object.entries(next)) if (v === undefined) delete next[k];
    if (next.kind === "conversion") delete next.property;
    if (at >= 0) list[at] = next;
    else list.unshift(next);
    x.metrics = list;
  };
  const event = h("select", { "data-test": "field-goal", on: { change: (e) => { set(e.target.value ? { event: e.target.value } : null); redraw(); } } },
    ["", ...GOAL_EVENTS].map((e) => h("option", { value: e, selected: (goal?.event ?? "") === e }, e || "default (purchase; revenue and order value as guardrails)")));
  const out = [field("Goal: the event the results judge the test by", `${path}.event`, event)];
  if (goal) {
    const kind = h("select", { "data-test": "field-goal-kind", on: { change: (e) => { set({ kind: e.target.value }); redraw(); } } },
      [["conversion", "share of shoppers who send it (conversion rate)"], ["mean", "per shopper: how many, or the sum of a property"]].map(([k, t]) =>
        h("option", { value: k, selected: (goal.kind || "conversion") === k }, t)));
    out.push(field("Measured as", `${path}.kind`, kind));
    if (goal.kind === "mean") {
      out.push(field("Property summed (empty: count the events)", `${path}.property`,
        h("input", { value: goal.property ?? "", placeholder: "revenue", "data-test": "field-goal-property", on: { input: later((v) => set({ property: v.trim() || undefined })) } })));
    }
    out.push(field("Counted within this many hours of the first exposure (empty: until now)", `${path}.windowHours`,
      h("input", { type: "number", min: "1", step: "1", value: goal.windowHours ?? "", "data-test": "field-goal-window", on: { input: later((v) => set({ windowHours: v === "" ? undefined : Number(v) })) } }),
      "the server checks the metric when the draft is saved; its message appears here"));
  }
  return out;
}
