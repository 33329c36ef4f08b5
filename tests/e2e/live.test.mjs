// Live ruleset updates end to end: the built SDK in headless Chromium against the real
// `tailor serve` (and, for a tampered stream, a small fake server). Every wait is bounded and
// fails with a message; every page and server is closed at the end.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { launchBrowser, newPage, startServer } from "./harness.mjs";

const PAGES = join(import.meta.dirname, "pages");
const TOKEN = "live-test-admin-token";
const PKG = process.env.TAILOR_PKG ? ["--pkg", process.env.TAILOR_PKG] : [];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const ruleset = (id) => ({
  version: 1,
  placements: { home: { limit: 1 } },
  offers: [{ id, placements: ["home"], priority: 1, content: { title: id } }],
});

async function publish(server, site, doc) {
  const r = await fetch(`${server.url}/v1/admin/rulesets/${site}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(doc),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text);
}

async function publicKey(server) {
  return (await (await fetch(server.url + "/v1/keys")).json()).keys[0].publicKey;
}

/** Polls `f()` (from Node, so a faked page clock does not matter) until truthy or `ms` ran out. */
async function until(f, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function open(page, base, params) {
  await page.goto(base + "/live.html?" + new URLSearchParams(params));
  try {
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  } catch {
    const text = await page.evaluate(() => document.body.innerText).catch((e) => String(e));
    throw new Error("the page did not get ready: " + text + "\n" + page.problems.join("\n"));
  }
}

const streamOpened = (server, site) =>
  until(() => server.logs.join("").includes(`"path":"/v1/rulesets/${site}/stream","status":200`), 10000, "the stream opened");

describe("live updates", () => {
  test("a publish reaches an open tab within 2 s: on(\"ruleset\") fires and decide() uses it", { timeout: 120000 }, async () => {
    const server = await startServer([...PKG, "--admin-token", TOKEN], { www: PAGES });
    try {
      await publish(server, "live", ruleset("one"));
      const page = await newPage(browser);
      await open(page, server.url, { site: "live", key: await publicKey(server), consent: "granted" });
      assert.deepEqual(await page.evaluate(() => window.readyState), { version: 1, error: null });
      await streamOpened(server, "live");
      const offer = () => page.evaluate(() => T.decide({}, { record: false }).placements.home.offers[0].offerId);
      assert.equal(await offer(), "one");
      const latencies = [];
      for (const [i, id] of ["two", "three", "four"].entries()) {
        const started = Date.now();
        await publish(server, "live", ruleset(id));
        const seen = await until(
          () => page.evaluate((v) => window.rulesets.find((r) => r.version === v), i + 2),
          2000,
          `version ${i + 2} reaching the tab`,
        );
        latencies.push(seen.at - started);
        assert.equal(await offer(), id, "decide() uses the new version");
        assert.equal(await page.evaluate(() => T.status.rulesetVersion), i + 2);
      }
      console.log("publish -> on(ruleset) in the tab, ms:", latencies.join(", "));
      assert.ok(Math.max(...latencies) < 2000, String(latencies));
      // The stream's envelope was cached like a fetched one, for the next page.
      const cached = await page.evaluate(() => JSON.parse(localStorage.getItem("tailor:live:ruleset")));
      assert.equal(cached.version, 4);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  test("a tampered envelope on the stream is refused and the last good one stays", { timeout: 120000 }, async () => {
    const server = await startServer([...PKG, "--admin-token", TOKEN, "--cors-origin", "*"], { www: PAGES });
    // A stand-in endpoint: the real server's GET, and a stream the test writes to.
    const streams = new Set();
    const fake = createServer(async (req, res) => {
      const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "if-none-match", "access-control-expose-headers": "etag" };
      if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
      if (req.url.startsWith("/v1/rulesets/live/stream")) {
        res.writeHead(200, { ...cors, "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write("retry: 60000\n\n");
        streams.add(res);
        req.on("close", () => streams.delete(res));
        return;
      }
      if (req.url.startsWith("/v1/rulesets/live")) {
        const r = await fetch(server.url + "/v1/rulesets/live");
        return res.writeHead(r.status, { ...cors, "content-type": "application/json", etag: r.headers.get("etag") }).end(await r.text());
      }
      res.writeHead(404, cors).end();
    });
    await new Promise((r) => fake.listen(0, "127.0.0.1", r));
    const push = (envelope, id) => {
      for (const s of streams) s.write(`event: ruleset\nid: ${id}\ndata: ${JSON.stringify(envelope)}\n\n`);
    };
    try {
      await publish(server, "live", ruleset("one"));
      const page = await newPage(browser);
      const endpoint = `http://127.0.0.1:${fake.address().port}`;
      await open(page, server.url, { site: "live", key: await publicKey(server), endpoint });
      assert.equal(await page.evaluate(() => T.status.rulesetVersion), 1);
      await until(() => streams.size > 0, 10000, "the tab opening the stream");

      const good = await publish(server, "live", ruleset("two"));
      const tampered = { ...good, ruleset: ruleset("evil") };
      push(tampered, "t-1");
      const problem = await until(
        () => page.evaluate(() => T.status.problems.find((p) => p.includes("live update"))),
        5000,
        "the refusal in status.problems",
      );
      assert.match(problem, /refused version 2: the signature does not match the pinned public key/);
      assert.equal(await page.evaluate(() => T.status.rulesetVersion), 1, "the last good one stays");
      assert.ok(!(await page.evaluate(() => window.rulesets.some((r) => r.version === 2))), "no listener told of it");
      // Another site's envelope, even correctly signed, is refused too.
      const other = await publish(server, "live-other", ruleset("x"));
      push(other, "t-2");
      await until(() => page.evaluate(() => T.status.problems.some((p) => p.includes("another site"))), 5000, "another site refused");
      // The genuine envelope is taken.
      push(good, "t-3");
      await until(() => page.evaluate(() => window.rulesets.some((r) => r.version === 2)), 5000, "the genuine version 2");
      assert.equal(await page.evaluate(() => T.decide({}, { record: false }).placements.home.offers[0].offerId), "two");
      await page.context().close();
    } finally {
      for (const s of streams) s.end();
      await new Promise((r) => fake.close(r));
      await server.stop();
    }
  });

  test("without EventSource, ETag polling every 60 s while visible takes over", { timeout: 120000 }, async () => {
    const server = await startServer([...PKG, "--admin-token", TOKEN], { www: PAGES });
    try {
      await publish(server, "live", ruleset("one"));
      const page = await newPage(browser);
      await page.clock.install();
      await open(page, server.url, { site: "live", key: await publicKey(server), noes: 1 });
      assert.equal(await page.evaluate(() => T.status.rulesetVersion), 1);
      await publish(server, "live", ruleset("two"));
      await page.clock.runFor(30000);
      assert.equal(await page.evaluate(() => T.status.rulesetVersion), 1, "no poll before 60 s");
      await page.clock.runFor(31000);
      await until(() => page.evaluate(() => window.rulesets.some((r) => r.version === 2)), 5000, "the poll bringing version 2");
      assert.equal(await page.evaluate(() => T.decide({}, { record: false }).placements.home.offers[0].offerId), "two");
      // A poll with nothing new is a 304; no stream was ever asked for.
      await page.clock.runFor(61000);
      await until(() => server.logs.join("").includes(`"path":"/v1/rulesets/live","status":304`), 5000, "a 304 poll");
      assert.ok(!server.logs.join("").includes("/stream"), "no stream without EventSource");
      await page.context().close();
    } finally {
      await server.stop();
    }
  });

  test("ready() on a first visit waits for the fetch and never hangs; no stream unless asked for", { timeout: 120000 }, async () => {
    const server = await startServer([...PKG, "--admin-token", TOKEN], { www: PAGES });
    try {
      const key = await publicKey(server);
      const page = await newPage(browser);
      await open(page, server.url, { site: "nothing", key, live: 0 });
      const state = await page.evaluate(() => window.readyState);
      assert.equal(state.version, null);
      assert.match(state.error, /none is published for site nothing/);
      assert.equal(await page.evaluate(() => T.status.rulesetVersion), null);
      // A server that never answers: ready() resolves at its timeout.
      const silent = createServer(() => {});
      await new Promise((r) => silent.listen(0, "127.0.0.1", r));
      try {
        const endpoint = `http://127.0.0.1:${silent.address().port}`;
        const waited = await page.evaluate(async ([endpoint, publicKey]) => {
          const { Tailor } = await import("@tailor-sdk/tailor");
          const t = await Tailor.init({ site: "silent", endpoint, publicKey });
          const started = performance.now();
          const r = await t.ready({ timeout: 300 });
          return { ...r, ms: performance.now() - started };
        }, [endpoint, key]);
        assert.equal(waited.version, null);
        assert.match(waited.error, /no ruleset within 300 ms/);
        assert.ok(waited.ms < 2000, String(waited.ms));
      } finally {
        silent.closeAllConnections();
        await new Promise((r) => silent.close(r));
      }
      await page.context().close();
      assert.ok(!server.logs.join("").includes("/stream"), "liveUpdates off: no stream");
    } finally {
      await server.stop();
    }
  });
});
