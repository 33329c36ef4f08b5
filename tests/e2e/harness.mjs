// Shared pieces of the end-to-end tests: the real `tailor serve` on 127.0.0.1 (and reading its
// SQLite file), a proxy in front of it for network faults and a page policy, headless Chromium
// driven by playwright-core, and the three engines behind one small driver (`openEngine`).
// Everything started here is stopped by `stop()` / `close()`.
import { execFileSync, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = process.env.TAILOR_BIN || join(ROOT, "target/debug/tailor");

/** The identity secret of every site of the servers `startServer` starts (unless told otherwise). */
export const IDENTITY_SECRET = "e2e-identity-secret-0123456789";

/**
 * An identity token for `userId` on `site`, made as a shop's backend makes it (docs/api.md):
 * `v1.<exp>.<base64url HMAC-SHA256(secret, "tailor-identity-v1\n<site>\n<userId>\n<exp>")>`.
 */
export function identityToken(site, userId, { secret = IDENTITY_SECRET, ttl = 3600 } = {}) {
  const exp = Math.floor(Date.now() / 1000) + ttl;
  const sig = createHmac("sha256", secret).update(`tailor-identity-v1\n${site}\n${userId}\n${exp}`).digest("base64url");
  return `v1.${exp}.${sig}`;
}

/**
 * The fenced ```lang code blocks of a Markdown document, in order, each with the title of the
 * `## ` section it is in: [{ section, code }]. The docs tests run what this finds.
 */
export function codeBlocks(markdown, lang) {
  return markdown.split(/^## /m).flatMap((part, i) => {
    const section = i === 0 ? "" : part.slice(0, part.indexOf("\n"));
    return [...part.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => ({ section, code: m[1] }));
  });
}

/** A version 7 UUID (the event ids the server accepts) for the time `ms`. */
export function uuid7(ms) {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Starts `tailor serve` on a free port in a scratch directory; resolves to
 * { url, dir, logs, halt(), resume(), stop() }. `halt()` stops the process and `resume()` starts
 * it again on the same directory (its database and signing key), on a new port: `url` follows.
 */
export async function startServer(extraArgs = [], { www = join(ROOT, "www") } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tailor-e2e-"));
  const secret = extraArgs.includes("--identity-secret") ? [] : ["--identity-secret", `*=${IDENTITY_SECRET}`];
  const args = ["serve", "--addr", "127.0.0.1:0", "--www", www, "--pkg", join(ROOT, "pkg"), ...secret, ...extraArgs];
  const logs = [];
  let child = null;
  const launch = () => {
    child = spawn(BIN, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const mine = child;
    const from = logs.length;
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error("server did not start in 20 s:\n" + logs.join(""))), 20000);
      const onData = (d) => {
        logs.push(String(d));
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(logs.slice(from).join(""));
        if (m) {
          clearTimeout(timer);
          ok(m[1]);
        }
      };
      mine.stdout.on("data", onData);
      mine.stderr.on("data", onData);
      mine.on("exit", (code) => fail(new Error("server exited with " + code + ":\n" + logs.join(""))));
    });
  };
  const halt = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const c = child;
    c.kill("SIGTERM");
    await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on("exit", r)));
  };
  const server = {
    url: await launch(),
    logs,
    dir,
    halt,
    async resume() {
      await halt();
      server.url = await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * Publishes `ruleset` for `site` through the admin API (the server signs it); resolves to the
 * server's answer (`{ version, sanitised, ... }`), or rejects with its status and message.
 */
export async function publishRuleset(server, token, site, ruleset) {
  const r = await fetch(`${server.url}/v1/admin/rulesets/${encodeURIComponent(site)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(ruleset),
  });
  const text = await r.text();
  if (r.status !== 201) throw new Error(`publishing a ruleset for ${site}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** The events the server stored for `site`, read from its SQLite file: [{ id, type }] by id. */
export function storedEvents(server, site) {
  const db = join(server.dir, ".tailor/tailor.db");
  if (!existsSync(db)) return [];
  const quoted = "'" + String(site).replaceAll("'", "''") + "'";
  const out = execFileSync("sqlite3", ["-readonly", "-json", db, `SELECT id, type FROM events WHERE site = ${quoted} ORDER BY id`], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out) : [];
}

/** Polls (in Node) until `f()` is truthy or `ms` ran out; resolves to the last value. */
export async function until(f, ms = 15000, step = 100) {
  const end = Date.now() + ms;
  let v = await f();
  while (!v && Date.now() < end) {
    await new Promise((r) => setTimeout(r, step));
    v = await f();
  }
  return v;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `server` (following its `url` across `resume()`), for
 * what a test does to the network between the page and the server, in any engine:
 * - `policy`: a Content-Security-Policy header added to every HTML answer (a string, or a
 *   function called per answer that gives the header or null for none);
 * - `answer(req, res)`: called first for every request; when it returns true it has answered
 *   the request itself and nothing goes to the server (a test's own file, a refused path);
 * - `down = true`: every request gets its connection closed unanswered (an offline spell);
 * - `holdNext()`: the next `POST /v1/events` the server answers 200 is stored by the server
 *   but its answer never reaches the page; resolves to that batch's record once it is held.
 * `posts` records every `POST /v1/events`: `{ site, ids, status, outcome }`, outcome
 * "answered", "dropped" (down), "held", or "no server" (the server was not there).
 */
export async function startProxy(server, { policy = null, answer = null } = {}) {
  const { createServer, request } = await import("node:http");
  const held = new Set();
  let holding = null;
  const proxy = {
    url: "",
    down: false,
    posts: [],
    holdNext() {
      return new Promise((ok) => (holding = ok));
    },
    async close() {
      for (const res of held) res.destroy();
      http.closeAllConnections();
      await new Promise((ok) => http.close(ok));
    },
  };
  const http = createServer((req, res) => {
    if (answer?.(req, res)) return;
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let post = null;
      if (req.method === "POST" && req.url.split("?")[0] === "/v1/events") {
        post = { site: null, ids: [], status: null, outcome: null };
        try {
          const batch = JSON.parse(body.toString("utf8"));
          post.site = batch.site;
          post.ids = batch.events.map((e) => e.id);
        } catch {
          // A body the test cannot read counts as no ids; the server's count still decides.
        }
        proxy.posts.push(post);
      }
      if (proxy.down) {
        if (post) post.outcome = "dropped";
        return req.socket.destroy();
      }
      const target = new URL(server.url);
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        if (post) post.status = r.statusCode;
        if (post && holding && r.statusCode === 200) {
          // Stored by the server; the page never hears so. The page's navigation cancels it.
          post.outcome = "held";
          held.add(res);
          r.resume();
          const ok = holding;
          holding = null;
          return r.on("end", () => ok(post));
        }
        const headers = { ...r.headers };
        const csp = typeof policy === "function" ? policy() : policy;
        if (csp && String(headers["content-type"] || "").startsWith("text/html")) headers["content-security-policy"] = csp;
        res.writeHead(r.statusCode, headers);
        r.pipe(res);
        if (post) post.outcome = "answered";
      });
      up.on("error", () => {
        if (post) post.outcome = "no server";
        res.destroy();
      });
      up.end(body);
    });
  });
  await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
  proxy.url = `http://127.0.0.1:${http.address().port}`;
  return proxy;
}

/** Headless Chromium; `extraArgs` are command-line switches added to the usual ones. */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/** A new page that records console errors and uncaught exceptions into `page.problems`. */
export async function newPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => {
    if (!["error", "warning", "assert"].includes(m.type())) return;
    // A failed load's message does not name the resource: its location does.
    const at = m.location() && m.location().url;
    // Chromium asks for /favicon.ico by itself on a page that is not HTML (the tests open
    // /favicon.svg to reach the origin without the SDK), and its 404 may be reported a
    // while later: the browser's own request, not the page's.
    if (/Failed to load resource/.test(m.text()) && at && new URL(at).pathname === "/favicon.ico") return;
    page.problems.push(m.type() + ": " + m.text() + (at && /Failed to load resource/.test(m.text()) ? " (" + at + ")" : ""));
  });
  page.on("pageerror", (e) => page.problems.push("pageerror: " + e.message));
  return page;
}

/** Reads every record of an object store, straight from IndexedDB (JSON-parsed). */
export function readStore(page, db, store) {
  return page.evaluate(
    ([db, store]) =>
      new Promise((ok, fail) => {
        const r = indexedDB.open(db);
        r.onerror = () => fail(r.error);
        r.onsuccess = () => {
          const d = r.result;
          if (!d.objectStoreNames.contains(store)) {
            d.close();
            return ok([]);
          }
          const g = d.transaction(store).objectStore(store).getAll();
          g.onsuccess = () => {
            d.close();
            // An outbox record holds the events of one burst, one JSON text per line.
            const texts = store === "outbox" ? g.result.flatMap((s) => s.split("\n").filter(Boolean)) : g.result;
            ok(texts.map((s) => JSON.parse(s)));
          };
          g.onerror = () => fail(g.error);
        };
      }),
    [db, store],
  );
}

/** Events the server stored (its default SQLite file in the scratch directory): [{id, type, body}]. */
export function serverEvents(server) {
  const db = join(server.dir, ".tailor/tailor.db");
  if (!existsSync(db)) return [];
  const out = execFileSync("sqlite3", ["-json", db, "SELECT id, type, body FROM events ORDER BY id"], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out).map((r) => ({ ...JSON.parse(r.body), id: r.id, type: r.type })) : [];
}

/** Waits until `find(events)` is true for the events in the page's outbox plus the server's. */
export async function waitForEvents(page, server, db, find, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let events = [];
  while (Date.now() < deadline) {
    // An event in flight is in both places: count it once.
    const byId = new Map([...(await readStore(page, db, "outbox")), ...serverEvents(server)].map((e) => [e.id, e]));
    events = [...byId.values()];
    if (find(events)) return events;
    await page.waitForTimeout(100);
  }
  return events;
}

// --- Other engines ---------------------------------------------------------------------------
// One small driver over the three engines of the tests: Chromium (playwright-core, as above),
// Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK (WebKitWebDriver over classic
// W3C WebDriver HTTP, its MiniBrowser on an Xvfb display the driver starts). Every step is
// bounded; `close()` stops everything that was started, and so does a failed start.

export const ENGINES = ["chromium", "firefox", "webkit"];

/** Rejects with `what` when `promise` has not settled in `ms`. */
function bounded(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(what + ": no answer in " + ms + " ms")), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** The source of a call of `fn` (a function or its source) with JSON arguments, as an expression. */
function callSource(fn, args) {
  return "(" + String(fn) + ")(..." + JSON.stringify(args) + ")";
}

// Process groups started here and not yet stopped. They are detached (their own group, so
// that stopping one stops what it started), so they would outlive this process: if it exits
// before `close()` (an uncaught error, process.exit), they are killed on the way out. A
// signal (a CI time limit's SIGTERM, Ctrl-C) ends Node without its "exit" event, so while
// groups run, those signals exit through it (with the shell's 128 + signal number).
const groups = new Set();
let exitHook = false;
function track(child) {
  groups.add(child);
  child.once("exit", () => groups.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const c of groups) {
        try {
          process.kill(-c.pid, "SIGKILL");
        } catch {}
      }
    });
    for (const [signal, n] of [["SIGTERM", 15], ["SIGINT", 2], ["SIGHUP", 1]]) {
      process.once(signal, () => process.exit(128 + n));
    }
  }
  return child;
}

/** Stops a process started with `detached: true` and everything it started (its process group). */
async function stopGroup(child, ms = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
  const t = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }, ms);
  await gone;
  clearTimeout(t);
}

async function freePort() {
  const { createServer } = await import("node:net");
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Opens `name` ("chromium" | "firefox" | "webkit") with one fresh page (a fresh profile):
 * `{ name, version, goto(url), evaluate(fnOrSource, ...args), screenshot(path), problems, close() }`.
 * `evaluate` runs the function in the page with JSON arguments and resolves to its (awaited,
 * JSON) result. `problems` collects console errors and uncaught exceptions where the engine's
 * driver reports them (not WebKitWebDriver: there it stays empty).
 * `args` are command-line arguments added to the browser's (Chromium's switches, Firefox's
 * options, MiniBrowser's options such as `--private`); `prefs` are Firefox preferences
 * (`about:config`), refused for the other engines.
 */
export async function openEngine(name, { timeoutMs = 60000, args = [], prefs } = {}) {
  if (prefs && name !== "firefox") throw new Error(`openEngine: prefs are Firefox preferences, ${name} has none`);
  if (name === "chromium") return openChromium(timeoutMs, args);
  if (name === "firefox") return openFirefox(timeoutMs, args, prefs || {});
  if (name === "webkit") return openWebKit(timeoutMs, args);
  throw new Error("openEngine: unknown engine " + name);
}

async function openChromium(timeoutMs, args) {
  const browser = await bounded(launchBrowser(args), timeoutMs, "chromium: launch");
  try {
    const page = await newPage(browser);
    return {
      name: "chromium",
      version: browser.version(),
      problems: page.problems,
      goto: (url) => page.goto(url, { timeout: timeoutMs }).then(() => {}),
      evaluate: (fn, ...args) => bounded(page.evaluate(callSource(fn, args)), timeoutMs, "chromium: evaluate"),
      screenshot: (path) => bounded(page.screenshot({ path }), timeoutMs, "chromium: screenshot").then(() => {}),
      close: () => bounded(browser.close(), timeoutMs, "chromium: close").catch(() => {}),
    };
  } catch (e) {
    await browser.close().catch(() => {});
    throw e;
  }
}

async function openFirefox(timeoutMs, args, prefs) {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    browser: "firefox",
    protocol: "webDriverBiDi",
    executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
    headless: true,
    timeout: timeoutMs,
    protocolTimeout: timeoutMs,
    args,
    // No update checks, telemetry or first-run pages: only the page's own requests.
    extraPrefsFirefox: { "app.update.enabled": false, "datareporting.policy.dataSubmissionEnabled": false, "browser.shell.checkDefaultBrowser": false, ...prefs },
  });
  const proc = browser.process();
  try {
    const page = await bounded(browser.newPage(), timeoutMs, "firefox: new page");
    const problems = [];
    page.on("console", (m) => ["error", "warn", "assert"].includes(m.type()) && problems.push(m.type() + ": " + m.text()));
    page.on("pageerror", (e) => problems.push("pageerror: " + (e?.message ?? e)));
    return {
      name: "firefox",
      version: await browser.version(),
      problems,
      goto: (url) => page.goto(url, { timeout: timeoutMs, waitUntil: "load" }).then(() => {}),
      evaluate: (fn, ...args) => bounded(page.evaluate(callSource(fn, args)), timeoutMs, "firefox: evaluate"),
      screenshot: (path) => bounded(page.screenshot({ path }), timeoutMs, "firefox: screenshot").then(() => {}),
      async close() {
        await bounded(browser.close(), timeoutMs, "firefox: close").catch(() => {});
        if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      },
    };
  } catch (e) {
    await browser.close().catch(() => {});
    if (proc && proc.exitCode === null) proc.kill("SIGKILL");
    throw e;
  }
}

async function openWebKit(timeoutMs, args) {
  const started = [];
  const stopAll = async () => {
    for (const c of started.reverse()) await stopGroup(c);
  };
  try {
    // Xvfb picks a free display itself and writes its number to fd 3 once it is ready.
    const xvfb = spawn(process.env.XVFB || "Xvfb", ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      detached: true,
    });
    started.push(track(xvfb));
    const xlog = [];
    xvfb.stderr.on("data", (d) => xlog.push(String(d)));
    const display = await bounded(
      new Promise((ok, fail) => {
        let out = "";
        xvfb.stdio[3].on("data", (d) => {
          out += d;
          if (out.includes("\n")) ok(":" + out.trim());
        });
        xvfb.on("exit", (code) => fail(new Error("Xvfb exited with " + code + ": " + xlog.join(""))));
      }),
      timeoutMs,
      "webkit: Xvfb start",
    );
    const dlog = [];
    let base = "";
    const call = async (method, path, body, ms = timeoutMs) => {
      const r = await fetch(base + path, {
        method,
        headers: body ? { "content-type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(ms),
      });
      const json = await r.json();
      if (!r.ok) throw new Error(`webkit: ${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
      return json.value;
    };
    // The driver answers /status once it listens. The port is probed free first; should
    // another process take it before the driver binds, the driver exits and is started again.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const driver = spawn(process.env.WEBKIT_WEBDRIVER || "WebKitWebDriver", ["--port=" + port], {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: { ...process.env, DISPLAY: display },
      });
      started.push(track(driver));
      driver.stdout.on("data", (d) => dlog.push(String(d)));
      driver.stderr.on("data", (d) => dlog.push(String(d)));
      base = `http://127.0.0.1:${port}`;
      const end = Date.now() + timeoutMs;
      let up = false;
      while (!up && Date.now() < end && driver.exitCode === null) {
        up = await call("GET", "/status", null, 2000).then(() => true, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      if (up) break;
      await stopGroup(driver);
      if (attempt === 3) throw new Error("webkit: WebKitWebDriver did not start: " + dlog.join(""));
    }
    const session = await call("POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { args: ["--automation", ...args] } } },
    });
    const sid = session.sessionId;
    await call("POST", `/session/${sid}/timeouts`, { script: timeoutMs, pageLoad: timeoutMs });
    let closed = false;
    return {
      name: "webkit",
      version: session.capabilities.browserName + " " + session.capabilities.browserVersion,
      problems: [],
      goto: (url) => call("POST", `/session/${sid}/url`, { url }, timeoutMs + 5000).then(() => {}),
      async evaluate(fn, ...args) {
        // execute/async: the last argument is the callback; errors come back as values so the
        // message is the page's.
        const script =
          "var done = arguments[arguments.length - 1];" +
          "Promise.resolve().then(function () { return " + callSource(fn, args) + "; })" +
          ".then(function (v) { done({ ok: true, value: v === undefined ? null : v }); }," +
          " function (e) { done({ ok: false, error: String((e && e.stack) ? e.message + '\\n' + e.stack : e) }); });";
        const r = await call("POST", `/session/${sid}/execute/async`, { script, args: [] }, timeoutMs + 5000);
        if (!r.ok) throw new Error("webkit: evaluate: " + r.error);
        return r.value;
      },
      async screenshot(path) {
        // The driver snapshots the last frame painted: let the page paint what it has first
        // (two animation frames, or 2 s at most where frames are throttled).
        await this.evaluate(() => new Promise((ok) => {
          setTimeout(ok, 2000);
          requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(ok, 50)));
        }));
        writeFileSync(path, Buffer.from(await call("GET", `/session/${sid}/screenshot`), "base64"));
      },
      async close() {
        if (!closed) {
          closed = true;
          await call("DELETE", `/session/${sid}`, null, 10000).catch(() => {});
        }
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
