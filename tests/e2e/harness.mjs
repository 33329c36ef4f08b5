// Shared pieces of the end-to-end tests: the real `tailor serve` on 127.0.0.1 and headless
// Chromium driven by playwright-core. Everything started here is stopped by `stop()`.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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

/** Starts `tailor serve` on a free port in a scratch directory; resolves to { url, stop, logs }. */
export async function startServer(extraArgs = [], { www = join(ROOT, "www") } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tailor-e2e-"));
  const secret = extraArgs.includes("--identity-secret") ? [] : ["--identity-secret", `*=${IDENTITY_SECRET}`];
  const args = ["serve", "--addr", "127.0.0.1:0", "--www", www, "--pkg", join(ROOT, "pkg"), ...secret, ...extraArgs];
  const child = spawn(BIN, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const logs = [];
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("server did not start in 20 s:\n" + logs.join(""))), 20000);
    const onData = (d) => {
      logs.push(String(d));
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(logs.join(""));
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => fail(new Error("server exited with " + code + ":\n" + logs.join(""))));
  });
  return {
    url,
    logs,
    dir,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
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
    ],
  });
}

/** A new page that records console errors and uncaught exceptions into `page.problems`. */
export async function newPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => {
    if (["error", "warning", "assert"].includes(m.type())) page.problems.push(m.type() + ": " + m.text());
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
            ok(g.result.map((s) => JSON.parse(s)));
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
