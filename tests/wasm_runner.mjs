// The runner of the browser tests (tests/web*.rs): cargo calls it with the test's .wasm file
// (CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER, set by scripts/test.sh). wasm-bindgen-test-runner
// builds and serves the test page (its interactive mode); this script puts a small proxy in
// front of that server and drives headless Chromium itself with playwright-core.
//
// Why: the runner's own HTTP server, reached by Chromium over keep-alive connections, left
// one or two of the page's module requests unanswered on the first page load of about one
// start in three (tests/web_pages.rs; seen for web.rs and web_sync.rs too), and chromedriver
// then waited for that load for ever. The same files came at once over a new connection. So
// the proxy asks the runner's server for every file over a new connection, and a page that
// still does not reach DOMContentLoaded in LOAD_MS is reported and loaded again (at most
// LOADS times). A test that hangs after the page has loaded is not retried: it fails after
// TEST_MS.
//
//   node tests/wasm_runner.mjs target/.../web_pages-HASH.wasm [test filter args...]
import { spawn } from "node:child_process";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { launchBrowser } from "./e2e/harness.mjs";

const LOAD_MS = Number(process.env.TAILOR_WASM_LOAD_MS || 20000);
const TEST_MS = Number(process.env.TAILOR_WASM_TEST_MS || 300000);
const LOADS = 5;

const [wasm, ...rest] = process.argv.slice(2);
if (!wasm || !wasm.endsWith(".wasm")) {
  console.error("usage: node tests/wasm_runner.mjs FILE.wasm [args...]");
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** wasm-bindgen-test-runner in interactive mode: it builds the page and serves it. */
async function servePage() {
  const port = await freePort();
  // Cargo passes test filters and flags through; the runner reads them in this mode too.
  const args = [wasm, ...rest.filter((a) => a !== "--quiet" && a !== "-q")];
  const child = spawn("wasm-bindgen-test-runner", args, {
    env: { ...process.env, NO_HEADLESS: "1", WASM_BINDGEN_TEST_ADDRESS: `127.0.0.1:${port}` },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 60000;
  while (!/available at http/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`wasm-bindgen-test-runner did not serve the test page:\n${log}`);
    }
    await sleep(50);
  }
  // Each request to the runner's server on a connection of its own (agent: false).
  const proxy = createHttpServer((req, res) => {
    const up = httpRequest(
      { host: "127.0.0.1", port, path: req.url, method: req.method, headers: { ...req.headers, connection: "close" }, agent: false },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", (e) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`the test runner's server: ${e.message}`);
    });
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${proxy.address().port}/`,
    stop: () => {
      proxy.close();
      proxy.closeAllConnections();
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    },
  };
}

async function run() {
  const browser = await launchBrowser();
  let server = null;
  try {
    server = await servePage();
    for (let load = 1; load <= LOADS; load++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const consoleLines = [];
      page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
      const pending = new Set();
      page.on("request", (r) => pending.add(r.url()));
      page.on("requestfinished", (r) => pending.delete(r.url()));
      page.on("requestfailed", (r) => pending.delete(r.url()));
      try {
        await page.goto(server.url, { waitUntil: "domcontentloaded", timeout: LOAD_MS });
      } catch (e) {
        console.log(
          `NOTE: the test page did not load in ${LOAD_MS} ms (load ${load} of ${LOADS}); unanswered: ` +
            ([...pending].join(", ") || "none") + `; loading it again`,
        );
        await context.close();
        continue;
      }
      // The page has loaded; from here on the tests run, and a hang is a failure.
      let shown = 0;
      let out = "";
      const end = Date.now() + TEST_MS;
      while (Date.now() < end) {
        out = await page.evaluate(() => document.getElementById("output")?.textContent ?? "");
        if (out.length > shown) {
          process.stdout.write(out.slice(shown));
          shown = out.length;
        }
        if (out.includes("test result: ")) break;
        await sleep(100);
      }
      if (!out.includes("test result: ")) console.log(`\nthe tests did not finish in ${TEST_MS} ms`);
      const ok = /test result: ok\./.test(out);
      if (!ok && consoleLines.length) console.log("\nconsole of the test page:\n" + consoleLines.join("\n"));
      await context.close();
      return ok ? 0 : 1;
    }
    console.log(`the test page did not load in ${LOADS} tries`);
    return 1;
  } finally {
    await browser.close().catch(() => {});
    server?.stop();
  }
}

process.exitCode = await run();
