// A static file server for the benchmark page, on 127.0.0.1 only: www/ at /, the built SDK
// (pkg/) at /pkg/, and GrowthBook's ESM bundle (the peer, from node_modules) at
// /vendor/growthbook.mjs. No API: the benchmark sets no endpoint, so nothing is sent.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json", ".wasm": "application/wasm", ".css": "text/css", ".svg": "image/svg+xml" };
const GROWTHBOOK = join(ROOT, "node_modules/@growthbook/growthbook/dist/bundles/esm.min.js");

function fileFor(path) {
  if (path === "/vendor/growthbook.mjs") return GROWTHBOOK;
  const [root, rel] = path.startsWith("/pkg/") ? [join(ROOT, "pkg"), path.slice(5)] : [join(ROOT, "www"), path.slice(1)];
  const file = normalize(join(root, rel.endsWith("/") || rel === "" ? rel + "index.html" : rel));
  return file.startsWith(root) ? file : null;
}

/** Starts the server on a free port; resolves to { url, stop }. */
export function serve() {
  const server = createServer(async (req, res) => {
    const file = fileFor(decodeURIComponent(new URL(req.url, "http://x").pathname));
    try {
      if (!file) throw new Error("outside the roots");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () =>
      ok({ url: "http://127.0.0.1:" + server.address().port, stop: () => new Promise((r) => server.close(r)) }),
    ),
  );
}
