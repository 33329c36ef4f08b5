// Shared pieces of the packaging tests: the packed npm tarball, fresh projects that install it
// (offline, from the tarball), and the three bundlers run from the repository's node_modules.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const FIXTURES = import.meta.dirname;

/** `npm pack` of pkg/ (run scripts/build.sh first) into `dir`; returns the tarball's path. */
export function packTarball(dir) {
  const out = execFileSync("npm", ["pack", join(ROOT, "pkg"), "--pack-destination", dir, "--json", "--loglevel=error"], { encoding: "utf8", timeout: 60000 });
  return join(dir, JSON.parse(out)[0].filename);
}

/**
 * A fresh copy of the fixture project `name` (tests/packaging/<name>, plus the shared app.js,
 * and the shared index.html, which loads ./main.js as a module, unless it has its own)
 * in a temp dir, with the tarball installed as a user installs it, but offline: the package
 * has no dependencies, so nothing is downloaded. Returns the project's directory.
 */
export function project(name, tarball) {
  const dir = mkdtempSync(join(tmpdir(), `tailor-pack-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  cpSync(join(FIXTURES, "app.js"), join(dir, "app.js"));
  if (!existsSync(join(dir, "index.html"))) cpSync(join(FIXTURES, "index.html"), join(dir, "index.html"));
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
