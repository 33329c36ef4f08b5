// The Studio's panels: top bar, Inspect, Test setup, Publish, Results. One class holds the
// state (the working ruleset, the forced variations, the decision) and redraws a panel when
// it changes. Every answer that must be the engine's comes from the Studio engine (Wasm).
import { h, fill, when, fromNow } from "./dom.js";
import { setupPanel } from "./setup.js";
import { Listeners, personasPanel, publishPanel, resultsPanel, RouteWatch } from "./gen/studio_engine.js";

const ROLES = ["view", "edit", "publish"];

export class Studio {
  constructor(root, host, deps, exit) {
    this.root = root;
    this.host = host;
    this.deps = deps;
    this.exit = exit;
    this.claims = deps.readClaims(host.token);
    this.api = deps.client(host.endpoint, host.site, host.token);
    this.forced = {};
    // Offers forced per placement: { placementId: offerId }.
    this.forcedOffers = {};
    this.doc = { version: 1 };
    this.draftName = "";
    this.tab = "inspect";
    this.selected = 0;
    this.clockOffset = 0;
    this.outlines = [];
    this.hot = null;
    this.listeners = [];
  }

  /** Whether the link's role includes `role`. */
  can(role) {
    return ROLES.indexOf(this.claims?.role) >= ROLES.indexOf(role);
  }

  /** Why a button needing `role` is disabled, or null when it is not. */
  whyNot(role) {
    return this.can(role) ? null : `Your link has the “${this.claims?.role}” role: this needs “${role}”. Ask for a ${role} link.`;
  }

  now() {
    return Date.now() + this.clockOffset;
  }

  async start() {
    this.panel = h("div", { class: "panel", role: "dialog", "aria-label": "Tailor Studio" });
    this.layer = h("div", { "aria-hidden": "true" });
    // The visual editor's own overlay (its boxes and the picker), fixed over the viewport.
    this.editorLayer = h("div", { class: "overlay" });
    this.root.append(this.layer, this.editorLayer, this.panel);
    // The narrow layout and the Escape key (studio/src/listeners.rs).
    const own = Listeners.panel(this.panel, () => this.toggle(true));
    this.listeners.push(() => own.free());
    if (!this.claims) {
      return this.refuse("This link’s Studio token is not of the form ts1.<claims>.<signature>: ask for a new Studio link (tailor studio link).");
    }
    try {
      // The first call proves the token: the server refuses an expired or tampered one.
      const [drafts, current, engine] = await Promise.all([this.api.drafts(), this.api.current(), this.deps.loadEngine()]);
      this.drafts = drafts.drafts;
      this.current = current;
      this.engine = engine;
    } catch (e) {
      return this.refuse(e.message);
    }
    if (this.current?.ruleset) this.doc = structuredClone(this.current.ruleset);
    const onPage = (this.doc.experiments || []).findIndex((x) => (x.urlPatterns || []).length > 0 && this.targetsPage(x));
    this.selected = Math.max(0, onPage);
    this.draftName = (this.claims.who || "studio").replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 40) + "-draft";
    // The outlines follow the page's scroll and resize (studio/src/listeners.rs).
    const page = Listeners.outlines(() => this.drawOutlines());
    this.listeners.push(() => page.free());
    // A single-page app changes its URL without a load: decide again for the new route.
    const route = new RouteWatch(300, () => this.refresh());
    this.listeners.push(() => route.free());
    this.render();
    this.refresh();
  }

  refuse(message) {
    this.refused = true;
    fill(this.panel, this.topBar(),
      h("div", { class: "refused", role: "alert" }, h("h2", {}, "This Studio link was refused"), h("p", { "data-test": "refusal" }, message),
        h("p", { class: "muted" }, "Nothing was changed on this page. Ask whoever sent the link for a new one.")));
  }

  topBar() {
    const c = this.claims;
    const v = this.current?.version;
    const signed = this.current?.signature ? "signed" : "unsigned";
    const expiry = c && Number.isFinite(c.expiresAt) ? `link expires ${when(c.expiresAt)} (${fromNow(c.expiresAt)})` : null;
    return h("div", { class: "top", "data-test": "top" },
      h("span", { class: "brand" }, "Tailor Studio"),
      h("span", { class: "chip", title: "site" }, `site ${this.host.site}`),
      h("span", { class: "chip", title: "mode" }, this.host.mode === "preview" ? "preview" : "studio"),
      c && !this.refused ? h("span", { class: "chip", "data-test": "role", title: "what this link may do" }, `role ${c.role}${c.who ? ` · ${c.who}` : ""}`) : null,
      this.current && !this.refused ? h("span", { class: "chip" + (this.current.signature ? " ok" : " warn"), "data-test": "version" }, `live ruleset v${v} · ${signed}`) : null,
      expiry && !this.refused ? h("span", { class: "chip" + (c.expiresAt - Date.now() < 5 * 60000 ? " warn" : ""), "data-test": "expiry" }, expiry) : null,
      this.refused ? null : h("button", { on: { click: () => this.toggle() }, "aria-expanded": String(!this.panel.classList.contains("collapsed")) }, this.panel.classList.contains("collapsed") ? "Open" : "Minimise"),
      h("button", { on: { click: this.exit }, "data-test": "exit" }, "Exit"));
  }

  toggle(collapse) {
    const now = collapse ?? !this.panel.classList.contains("collapsed");
    this.panel.classList.toggle("collapsed", now);
    this.render();
  }

  render() {
    if (this.refused) return;
    const tabs = [["inspect", "Inspect"], ["setup", "Test setup"], ["shoppers", "Shoppers"], ["publish", "Drafts & publish"], ["results", "Results"]];
    this.body = h("div", { class: "body", role: "tabpanel", "data-test": `panel-${this.tab}` });
    const bar = h("div", { class: "tabs", role: "tablist" },
      tabs.map(([id, label]) => h("button", { role: "tab", "aria-selected": String(this.tab === id), "data-test": `tab-${id}`, on: { click: () => this.show(id) } }, label)));
    bar.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const i = tabs.findIndex(([id]) => id === this.tab);
      const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length][0];
      this.show(next);
      this.panel.querySelector(`[data-test="tab-${next}"]`)?.focus();
    });
    fill(this.panel, this.topBar(), bar, this.body);
    this.drawPanel();
  }

  show(tab) {
    this.tab = tab;
    this.render();
  }

  drawPanel() {
    if (this.tab === "inspect") this.inspect();
    else if (this.tab === "setup") {
      this.resultsBoxes = {}; // the figures are asked for again each time the tab opens
      setupPanel(this, this.body);
    }
    else if (this.tab === "publish") publishPanel(this, this.body);
    else if (this.tab === "shoppers") personasPanel(this, this.body);
    else resultsPanel(this, this.body);
  }

  // --- deciding and applying -------------------------------------------------------------

  /** The page's shopper as the SDK knows them, or a new shopper when it does not say. */
  shopper() {
    let state = null;
    try {
      state = this.host.tailor?.studioState?.() ?? null;
    } catch {
      state = null;
    }
    const now = this.now();
    const context = { ...pageContextOr(this, now), ...(state?.context || {}) };
    return {
      profile: this.persona?.profileJson ?? state?.profile ?? "",
      context,
      source: this.persona ? `persona “${this.persona.name}”` : state?.profile ? "this browser’s shopper" : "a new shopper (the page’s SDK did not share its profile)",
    };
  }

  targetsPage(x) {
    try {
      const s = this.shopper();
      // The working ruleset with this experiment only, so its audiences and groups resolve.
      const doc = { ...this.doc, placements: this.doc.placements || {}, offers: [], experiments: [x] };
      const d = JSON.parse(this.engine.decide(JSON.stringify(doc), s.profile, JSON.stringify(s.context), this.now(), {}));
      return !/not on this page/.test(d.experiments[0]?.reason || "");
    } catch {
      return false;
    }
  }

  /** Decides the working ruleset for the shopper, applies its page changes, redraws. */
  refresh() {
    const s = this.shopper();
    this.problems = this.engine.validate(JSON.stringify(this.doc));
    this.decision = null;
    this.decideError = null;
    this.shown = this.doc;
    if (this.problems.length === 0) {
      try {
        const decide = (doc) => JSON.parse(this.engine.decide(JSON.stringify(doc), s.profile, JSON.stringify(s.context), this.now(), this.forced));
        this.decision = decide(this.doc);
        if (Object.keys(this.forcedOffers).length) {
          // The engine decides a copy in which each forced offer is the only one its placement
          // can show: that decision, and that copy in the page's SDK, are what the page shows.
          const natural = this.decision;
          this.shown = forceOffers(this.doc, this.forcedOffers);
          this.decision = decide(this.shown);
          for (const [id, offerId] of Object.entries(this.forcedOffers)) {
            const p = this.decision.placements?.[id];
            if (!p) continue;
            p.forced = offerId;
            p.natural = natural.placements?.[id];
          }
        }
      } catch (e) {
        this.decideError = e.message;
      }
    }
    this.apply();
    if (this.tab === "inspect") this.drawPanel();
    this.onRefresh?.();
  }

  apply() {
    const t = this.host.tailor;
    if (!t || !this.decision) return;
    try {
      t.setRuleset?.(this.shown || this.doc);
      t.revertChanges?.();
      // Nothing is counted: no exposures travel with the Studio's decision. A redirect
      // variation is not followed: the Studio (and the merchandiser's edits) stay on this page.
      const experiments = (this.decision.experiments || []).map(({ redirect, ...x }) => x);
      t.applyChanges?.({ ...this.decision, experiments, exposures: [], pageExposures: [] });
      this.applyError = null;
    } catch (e) {
      this.applyError = e.message;
    }
    requestAnimationFrame(() => this.drawOutlines());
  }

  /** The elements an experiment's chosen variation changes on this page. */
  elementsOf(x) {
    const out = [];
    for (const c of x.changes || []) {
      for (const sel of [].concat(c.selector)) {
        try {
          const found = document.querySelectorAll(sel);
          if (found.length) {
            out.push(...found);
            break;
          }
        } catch {
          /* a selector the browser cannot read: the validator says so */
        }
      }
    }
    return out;
  }

  drawOutlines() {
    if (!this.layer) return;
    const boxes = [];
    for (const x of this.decision?.experiments || []) {
      for (const el of this.elementsOf(x)) {
        const r = el.getBoundingClientRect();
        if (!r.width && !r.height) continue;
        const box = h("div", { class: "outline" + (this.hot === x.key ? " hot" : "") });
        box.style.left = `${r.left - 3}px`;
        box.style.top = `${r.top - 3}px`;
        box.style.width = `${r.width + 6}px`;
        box.style.height = `${r.height + 6}px`;
        boxes.push(box);
      }
    }
    fill(this.layer, boxes);
  }

  /** Shows `offerId` in placement `id` (or, with "", what the engine chooses). */
  forceOffer(id, offerId) {
    if (!offerId) delete this.forcedOffers[id];
    else this.forcedOffers[id] = offerId;
    this.refresh();
  }

  force(key, index) {
    if (index === null || index === "") delete this.forced[key];
    else this.forced[key] = Number(index);
    this.refresh();
  }

  // --- Inspect -----------------------------------------------------------------------------

  inspect() {
    const d = this.decision;
    const s = this.shopper();
    const b = this.body;
    // The page's instance answers status() (the Tailor class) or has it as a value (the wrapper).
    const status = safe(() => { const t = this.host.tailor; return typeof t?.status === "function" ? t.status() : t?.status; }) || {};
    const parts = [];
    if (this.problems?.length) parts.push(h("p", { class: "error", role: "alert" }, `The working ruleset has ${this.problems.length} problem(s): see Test setup.`));
    if (this.decideError) parts.push(h("p", { class: "error", role: "alert" }, this.decideError));
    if (this.applyError) parts.push(h("p", { class: "error", role: "alert" }, `The page’s SDK could not apply the changes: ${this.applyError}`));
    const exps = d?.experiments || [];
    const onPage = exps.filter((x) => !/not on this page/.test(x.reason));
    const offPage = exps.filter((x) => /not on this page/.test(x.reason));
    parts.push(h("h2", {}, `Experiments on this page (${onPage.length})`));
    if (!onPage.length) parts.push(h("p", { class: "muted" }, "No experiment targets this page."));
    for (const x of onPage) parts.push(this.experimentRow(x));
    const placements = Object.entries(d?.placements || {});
    parts.push(h("h2", {}, "Offers by placement"));
    if (!placements.length) parts.push(h("p", { class: "muted" }, "This ruleset has no placements."));
    for (const [id, p] of placements) parts.push(this.placementRow(id, p));
    if (offPage.length) {
      parts.push(h("h2", {}, `Other experiments (${offPage.length})`));
      for (const x of offPage) parts.push(h("div", { class: "row" }, h("strong", {}, x.key), h("div", { class: "reason" }, x.reason)));
    }
    parts.push(h("h2", {}, "Shopper"),
      h("table", {}, h("tbody", {},
        tr("decided for", s.source),
        tr("consent", status.consent ?? "unknown"),
        tr("sending", status.sending === undefined ? "unknown" : status.sending ? "on" : "off"),
        tr("page’s ruleset", status.rulesetVersion === 0 ? "the Studio’s working copy" : status.rulesetVersion ?? "none"),
        tr("page URL", s.context.path ?? location.pathname),
        tr("clock", when(this.now()) + (this.clockOffset ? " (moved)" : "")))));
    fill(b, parts);
  }

  placementRow(id, p) {
    const forced = p.forced;
    // Every offer of the working ruleset for this placement can be forced, whatever its audience, window or caps.
    const offers = (this.doc.offers || []).filter((o) => (o.placements || []).includes(id));
    const select = h("select", { "aria-label": `offer shown in ${id}`, "data-test": `force-offer-${id}`, on: { change: (e) => this.forceOffer(id, e.target.value) } },
      h("option", { value: "" }, "as the engine decides"),
      offers.map((o) => h("option", { value: o.id, selected: forced === o.id }, o.id)));
    const engine = forced ? p.natural || { offers: [], skipped: [] } : p;
    return h("div", { class: "row", "data-test": `placement-${id}` }, h("strong", {}, id),
      forced ? h("div", { "data-test": `forced-offer-${id}` }, h("span", { class: "yes" }, "shown: "), forced,
        h("div", { class: "reason" }, "Forced in the Studio: only you see it, and nothing is counted. The page’s Tailor answers this offer for this placement and tells the page (its “ruleset” event), so a page that draws its placements on that event shows it."),
        h("div", { class: "muted" }, "The engine’s own choice:")) : null,
      engine.offers.map((o) => h("div", {}, h("span", { class: "yes" }, forced ? "would show: " : "shown: "), o.offerId, h("div", { class: "reason" }, o.reason))),
      engine.skipped.map((o) => h("div", {}, h("span", { class: "no" }, "skipped: "), o.offerId, h("div", { class: "reason" }, o.reason))),
      offers.length ? h("label", {}, "Show offer", select) : null);
  }

  experimentRow(x) {
    const def = (this.doc.experiments || []).find((e) => e.key === x.key);
    const forced = this.forced[x.key];
    const els = this.elementsOf(x);
    const select = h("select", { "aria-label": `variation of ${x.key}`, "data-test": `force-${x.key}`, on: { change: (e) => this.force(x.key, e.target.value) } },
      h("option", { value: "" }, "as the engine decides"),
      (def?.variations || []).map((v, i) => h("option", { value: String(i), selected: forced === i }, `${i}: ${v.key}`)));
    const row = h("div", { class: "row", "data-test": `exp-${x.key}` },
      h("strong", {}, x.key), " ",
      h("span", { class: x.inExperiment ? "yes" : "no" }, `variation ${x.variation} (${x.variationKey})`),
      h("div", { class: "reason" }, x.reason),
      x.redirect
        ? h("div", { class: "muted", "data-test": `redirect-${x.key}` }, `This variation sends shoppers to ${x.redirect.url}; the Studio stays on this page (open that page to see it).`)
        : h("div", { class: "muted" }, `${els.length} element(s) changed on this page`),
      h("label", {}, "Show variation", select));
    const hot = (on) => {
      this.hot = on ? x.key : null;
      this.drawOutlines();
    };
    row.addEventListener("mouseenter", () => hot(true));
    row.addEventListener("mouseleave", () => hot(false));
    row.addEventListener("focusin", () => hot(true));
    row.addEventListener("focusout", () => hot(false));
    return row;
  }

  destroy() {
    this.editor?.destroy();
    for (const off of this.listeners) off();
    this.listeners = [];
    const t = this.host.tailor;
    try {
      t?.revertChanges?.();
      t?.setRuleset?.(null);
    } catch {
      /* the page keeps what it had */
    }
  }
}

/**
 * A copy of `doc` in which each forced offer (`{ placementId: offerId }`) is the one offer its
 * placement shows: always eligible (no audience, condition, window, cap, click limit or
 * exclusion, shown to the holdout too), ahead of every other offer, and the placement's limit 1.
 */
export function forceOffers(doc, forcedOffers) {
  const copy = structuredClone(doc);
  const chosen = new Set(Object.values(forcedOffers));
  const top = Math.max(0, ...(copy.offers || []).map((o) => Number(o.priority) || 0)) + 1;
  for (const o of copy.offers || []) {
    if (chosen.has(o.id)) {
      for (const k of ["audience", "audiences", "condition", "window", "cap", "maxClicks", "excludes"]) delete o[k];
      o.holdoutExempt = true;
      o.priority = top;
    } else if (o.excludes) {
      o.excludes = o.excludes.filter((x) => !chosen.has(x));
    }
  }
  for (const id of Object.keys(forcedOffers)) if (copy.placements?.[id]) copy.placements[id] = { ...copy.placements[id], limit: 1 };
  return copy;
}

function pageContextOr(studio, now) {
  try {
    return studio.deps.pageContext(studio.engine, now);
  } catch {
    return { url: location.href, path: location.pathname };
  }
}

function safe(f) {
  try {
    return f();
  } catch {
    return null;
  }
}

function tr(k, v) {
  return h("tr", {}, h("th", {}, k), h("td", {}, String(v)));
}
