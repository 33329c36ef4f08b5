// The DOM applier: puts the page changes of the decided variations on the page, keeps them
// there while the page's own code re-renders (a budget per change), takes them off when a
// route change leaves the experiment, and follows single-page navigation. It decides
// nothing: the engine chose the variations; `hooks` reach back into the runtime.
//
//   hooks.decide(force)        -> the decision for the current URL (null: nothing new)
//   hooks.expose(key, v)       -> records the exposure; a promise settled once committed
//   hooks.report(text)         -> status.problems
//   hooks.site, hooks.nonce    -> the localStorage key of the hide list, the style nonce
//
// Nothing here throws into the page, and nothing keeps a timer running after stop().

const BUDGET = 10; // re-applies of one change before it stops fighting the page
const BAD_TAGS = /^(script|iframe|frame|frameset|object|embed|applet|base|link|meta|style|template|noscript|animate|animatemotion|animatetransform|set|use|handler|listener|portal|fencedframe)$/i;
// What a browser ignores inside a URL's scheme (controls, spaces), then a scheme that runs
// code or carries a document.
const badValue = (v) => /^(javascript|vbscript|data|livescript):/i.test(String(v).replace(/[\0- \x7f-\x9f]+/g, ""));
const badName = (n) => /^on|^(srcdoc|formaction|xmlns|is)$|:/i.test(n) && !/^xlink:title$/i.test(n);
const okAttr = (n, v) => !badName(n) && !badValue(v);

// Parses HTML in an inert <template> and removes what could run code. Returns the nodes.
export function sanitize(html) {
  const t = document.createElement("template");
  t.innerHTML = String(html);
  const walk = (parent) => {
    for (const n of [...parent.childNodes]) {
      if (n.nodeType === 8) n.remove();
      else if (n.nodeType === 1) {
        if (BAD_TAGS.test(n.localName)) {
          n.remove();
          continue;
        }
        for (const a of [...n.attributes]) {
          if (!okAttr(a.name, a.value)) n.removeAttribute(a.name);
          else if (a.name === "style") {
            // Through the CSSOM, which a strict style-src allows (a style attribute it refuses).
            n.removeAttribute("style");
            n.dataset.tailorStyle = a.value;
          }
        }
        walk(n);
      }
    }
  };
  walk(t.content);
  const frag = document.importNode(t.content, true);
  for (const el of frag.querySelectorAll("[data-tailor-style]")) {
    el.style.cssText = el.dataset.tailorStyle;
    delete el.dataset.tailorStyle;
  }
  return [...frag.childNodes];
}

const clean = (s) => String(s).replace(/\s+/g, " ").trim();

// The element a change targets: the first selector that matches an element (with the
// fingerprint's text, when given). "" when none does; a selector's syntax error is a miss.
function find(c) {
  const sels = Array.isArray(c.selector) ? c.selector : [c.selector];
  for (const sel of sels) {
    let all;
    try {
      all = document.querySelectorAll(sel);
    } catch {
      continue;
    }
    for (const el of all) if (!c.fingerprint || clean(el.textContent).includes(clean(c.fingerprint))) return [el, sel];
  }
  return [null, ""];
}

const classes = (v) => String(v || "").split(/\s+/).filter(Boolean);

// Applies one change to `el`. Returns [undo, holds] (holds(): the change is still on the
// element), or null when the change is refused.
function act(c, el, nodes) {
  const v = c.value == null ? "" : String(c.value);
  const name = String(c.name || "");
  switch (c.action) {
    case "text":
    case "html": {
      const old = [...el.childNodes];
      if (c.action === "text") el.textContent = v;
      else el.replaceChildren(...sanitize(v));
      const now = [...el.childNodes];
      return [() => el.replaceChildren(...old), () => now.length === el.childNodes.length && now.every((n, i) => n === el.childNodes[i]) && (c.action === "html" || el.textContent === v)];
    }
    case "attribute": {
      if (!okAttr(name, v)) return null;
      if (name.toLowerCase() === "style") {
        const old = el.style.cssText;
        el.style.cssText = v;
        const now = el.style.cssText;
        return [() => (el.style.cssText = old), () => el.style.cssText === now];
      }
      const old = el.getAttribute(name);
      el.setAttribute(name, v);
      return [() => (old == null ? el.removeAttribute(name) : el.setAttribute(name, old)), () => el.getAttribute(name) === v];
    }
    case "addClass":
    case "removeClass": {
      const add = c.action === "addClass";
      const moved = classes(v).filter((k) => el.classList.contains(k) !== add);
      moved.forEach((k) => el.classList.toggle(k, add));
      return [() => moved.forEach((k) => el.classList.toggle(k, !add)), () => classes(v).every((k) => el.classList.contains(k) === add)];
    }
    case "style":
    case "hide": {
      const prop = c.action === "hide" ? "display" : name;
      const val = c.action === "hide" ? "none" : v;
      if (!prop || badValue(val) || /url\s*\(/i.test(val)) return null;
      const had = el.getAttribute("style");
      const old = el.style.getPropertyValue(prop);
      const prio = el.style.getPropertyPriority(prop);
      el.style.setProperty(prop, val, "important");
      const now = el.style.getPropertyValue(prop);
      const undo = () => {
        el.style.setProperty(prop, old, prio);
        // (getAttribute first: it writes the CSSOM back, which would otherwise leave style="")
        if (had == null && el.getAttribute("style") === "") el.removeAttribute("style");
      };
      return [undo, () => el.style.getPropertyValue(prop) === now];
    }
    case "insertBefore":
    case "insertAfter":
    case "prepend":
    case "append": {
      const add = nodes || sanitize(v);
      if (!add.length) return null;
      const where = { insertBefore: "beforebegin", insertAfter: "afterend", prepend: "afterbegin", append: "beforeend" }[c.action];
      const frag = document.createDocumentFragment();
      frag.append(...add);
      if (where === "beforebegin") el.before(frag);
      else if (where === "afterend") el.after(frag);
      else if (where === "afterbegin") el.prepend(frag);
      else el.append(frag);
      return [() => add.forEach((n) => n.remove()), () => add.every((n) => n.isConnected), add];
    }
    case "move": {
      let target;
      try {
        target = c.target && document.querySelector(c.target);
      } catch {}
      if (!target || target.contains(el) || el.contains(target)) return null;
      const [parent, next] = [el.parentNode, el.nextSibling];
      const pos = c.position || "append";
      if (pos === "before") target.before(el);
      else if (pos === "after") target.after(el);
      else if (pos === "prepend") target.prepend(el);
      else target.append(el);
      const at = [el.parentNode, el.nextSibling];
      return [() => parent && parent.insertBefore(el, next && next.parentNode === parent ? next : null), () => el.parentNode === at[0] && el.nextSibling === at[1]];
    }
  }
  return null;
}

// Every live Pages instance hears about route changes through one patch of the History API.
const live = new Set();
let patched = false;
function watchRoutes() {
  if (patched) return;
  patched = true;
  const moved = () => live.forEach((p) => p.route());
  for (const m of ["pushState", "replaceState"]) {
    const orig = history[m];
    history[m] = function (...a) {
      const r = orig.apply(this, a);
      moved();
      return r;
    };
  }
  addEventListener("popstate", moved);
  const nav = globalThis.navigation;
  if (nav && nav.addEventListener) nav.addEventListener("currententrychange", moved);
}

const here = () => location.origin + location.pathname + location.search;

export class Pages {
  constructor(hooks) {
    this.h = hooks;
    // The page's style nonce: config.nonce, else <meta name="csp-nonce">, else a script's.
    if (!hooks.nonce) {
      const m = document.querySelector("meta[name=csp-nonce]");
      const s = document.querySelector("script[nonce]");
      hooks.nonce = (m && (m.content || m.nonce)) || (s && s.nonce) || "";
    }
    this.active = new Map(); // experiment key -> { variation, changes: [...], style }
    this.exposed = new Set(); // "key:variation" recorded in this page view
    this.url = here();
    this.mo = null;
    this.reported = new Set();
    live.add(this);
    watchRoutes();
  }

  // A route change: a new page view for what starts now.
  // Runs in a microtask, so the decision exists before the new view paints: the observer
  // then applies changes to its elements as they appear.
  route() {
    if (!this.h.auto) return;
    queueMicrotask(() => {
      if (here() === this.url) return;
      this.url = here();
      this.exposed.clear();
      this.reported.clear();
      this.refresh(true);
    });
  }

  // Something may have changed (a new ruleset, a status change): decide again and apply.
  poke() {
    if (this.h.auto) queueMicrotask(() => this.refresh(false));
  }

  refresh(force) {
    let d = null;
    try {
      d = this.h.decide(force);
    } catch (e) {
      this.h.report("page changes: " + e.message);
    }
    if (d) this.run(d);
  }

  // Applies a decision: reverts experiments no longer shown, applies the new ones. Returns
  // the keys of the experiments whose changes are on the page.
  run(d) {
    const want = new Map();
    // The engine attaches changes only to experiments on this page. A variation shown without
    // counting the shopper (forced by tailor_force, variation 0 outside the experiment) is
    // applied too; it is only not recorded (it is not in pageExposures).
    for (const x of (d && d.experiments) || []) if (x && (x.changes || x.css || x.redirect)) want.set(x.key, x);
    // pageExposures: what the runtime records once the change is on the page; a variation
    // without changes (the control) counts once an element its siblings change is there.
    const expose = new Map();
    for (const e of (d && d.pageExposures) || []) if (e.type !== "offer_impression") expose.set(e.experimentKey, e);
    for (const [key, a] of this.active) {
      const x = want.get(key) || expose.get(key);
      if (!x || x.variation !== a.variation) this.revert(key);
    }
    for (const [key, e] of expose) {
      if (want.has(key) || this.active.has(key)) continue;
      this.active.set(key, { id: key + ":" + e.variation, key, variation: e.variation, exposable: true, changes: [], style: null, probe: e.selectors || [] });
    }
    for (const [key, x] of want) {
      if (this.active.has(key)) continue;
      if (x.redirect) {
        this.redirect(x, expose.has(key));
        continue;
      }
      const a = { id: key + ":" + x.variation, key, variation: x.variation, exposable: expose.has(key), changes: [], style: null };
      if (x.css) {
        a.style = document.createElement("style");
        if (this.h.nonce) a.style.nonce = this.h.nonce;
        a.style.textContent = String(x.css);
        a.style.dataset.tailor = key;
        document.head.append(a.style);
      }
      for (const c of Array.isArray(x.changes) ? x.changes : []) a.changes.push({ c, el: null, undo: null, holds: null, n: 0, nodes: null });
      this.active.set(key, a);
    }
    this.check();
    this.observe();
    this.settle();
    return [...this.active.keys()];
  }

  exposeOnce(a) {
    if (a.exposable && !this.exposed.has(a.id)) {
      this.exposed.add(a.id);
      return this.h.expose(a.key, a.variation);
    }
  }

  // Puts every change where it belongs: finds elements that appeared, re-applies what the
  // page's code took off or re-rendered (up to the budget per change).
  check() {
    for (const a of this.active.values()) {
      if (a.style || (a.probe && (!a.probe.length || a.probe.some((sel) => find({ selector: sel })[0]))) || a.changes.some((s) => s.el && s.el.isConnected)) this.exposeOnce(a);
      a.changes.forEach((s, i) => {
        if (s.n > BUDGET) return;
        const same = s.el && s.el.isConnected;
        if (same && s.holds()) return;
        const el = same ? s.el : find(s.c)[0];
        if (!el) return;
        if (s.el && ++s.n > BUDGET) {
          this.h.report(`page changes: ${a.key} change ${i + 1} (${s.c.action}) was undone by the page ${BUDGET} times; stopped re-applying it`);
          return;
        }
        let done = null;
        try {
          done = act(s.c, el, s.nodes);
        } catch {}
        if (!done) {
          s.n = BUDGET + 1;
          this.h.report(`page changes: ${a.key} change ${i + 1} (${s.c.action}) was refused as unsafe or impossible`);
          return;
        }
        if (!same) s.first = done[0]; // the undo that restores this element's original
        [s.undo, s.holds, s.nodes] = done;
        s.el = el;
        this.exposeOnce(a);
      });
    }
    if (this.mo) this.mo.takeRecords();
  }

  observe() {
    const todo = [...this.active.values()].some((a) => (a.probe && !this.exposed.has(a.id)) || a.changes.some((s) => s.n <= BUDGET));
    if (todo && !this.mo) {
      this.mo = new MutationObserver(() => this.check());
      this.mo.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
    } else if (!todo && this.mo) {
      this.mo.disconnect();
      this.mo = null;
    }
  }

  // Once the document is parsed: reports changes whose element is missing, stores the hide
  // list for the next visit, and shows what the head snippet hid.
  settle() {
    const go = () => {
      const hide = [];
      for (const a of this.active.values()) {
        a.changes.forEach((s, i) => {
          // (A change refused where its element is was reported as refused already.)
          if (!s.el && s.n <= BUDGET) {
            const what = `${a.key} change ${i + 1}`;
            if (!this.reported.has(what)) this.reported.add(what), this.h.report(`page changes: ${what}: no element matches ${JSON.stringify(s.c.selector)}${s.c.fingerprint ? " with its fingerprint" : ""}`);
          } else if (!/^(insert|prepend|append|move)/.test(s.c.action) && s.el !== document.body && s.el !== document.documentElement) {
            const [, sel] = find({ selector: s.c.selector });
            if (sel) hide.push(sel);
          }
        });
      }
      this.saveHide(hide.join(","));
      const shield = document.getElementById("tailor-hide");
      if (shield) shield.remove();
    };
    // One task later: what the page renders right after a route change is not reported.
    const later = () => setTimeout(go, 0);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", later, { once: true });
    else later();
  }

  saveHide(sels) {
    if (!this.h.store) return;
    const key = "tailor:" + this.h.site + ":hide";
    try {
      const map = JSON.parse(localStorage.getItem(key) || "{}");
      delete map[location.pathname];
      if (sels) map[location.pathname] = sels;
      const keys = Object.keys(map);
      if (keys.length > 20) delete map[keys[0]];
      if (Object.keys(map).length) localStorage.setItem(key, JSON.stringify(map));
      else localStorage.removeItem(key);
    } catch {}
  }

  // A redirect variation: record the exposure, then leave for the target with this page's
  // query kept. Never when already there (no loop).
  async redirect(x, exposable) {
    let to;
    try {
      to = new URL(x.redirect.url, location.href);
    } catch {
      return this.h.report(`page changes: ${x.key}: the redirect URL is not a URL`);
    }
    if (!/^https?:$/.test(to.protocol)) return this.h.report(`page changes: ${x.key}: refused a redirect to ${to.protocol}`);
    if (x.redirect.keepQuery !== false) {
      new URLSearchParams(location.search).forEach((v, k) => to.searchParams.has(k) || to.searchParams.append(k, v));
    }
    if (to.origin + to.pathname === location.origin + location.pathname) return;
    this.active.set(x.key, { id: x.key + ":" + x.variation, key: x.key, variation: x.variation, changes: [], style: null });
    if (exposable && !this.exposed.has(x.key + ":" + x.variation)) {
      this.exposed.add(x.key + ":" + x.variation);
      // The event is committed to the outbox before the page goes; the next page sends it.
      let timer;
      await Promise.race([this.h.expose(x.key, x.variation), new Promise((r) => (timer = setTimeout(r, 500)))]);
      clearTimeout(timer);
    }
    if (this.active.has(x.key)) (this.h.navigate || ((u) => location.replace(u)))(to.href);
  }

  // Takes an experiment's changes off the page, in reverse order.
  revert(key) {
    const a = this.active.get(key);
    if (!a) return;
    this.active.delete(key);
    for (const s of [...a.changes].reverse()) {
      try {
        if (s.el && s.first) s.first();
      } catch {}
    }
    if (a.style) a.style.remove();
    this.observe();
  }

  // Reverts everything and stops observing.
  stop() {
    for (const key of [...this.active.keys()]) this.revert(key);
    if (this.mo) this.mo.disconnect();
    this.mo = null;
    live.delete(this);
  }
}
