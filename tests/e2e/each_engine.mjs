// One `describe` per browser engine, with the engine opened before its tests and closed after
// them: the frame every cross-engine test file shares (engines*.test.mjs).
import { after, before, describe } from "node:test";
import { ENGINES, openEngine } from "./harness.mjs";

/**
 * Declares `body(name, engine)` once for each engine of `ENGINES`, inside `describe(name)`.
 * `engine` stands for the engine that `before` opens: its fields and methods can be used in
 * the tests (not while they are declared, when it is not open yet).
 */
export function forEachEngine(body) {
  for (const name of ENGINES) {
    describe(name, () => {
      let open = null;
      before(async () => {
        open = await openEngine(name);
      });
      after(async () => {
        await open?.close();
      });
      const engine = new Proxy(
        {},
        {
          get(_, key) {
            if (!open) throw new Error(`${name}: the engine is used before it was opened (${String(key)})`);
            const value = open[key];
            return typeof value === "function" ? value.bind(open) : value;
          },
        },
      );
      body(name, engine);
    });
  }
}

/**
 * Adds a `<style>` without the page's nonce and answers, half a second later, the policy
 * violations the page's probe (tests/e2e/pages/engines-probe.js) recorded: the proof that a
 * strict CSP is in force, so that "no violations" elsewhere means something.
 */
export function styleWithoutNonce(engine) {
  return engine.evaluate(() => {
    const s = document.createElement("style");
    s.textContent = "body { color: red }";
    document.head.append(s);
    return new Promise((ok) => setTimeout(() => ok(window.__probe.violations), 500));
  });
}
