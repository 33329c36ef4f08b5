// `tailor ruleset import --from growthbook` keeps every shopper in the same variation: a
// GrowthBook SDK payload (features with experiment rules of every shape Tailor can express,
// saved groups of every form) is imported, then 10,000 generated shoppers are decided by the
// real GrowthBook SDK (the version pinned in package.json: `evalFeature`, which runs each
// experiment rule) and by Tailor's engine on the imported ruleset (`tailor decide`), and each
// shopper must be in the same variation of every experiment, or out of it in both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrowthBook } from "@growthbook/growthbook";
import { rng } from "./growthbook_corpus.mjs";
import { BIN, ROOT } from "./harness.mjs";

const SHOPPERS = 10_000;

export const PAYLOAD = {
  features: {
    // Hash version 2, three uneven variations, partial coverage, a seed, variation keys.
    "hero-copy": {
      defaultValue: "control",
      rules: [
        {
          id: "fr1", key: "hero-copy-2026", seed: "hero-2026-11", hashVersion: 2, coverage: 0.8,
          weights: [0.2, 0.3, 0.5], variations: ["control", "short", "long"],
          meta: [{ key: "control" }, { key: "short" }, { key: "long" }],
        },
      ],
    },
    // Hash version 1 (the default), explicit ranges, a namespace, a list saved group.
    "checkout-button": {
      defaultValue: "blue",
      rules: [
        {
          id: "fr2", variations: ["blue", "green"], ranges: [[0, 0.25], [0.5, 0.75]], namespace: ["checkout", 0.1, 0.9],
          condition: { $savedGroup: { id: "eu-shoppers" } },
        },
      ],
    },
    // A condition saved group, $inGroup on a bare list, $notInGroup on a typed list.
    "free-shipping": {
      defaultValue: false,
      rules: [
        {
          id: "fr3", key: "free-shipping-test", hashVersion: 2, variations: [false, true],
          condition: { $savedGroup: { id: "regulars" }, plan: { $inGroup: "paid-plans" }, id: { $notInGroup: "staff" } },
        },
      ],
    },
    // Another hash attribute; weights GrowthBook ignores (not summing to 1): equal weights.
    "recs-layout": {
      defaultValue: "grid",
      rules: [{ id: "fr4", hashAttribute: "deviceId", seed: "recs", variations: ["grid", "list", "carousel"], weights: [0.7, 0.7, 0.7] }],
    },
    // Weights of the wrong length (equal weights), coverage above 1 (clamped), hash version 2.
    "banner-color": {
      defaultValue: "red",
      rules: [{ id: "fr5", hashVersion: 2, coverage: 1.5, variations: [{ c: "red" }, { c: "teal" }], weights: [0.1, 0.2, 0.7] }],
    },
    // Four variations in a namespace, low coverage, a saved group's attributeKey overridden.
    "search-ranking": {
      defaultValue: 0,
      rules: [
        {
          id: "fr6", key: "search-ranking-v3", hashVersion: 2, coverage: 0.3, weights: [0.4, 0.3, 0.2, 0.1],
          namespace: ["search", 0, 0.5], variations: [0, 1, 2, 3],
          condition: { $savedGroup: { id: "beta-devices", attributeKey: "deviceId" } },
        },
      ],
    },
  },
  savedGroups: {
    "eu-shoppers": { type: "list", attributeKey: "country", values: ["FR", "DE", "NL", "ES"] },
    regulars: { type: "condition", condition: { orders: { $gte: 2 } } },
    "paid-plans": ["gold", "silver"],
    staff: { type: "list", attributeKey: "id", values: ["user-7", "user-42", "user-4242"] },
    "beta-devices": { type: "list", attributeKey: "unused", values: Array.from({ length: 2000 }, (_, i) => `dev-${i * 3}`) },
  },
};

/** Runs `tailor` with `args`; resolves to { status, stdout, stderr }. */
export function tailor(args, input = "") {
  const run = spawnSync(BIN, args, { input, encoding: "utf8", timeout: 120_000, maxBuffer: 256 << 20 });
  assert.equal(run.error, undefined, `tailor ${args.join(" ")}: ${run.error}`);
  return run;
}

/** Imports `payload`; returns the ruleset (and fails on a refusal). */
export function imported(payload, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), "tailor-gb-import-"));
  try {
    writeFileSync(join(dir, "payload.json"), JSON.stringify(payload));
    const run = tailor(["ruleset", "import", "--from", "growthbook", join(dir, "payload.json"), "-o", join(dir, "out.json"), ...extra]);
    assert.equal(run.status, 0, `import failed: ${run.stderr}`);
    return { ruleset: JSON.parse(readFileSync(join(dir, "out.json"), "utf8")), stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function shoppers(n, seed) {
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  return Array.from({ length: n }, (_, i) => {
    const a = { id: r() < 0.5 ? `user-${i}` : `${Math.floor(r() * 1e9).toString(36)}-${i}` };
    if (r() < 0.9) a.deviceId = `dev-${Math.floor(r() * 6000)}`;
    if (r() < 0.9) a.country = pick(["FR", "DE", "US", "GB", "NL", "ES", "fr"]);
    if (r() < 0.8) a.plan = pick(["gold", "silver", "free"]);
    if (r() < 0.8) a.orders = Math.floor(r() * 5);
    if (r() < 0.01) a.id = ""; // no hash value: in no experiment hashed on id
    return a;
  });
}

/** GrowthBook's answer per feature: the variation index, or -1 when not in the experiment. */
function growthbook(payload, attributes) {
  // GrowthBook warns on console.error about the weights and coverage it corrects (which the
  // payload holds on purpose).
  const quiet = console.error;
  console.error = () => {};
  try {
    const gb = new GrowthBook({ attributes, features: payload.features, savedGroups: payload.savedGroups });
    const out = {};
    for (const feature of Object.keys(payload.features)) {
      const r = gb.evalFeature(feature);
      out[feature] = r.source === "experiment" ? r.experimentResult.variationId : -1;
    }
    gb.destroy();
    return out;
  } finally {
    console.error = quiet;
  }
}

test(`${SHOPPERS} shoppers are in the same variation in GrowthBook and in the imported ruleset`, () => {
  const { ruleset } = imported(PAYLOAD);
  const keyOf = {};
  for (const [feature, def] of Object.entries(PAYLOAD.features)) keyOf[feature] = def.rules[0].key || feature;
  assert.deepEqual(ruleset.experiments.map((x) => x.key), Object.values(keyOf));

  const people = shoppers(SHOPPERS, 0x6b00c);
  const dir = mkdtempSync(join(tmpdir(), "tailor-gb-decide-"));
  let lines;
  try {
    writeFileSync(join(dir, "ruleset.json"), JSON.stringify(ruleset));
    const run = tailor(["decide", "--ruleset", join(dir, "ruleset.json"), "--now", "0"], people.map((p) => JSON.stringify(p)).join("\n") + "\n");
    assert.equal(run.status, 0, run.stderr);
    lines = run.stdout.trim().split("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(lines.length, SHOPPERS);

  const diffs = [];
  const inExperiment = {};
  const variations = {};
  people.forEach((p, i) => {
    const gb = growthbook(PAYLOAD, p);
    const decision = JSON.parse(lines[i]);
    for (const [feature, key] of Object.entries(keyOf)) {
      const x = decision.experiments.find((e) => e.key === key);
      const t = x && x.inExperiment ? x.variation : -1;
      if (t !== gb[feature]) diffs.push(`${JSON.stringify(p)} ${feature}: growthbook ${gb[feature]}, tailor ${t}`);
      if (gb[feature] >= 0) {
        inExperiment[feature] = (inExperiment[feature] || 0) + 1;
        variations[`${feature}:${gb[feature]}`] = true;
      }
    }
  });
  console.log(`compared ${SHOPPERS} shoppers x ${Object.keys(keyOf).length} experiments; in the experiment (GrowthBook): ${JSON.stringify(inExperiment)}; differences: ${diffs.length}`);
  assert.equal(diffs.length, 0, `${diffs.length} differ:\n${diffs.slice(0, 10).join("\n")}`);
  // Every experiment has shoppers in it, in every variation: the comparison is not vacuous.
  for (const [feature, def] of Object.entries(PAYLOAD.features)) {
    def.rules[0].variations.forEach((_, v) => assert.ok(variations[`${feature}:${v}`], `${feature}: nobody in variation ${v}`));
  }
});

test("a wrong import is caught: a moved seed puts shoppers elsewhere", () => {
  const { ruleset } = imported(PAYLOAD);
  ruleset.experiments[0].seed += "-moved";
  const people = shoppers(500, 1);
  const dir = mkdtempSync(join(tmpdir(), "tailor-gb-decide-"));
  try {
    writeFileSync(join(dir, "ruleset.json"), JSON.stringify(ruleset));
    const run = tailor(["decide", "--ruleset", join(dir, "ruleset.json"), "--now", "0"], people.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const moved = run.stdout.trim().split("\n").filter((line, i) => {
      const x = JSON.parse(line).experiments.find((e) => e.key === "hero-copy-2026");
      return (x.inExperiment ? x.variation : -1) !== growthbook(PAYLOAD, people[i])["hero-copy"];
    });
    assert.ok(moved.length > 100, `${moved.length} of 500 moved`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("what Tailor cannot express is refused, naming the feature and the rule, or skipped and listed", () => {
  const payload = structuredClone(PAYLOAD);
  payload.features["dark-mode"] = { defaultValue: false, rules: [{ id: "r-force", force: true, condition: { country: "US" } }] };
  payload.features["hero-copy"].rules.push({ id: "r-after", force: "long" });
  payload.features["checkout-button"].rules[0].ranges = [[0.5, 1], [0, 0.5]];
  const dir = mkdtempSync(join(tmpdir(), "tailor-gb-import-"));
  try {
    const file = join(dir, "payload.json");
    writeFileSync(file, JSON.stringify(payload));
    const refused = tailor(["ruleset", "import", "--from", "growthbook", file, "-o", join(dir, "out.json")]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /feature "dark-mode" rule 0 \(id "r-force"\): a forced value; Tailor has no feature flags/);
    assert.match(refused.stderr, /feature "hero-copy" rule 1 \(id "r-after"\): a forced value; it only decides for shoppers outside the experiment above/);
    assert.match(refused.stderr, /feature "checkout-button" rule 0 \(id "fr2"\): ranges \[\[0\.5, 1\], \[0, 0\.5\]\]: not the ranges of any coverage and weights/);
    assert.throws(() => readFileSync(join(dir, "out.json")), "nothing is written");

    const { ruleset, stderr } = imported(payload, ["--skip-unsupported"]);
    assert.equal((stderr.match(/^skipped: /gm) || []).length, 3, stderr);
    assert.match(stderr, /imported 5 experiments from 7 features, 3 skipped/);
    assert.deepEqual(ruleset.experiments.map((x) => x.key), ["hero-copy-2026", "free-shipping-test", "recs-layout", "banner-color", "search-ranking-v3"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("docs/growthbook.md: the example payload imports to the ruleset shown", () => {
  const doc = readFileSync(join(ROOT, "docs/growthbook.md"), "utf8");
  const block = (marker) => {
    const at = doc.indexOf(marker);
    assert.ok(at >= 0, `docs/growthbook.md has ${marker}`);
    const m = doc.slice(at).match(/```json\n([\s\S]*?)```/);
    return JSON.parse(m[1]);
  };
  const { ruleset } = imported(block("<!-- payload -->"));
  assert.deepEqual(ruleset, block("<!-- imported -->"));
  const refusal = doc.slice(doc.indexOf("<!-- refusal -->")).match(/```text\n([\s\S]*?)```/)[1].trim();
  const payload = block("<!-- refused payload -->");
  const dir = mkdtempSync(join(tmpdir(), "tailor-gb-import-"));
  try {
    writeFileSync(join(dir, "payload.json"), JSON.stringify(payload));
    const run = tailor(["ruleset", "import", "--from", "growthbook", join(dir, "payload.json")]);
    assert.notEqual(run.status, 0);
    assert.equal(run.stderr.trim().replace(join(dir, "payload.json"), "payload.json"), refusal);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
