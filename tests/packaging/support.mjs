// Shared pieces of the packaging tests: the packed npm tarball, fresh projects that install it
// (offline, from the tarball), the three bundlers run from the repository's node_modules, and a
// static file server on 127.0.0.1 for what they built.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const FIXTURES = import.meta.dirname;

/** `npm pack` of pkg/ (run scripts/build.sh first) into `dir`; returns the tarball's path. */
export function packTarball(dir) {
  const out = execFileSync("npm", ["pack", join(ROOT, "pkg"), "--pack-destination", dir, "--json", "--loglevel=error"], { encoding: "utf8" });
  return join(dir, JSON.parse(out)[0].filename);
}

/**
 * A fresh copy of the fixture project `name` (tests/packaging/<name>, plus the shared app.js)
 * in a temp dir, with the tarball installed as a user installs it, but offline: the package
 * has no dependencies, so nothing is downloaded. Returns the project's directory.
 */
export function project(name, tarball) {
  const dir = mkdtempSync(join(tmpdir(), `tailor-pack-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  cpSync(join(FIXTURES, "app.js"), join(dir, "app.js"));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: dir, stdio: ["ignore", "ignore", "inherit"], timeout: 60000 });
  return dir;
}

/** The installed package's file `rel` (e.g. "README.md"), read from the project's node_modules. */
export function installed(dir, rel) {
  return readFileSync(join(dir, "node_modules/@tailor-sdk/tailor", rel), "utf8");
}

/**
 * Builds the project in `dir` with `bundler` ("vite", "webpack" or "esbuild"); returns the output
 * directory. `webpackConfig` replaces the project's webpack.config.js; for esbuild,
 * `esbuildConfig` names the options file (default: the project's build.json) and `extra` adds
 * build options (e.g. `nodePaths`).
 */
export async function bundle(bundler, dir, { esbuildConfig, webpackConfig, ...extra } = {}) {
  const out = join(dir, "dist");
  if (bundler === "vite") {
    const { build } = await import("vite");
    await build({ root: dir, configFile: false, logLevel: "warn", build: { outDir: out, emptyOutDir: true } });
  } else if (bundler === "webpack") {
    const { default: webpack } = await import("webpack");
    const config = webpackConfig || (await import(join(dir, "webpack.config.js"))).default;
    const stats = await new Promise((ok, fail) =>
      webpack({ ...config, context: dir, output: { ...config.output, path: out } }, (e, s) => (e ? fail(e) : ok(s))),
    );
    if (stats.hasErrors()) throw new Error("webpack: " + stats.toString({ all: false, errors: true }));
    if (!webpackConfig) cpSync(join(dir, "index.html"), join(out, "index.html"));
  } else if (bundler === "esbuild") {
    const { build } = await import("esbuild");
    const options = JSON.parse(readFileSync(esbuildConfig || join(dir, "build.json"), "utf8"));
    await build({ ...options, ...extra, absWorkingDir: dir, outdir: out });
  } else throw new Error("unknown bundler " + bundler);
  return out;
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json", ".wasm": "application/wasm", ".css": "text/css" };

/** Serves the files under `root` on a free port of 127.0.0.1; resolves to { url, stop, served }. */
export function serveDir(root) {
  const served = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(root, path.endsWith("/") ? path + "index.html" : path));
    try {
      if (!file.startsWith(root)) throw new Error("outside the root");
      const body = await readFile(file);
      served.push(path);
      res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () =>
      ok({ url: `http://127.0.0.1:${server.address().port}`, served, stop: () => new Promise((r) => server.close(r)) }),
    ),
  );
}
