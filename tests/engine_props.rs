//! Property tests for the condition evaluator and hashing, and a fuzz smoke test that runs
//! thousands of mutated rulesets and conditions through the fuzz target's entry function.

use proptest::prelude::*;
use tailor::engine::condition::Condition;
use tailor::engine::fuzz::fuzz_one;
use tailor::engine::hash::gb_hash;
use tailor::engine::json::{Map, Value};
use tailor::engine::regex::NoRegex;
use tailor::engine::ruleset::Ruleset;

/// The native regex engine the server and the CLI use.
use tailor::engine::regex::NativeRegex as Re;

const OPS: [&str; 32] = [
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$ini",
    "$nini",
    "$all",
    "$alli",
    "$elemMatch",
    "$size",
    "$exists",
    "$type",
    "$regex",
    "$regexi",
    "$not",
    "$veq",
    "$vne",
    "$vgt",
    "$vgte",
    "$vlt",
    "$vlte",
    "$inGroup",
    "$notInGroup",
    "$and",
    "$or",
    "$nor",
    "$savedGroup",
    "$bogus",
];
const KEYS: [&str; 6] = ["a", "b", "a.b", "tags", "v", "0"];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![(-100i32..100).prop_map(f64::from), any::<f64>().prop_filter("finite", |f| f.is_finite())]
            .prop_map(Value::Number),
        "[a-c0-9. v-]{0,6}".prop_map(Value::String),
        prop_oneof![Just("1.2.3"), Just("v2.0.0-rc.1"), Just("(a"), Just("^a"), Just("string")].prop_map(Value::from),
    ]
}

/// Arbitrary JSON, biased towards the keys and operators conditions use.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (prop_oneof![prop::sample::select(&OPS[..]), prop::sample::select(&KEYS[..])], inner),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// A condition object: fields or operators mapped to arbitrary JSON.
fn cond() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop_oneof![prop::sample::select(&OPS[..]), prop::sample::select(&KEYS[..])], json()), 0..3)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn obj(k: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(k, v);
    Value::Object(m)
}

fn eval(c: &Value, attrs: &Value, groups: &Value) -> bool {
    Condition::compile(c, groups, &Re).eval(attrs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_never_panics(c in json(), attrs in json(), groups in json()) {
        let _ = eval(&c, &attrs, &groups);
        let _ = Condition::compile(&c, &groups, &NoRegex).eval(&attrs);
    }

    #[test]
    fn compiling_any_ruleset_never_panics(doc in json()) {
        let _ = Ruleset::compile(&doc, &Re);
    }

    #[test]
    fn not_inverts(c in cond(), attrs in json()) {
        prop_assert_eq!(eval(&obj("$not", c.clone()), &attrs, &Value::Null), !eval(&c, &attrs, &Value::Null));
    }

    #[test]
    fn and_or_nor_laws(a in cond(), b in cond(), attrs in json()) {
        let (x, y) = (eval(&a, &attrs, &Value::Null), eval(&b, &attrs, &Value::Null));
        let pair = Value::Array(vec![a.clone(), b.clone()]);
        prop_assert_eq!(eval(&obj("$and", pair.clone()), &attrs, &Value::Null), x && y);
        prop_assert_eq!(eval(&obj("$or", pair.clone()), &attrs, &Value::Null), x || y);
        prop_assert_eq!(eval(&obj("$nor", pair), &attrs, &Value::Null), !(x || y));
        // Two fields in one object are an implicit $and.
        prop_assert_eq!(eval(&obj("$and", Value::Array(vec![a.clone()])), &attrs, &Value::Null), x);
    }

    #[test]
    fn field_not_inverts_operator_objects(op in prop::sample::select(&OPS[..27]), arg in json(), attrs in json()) {
        let inner = obj(op, arg);
        prop_assert_eq!(
            eval(&obj("a", obj("$not", inner.clone())), &attrs, &Value::Null),
            !eval(&obj("a", inner), &attrs, &Value::Null)
        );
    }

    #[test]
    fn hash_is_in_unit_interval(seed in ".{0,12}", value in ".{0,12}", version in 1u32..=2) {
        let h = gb_hash(&seed, &value, version).unwrap();
        prop_assert!((0.0..1.0).contains(&h));
    }
}

/// A small deterministic generator, so the smoke test needs no seed files or crates.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn fuzz_smoke() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut seeds: Vec<Vec<u8>> =
        ["www/ruleset.json", "tests/vectors/offers.json", "tests/vectors/rulesets_invalid.json"]
            .iter()
            .filter_map(|p| std::fs::read(format!("{root}/{p}")).ok())
            .collect();
    // Single conditions from the vectors are seeds too.
    if let Ok(text) = std::fs::read_to_string(format!("{root}/tests/vectors/conditions.json")) {
        if let Ok(Value::Array(cases)) = Value::parse(&text) {
            seeds.extend(cases.iter().map(|c| c.to_json().into_bytes()));
        }
    }
    assert!(seeds.len() > 10, "seed inputs are missing");
    let dictionary: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"$or\":",
        b"\"$regex\":\"(\"",
        b"null",
        b"-1e309",
        b"\"\\ud800\"",
        b",",
        b":",
        b"\"$savedGroup\":\"x\"",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for i in 0..3000 {
        let mut data = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len() + 1);
            match rng.below(4) {
                0 if !data.is_empty() => {
                    let end = (at + 1 + rng.below(16)).min(data.len());
                    data.drain(at.min(end)..end);
                }
                1 => {
                    let word = dictionary[rng.below(dictionary.len())];
                    data.splice(at..at, word.iter().copied());
                }
                2 if at < data.len() => data[at] = rng.next() as u8,
                _ => {
                    let other = &seeds[rng.below(seeds.len())];
                    let from = rng.below(other.len());
                    let to = (from + rng.below(64)).min(other.len());
                    data.splice(at..at, other[from..to].iter().copied());
                }
            }
        }
        // Half the inputs are unmutated-but-resliced valid JSON so compilation is exercised.
        if i % 2 == 0 {
            fuzz_one(&data, &Re);
        } else {
            fuzz_one(&seeds[rng.below(seeds.len())], &NoRegex);
            fuzz_one(&data, &NoRegex);
        }
    }
}
