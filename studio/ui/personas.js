// Preview as a shopper: personas (what a shopper did: page views, categories, cart, orders,
// traits), kept in this browser's localStorage under the Studio's own key, a clock to move,
// and a table of what each persona gets on this page with the engine's reason.
import { h, fill, when } from "./dom.js";

const DEFAULTS = [
  { name: "New visitor", pageViews: 1 },
  { name: "Shoe lover", pageViews: 6, categories: { shoes: 5 } },
  { name: "Returning buyer", pageViews: 12, orders: 2, orderValue: 180, cartItems: 1, cartValue: 40 },
  { name: "VIP", pageViews: 20, orders: 6, orderValue: 900, userId: "vip-1", traits: { plan: "gold" } },
];
const key = (site) => `tailor-studio:personas:${site}`;

export function loadPersonas(site) {
  try {
    const saved = JSON.parse(localStorage.getItem(key(site)) || "null");
    if (Array.isArray(saved) && saved.length) return saved;
  } catch {
    /* storage unavailable or damaged: the defaults */
  }
  return structuredClone(DEFAULTS);
}

function savePersonas(site, list) {
  try {
    localStorage.setItem(key(site), JSON.stringify(list));
    return true;
  } catch {
    return false;
  }
}

export function personasPanel(studio, body) {
  studio.personas ||= loadPersonas(studio.host.site);
  const list = studio.personas;
  const table = h("div", { "data-test": "persona-table" });
  const note = h("div", { class: "status", role: "status" });
  const clock = h("input", { type: "number", step: "1", value: String(Math.round(studio.clockOffset / 3600000)), "data-test": "clock-hours",
    on: { change: (e) => { studio.clockOffset = Number(e.target.value || 0) * 3600000; studio.refresh(); draw(); } } });
  const rows = h("div", {});
  fill(body,
    h("h2", {}, "Clock"),
    h("label", {}, "Move the clock by hours (negative: back)", clock),
    h("div", { class: "muted", "data-test": "clock-now" }, `Deciding at ${when(studio.now())}`),
    h("h2", {}, "What each shopper gets on this page"), table, note,
    h("h2", {}, "Personas"), rows,
    h("div", { class: "actions" },
      h("button", { on: { click: () => { list.push({ name: `Persona ${list.length + 1}`, pageViews: 1 }); save(); draw(); } } }, "Add a persona"),
      studio.persona ? h("button", { "data-test": "persona-off", on: { click: () => { studio.persona = null; studio.refresh(); draw(); } } }, "Back to this browser’s shopper") : null));
  draw();

  function save() {
    fill(note, savePersonas(studio.host.site, list) ? "" : "This browser does not keep the personas (storage unavailable).");
  }
  function profileOf(p) {
    return studio.engine.personaProfile(JSON.stringify(p), studio.now());
  }
  function draw() {
    const now = studio.now();
    body.querySelector('[data-test="clock-now"]').textContent = `Deciding at ${when(now)}${studio.clockOffset ? " (moved)" : ""}`;
    const ctx = JSON.stringify(studio.shopper().context);
    const head = ["shopper", "experiments on this page", "offers"];
    const out = list.map((p) => {
      try {
        const d = JSON.parse(studio.engine.decide(JSON.stringify(studio.doc), profileOf(p), ctx, now, studio.forced));
        const xs = d.experiments.filter((x) => !/not on this page/.test(x.reason));
        const offers = Object.entries(d.placements).flatMap(([pl, v]) => v.offers.map((o) => `${pl}: ${o.offerId}`));
        return h("tr", { "data-test": `persona-row-${p.name}` }, h("td", {}, p.name),
          h("td", {}, xs.map((x) => h("div", {}, h("strong", {}, `${x.key}: ${x.variationKey}`), h("div", { class: "reason" }, x.reason)))),
          h("td", {}, offers.length ? offers.join(", ") : "none"));
      } catch (e) {
        return h("tr", {}, h("td", {}, p.name), h("td", { class: "error" }, e.message), h("td", {}));
      }
    });
    fill(table, h("table", {}, h("thead", {}, h("tr", {}, head.map((t) => h("th", {}, t)))), h("tbody", {}, out)));
    fill(rows, list.map((p, i) => personaForm(p, i)));
  }
  function personaForm(p, i) {
    const num = (label, k) => h("label", {}, label, h("input", { type: "number", min: "0", value: p[k] ?? "", on: { change: (e) => { if (e.target.value === "") delete p[k]; else p[k] = Number(e.target.value); save(); draw(); } } }));
    const cats = Object.entries(p.categories || {}).map(([c, n]) => `${c}: ${n}`).join(", ");
    const err = h("div", {});
    return h("div", { class: "row", "data-test": `persona-${i}` },
      h("label", {}, "Name", h("input", { value: p.name, on: { change: (e) => { p.name = e.target.value || `Persona ${i + 1}`; save(); draw(); } } })),
      num("Page views", "pageViews"),
      h("label", {}, "Categories viewed (name: views, …)", h("input", { value: cats, "data-test": `persona-categories-${i}`, on: { change: (e) => {
        const m = {};
        for (const part of e.target.value.split(",").map((s) => s.trim()).filter(Boolean)) {
          const [c, n] = part.split(":").map((s) => s.trim());
          m[c] = Number(n || 1);
        }
        p.categories = m;
        save();
        draw();
      } } })),
      num("Items in the cart", "cartItems"), num("Cart value", "cartValue"), num("Orders", "orders"), num("Order value (all orders)", "orderValue"),
      h("label", {}, "User id (identify)", h("input", { value: p.userId ?? "", on: { change: (e) => { if (e.target.value) p.userId = e.target.value; else delete p.userId; save(); draw(); } } })),
      h("label", {}, "Traits (JSON)", h("textarea", { value: p.traits ? JSON.stringify(p.traits) : "", on: { change: (e) => {
        try {
          if (e.target.value.trim()) p.traits = JSON.parse(e.target.value);
          else delete p.traits;
          fill(err);
          save();
          draw();
        } catch (x) {
          fill(err, h("div", { class: "error" }, `traits: not JSON (${x.message})`));
        }
      } } })), err,
      h("div", { class: "actions" },
        h("button", { class: "primary", "data-test": `persona-use-${i}`, on: { click: () => {
          try {
            studio.persona = { name: p.name, profileJson: profileOf(p) };
            studio.refresh();
            draw();
          } catch (x) {
            fill(err, h("div", { class: "error" }, x.message));
          }
        } } }, studio.persona?.name === p.name ? "Shown on the page" : "Show the page as this shopper"),
        h("button", { class: "danger", on: { click: () => { list.splice(i, 1); save(); draw(); } } }, "Remove")));
  }
}
