// Browser-side hardening (issue 9), in headless Chromium against the real `tailor serve`:
// nothing is lost to a proxy's or a WAF's 4xx. Counts come from the server's SQLite file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { request as httpRequest, createServer } from "node:http";
import { join } from "node:path";
import { launchBrowser, newPage, readStore, startServer, until } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const PKG = process.env.TAILOR_PKG ? ["--pkg", process.env.TAILOR_PKG] : [];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

function storedIds(server, site) {
  const out = execFileSync("sqlite3", ["-readonly", join(server.dir, ".tailor/tailor.db"), `SELECT id FROM events WHERE site = '${site}'`], {
    encoding: "utf8",
  });
  return out.split("\n").filter(Boolean);
}

/**
 * A real HTTP proxy on 127.0.0.1 in front of `upstream`: forwards everything, except that
 * while `refuse` is set it answers POST /v1/events itself with that status (a WAF, a deploy).
 */
async function startProxy(upstream) {
  const target = new URL(upstream);
  const proxy = { refuse: 0, refused: 0, forwarded: 0, seen: [] };
  const server = createServer((req, res) => {
    if (!req.url.startsWith("/v1/events")) {
      const entry = { method: req.method, url: req.url, token: req.headers["x-tailor-identity-token"] || null, body: "" };
      proxy.seen.push(entry);
      req.on("data", (d) => (entry.body += d));
    }
    if (proxy.refuse && req.method === "POST" && req.url.startsWith("/v1/events")) {
      req.resume();
      req.on("end", () => {
        proxy.refused++;
        res.writeHead(proxy.refuse, { "content-type": "text/html" });
        res.end("<h1>Request blocked by the firewall</h1>");
      });
      return;
    }
    proxy.forwarded++;
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  proxy.url = "http://127.0.0.1:" + server.address().port;
  proxy.stop = () => new Promise((ok) => server.close(ok));
  return proxy;
}

describe("nothing lost", () => {
  test("5,000 queued events, 60 s of HTTP 403 from a proxy, then recovery: 0 lost", { timeout: 480000 }, async () => {
    const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
    const proxy = await startProxy(server.url);
    try {
      const page = await newPage(browser);
      proxy.refuse = 403;
      const refusedFrom = Date.now();
      await page.goto(proxy.url + "/sync.html?" + new URLSearchParams({ site: "waf", flush: 1000 }));
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const ids = await page.evaluate(async () => {
        const ids = [];
        for (let i = 0; i < 5000; i += 100) {
          const chunk = [];
          for (let j = i; j < i + 100; j++) chunk.push(T.track("page_view", { path: "/p/" + j }));
          ids.push(...(await Promise.all(chunk)));
        }
        return ids;
      });
      assert.equal(new Set(ids.filter(Boolean)).size, 5000, "5,000 events tracked");
      // 60 s of refusals: the SDK keeps trying (with backoff) and keeps every event.
      await until(() => Date.now() - refusedFrom >= 60000, 70000, 500);
      const during = await page.evaluate(() => ({ stats: T.syncStats, problems: T.status.problems }));
      const outbox = await readStore(page, "tailor:waf", "outbox");
      const refusedRequests = proxy.refused;
      assert.ok(refusedRequests >= 2, "the SDK retried during the refusals: " + refusedRequests);
      assert.equal(outbox.length, 5000, "every event is still in the outbox after 60 s of 403");
      assert.equal(during.stats.deadLettered, 0, "nothing dead-lettered");
      assert.ok(
        during.problems.some((p) => p.includes("HTTP 403") && p.includes("kept")),
        "status.problems says the batch was refused and kept: " + JSON.stringify(during.problems),
      );
      assert.equal(storedIds(server, "waf").length, 0, "the proxy let nothing through");

      // Recovery: the SDK's own backoff timer (at most 5 min) brings everything through.
      proxy.refuse = 0;
      const recoveredFrom = Date.now();
      const done = await until(() => storedIds(server, "waf").length >= 5000, 360000, 500);
      const recoverMs = Date.now() - recoveredFrom;
      const stored = storedIds(server, "waf");
      const lost = ids.filter((id) => !stored.includes(id)).length;
      const stats = await page.evaluate(() => T.syncStats);
      console.log(
        `# nothing lost: 5000 events, ${refusedRequests} batches refused with 403 over 60 s, ` +
          `recovered in ${(recoverMs / 1000).toFixed(1)} s by the backoff timer; stored ${stored.length}, lost ${lost}, ` +
          `dead-lettered ${stats.deadLettered}, given up ${stats.givenUp}`,
      );
      assert.ok(done, "all stored after recovery");
      assert.equal(lost, 0);
      assert.equal(stored.length, 5000, "each stored once");
      assert.equal(stats.deadLettered, 0);
      await until(async () => (await readStore(page, "tailor:waf", "outbox")).length === 0, 20000, 250);
      assert.equal((await readStore(page, "tailor:waf", "outbox")).length, 0, "the outbox is empty");
      await page.context().close();
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});

describe("identity", () => {
  test("identify without a valid token merges nothing and says so; the token is sent; reset() starts a new shopper", { timeout: 120000 }, async () => {
    const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
    const proxy = await startProxy(server.url);
    try {
      const open = async () => {
        const page = await newPage(browser);
        await page.goto(proxy.url + "/sync.html?" + new URLSearchParams({ site: "ident", flush: 1000 }));
        await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
        return page;
      };
      // The victim's browser: identified as "victim", with history on the server.
      const victim = await open();
      await victim.evaluate(async () => {
        await T.identify("victim", { traits: { email: "victim@example.com" } });
        for (let i = 0; i < 5; i++) await T.track("product_view", { sku: "SECRET-" + i });
        await T.flush();
      });
      // The attacker claims the user id with a forged token: nothing of the victim arrives.
      const attacker = await open();
      const seen = await attacker.evaluate(async () => {
        await T.identify("victim", { token: "v1.9999999999.forged" });
        const p = T.profile();
        return { views: p.events.product_view.count, traits: p.traits, problems: T.status.problems };
      });
      const identify = proxy.seen.filter((r) => r.url.startsWith("/v1/identify")).map((r) => JSON.parse(r.body));
      console.log(`# identity: unverified identify merged ${seen.views} of the victim's 5 events and traits ${JSON.stringify(seen.traits)}`);
      assert.equal(seen.views, 0, "no event of the victim merged");
      assert.equal(seen.traits.email, undefined, "no trait of the victim merged");
      assert.ok(seen.problems.some((p) => p.includes("did not verify")), JSON.stringify(seen.problems));
      assert.equal(identify.at(-1).token, "v1.9999999999.forged", "the token goes in the identify body");
      assert.equal(identify[0].token, undefined, "no token when none was given");

      // reset(): logout on a shared device.
      const before = await victim.evaluate(() => T.status.anonymousId);
      const after = await victim.evaluate(async () => {
        await T.reset();
        const p = T.profile();
        return { anonymousId: T.status.anonymousId, userId: T.status.userId, views: p.events.product_view.count, traits: p.traits };
      });
      assert.notEqual(after.anonymousId, before, "a new anonymous id");
      assert.equal(after.userId, null);
      assert.equal(after.views, 0, "no history");
      assert.deepEqual(after.traits, {});
      await victim.reload();
      await victim.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const reloaded = await victim.evaluate(() => ({ anonymousId: T.status.anonymousId, userId: T.status.userId, views: T.profile().events.product_view.count }));
      assert.deepEqual(reloaded, { anonymousId: after.anonymousId, userId: null, views: 0 }, "the reset survives a reload");
      console.log(`# identity: reset() gave a new anonymous id, 0 events and no user id (also after reload)`);

      // forget() after identify with a token: both erasures, the user's with the token header.
      proxy.seen.length = 0;
      const anon = await attacker.evaluate(() => T.status.anonymousId);
      await attacker.evaluate(async () => {
        await T.identify("shopper-2", { token: "v1.9999999999.tok2" });
        await T.forget();
      });
      const deletes = proxy.seen.filter((r) => r.method === "DELETE");
      assert.ok(deletes.some((r) => r.url.startsWith("/v1/profiles/" + anon + "?site=ident") && !r.url.includes("kind=user")), JSON.stringify(deletes));
      assert.ok(
        deletes.some((r) => r.url.startsWith("/v1/profiles/shopper-2?site=ident&kind=user") && r.token === "v1.9999999999.tok2"),
        JSON.stringify(deletes),
      );
      await victim.context().close();
      await attacker.context().close();
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });

  test("forget() sends the erasure even when localStorage refuses every write, and says so", { timeout: 60000 }, async () => {
    const server = await startServer([...PKG, "--rate-limit", "0"], { www: PAGES });
    const proxy = await startProxy(server.url);
    try {
      const page = await newPage(browser);
      await page.goto(proxy.url + "/sync.html?" + new URLSearchParams({ site: "full", flush: 1000 }));
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const anon = await page.evaluate(() => T.status.anonymousId);
      const problems = await page.evaluate(async () => {
        Storage.prototype.setItem = () => {
          throw new DOMException("quota", "QuotaExceededError");
        };
        await T.forget();
        return T.status.problems;
      });
      const deletes = proxy.seen.filter((r) => r.method === "DELETE" && r.url.startsWith("/v1/profiles/" + anon));
      console.log(`# forget with localStorage full: ${deletes.length} erasure request(s) sent`);
      assert.equal(deletes.length, 1, "the erasure reached the server");
      assert.ok(problems.some((p) => p.includes("localStorage refused")), JSON.stringify(problems));
      await page.context().close();
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});

describe("fail-open", () => {
  test("a trap inside an async method settles its promise with the default answer", { timeout: 60000 }, async () => {
    const server = await startServer([...PKG], { www: PAGES });
    try {
      const page = await newPage(browser);
      await page.goto(server.url + "/sync.html?" + new URLSearchParams({ site: "trap" }));
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const out = await page.evaluate(async () => {
        await T.track("page_view", {});
        // The core's clock import throws a RuntimeError (what a trap is) inside track's task.
        const now = Date.now;
        Date.now = () => {
          throw new WebAssembly.RuntimeError("simulated trap");
        };
        const timeout = new Promise((ok) => setTimeout(() => ok("never settled"), 5000));
        const answer = await Promise.race([T.track("page_view", {}), timeout]);
        Date.now = now;
        const after = await Promise.race([T.identify("u"), timeout]);
        return { answer, after: after === undefined ? "undefined" : after, ready: T.status.ready, problems: T.status.problems };
      });
      console.log(`# fail-open: track during a trap answered ${JSON.stringify(out.answer)}; then ready=${out.ready}`);
      assert.equal(out.answer, null, "track settled with its default answer");
      assert.equal(out.after, "undefined", "later calls answer with defaults");
      assert.equal(out.ready, false);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});

describe("rulesets", () => {
  test("a tampered cache is verified again and refused; the version floor outlives the cache", { timeout: 90000 }, async () => {
    const ADMIN = "security-test-admin-token";
    const server = await startServer([...PKG, "--admin-token", ADMIN], { www: PAGES });
    try {
      const publish = async (ruleset) => {
        const r = await fetch(server.url + "/v1/admin/rulesets/sec", {
          method: "POST",
          headers: { authorization: "Bearer " + ADMIN, "content-type": "application/json" },
          body: JSON.stringify(ruleset),
        });
        const text = await r.text();
        assert.equal(r.status, 201, text);
        return JSON.parse(text);
      };
      const key = (await (await fetch(server.url + "/v1/keys")).json()).keys[0].publicKey;
      const v1 = await publish({ version: 1, id: "first", placements: {}, offers: [] });
      await publish({ version: 1, id: "second", placements: {}, offers: [] });
      const page = await newPage(browser);
      const url = server.url + "/sync.html?" + new URLSearchParams({ site: "sec", key });
      await page.goto(url);
      await page.waitForFunction(() => window.ready === true && T.status.rulesetVersion === 2, null, { timeout: 20000 });

      // Something on the origin rewrites the cached envelope; the server is unreachable.
      await page.evaluate(() => {
        const env = JSON.parse(localStorage.getItem("tailor:sec:ruleset"));
        env.ruleset.id = "evil";
        localStorage.setItem("tailor:sec:ruleset", JSON.stringify(env));
      });
      await page.route("**/v1/rulesets/sec", (route) => route.abort());
      await page.reload();
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const tampered = await page.evaluate(() => ({ version: T.status.rulesetVersion, problems: T.status.problems }));
      assert.equal(tampered.version, null, "the tampered cache is not used");
      assert.ok(tampered.problems.some((p) => p.includes("refused the cached version")), JSON.stringify(tampered.problems));

      // No cache at all now; the older signed version 1 (within its lifetime) is replayed.
      assert.equal(await page.evaluate(() => localStorage.getItem("tailor:sec:ruleset")), null, "the bad cache was dropped");
      await page.unroute("**/v1/rulesets/sec");
      await page.route("**/v1/rulesets/sec", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(v1) }));
      const replay = await page.evaluate(() => T.refreshRuleset());
      console.log(`# rulesets: tampered cache used: ${tampered.version !== null}; version 1 replayed without a cache: ${JSON.stringify(replay)}`);
      assert.equal(replay.version, null, "version 1 is refused");
      assert.match(replay.error, /refused version 1, older than version 2 accepted before/);
      // The genuine version 2 is taken again.
      await page.unroute("**/v1/rulesets/sec");
      const again = await page.evaluate(() => T.refreshRuleset());
      assert.deepEqual(again, { version: 2, changed: true, error: null });
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});

describe("bounded outbox", () => {
  test("consent granted but sending off (GPC): the outbox keeps the newest 1,000 and counts the drops", { timeout: 90000 }, async () => {
    const server = await startServer([...PKG], { www: PAGES });
    try {
      const page = await newPage(browser);
      await page.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
      await page.goto(server.url + "/sync.html?" + new URLSearchParams({ site: "gpc" }));
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      const out = await page.evaluate(async () => {
        const ids = [];
        for (let i = 0; i < 1200; i++) ids.push(await T.track("page_view", { path: "/p/" + i }));
        return { ids, sending: T.status.sending, gpc: T.status.gpc };
      });
      // The bound runs once per burst, after the burst's events are committed: wait for it.
      await page.waitForFunction(() => T.status.dropped >= 200, null, { timeout: 20000 });
      out.dropped = await page.evaluate(() => T.status.dropped);
      const outbox = await readStore(page, "tailor:gpc", "outbox");
      const kept = new Set(outbox.map((e) => e.id));
      console.log(`# bounded outbox: 1200 tracked with GPC, ${outbox.length} kept, ${out.dropped} dropped (oldest first)`);
      assert.equal(out.sending, false);
      assert.equal(out.gpc, true);
      assert.equal(outbox.length, 1000);
      assert.equal(out.dropped, 200);
      assert.ok(out.ids.slice(200).every((id) => kept.has(id)), "the newest 1,000 are kept");
      assert.ok(out.ids.slice(0, 200).every((id) => !kept.has(id)), "the oldest 200 are dropped");
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});
