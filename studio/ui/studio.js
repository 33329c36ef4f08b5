// The Studio object: one class holds the state (the working ruleset, the forced variations,
// the decision), decides and applies it, and redraws a panel when it changes. The frame (top
// bar, tabs), the Inspect tab and its outlines are Rust (studio/src/frame.rs, inspect.rs), as
// are the other panels but Test setup; their methods here are one-line calls into the module.
// Every answer that must be the engine's comes from the Studio engine (Wasm).
import { h } from "./dom.js";
import { setupPanel } from "./setup.js";
import {
  cancelOutlines, drawOutlines, drawPanel, forceOffers, inspectPanel, Listeners, refusePanel, renderFrame, RouteWatch, scheduleOutlines, showTab, togglePanel,
} from "./gen/studio_engine.js";

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

  // The frame, the tabs and the Inspect tab are Rust (studio/src/frame.rs, inspect.rs).
  refuse(message) {
    refusePanel(this, message);
  }

  toggle(collapse) {
    togglePanel(this, collapse);
  }

  render() {
    renderFrame(this);
  }

  show(tab) {
    showTab(this, tab);
  }

  drawPanel() {
    drawPanel(this);
  }

  /** The Test setup tab, in `this.body` (drawPanel's "setup"). */
  drawSetup() {
    setupPanel(this, this.body);
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
    scheduleOutlines(this);
  }

  drawOutlines() {
    drawOutlines(this);
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

  inspect() {
    inspectPanel(this);
  }

  destroy() {
    this.editor?.destroy();
    for (const off of this.listeners) off();
    this.listeners = [];
    cancelOutlines();
    const t = this.host.tailor;
    try {
      t?.revertChanges?.();
      t?.setRuleset?.(null);
    } catch {
      /* the page keeps what it had */
    }
  }
}

function pageContextOr(studio, now) {
  try {
    return studio.deps.pageContext(studio.engine, now);
  } catch {
    return { url: location.href, path: location.pathname };
  }
}
