// The cases of tests/web_pages.rs: the page-change applier (src/web/changes.js) on real DOM
// in headless Chromium. Every wait is bounded and fails with a message; every case stops
// the applier it made, so no observer or timer outlives it.

let make; // (hooks) => a Pages of src/web/changes.js (given by the Rust side)
export function setFactory(f) {
  make = f;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Resolves when `cond()` is true; rejects with `what` after `ms`.
async function until(what, cond, ms = 2000) {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(5);
  }
}
const eq = (a, b, what) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
};
const ok = (c, what) => {
  if (!c) throw new Error(what);
};

function fixture(html) {
  let fx = document.getElementById("fx");
  if (!fx) {
    fx = document.createElement("div");
    fx.id = "fx";
    document.body.append(fx);
  }
  fx.innerHTML = html;
  return fx;
}

// Fake runtime hooks: decisions by URL, exposures and problems recorded.
function hooks(decide) {
  const h = {
    site: "t-pages",
    store: false,
    auto: true,
    nonce: "",
    exposures: [],
    problems: [],
    decide: (force) => (typeof decide === "function" ? decide(force) : decide),
    expose: (key, v) => (h.exposures.push(key + ":" + v), Promise.resolve()),
    report: (t) => h.problems.push(t),
  };
  return h;
}

const decision = (key, changes, extra = {}) => ({
  experiments: [{ key, variation: 1, inExperiment: true, changes, ...extra }],
  pageExposures: [{ experimentKey: key, variation: 1 }],
});

// ---------------------------------------------------------------------------------------

export async function everyAction() {
  const html =
    '<h1 id="a">Old title</h1><p id="b">Some <b>bold</b></p><a id="c" href="/x">link</a>' +
    '<button id="d" class="btn old">Buy</button><span id="e" style="color: red">e</span>' +
    '<ul id="f"><li id="f1">one</li></ul><div id="g">g</div><div id="h">h</div><div id="i">i</div>' +
    '<div id="box"><em id="m">moved</em></div><div id="dest"><span id="anchor">anchor</span></div><div id="z">z</div>';
  const fx = fixture(html);
  const original = fx.innerHTML;
  const h = hooks(null);
  const p = make(h);
  const keys = p.run(
    decision("x", [
      { selector: "#a", action: "text", value: "New <title>" },
      { selector: "#b", action: "html", value: "<i>italic</i> text" },
      { selector: "#c", action: "attribute", name: "href", value: "/y" },
      { selector: "#d", action: "addClass", value: "btn-primary big" },
      { selector: "#d", action: "removeClass", value: "old" },
      { selector: "#e", action: "style", name: "color", value: "blue" },
      { selector: "#g", action: "insertBefore", value: '<p class="ib">before</p>' },
      { selector: "#h", action: "insertAfter", value: '<p class="ia">after</p>' },
      { selector: "#f", action: "prepend", value: '<li class="pp">zero</li>' },
      { selector: "#f", action: "append", value: '<li class="ap">two</li>' },
      { selector: "#m", action: "move", target: "#anchor", position: "after" },
      { selector: "#z", action: "hide" },
    ]),
  );
  try {
    eq(keys, ["x"], "keys applied");
    eq(h.problems, [], "problems");
    const $ = (s) => document.querySelector(s);
    eq($("#a").textContent, "New <title>", "text");
    eq($("#a").children.length, 0, "text is text, not markup");
    eq($("#b").innerHTML, "<i>italic</i> text", "html");
    eq($("#c").getAttribute("href"), "/y", "attribute");
    eq([...$("#d").classList], ["btn", "btn-primary", "big"], "addClass and removeClass");
    eq($("#e").style.color, "blue", "style");
    eq($("#g").previousElementSibling.className, "ib", "insertBefore");
    eq($("#h").nextElementSibling.className, "ia", "insertAfter");
    eq([...$("#f").children].map((e) => e.textContent), ["zero", "one", "two"], "prepend and append");
    eq($("#anchor").nextElementSibling && $("#anchor").nextElementSibling.id, "m", "move");
    eq($("#box").children.length, 0, "move took it out of its box");
    eq(getComputedStyle($("#z")).display, "none", "hide");
    eq(h.exposures, ["x:1"], "one exposure");
  } finally {
    p.stop();
  }
  // (The CSSOM writes a style attribute back with its final semicolon.)
  eq(fx.innerHTML.replace(/;"/g, '"'), original, "stop() restores the page exactly");
  return "ok";
}

export async function fallbacksAndFingerprint() {
  fixture('<div class="card"><h2 class="t">Socks</h2></div><div class="card"><h2 class="t">Shoes</h2></div><p id="only">Hello</p>');
  const h = hooks(null);
  const p = make(h);
  p.run(
    decision("fp", [
      { selector: ["#gone", ".missing h2", ".card .t"], fingerprint: "Shoes", action: "text", value: "Boots" },
      { selector: ["#nope", "#only"], action: "text", value: "Hi" },
      { selector: "#only", fingerprint: "Goodbye", action: "addClass", value: "wrong" },
      { selector: ["##bad((", "#only"], action: "attribute", name: "title", value: "t" },
    ]),
  );
  try {
    const t = [...document.querySelectorAll(".card .t")].map((e) => e.textContent);
    eq(t, ["Socks", "Boots"], "the fingerprint picks the second match");
    eq(document.querySelector("#only").textContent, "Hi", "a fallback selector is used");
    ok(!document.querySelector("#only").classList.contains("wrong"), "a wrong fingerprint refuses the element");
    eq(document.querySelector("#only").title, "t", "an invalid selector is skipped for the next");
    await until("the missing element's report", () => h.problems.length > 0, 1000);
    eq(h.problems.length, 1, "one problem: " + h.problems.join(" | "));
    ok(/fp change 3: no element matches "#only" with its fingerprint/.test(h.problems[0]), h.problems[0]);
  } finally {
    p.stop();
  }
  return "ok";
}

export async function noMatchIsReportedNotGuessed() {
  fixture('<h1 class="hero">Welcome</h1>');
  const h = hooks(null);
  const p = make(h);
  p.run(decision("nm", [{ selector: ["#hero", ".hero-title"], action: "text", value: "X" }]));
  try {
    await until("the report", () => h.problems.length > 0, 1000);
    ok(/nm change 1: no element matches \["#hero",".hero-title"\]/.test(h.problems[0]), h.problems[0]);
    eq(document.querySelector(".hero").textContent, "Welcome", "nothing else changed");
    eq(h.exposures, [], "no exposure without a change on the page");
    // The element appears later (rendered by the page's code): applied then, and exposed.
    document.getElementById("fx").insertAdjacentHTML("beforeend", '<h1 class="hero-title">Late</h1>');
    await until("the late element changed", () => document.querySelector(".hero-title").textContent === "X", 1000);
    eq(h.exposures, ["nm:1"], "exposed once applied");
  } finally {
    p.stop();
  }
  // A change refused where its element is (a move into the element's own list) is reported
  // once, as refused: not also as an element that matches nothing.
  fixture('<ul id="l"><li id="a">A</li><li id="b">B</li></ul>');
  const h2 = hooks(null);
  const p2 = make(h2);
  p2.run(decision("mv", [{ selector: "#a", action: "move", target: "#l", position: "append" }]));
  try {
    await until("the refusal", () => h2.problems.length > 0, 1000);
    await sleep(50);
    eq(h2.problems, ["page changes: mv change 1 (move) was refused as unsafe or impossible"], "problems");
  } finally {
    p2.stop();
  }
  return "ok";
}

export async function rerenderIsReappliedWithinBudget() {
  const fx = fixture('<div id="app"><h1 class="title">Control</h1></div><p id="fight">Control</p>');
  const h = hooks(null);
  const p = make(h);
  // A "framework": re-renders #app from scratch (a new element) three times.
  const render = () => (document.getElementById("app").innerHTML = '<h1 class="title">Control</h1>');
  // Another one that insists on its own text, every time it changes.
  let writes = 0;
  const fighter = new MutationObserver(() => {
    const el = document.getElementById("fight");
    if (el.textContent !== "Control" && writes < 100) writes++, (el.textContent = "Control");
  });
  fighter.observe(fx, { childList: true, subtree: true, characterData: true });
  p.run(
    decision("rr", [
      { selector: ".title", fingerprint: "Control", action: "text", value: "Treatment" },
      { selector: "#fight", action: "text", value: "Treatment" },
    ]),
  );
  try {
    for (let i = 0; i < 3; i++) {
      render();
      await until("re-applied after render " + (i + 1), () => document.querySelector(".title").textContent === "Treatment", 1000);
    }
    await until("the fight to be reported", () => h.problems.some((t) => /rr change 2 \(text\) was undone by the page 10 times/.test(t)), 2000);
    const settled = writes;
    await sleep(50);
    eq(writes, settled, "no more re-applies after the budget");
    ok(writes >= 10 && writes <= 12, "the page's code won after about 10 re-applies, writes: " + writes);
    eq(document.querySelector(".title").textContent, "Treatment", "the re-rendered element keeps the change");
    eq(h.exposures, ["rr:1"], "re-applies expose nothing more");
  } finally {
    fighter.disconnect();
    p.stop();
  }
  return "ok";
}

export async function singlePageNavigation() {
  fixture('<h1 id="view">Home</h1>');
  const start = location.href;
  const byPath = {
    "/spa-a": decision("spa-a", [{ selector: "#view", action: "addClass", value: "a-on" }]),
    "/spa-b": decision("spa-b", [{ selector: "#view", action: "text", value: "B treatment" }]),
  };
  const h = hooks(() => byPath[location.pathname] || { experiments: [], pageExposures: [] });
  const p = make(h);
  const view = () => document.getElementById("view");
  try {
    history.pushState({}, "", "/spa-a");
    await until("spa-a applied", () => view().classList.contains("a-on"), 1000);
    eq(h.exposures, ["spa-a:1"], "exposed on the first view");
    // The framework renders view B after navigating.
    history.pushState({}, "", "/spa-b");
    view().textContent = "B";
    await until("spa-b applied", () => view().textContent === "B treatment", 1000);
    ok(!view().classList.contains("a-on"), "spa-a reverted when its URL was left");
    eq(h.exposures, ["spa-a:1", "spa-b:1"], "spa-b exposed once");
    history.replaceState({}, "", "/spa-b?same=view");
    await sleep(20);
    eq(h.exposures.filter((e) => e === "spa-b:1").length, 2, "a new URL is a new page view");
    // Back: popstate.
    const back = new Promise((r) => addEventListener("popstate", r, { once: true }));
    history.back();
    await Promise.race([back, sleep(1000).then(() => Promise.reject(new Error("no popstate")))]);
    await until("back on spa-a? no: on spa-b before the replace", () => location.pathname === "/spa-a", 1000);
    await until("spa-a re-applied after back", () => view().classList.contains("a-on"), 1000);
    eq(view().textContent, "B", "spa-b reverted to the page's own text");
  } finally {
    p.stop();
    history.replaceState({}, "", start);
  }
  return "ok";
}

export async function exposuresOncePerPageViewOnlyWhenApplied() {
  fixture('<h1 id="t">T</h1>');
  const h = hooks(null);
  const p = make(h);
  const d = {
    experiments: [
      { key: "shown", variation: 1, inExperiment: true, changes: [{ selector: "#t", action: "text", value: "U" }] },
      { key: "absent", variation: 1, inExperiment: true, changes: [{ selector: "#nothing", action: "text", value: "U" }] },
      { key: "control", variation: 0, inExperiment: true },
      { key: "control-away", variation: 0, inExperiment: true },
      { key: "control-here", variation: 0, inExperiment: true },
      { key: "css", variation: 2, inExperiment: true, css: "#t{letter-spacing:1px}" },
      { key: "flag", variation: 1, inExperiment: true, changes: [{ selector: "#t", action: "addClass", value: "f" }] },
      // Shown without counting the shopper (tailor_force): applied, never recorded.
      { key: "forced", variation: 1, inExperiment: false, changes: [{ selector: "#t", action: "addClass", value: "forced" }] },
    ],
    // "flag" is not in pageExposures: the engine records it elsewhere (or not at all).
    pageExposures: [
      { experimentKey: "shown", variation: 1 },
      { experimentKey: "absent", variation: 1 },
      { experimentKey: "control", variation: 0 },
      { experimentKey: "control-away", variation: 0, selectors: ["#elsewhere"] },
      { experimentKey: "control-here", variation: 0, selectors: ["#elsewhere", "#t"] },
      { experimentKey: "css", variation: 2 },
    ],
  };
  try {
    p.run(d);
    p.run(d);
    p.run(d);
    await sleep(10);
    eq(h.exposures.sort(), ["control-here:0", "control:0", "css:2", "shown:1"], "once each, and never for an absent element");
    ok(document.getElementById("t").classList.contains("forced"), "a forced variation's changes are applied");
    ok(document.querySelector("style[data-tailor=css]"), "page CSS in a style element");
    eq(document.querySelectorAll("style[data-tailor]").length, 1, "one style element");
  } finally {
    p.stop();
  }
  eq(document.querySelectorAll("style[data-tailor]").length, 0, "the style element goes with stop()");
  return "ok";
}

export async function redirectNeverLoops() {
  fixture("<p>r</p>");
  const h = hooks(null);
  const gone = [];
  h.navigate = (u) => gone.push(u);
  const p = make(h);
  try {
    // Already on the target: nothing happens, nothing is recorded.
    p.run({ experiments: [{ key: "r", variation: 1, redirect: { url: location.pathname } }], pageExposures: [{ experimentKey: "r", variation: 1 }] });
    await sleep(20);
    eq(gone, [], "no redirect to the page itself");
    eq(h.exposures, [], "no exposure on the target");
    p.stop();
    // Elsewhere: exposure first, then the target with this page's query kept.
    const q = make(h);
    const start = location.href;
    history.replaceState({}, "", location.pathname + "?utm_source=mail&x=1");
    q.run({ experiments: [{ key: "r", variation: 1, redirect: { url: "/landing-b?x=2" } }], pageExposures: [{ experimentKey: "r", variation: 1 }] });
    await until("the redirect", () => gone.length === 1, 1000);
    const to = new URL(gone[0]);
    eq(to.pathname, "/landing-b", "target");
    eq(to.searchParams.get("utm_source"), "mail", "query kept");
    eq(to.searchParams.get("x"), "2", "the target's own parameter wins");
    eq(h.exposures, ["r:1"], "exposure recorded before leaving");
    q.run({ experiments: [{ key: "r", variation: 1, redirect: { url: "/landing-b" } }], pageExposures: [{ experimentKey: "r", variation: 1 }] });
    await sleep(20);
    eq(h.exposures, ["r:1"], "no double exposure");
    q.stop();
    // keepQuery: false drops it; javascript: is refused.
    const k = make(h);
    k.run({ experiments: [{ key: "r2", variation: 1, redirect: { url: "/c", keepQuery: false } }, { key: "r3", variation: 1, redirect: { url: "javascript:alert(1)" } }] });
    await until("the second redirect", () => gone.length === 2, 1000);
    eq(new URL(gone[1]).search, "", "keepQuery false");
    ok(h.problems.some((t) => /r3: refused a redirect to javascript:/.test(t)), h.problems.join(" | "));
    k.stop();
    history.replaceState({}, "", start);
  } finally {
    p.stop();
  }
  return "ok";
}

// ---------------------------------------------------------------------------------------
// XSS: every payload through every change type that takes markup, a URL or a value.

export async function xssCorpus(corpus) {
  let ran = 0;
  const saved = [window.alert, window.confirm, window.prompt];
  // The engine's corpus (tests/vectors/xss.json) calls alert(1) and friends; ours __xss().
  window.__xss = window.alert = window.confirm = window.prompt = () => ran++;
  const violations = [];
  const onViolation = (e) => violations.push(e.violatedDirective + " " + e.blockedURI);
  document.addEventListener("securitypolicyviolation", onViolation);
  // Clicks below must not take the test page away: ordinary navigations (a link to "/", a
  // form submission) are cancelled; a javascript: URL fires no navigate event, so it would run.
  const nav = globalThis.navigation;
  const stay = (e) => e.cancelable && e.preventDefault();
  ok(nav && nav.addEventListener, "the Navigation API (needed to keep the page during clicks)");
  nav.addEventListener("navigate", stay);
  const h = hooks(null);
  const p = make(h);
  let applied = 0;
  const found = [];
  try {
    const kinds = [
      (v) => ({ action: "html", value: v }),
      (v) => ({ action: "text", value: v }),
      (v) => ({ action: "insertBefore", value: v }),
      (v) => ({ action: "insertAfter", value: v }),
      (v) => ({ action: "prepend", value: v }),
      (v) => ({ action: "append", value: v }),
      (v) => ({ action: "attribute", name: "href", value: v }),
      (v) => ({ action: "attribute", name: "src", value: v }),
      (v) => ({ action: "attribute", name: "onclick", value: v }),
      (v) => ({ action: "attribute", name: "srcdoc", value: v }),
      (v) => ({ action: "attribute", name: "formaction", value: v }),
      (v) => ({ action: "style", name: "background-image", value: v }),
      (v) => ({ action: "addClass", value: v }),
    ];
    for (let i = 0; i < corpus.length; i++) {
      fixture('<a id="x" href="/">x</a><iframe id="fr" hidden></iframe><img id="im" alt=""><form><button id="btn">b</button></form>');
      const changes = kinds.map((k) => ({ selector: "#x", ...k(corpus[i]) }));
      changes.push({ selector: "#fr", action: "attribute", name: "src", value: corpus[i] });
      changes.push({ selector: "#btn", action: "attribute", name: "formaction", value: corpus[i] });
      p.run({ experiments: [{ key: "xss" + i, variation: 1, changes }] });
      applied += changes.length;
      // What is on the page now: no handler attribute, no script URL, no code element.
      for (const el of document.querySelectorAll("#fx *")) {
        if (/^(script|object|embed|base|meta|link|style|template|animate|set|use)$/i.test(el.localName) || (el.localName === "iframe" && el.id !== "fr")) found.push(i + ": <" + el.localName + ">");
        for (const a of el.attributes) {
          if (a.name === "class") continue; // class names run nothing
          if (/^on/i.test(a.name) || a.name === "srcdoc" || /^\s*(javascript|vbscript|data):/i.test(a.value.replace(/[\0- ]+/g, ""))) found.push(i + ": " + a.name + "=" + a.value);
        }
      }
      // Click what can be clicked: a javascript: link or form action would run now.
      for (const el of document.querySelectorAll("#fx a, #fx button")) {
        try {
          el.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
        } catch {}
      }
      p.revert("xss" + i);
    }
    // Give error/load handlers (img onerror, svg onload, ...) time to fire.
    await sleep(300);
    eq(found, [], "dangerous markup left on the page");
    eq(ran, 0, "payloads that ran");
    eq(violations, [], "CSP violations");
  } finally {
    p.stop();
    document.removeEventListener("securitypolicyviolation", onViolation);
    nav.removeEventListener("navigate", stay);
    [window.alert, window.confirm, window.prompt] = saved;
    document.getElementById("fx").innerHTML = "";
  }
  return "ok " + corpus.length + " payloads x " + (applied / corpus.length) + " changes";
}

// A control for the XSS test: the counter does count a payload that runs.
export async function xssProbeWorks() {
  let ran = 0;
  window.__xss = () => ran++;
  fixture("");
  document.getElementById("fx").innerHTML = '<img src="data:," onerror="__xss()">';
  await until("the unsanitised payload to run", () => ran > 0, 1000);
  document.getElementById("fx").innerHTML = "";
  return "ok";
}

export async function nonceOnPageCss() {
  fixture('<h1 id="n">n</h1>');
  const h = hooks(null);
  h.nonce = "n0nce";
  const p = make(h);
  try {
    p.run({ experiments: [{ key: "css", variation: 1, css: "#n{color:rgb(1, 2, 3)}" }] });
    const st = document.querySelector("style[data-tailor=css]");
    eq(st && st.nonce, "n0nce", "the style element carries the nonce");
    eq(getComputedStyle(document.getElementById("n")).color, "rgb(1, 2, 3)", "the CSS applies");
  } finally {
    p.stop();
  }
  return "ok";
}

export async function hideListForTheNextVisit() {
  fixture('<h1 id="hl">h</h1><div id="cont">c</div>');
  localStorage.removeItem("tailor:t-pages:hide");
  const h = hooks(null);
  h.store = true;
  const p = make(h);
  try {
    p.run(
      decision("hl", [
        { selector: ["#nope", "#hl"], action: "text", value: "H" },
        { selector: "body", action: "addClass", value: "never-hide-the-page" },
        { selector: "#cont", action: "append", value: "<b>x</b>" },
      ]),
    );
    await until("the hide list", () => localStorage.getItem("tailor:t-pages:hide"), 1000);
    const map = JSON.parse(localStorage.getItem("tailor:t-pages:hide"));
    eq(map[location.pathname], "#hl", "only the changed element, by the selector that matched; never body");
  } finally {
    p.stop();
    localStorage.removeItem("tailor:t-pages:hide");
  }
  return "ok";
}
