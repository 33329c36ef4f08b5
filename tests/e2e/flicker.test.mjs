// Flicker, frame by frame, on the demo home page and its page experiment (home-headline): a
// probe installed before any page script records the headline on every animation frame from
// navigation start (and, through a MutationObserver, the moment the parser inserts it). A
// returning shopper in the treatment must never have a frame with the control headline
// visible; on a first visit the hiding stays within the head snippet's timeout and the page
// is never blank.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, launchBrowser, newPage, ROOT, startServer } from "./harness.mjs";

const RULESET = JSON.parse(readFileSync(join(ROOT, "www/ruleset.json"), "utf8"));
const X = RULESET.experiments.find((x) => x.key === "home-headline");
const CONTROL = "Autumn collection";
const TREATMENT = X.variations[1].changes.find((c) => c.action === "text").value;
// The head snippet's timeout on the demo pages (data-timeout).
const TIMEOUT = Number(/tailor-hide\.js"[^>]*data-timeout="(\d+)"/.exec(readFileSync(join(ROOT, "www/index.html"), "utf8"))[1]);

let server;
let browser;
before(async () => {
  server = await startServer(["--site", "demo", "--ruleset", join(ROOT, "www/ruleset.json")]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** An anonymous id outside the global holdout that the experiment puts in variation 1. */
function treatmentId() {
  const ids = Array.from({ length: 400 }, (_, i) => `flicker-${i}`);
  const hash = (seed, version) =>
    execFileSync(BIN, ["hash"], { input: ids.map((value) => JSON.stringify({ seed, value, version })).join("\n") + "\n", encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  const h = RULESET.holdout;
  const out = hash(h.seed, h.hashVersion ?? 2);
  const bucket = hash(X.seed, X.hashVersion ?? 2);
  const i = ids.findIndex((_, i) => out[i] >= h.percent && bucket[i] >= 0.5);
  assert.ok(i >= 0);
  return ids[i];
}

// Runs in the page before any of its scripts, from navigation start.
function probe() {
  const p = (window.__probe = { frames: [], inserted: null });
  const look = () => {
    const h = document.querySelector("#hero h1");
    const body = document.body;
    const s = h && getComputedStyle(h);
    return {
      t: performance.now(),
      text: h ? h.textContent : null,
      visible: !!s && s.visibility === "visible" && s.display !== "none" && s.opacity !== "0",
      body: !!body && getComputedStyle(body).visibility === "visible" && getComputedStyle(body).display !== "none",
      shield: !!document.getElementById("tailor-hide"),
    };
  };
  const frame = () => {
    p.frames.push(look());
    if (performance.now() < 8000) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const mo = new MutationObserver(() => {
    if (!p.inserted && document.querySelector("#hero h1")) {
      p.inserted = look();
      mo.disconnect();
    }
  });
  mo.observe(document, { childList: true, subtree: true });
}

/** Loads `/` and returns the probe's records once the treatment headline has shown for 10 frames. */
async function record(page) {
  await page.goto(server.url + "/");
  await page.waitForFunction(
    (t) => {
      const f = window.__probe.frames;
      const i = f.findIndex((r) => r.text === t && r.visible);
      return i >= 0 && f.length - i >= 10;
    },
    TREATMENT,
    { timeout: 15000 },
  );
  return page.evaluate(() => window.__probe);
}

function figures({ frames, inserted }) {
  const withHero = frames.filter((f) => f.text !== null);
  const firstHero = withHero[0];
  const shownAt = withHero.find((f) => f.visible);
  return {
    frames: frames.length,
    framesWithHeadline: withHero.length,
    framesOfControl: withHero.filter((f) => f.text === CONTROL && f.visible).length,
    framesHidden: withHero.filter((f) => !f.visible).length,
    framesBlank: frames.filter((f) => !f.body && f.text !== null).length,
    hiddenMs: firstHero && shownAt ? Math.round(shownAt.t - firstHero.t) : null,
    headlineInsertedAtMs: inserted && Math.round(inserted.t),
    insertedHidden: inserted && (!inserted.visible || inserted.shield),
    treatmentVisibleAtMs: Math.round(withHero.find((f) => f.text === TREATMENT && f.visible).t),
  };
}

test("the demo home page frame by frame: a returning treatment shopper never sees the control headline", { timeout: 90000 }, async () => {
  const id = treatmentId();
  const page = await newPage(browser);
  await page.goto(server.url + "/favicon.svg");
  await page.evaluate(
    ([name, profile]) =>
      new Promise((ok, fail) => {
        const r = indexedDB.open(name);
        r.onupgradeneeded = () => ["outbox", "state"].forEach((s) => r.result.createObjectStore(s));
        r.onerror = () => fail(r.error);
        r.onsuccess = () => {
          const tx = r.result.transaction("state", "readwrite");
          tx.objectStore("state").put(profile, "profile");
          tx.oncomplete = () => (r.result.close(), ok());
        };
      }),
    ["tailor:demo", JSON.stringify({ schemaVersion: 1, anonymousId: id, firstSeen: Date.now(), lastSeen: Date.now() })],
  );
  page.problems.length = 0;
  await page.context().addInitScript(probe);

  // First visit: no cached ruleset, nothing to hide yet; the control shows until the
  // ruleset has arrived, then the treatment.
  const first = figures(await record(page));
  console.log("first visit:", JSON.stringify(first));
  assert.equal(first.framesBlank, 0, "the page is never blank");
  assert.ok(first.hiddenMs !== null && first.hiddenMs <= TIMEOUT, `hidden ${first.hiddenMs} ms, the timeout is ${TIMEOUT} ms`);
  const cached = await page.evaluate(() => localStorage.getItem("tailor:demo:hide"));
  assert.ok(cached && JSON.parse(cached)["/"], "the SDK kept the selectors to hide on / for the next visit: " + cached);

  // Returning: the ruleset and the hide list are cached.
  for (let visit = 2; visit <= 4; visit++) {
    const again = figures(await record(page));
    console.log(`returning visit ${visit}:`, JSON.stringify(again));
    assert.ok(again.framesWithHeadline > 10, "frames were recorded");
    assert.equal(again.framesOfControl, 0, "frames showing the control headline");
    assert.equal(again.framesBlank, 0, "the page is never blank");
    assert.equal(again.insertedHidden, true, "the headline is hidden when the parser inserts it");
    assert.ok(again.hiddenMs <= TIMEOUT, `hidden ${again.hiddenMs} ms, the timeout is ${TIMEOUT} ms`);
  }
  assert.deepEqual(page.problems, []);
});
