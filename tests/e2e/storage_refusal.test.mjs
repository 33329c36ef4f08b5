// Private modes and storage refusals (issue 15) in Chromium, Firefox ESR and WebKitGTK, against
// the real `tailor serve`: the SDK on tests/e2e/pages/storage.html keeps its state in the
// first store that works, IndexedDB, then localStorage, then memory (docs/security.md,
// "Private modes and storage refusals"), says in `status.storage` and `status.problems` which
// and why, and keeps deciding, recording and sending in every case. Each case runs where an
// engine here reproduces it: through the engine's own settings where it has one (Firefox
// preferences, MiniBrowser options, a third-party frame), else simulated in the page (old
// Safari's private modes). Where an engine cannot, the test is skipped and says why.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ENGINES, openEngine, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "storage-test-admin-token";

let server;
let other; // the same server under another site (localhost instead of 127.0.0.1): a third party
before(async () => {
  server = await startServer(["--admin-token", TOKEN, "--rate-limit", "0"], { www: PAGES });
  other = server.url.replace("127.0.0.1", "localhost");
});
after(async () => {
  await server?.stop();
});

/** The ids of the events the server stored for `site`. */
function stored(site) {
  const db = join(server.dir, ".tailor/tailor.db");
  const out = execFileSync("sqlite3", ["-readonly", "-json", db, `SELECT id FROM events WHERE site = '${site}'`], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out).map((r) => r.id) : [];
}

/** Publishes a signed ruleset with one offer for `site`. */
async function publish(site) {
  const ruleset = { version: 1, placements: { "home-hero": { limit: 1 } }, offers: [{ id: "welcome", placements: ["home-hero"], content: { title: "Welcome" } }] };
  const r = await fetch(`${server.url}/v1/admin/rulesets/${site}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(ruleset),
  });
  assert.equal(r.status, 201, await r.text());
}

/** Polls until the server stored the event `id` of `site` (15 s at most). */
async function reachesServer(site, id) {
  const end = Date.now() + 15000;
  while (!stored(site).includes(id) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return stored(site).includes(id);
}

// Where the browser refuses a site's storage it refuses its Web Locks too (SecurityError): the
// SDK then decides who sends by its localStorage lease, and with no localStorage either the tab
// is alone and sends (src/web/sync.js, acquireSender). `locksRefused` marks those cases.

/**
 * What every case checks besides the store: the signed ruleset is used, the decision made,
 * nothing thrown at the page, and the tracked event reaches the server (also where the Web
 * Locks are refused: `locksRefused`).
 */
async function worksAnyway(t, engine, site, s, { locksRefused = false } = {}) {
  assert.deepEqual(s.ready, { version: 1, error: null }, JSON.stringify(s));
  assert.deepEqual(s.offers, ["welcome"], JSON.stringify(s));
  assert.deepEqual(s.errors, [], "nothing thrown at the page");
  assert.deepEqual(
    engine.problems.filter((p) => p.startsWith("pageerror")),
    [],
    "no uncaught error",
  );
  assert.equal(s.sending, true, JSON.stringify(s));
  await t.test("the tracked event is sent and reaches the server" + (locksRefused ? " (Web Locks refused: the lease decides)" : ""), async () => {
    // This flush, or one the SDK started before it, sent the outbox.
    assert.deepEqual([s.flush.sender, s.flush.pending], [true, 0], "the outbox was sent: " + JSON.stringify(s.flush));
    assert.ok(await reachesServer(site, s.event), `the event ${s.event} reached the server`);
  });
}

/** The problems that say why IndexedDB, then localStorage, were not used. */
function refused(s, stores) {
  for (const store of stores) assert.ok(s.problems.some((p) => p.startsWith(store + ": ")), `status.problems says why not ${store}: ${JSON.stringify(s.problems)}`);
}

const state = (engine, url) => engine.goto(url).then(() => engine.evaluate(() => sdkState()));
const framed = (engine, url) => engine.goto(`${server.url}/frame.html?src=${encodeURIComponent(url)}`).then(() => engine.evaluate(() => frameState()));

// Per engine: how it is made to refuse, or why it cannot be here (a skip says so).
const THIRD_PARTY_BLOCKED = {
  chromium: { opts: {}, how: "Debian's Chromium blocks third-party storage, in playwright's off-the-record contexts and in a persistent profile alike" },
  firefox: { opts: { prefs: { "network.cookie.cookieBehavior": 1 } }, how: 'network.cookie.cookieBehavior = 1 ("block all third-party cookies")' },
  webkit: { skip: "WebKitGTK partitions third-party storage and does not refuse it, also with MiniBrowser's --cookies-policy=never or --enable-itp" },
};
const THIRD_PARTY_PARTITIONED = {
  chromium: { skip: "Debian's Chromium blocks third-party storage (the blocked case above) instead of partitioning it" },
  firefox: { opts: {}, how: "Total Cookie Protection, the default" },
  webkit: { opts: {}, how: "the default" },
};
const LOCALSTORAGE_OFF = {
  chromium: { skip: "Chromium has no setting that turns localStorage off and leaves IndexedDB on" },
  firefox: { opts: { prefs: { "dom.storage.enabled": false } }, how: "dom.storage.enabled = false (localStorage is null)" },
  webkit: { opts: { args: ["--enable-html5-local-storage=false"] }, how: "MiniBrowser --enable-html5-local-storage=false (localStorage is null)" },
};
const SITE_DATA_BLOCKED = {
  chromium: { skip: "playwright cannot block a site's data in Chromium (a content setting of the profile)" },
  firefox: { opts: { prefs: { "network.cookie.cookieBehavior": 2 } }, how: 'network.cookie.cookieBehavior = 2 ("block all cookies"), which blocks the site\'s storage too' },
  webkit: { skip: "MiniBrowser's --cookies-policy=never blocks cookies only; the site's storage stays allowed" },
};
const PRIVATE = {
  chromium: { opts: {}, how: "playwright's browser contexts are off the record, like an Incognito window" },
  firefox: { opts: { prefs: { "browser.privatebrowsing.autostart": true } }, how: "browser.privatebrowsing.autostart = true (every window private)" },
  webkit: { opts: { args: ["--private"] }, how: "MiniBrowser --private (an ephemeral website data manager)" },
};

for (const name of ENGINES) {
  describe(name, () => {
    const site = (what) => `st-${name}-${what}`;
    // One engine at a time, kept open for the next case if that one wants the same options
    // (the cases below are ordered so), closed when it does not and after the last.
    let open = null;
    async function engineWith(opts) {
      const key = JSON.stringify(opts);
      if (open?.key !== key) {
        const was = open;
        open = null;
        await was?.engine.close();
        open = { key, engine: await openEngine(name, opts) };
      }
      open.engine.problems.length = 0;
      return open.engine;
    }
    after(async () => {
      await open?.engine.close();
    });
    const run = (title, cases, f) => {
      const c = cases[name];
      if (c.skip) return test(title, { skip: `${name}: ${c.skip}` }, () => {});
      test(title, { timeout: 120000 }, async (t) => {
        t.diagnostic(`${name}: ${c.how}`);
        await f(await engineWith(c.opts), t);
      });
    };

    run("a third-party frame whose storage is blocked keeps its state in memory and still decides and sends", THIRD_PARTY_BLOCKED, async (engine, t) => {
      const s = site("3p-blocked");
      await publish(s);
      const st = await framed(engine, `${other}/storage.html?site=${s}`);
      assert.equal(st.storage, "memory", JSON.stringify(st));
      refused(st, ["indexeddb", "localstorage"]);
      await worksAnyway(t, engine, s, st, { locksRefused: true });
    });

    run("localStorage turned off: IndexedDB is used and the ruleset and events work without localStorage", LOCALSTORAGE_OFF, async (engine, t) => {
      const s = site("no-ls");
      await publish(s);
      const st = await state(engine, `${server.url}/storage.html?site=${s}`);
      assert.equal(st.storage, "indexeddb", JSON.stringify(st));
      await worksAnyway(t, engine, s, st);
      const again = await state(engine, `${server.url}/storage.html?site=${s}`);
      assert.equal(again.anonymousId, st.anonymousId, "the next page is the same shopper (IndexedDB kept the id)");
    });

    run("the site's storage blocked: state in memory, each page a new shopper, decisions and events still work", SITE_DATA_BLOCKED, async (engine, t) => {
      const s = site("blocked");
      await publish(s);
      const st = await state(engine, `${server.url}/storage.html?site=${s}`);
      assert.equal(st.storage, "memory", JSON.stringify(st));
      refused(st, ["indexeddb", "localstorage"]);
      await worksAnyway(t, engine, s, st, { locksRefused: true });
      const again = await state(engine, `${server.url}/storage.html?site=${s}`);
      assert.notEqual(again.anonymousId, st.anonymousId, "nothing kept the id");
    });

    run("private browsing: IndexedDB works there, and keeps the shopper from page to page of the session", PRIVATE, async (engine, t) => {
      const s = site("private");
      await publish(s);
      const st = await state(engine, `${server.url}/storage.html?site=${s}`);
      assert.equal(st.storage, "indexeddb", JSON.stringify(st));
      assert.deepEqual(st.problems, [], "nothing refused");
      if (st.gpc) {
        // Firefox's private windows send Global Privacy Control: an opt-out of sending
        // (respectGpc is true by default), so the event stays on the device.
        t.diagnostic(`${name}: Global Privacy Control is on in private browsing, so nothing is sent`);
        assert.equal(name, "firefox", "only Firefox turns GPC on in private windows");
        assert.deepEqual([st.sending, st.flush.sent, st.flush.pending], [false, 0, 1], JSON.stringify(st));
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(stored(s), [], "the server has nothing for the site");
      } else await worksAnyway(t, engine, s, st);
      const again = await state(engine, `${server.url}/storage.html?site=${s}`);
      assert.equal(again.anonymousId, st.anonymousId);
    });

    run("a third-party frame with partitioned storage uses IndexedDB, apart from the same site's own pages", THIRD_PARTY_PARTITIONED, async (engine, t) => {
      const s = site("3p-partitioned");
      await publish(s);
      const first = await state(engine, `${other}/storage.html?site=${s}`);
      assert.equal(first.storage, "indexeddb", JSON.stringify(first));
      const st = await framed(engine, `${other}/storage.html?site=${s}`);
      assert.equal(st.storage, "indexeddb", JSON.stringify(st));
      assert.notEqual(st.anonymousId, first.anonymousId, "the frame does not see the first-party storage of its site: another anonymous id");
      await worksAnyway(t, engine, s, st);
    });

    // Safari's private modes of the past, which no engine here has any more: simulated in the
    // page (storage.html?simulate=...) before the SDK loads, the same in every engine.
    const simulated = { chromium: { opts: {} }, firefox: { opts: {} }, webkit: { opts: {} } };
    for (const c of Object.values(simulated)) c.how = "simulated in the page";

    run("IndexedDB refusing to open (Safari's private mode before 14): localStorage is used and keeps the shopper", simulated, async (engine, t) => {
      const s = site("idb-error");
      await publish(s);
      const url = `${server.url}/storage.html?site=${s}&simulate=idb-error`;
      const st = await state(engine, url);
      assert.equal(st.storage, "localstorage", JSON.stringify(st));
      assert.deepEqual(st.problems, ["indexeddb: An internal error was encountered in the Indexed Database server"]);
      await worksAnyway(t, engine, s, st);
      const again = await state(engine, url);
      assert.equal(again.anonymousId, st.anonymousId, "the next page is the same shopper (localStorage kept the id)");
    });

    run("IndexedDB refused and localStorage full at 0 bytes (Safari's private mode before 11): memory", simulated, async (engine, t) => {
      const s = site("idb-ls");
      await publish(s);
      const url = `${server.url}/storage.html?site=${s}&simulate=idb-error,ls-quota`;
      const st = await state(engine, url);
      assert.equal(st.storage, "memory", JSON.stringify(st));
      assert.deepEqual(st.problems, [
        "indexeddb: An internal error was encountered in the Indexed Database server",
        "localstorage: The quota has been exceeded.",
        "ruleset: could not be cached (storage full?)",
      ]);
      await worksAnyway(t, engine, s, st);
    });
  });
}
