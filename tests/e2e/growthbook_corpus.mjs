// A seeded corpus of conditions, attribute sets and saved groups for the differential tests
// against GrowthBook (tests/e2e/growthbook_*.test.mjs): every operator GrowthBook 1.8 knows,
// an unknown one, nested logic, and saved groups in every form GrowthBook 1.8 reads, well-formed
// and malformed (bare lists, `{type: "list"}` with and without an attribute, `{type:
// "condition"}`, bad values, unknown types, cycles through `$savedGroup`).

/** mulberry32: a small seeded generator, so a failure can be replayed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GROUP_IDS = ["g1", "g2", "g3", "g4", "missing"];
const KEYS = ["id", "age", "country", "tags", "v", "flag", "a.b", "a.c", "tags.length", "tags.0", "nothing"];
const STRINGS = ["", "a", "abc", "1", "10", "2.0", "1.2.3", "v1.10.0", "1.0.0-beta", "US", "us", "true", "0", "x y"];
const REGEXES = ["^a", "b$", "[0-9]+", "a|c", "^$", "US", "^1\\.2", "(", "[a-"];
const TYPES = ["null", "array", "string", "number", "boolean", "object", "undefined", "foo"];
const VERSIONS = ["1.0.0", "1.2.3", "v1.10.0", "1.0.0-beta", "2", "1.2.3-rc.1+build", ""];

export function generator(seed) {
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const chance = (p) => r() < p;
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

  // Mostly from a small domain, so that conditions and attributes meet often.
  const COMMON = [null, true, false, 0, 1, 2, 3, "", "a", "1", "US", "abc", "1.2.3"];
  const primitive = () =>
    chance(0.6)
      ? pick(COMMON)
      : pick([() => null, () => chance(0.5), () => int(-3, 20), () => pick([0.5, 1.5, 100, -0.25]), () => pick(STRINGS)])();
  const value = (depth = 0) => {
    if (depth > 1 || chance(0.7)) return primitive();
    if (chance(0.6)) return Array.from({ length: int(0, 3) }, () => value(depth + 1));
    return { b: value(depth + 1), c: [primitive(), primitive()] };
  };
  const attributes = () => {
    const a = {};
    for (const k of ["id", "age", "country", "tags", "v", "flag"]) if (chance(0.8)) a[k] = value();
    if (chance(0.5)) a.v = pick(VERSIONS);
    if (chance(0.6)) a.tags = Array.from({ length: int(0, 3) }, () => pick(STRINGS));
    if (chance(0.5)) a.a = { b: value(1), c: Array.from({ length: int(0, 3) }, () => value(1)) };
    return a;
  };
  const list = () => Array.from({ length: int(0, 6) }, primitive);

  const operator = (depth) => {
    const op = pick([
      "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$exists", "$in", "$nin", "$ini", "$nini", "$all", "$alli",
      "$size", "$elemMatch", "$not", "$regex", "$regexi", "$type", "$veq", "$vne", "$vgt", "$vgte", "$vlt",
      "$vlte", "$inGroup", "$notInGroup", "$foo",
    ]);
    switch (op) {
      case "$lt": case "$lte": case "$gt": case "$gte":
        return [op, chance(0.5) ? int(-3, 20) : pick(STRINGS)];
      case "$exists":
        return [op, chance(0.8) ? chance(0.5) : primitive()];
      case "$in": case "$nin": case "$ini": case "$nini":
        return [op, chance(0.9) ? list() : primitive()];
      case "$all": case "$alli":
        return [op, chance(0.9) ? Array.from({ length: int(0, 2) }, () => (chance(0.7) ? primitive() : fieldValue(depth + 1))) : primitive()];
      case "$size":
        return [op, chance(0.6) ? int(0, 3) : fieldValue(depth + 1)];
      case "$elemMatch":
        return [op, chance(0.5) ? operatorObject(depth + 1) : condition(depth + 1)];
      case "$not":
        return [op, fieldValue(depth + 1)];
      case "$regex": case "$regexi":
        return [op, pick(REGEXES)];
      case "$type":
        return [op, pick(TYPES)];
      case "$inGroup": case "$notInGroup":
        return [op, pick(GROUP_IDS)];
      case "$veq": case "$vne": case "$vgt": case "$vgte": case "$vlt": case "$vlte":
        return [op, pick(VERSIONS)];
      default:
        return [op, primitive()];
    }
  };
  const operatorObject = (depth) => {
    const o = {};
    for (let i = chance(0.8) ? 1 : 2; i > 0; i--) {
      const [k, v] = operator(depth);
      o[k] = v;
    }
    return o;
  };
  const fieldValue = (depth) => {
    if (depth > 3 || chance(0.25)) return chance(0.85) ? primitive() : value(1);
    return operatorObject(depth);
  };
  const reference = () =>
    pick([
      () => ({ id: pick(GROUP_IDS) }),
      () => ({ id: pick(GROUP_IDS) }),
      () => ({ id: pick(GROUP_IDS) }),
      () => ({ id: pick(GROUP_IDS), attributeKey: pick(KEYS) }),
      () => ({ id: pick(GROUP_IDS), attributeKey: pick(KEYS) }),
      () => ({ id: pick(GROUP_IDS), attributeKey: pick([null, 5, true]) }),
      () => ({ id: pick([5, null, true]) }),
      () => ({}),
      () => pick([null, 5, true, [], ["g1"]]),
    ])();
  const condition = (depth = 0) => {
    const c = {};
    for (let i = int(depth === 0 ? 1 : 0, 2); i > 0; i--) {
      const roll = r();
      if (depth < 3 && roll < 0.1) c[pick(["$and", "$or", "$nor"])] = Array.from({ length: int(0, 3) }, () => condition(depth + 1));
      else if (depth < 3 && roll < 0.15) c.$not = condition(depth + 1);
      else if (depth < 3 && roll < 0.27) c.$savedGroup = reference();
      else c[pick(KEYS)] = fieldValue(depth);
    }
    return c;
  };
  const group = () =>
    pick([
      () => list(),
      () => ({ type: "list", attributeKey: pick(KEYS), values: list() }),
      () => ({ type: "list", attributeKey: pick(KEYS), values: list() }),
      () => ({ type: "list", values: list() }),
      () => ({ type: "list", attributeKey: pick(KEYS), values: pick([null, "a", 3, { x: 1 }]) }),
      () => ({ type: "condition", condition: condition(1) }),
      () => ({ type: "condition", condition: condition(1) }),
      () => ({ type: "condition", condition: { $not: condition(2) } }),
      () => ({ type: "list", attributeKey: pick(KEYS), values: list() }),
      () => ({ type: "condition", condition: pick([null, 5, "a", []]) }),
      () => ({ type: "condition" }),
      () => ({ type: pick(["segment", null, 7]), values: list() }),
      () => condition(1), // an object with no type
      () => pick([null, 5, "a", true]),
    ])();
  const savedGroups = () => {
    if (chance(0.15)) return undefined;
    const g = {};
    for (const id of GROUP_IDS.slice(0, 4)) if (chance(0.8)) g[id] = group();
    return g;
  };
  // Most random conditions are false; a `$not` around a third of them balances the answers.
  const top = () => (chance(0.35) ? { $not: condition() } : condition());
  return () => ({ condition: top(), attributes: attributes(), savedGroups: savedGroups() });
}
