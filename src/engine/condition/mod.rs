//! Conditions: MongoDB-style JSON, answering as GrowthBook's JavaScript SDK does.
//!
//! A condition is compiled once ([`Condition::compile`]): paths are split, operators parsed,
//! `$in` lists sorted, saved groups resolved, version strings padded and regexes built.
//! Evaluation ([`Condition::eval`]) then walks the compiled tree over an attributes
//! [`Value`] without parsing or allocating in the common cases.
//!
//! Semantics follow GrowthBook's `mongrule.ts`: a missing attribute reads as `null`; a bare
//! string compares with `String(value)`, a bare number with `Number(value)`; `$lt`/`$gt`
//! use JavaScript's relational comparison (see [`js`]); `$eq`/`$in` use `===`; `$elemMatch`
//! skips `null` elements (GrowthBook 1.8; earlier SDKs skipped every falsy one); unknown
//! operators, invalid regexes and operands of the wrong type are false. Where GrowthBook
//! would throw (e.g. a `null` condition), the sub-condition is false.
//!
//! Saved groups, as GrowthBook 1.8 reads them, are an object of entries by id: a bare list
//! of values, `{"type": "list", "attributeKey": "id", "values": [...]}` or
//! `{"type": "condition", "condition": {...}}`. `$inGroup`/`$notInGroup` read the list forms
//! (an unknown id is an empty list; any other entry matches nobody, for both operators);
//! `$savedGroup: {"id": "...", "attributeKey"?: "..."}` reads the typed forms (a list group
//! tests its attribute, or the reference's, against the values; a condition group holds;
//! anything else, a cycle included, is false). Tailor also reads its own forms (see
//! docs/ruleset.md): `$savedGroup: "id"` or a list of ids naming condition groups, which may
//! be bare condition objects, and the array form of `savedGroups`,
//! `[{"id": "...", "values": [...]}, {"id": "...", "condition": {...}}]`.

use super::js;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::atomic::AtomicU32;

use super::json::Value;
use super::regex::{Pattern, RegexCompiler};
use super::sort::sort_by;
use super::version::padded_version;

static NULL: Value = Value::Null;

/// How deeply `$savedGroup` references may nest (a cycle stops here).
const MAX_GROUP_DEPTH: usize = 8;

/// A problem found while compiling a condition. Errors make a ruleset invalid; warnings
/// (a regex the native engine cannot compile) are reported but accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// JSON path relative to the condition, e.g. `.age.$foo`.
    pub path: String,
    pub reason: String,
    pub error: bool,
}

/// A compiled condition.
pub struct Condition {
    root: Cond,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condition")
    }
}

impl Condition {
    /// Compiles `condition`; problems make the affected parts false.
    pub fn compile(condition: &Value, saved_groups: &Value, regex: &dyn RegexCompiler) -> Condition {
        Self::compile_checked(condition, saved_groups, regex).0
    }

    /// Compiles `condition` and also reports every problem found.
    pub fn compile_checked(
        condition: &Value,
        saved_groups: &Value,
        regex: &dyn RegexCompiler,
    ) -> (Condition, Vec<Issue>) {
        let mut c =
            Compiler { regex, groups: saved_groups, issues: Vec::new(), path: String::new(), stack: Vec::new() };
        let root = c.cond(condition);
        (Condition { root }, c.issues)
    }

    /// A condition that always holds.
    pub fn always() -> Condition {
        Condition { root: Cond::Const(true) }
    }

    /// Whether `attributes` satisfy the condition.
    pub fn eval(&self, attributes: &Value) -> bool {
        self.root.eval(attributes)
    }
}

/// Compiles and evaluates in one go (for one-off checks and the CLI).
pub fn eval_condition(attributes: &Value, condition: &Value, saved_groups: &Value, regex: &dyn RegexCompiler) -> bool {
    Condition::compile(condition, saved_groups, regex).eval(attributes)
}

/// The entry of a saved group as written: in the object form the value under `id`, in the
/// array form the element with that `id`.
pub fn saved_group_entry<'a>(groups: &'a Value, id: &str) -> Option<&'a Value> {
    match groups {
        Value::Object(m) => m.get(id),
        Value::Array(a) => a.iter().find(|g| g.get("id").and_then(Value::as_str) == Some(id)),
        _ => None,
    }
}

/// The type of a typed saved group entry (`"list"`, `"condition"`, or another text).
fn group_type(entry: &Value) -> Option<&str> {
    entry.get("type").and_then(Value::as_str)
}

/// Looks a saved group up in either list format: its values or its condition.
pub fn saved_group<'a>(groups: &'a Value, id: &str) -> Option<&'a Value> {
    match groups {
        Value::Object(m) => m.get(id),
        Value::Array(a) => a
            .iter()
            .find(|g| g.get("id").and_then(Value::as_str) == Some(id))
            .and_then(|g| g.get("values").or_else(|| g.get("condition"))),
        _ => None,
    }
}

enum Cond {
    All(Vec<Cond>),
    /// `$or`: true when empty, as GrowthBook.
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Field(Path, ValueCond),
    Const(bool),
}

impl Cond {
    fn eval(&self, root: &Value) -> bool {
        match self {
            Cond::All(list) => list.iter().all(|c| c.eval(root)),
            Cond::Any(list) => list.is_empty() || list.iter().any(|c| c.eval(root)),
            Cond::Not(c) => !c.eval(root),
            Cond::Field(path, vc) => vc.eval(&path.get(root)),
            Cond::Const(b) => *b,
        }
    }
}

/// A dotted attribute path (`profile.cart.items`), split once. Arrays answer numeric
/// indexes and `length`, as JavaScript's `in` operator does; anything missing reads `null`.
///
/// Each step remembers where in its object it found its key ([`json::Map::get_hinted`](super::json::Map::get_hinted)): the
/// attributes of one shopper have the same shape decision after decision (and the items of a
/// list the same shape as each other), so a path is resolved once and then read with one key
/// comparison per step instead of a scan of the object.
pub struct Path {
    segs: Vec<Seg>,
}

struct Seg {
    key: Box<str>,
    index: Option<usize>,
    hint: AtomicU32,
}

impl Path {
    pub fn parse(path: &str) -> Path {
        let segs = path
            .split('.')
            .map(|k| {
                let canonical = k == "0" || (!k.starts_with('0') && !k.is_empty() && k.len() < 10);
                let index = if canonical && k.bytes().all(|b| b.is_ascii_digit()) {
                    super::json::parse_digits(k)
                } else {
                    None
                };
                Seg { key: k.into(), index, hint: AtomicU32::new(0) }
            })
            .collect();
        Path { segs }
    }

    pub fn get<'a>(&self, root: &'a Value) -> Cow<'a, Value> {
        let mut cur = root;
        let last = self.segs.len().saturating_sub(1);
        for (i, seg) in self.segs.iter().enumerate() {
            cur = match cur {
                Value::Object(m) => match m.get_hinted(&seg.key, &seg.hint) {
                    Some(v) => v,
                    None => return Cow::Borrowed(&NULL),
                },
                Value::Array(a) => match seg.index {
                    Some(ix) => match a.get(ix) {
                        Some(v) => v,
                        None => return Cow::Borrowed(&NULL),
                    },
                    None if &*seg.key == "length" && i == last => {
                        return Cow::Owned(Value::Number(a.len() as f64));
                    }
                    None => return Cow::Borrowed(&NULL),
                },
                _ => return Cow::Borrowed(&NULL),
            };
        }
        Cow::Borrowed(cur)
    }
}

/// `evalConditionValue`: how one attribute value is tested.
enum ValueCond {
    /// `String(value) === s`
    Str(Box<str>),
    /// `String(value).toLowerCase() === s` (s already lower case; `$alli`)
    StrI(Box<str>),
    /// `value * 1 === n`
    Num(f64),
    /// `value !== null && !!value === b`
    Bool(bool),
    Null,
    /// `JSON.stringify(value) === JSON.stringify(j)`: ordered structural equality.
    Json(Value),
    Ops(Vec<Op>),
}

impl ValueCond {
    fn eval(&self, v: &Value) -> bool {
        match self {
            ValueCond::Str(s) => match v {
                Value::String(x) => **x == **s,
                _ => js::to_string(v) == **s,
            },
            ValueCond::StrI(s) => js::lower(&js::to_string(v)) == **s,
            ValueCond::Num(n) => js::to_number(v) == *n,
            ValueCond::Bool(b) => !v.is_null() && js::truthy(v) == *b,
            ValueCond::Null => v.is_null(),
            ValueCond::Json(j) => v == j,
            ValueCond::Ops(ops) => ops.iter().all(|op| op.eval(v)),
        }
    }
}

#[derive(Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Ne => o != Ordering::Equal,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Lte => o != Ordering::Greater,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Gte => o != Ordering::Less,
        }
    }
}

enum Op {
    Version(Cmp, String),
    Eq(Value),
    Ne(Value),
    /// `$lt` ... against the ToPrimitive of the operand: a string, or else a number.
    Rel(Cmp, Option<Box<str>>, f64),
    Exists(bool),
    In(InSet, bool),
    Not(Box<ValueCond>),
    Size(Box<ValueCond>),
    ElemValue(Box<ValueCond>),
    ElemCond(Box<Cond>),
    All(Vec<ValueCond>),
    Regex(Box<dyn Pattern>),
    Type(&'static str),
    Const(bool),
}

impl Op {
    fn eval(&self, v: &Value) -> bool {
        match self {
            Op::Version(cmp, expected) => cmp.holds(js::cmp_utf16(&padded_version(v), expected)),
            Op::Eq(e) => js::strict_eq(v, e),
            Op::Ne(e) => !js::strict_eq(v, e),
            Op::Rel(cmp, s, n) => {
                let b = match s {
                    Some(s) => js::Prim::Str(Cow::Borrowed(&**s)),
                    None => js::Prim::Num(*n),
                };
                match js::compare(&js::to_primitive(v), &b) {
                    Some(o) => cmp.holds(o),
                    None => false,
                }
            }
            Op::Exists(b) => v.is_null() != *b,
            Op::In(set, negate) => set.is_in(v) != *negate,
            Op::Not(vc) => !vc.eval(v),
            Op::Size(vc) => match v {
                Value::Array(a) => vc.eval(&Value::Number(a.len() as f64)),
                _ => false,
            },
            Op::ElemValue(vc) => match v {
                Value::Array(a) => a.iter().any(|e| !e.is_null() && vc.eval(e)),
                _ => false,
            },
            Op::ElemCond(c) => match v {
                Value::Array(a) => a.iter().any(|e| !e.is_null() && c.eval(e)),
                _ => false,
            },
            Op::All(list) => match v {
                Value::Array(a) => list.iter().all(|c| a.iter().any(|e| c.eval(e))),
                _ => false,
            },
            Op::Regex(p) => {
                let s = js::to_string(v);
                // Longer inputs never match (docs/ruleset.md): bounds any pattern's work.
                s.len() <= super::regex::MAX_REGEX_INPUT && p.is_match(&s)
            }
            Op::Type(t) => v.type_name() == *t,
            Op::Const(b) => *b,
        }
    }
}

/// The primitive members of an `$in` list (or a saved group), sorted for binary search.
/// Objects and arrays in the list never match (`includes` compares them by reference).
#[derive(Default)]
struct InSet {
    strings: Vec<Box<str>>,
    numbers: Vec<f64>,
    has_true: bool,
    has_false: bool,
    has_null: bool,
    /// `$ini`/`$nini`: strings were lower-cased and are compared lower-cased.
    fold: bool,
}

impl InSet {
    fn new(list: &[Value], fold: bool) -> InSet {
        let mut set = InSet { fold, ..InSet::default() };
        for v in list {
            match v {
                Value::String(s) => set.strings.push(if fold { js::lower(s).into() } else { s.as_str().into() }),
                Value::Number(n) => set.numbers.push(*n),
                Value::Bool(true) => set.has_true = true,
                Value::Bool(false) => set.has_false = true,
                Value::Null => set.has_null = true,
                _ => {}
            }
        }
        // Equal elements are identical here, so the engine's one stable sort does.
        sort_by(&mut set.strings, |a, b| a.cmp(b));
        set.strings.dedup();
        sort_by(&mut set.numbers, |a, b| a.total_cmp(b));
        set
    }

    fn contains(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => {
                let s = if self.fold { js::lower(s) } else { Cow::Borrowed(s.as_str()) };
                self.strings.binary_search_by(|x| (**x).cmp(&*s)).is_ok()
            }
            Value::Number(n) => self.numbers.binary_search_by(|x| x.partial_cmp(n).unwrap_or(Ordering::Less)).is_ok(),
            Value::Bool(true) => self.has_true,
            Value::Bool(false) => self.has_false,
            Value::Null => self.has_null,
            _ => false,
        }
    }

    /// GrowthBook's `isIn`: an array attribute matches when any element is in the list.
    fn is_in(&self, v: &Value) -> bool {
        match v {
            Value::Array(a) => a.iter().any(|e| self.contains(e)),
            _ => self.contains(v),
        }
    }
}

struct Compiler<'a> {
    regex: &'a dyn RegexCompiler,
    groups: &'a Value,
    issues: Vec<Issue>,
    path: String,
    /// The saved groups being compiled, innermost last (a cycle stops here).
    stack: Vec<String>,
}

const TYPES: [&str; 6] = ["null", "array", "string", "number", "boolean", "object"];

impl Compiler<'_> {
    /// Where rulesets are written (natively), a pattern that can backtrack catastrophically
    /// is an error naming the pattern and the reason. The browser skips the check: the
    /// rulesets it loads were validated when published, and the check would cost every
    /// shopper bytes.
    #[cfg(not(target_arch = "wasm32"))]
    fn regex_is_safe(&mut self, pattern: &str, case_insensitive: bool) -> bool {
        match super::regex::check_backtracking(pattern, case_insensitive) {
            Ok(()) => true,
            Err(why) => {
                let shown: String = pattern.chars().take(80).collect();
                let more = if shown.len() < pattern.len() { "..." } else { "" };
                self.issue(format!("pattern {:?}{more} is rejected: it {why}", shown), true);
                false
            }
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn regex_is_safe(&mut self, _pattern: &str, _case_insensitive: bool) -> bool {
        true
    }

    fn issue(&mut self, reason: impl Into<String>, error: bool) {
        self.issues.push(Issue { path: self.path.clone(), reason: reason.into(), error });
    }

    fn with<T>(&mut self, seg: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(seg);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn with_index<T>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        self.path.push('[');
        self.path.push_str(&i.to_string());
        self.path.push(']');
        let out = f(self);
        self.path.truncate(len);
        out
    }

    /// `evalCondition`: a condition over an object.
    fn cond(&mut self, c: &Value) -> Cond {
        let mut parts = match c {
            Value::Object(m) => m.iter().map(|(k, v)| self.with(k, |s| s.entry(k, v))).collect::<Vec<_>>(),
            // `Object.entries` of an array or a string yields index keys.
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| self.with_index(i, |s| Cond::Field(Path::parse(&i.to_string()), s.value(v, false))))
                .collect(),
            Value::String(st) => st
                .chars()
                .enumerate()
                .map(|(i, ch)| Cond::Field(Path::parse(&i.to_string()), ValueCond::Str(ch.to_string().into())))
                .collect(),
            Value::Number(_) | Value::Bool(_) => Vec::new(),
            Value::Null => {
                self.issue("a condition must be an object, not null", true);
                return Cond::Const(false);
            }
        };
        if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::Const(true))
        } else {
            Cond::All(parts)
        }
    }

    fn list(&mut self, v: &Value) -> Option<Vec<Cond>> {
        match v {
            Value::Array(a) => Some(a.iter().enumerate().map(|(i, c)| self.with_index(i, |s| s.cond(c))).collect()),
            Value::String(st) => Some(st.chars().map(|ch| self.cond(&Value::String(ch.to_string()))).collect()),
            Value::Null => {
                self.issue("expected an array of conditions", true);
                None
            }
            _ => {
                self.issue("expected an array of conditions", true);
                Some(Vec::new())
            }
        }
    }

    fn entry(&mut self, k: &str, v: &Value) -> Cond {
        match k {
            "$or" => self.list(v).map_or(Cond::Const(false), Cond::Any),
            "$nor" => self.list(v).map_or(Cond::Const(false), |l| Cond::Not(Box::new(Cond::Any(l)))),
            "$and" => self.list(v).map_or(Cond::Const(false), Cond::All),
            "$not" => Cond::Not(Box::new(self.cond(v))),
            "$savedGroup" => self.saved_condition(v),
            _ => Cond::Field(Path::parse(k), self.value(v, false)),
        }
    }

    /// An error about saved group `id` (one message shape keeps the browser build small).
    fn group_issue(&mut self, id: &str, why: &str) {
        self.issue(format!("saved group \"{id}\" {why}"), true);
    }

    fn saved_condition(&mut self, v: &Value) -> Cond {
        let ids: Vec<&str> = match v {
            Value::Object(_) => return self.saved_reference(v).unwrap_or(Cond::Const(false)),
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) if !a.is_empty() && a.iter().all(|x| x.as_str().is_some()) => {
                a.iter().filter_map(Value::as_str).collect()
            }
            _ => {
                self.issue("expected {\"id\": \"<saved group>\"}, a saved group id or a list of ids", true);
                return Cond::Const(false);
            }
        };
        let mut all = Vec::new();
        for id in ids {
            // Tailor's form: a bare condition object, or a `"type": "condition"` group.
            let entry = saved_group_entry(self.groups, id);
            let condition = match entry.and_then(group_type) {
                Some("condition") => entry.and_then(|e| e.get("condition")),
                Some(_) => None,
                None => saved_group(self.groups, id),
            };
            match condition {
                Some(c @ Value::Object(_)) => match self.nested(id, c) {
                    Some(cond) => all.push(cond),
                    None => return Cond::Const(false),
                },
                _ => {
                    self.group_issue(
                        id,
                        if entry.is_some() { "is not a condition: use $inGroup" } else { "is unknown" },
                    );
                    return Cond::Const(false);
                }
            }
        }
        Cond::All(all)
    }

    /// Compiles the condition `c` of saved group `id`, or `None` (and an error) when `id` is
    /// already being compiled (a cycle) or groups nest too deeply.
    fn nested(&mut self, id: &str, c: &Value) -> Option<Cond> {
        if self.stack.iter().any(|s| s == id) || self.stack.len() >= MAX_GROUP_DEPTH {
            self.group_issue(id, "refers to itself, or groups nest more than 8 deep");
            return None;
        }
        self.stack.push(id.to_string());
        let out = self.cond(c);
        self.stack.pop();
        Some(out)
    }

    /// GrowthBook's `$savedGroup: {"id", "attributeKey"?}`: a list group tests the attribute
    /// (the reference's `attributeKey`, else the group's) against its values; a condition
    /// group holds. Anything else matches nobody (`None`, with an error).
    fn saved_reference(&mut self, reference: &Value) -> Option<Cond> {
        let id = reference.get("id").and_then(Value::as_str);
        let key_override = reference.get("attributeKey");
        let (Some(id), None | Some(Value::String(_))) = (id, key_override) else {
            self.issue("expected {\"id\": \"<saved group>\", \"attributeKey\"?: \"<attribute>\"}", true);
            return None;
        };
        let entry = saved_group_entry(self.groups, id);
        let why = match entry.and_then(group_type) {
            Some("list") => {
                let key = key_override.or_else(|| entry.and_then(|e| e.get("attributeKey"))).and_then(Value::as_str);
                match (key, entry.and_then(|e| e.get("values"))) {
                    (Some(key), Some(Value::Array(values))) => {
                        let test = ValueCond::Ops(vec![Op::In(InSet::new(values, false), false)]);
                        return Some(Cond::Field(Path::parse(key), test));
                    }
                    _ => "needs \"attributeKey\" (a string) and \"values\" (a list)",
                }
            }
            Some("condition") => match entry.and_then(|e| e.get("condition")) {
                Some(c @ (Value::Object(_) | Value::Array(_))) => return self.nested(id, c),
                _ => "needs \"condition\" (a condition object)",
            },
            _ if entry.is_none() => "is unknown",
            _ => "needs \"type\": \"list\" or \"condition\" (a bare list serves $inGroup)",
        };
        self.group_issue(id, why);
        None
    }

    /// `evalConditionValue`: how one attribute value is tested by `c`.
    fn value(&mut self, c: &Value, insensitive: bool) -> ValueCond {
        match c {
            Value::String(s) if insensitive => ValueCond::StrI(js::lower(s).into()),
            Value::String(s) => ValueCond::Str(s.as_str().into()),
            Value::Number(n) => ValueCond::Num(*n),
            Value::Bool(b) => ValueCond::Bool(*b),
            Value::Null => ValueCond::Null,
            Value::Object(m) if is_operator_object(c) => {
                ValueCond::Ops(m.iter().map(|(op, arg)| self.with(op, |s| s.op(op, arg))).collect())
            }
            _ => ValueCond::Json(c.clone()),
        }
    }

    fn op(&mut self, op: &str, arg: &Value) -> Op {
        let cmp = |op: &str| match op {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "lt" => Cmp::Lt,
            "lte" => Cmp::Lte,
            "gt" => Cmp::Gt,
            _ => Cmp::Gte,
        };
        match op {
            "$veq" | "$vne" | "$vgt" | "$vgte" | "$vlt" | "$vlte" => Op::Version(cmp(&op[2..]), padded_version(arg)),
            "$eq" => match arg {
                Value::Array(_) | Value::Object(_) => Op::Const(false),
                _ => Op::Eq(arg.clone()),
            },
            "$ne" => match arg {
                Value::Array(_) | Value::Object(_) => Op::Const(true),
                _ => Op::Ne(arg.clone()),
            },
            "$lt" | "$lte" | "$gt" | "$gte" => match js::to_primitive(arg) {
                js::Prim::Str(s) => Op::Rel(cmp(&op[1..]), Some((*s).into()), js::string_to_number(&s)),
                js::Prim::Num(n) => Op::Rel(cmp(&op[1..]), None, n),
            },
            "$exists" => Op::Exists(js::truthy(arg)),
            "$in" | "$nin" | "$ini" | "$nini" => match arg {
                Value::Array(a) => Op::In(InSet::new(a, op.ends_with('i')), op.starts_with("$n")),
                _ => {
                    self.issue(format!("{op} expects an array"), true);
                    Op::Const(false)
                }
            },
            "$inGroup" | "$notInGroup" => {
                // GrowthBook reads `savedGroups[expected]`: the operand as a property name.
                let id = js::to_string(arg);
                let negate = op == "$notInGroup";
                let entry = saved_group_entry(self.groups, &id);
                let values = match entry {
                    Some(Value::Array(a)) => Some(a),
                    Some(e) if group_type(e) == Some("list") => e.get("values").and_then(Value::as_array),
                    // Tailor's array form: `{"id", "values"}`.
                    Some(e) if self.groups.as_array().is_some() && group_type(e).is_none() => {
                        e.get("values").and_then(Value::as_array)
                    }
                    _ => None,
                };
                match (entry, values) {
                    (_, Some(a)) => Op::In(InSet::new(a, false), negate),
                    (None, _) => {
                        // An unknown id is an empty list: in nobody's group.
                        self.group_issue(&id, "is unknown");
                        Op::Const(negate)
                    }
                    // A condition group, a malformed entry or an unknown type matches nobody,
                    // for both operators (an empty list would pass everyone's $notInGroup).
                    _ => {
                        self.group_issue(&id, "is not a list of values");
                        Op::Const(false)
                    }
                }
            }
            "$not" => Op::Not(Box::new(self.value(arg, false))),
            "$size" => Op::Size(Box::new(self.value(arg, false))),
            "$elemMatch" => match arg {
                Value::Null => {
                    self.issue("$elemMatch expects a condition", true);
                    Op::Const(false)
                }
                _ if is_operator_object(arg) => Op::ElemValue(Box::new(self.value(arg, false))),
                _ => Op::ElemCond(Box::new(self.cond(arg))),
            },
            "$all" | "$alli" => match arg {
                Value::Array(a) => {
                    let insensitive = op == "$alli";
                    Op::All(
                        a.iter().enumerate().map(|(i, c)| self.with_index(i, |s| s.value(c, insensitive))).collect(),
                    )
                }
                _ => {
                    self.issue(format!("{op} expects an array"), true);
                    Op::Const(false)
                }
            },
            "$regex" | "$regexi" => match arg {
                Value::String(p) if !self.regex_is_safe(p, op == "$regexi") => Op::Const(false),
                Value::String(p) => match self.regex.compile(p, op == "$regexi") {
                    Some(re) => Op::Regex(re),
                    None => {
                        self.issue("this regular expression does not compile here (it is false)", false);
                        Op::Const(false)
                    }
                },
                _ => {
                    self.issue(format!("{op} expects a string"), true);
                    Op::Const(false)
                }
            },
            "$type" => match TYPES.iter().find(|t| arg.as_str() == Some(**t)) {
                Some(t) => Op::Type(t),
                None => {
                    self.issue(format!("$type expects one of {}", super::json::join_strs(&TYPES, ", ")), true);
                    Op::Const(false)
                }
            },
            _ => {
                self.issue(format!("unknown operator {op}"), true);
                Op::Const(false)
            }
        }
    }
}

/// An object whose keys all start with `$` (and that has at least one).
fn is_operator_object(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty() && m.keys().all(|k| k.starts_with('$')),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::regex::NoRegex;

    fn check(cond: &str, attrs: &str) -> bool {
        let c = Value::parse(cond).unwrap();
        let a = Value::parse(attrs).unwrap();
        eval_condition(&a, &c, &Value::Null, &NoRegex)
    }

    #[test]
    fn javascript_coercions() {
        assert!(check(r#"{"age":{"$gt":"9"}}"#, r#"{"age":10}"#));
        assert!(!check(r#"{"age":{"$gt":"9"}}"#, r#"{"age":"10"}"#));
        assert!(check(r#"{"age":{"$lt":5}}"#, r#"{}"#));
        assert!(check(r#"{"n":"10"}"#, r#"{"n":10}"#));
        assert!(check(r#"{"n":10}"#, r#"{"n":"10"}"#));
        assert!(check(r#"{"tags.length":2}"#, r#"{"tags":["a","b"]}"#));
        assert!(check(r#"{"tags.1":"b"}"#, r#"{"tags":["a","b"]}"#));
        assert!(!check(r#"{"x":{"$eq":[1]}}"#, r#"{"x":[1]}"#));
        assert!(check(r#"{"x":[1]}"#, r#"{"x":[1]}"#));
        assert!(!check(r#"{"x":{"$foo":1}}"#, r#"{"x":1}"#));
        assert!(check(r#"{"$or":{}}"#, r#"{}"#));
        assert!(!check(r#"{"$or":null}"#, r#"{}"#));
        assert!(check(r#"{"v":{"$vgt":"1.9.0"}}"#, r#"{"v":"1.10.0"}"#));
        assert!(check(r#"{"a":{"$elemMatch":{"$gte":0}}}"#, r#"{"a":[0,false]}"#));
        assert!(!check(r#"{"a":{"$elemMatch":{"$exists":false}}}"#, r#"{"a":[null]}"#));
    }

    /// One compiled condition over attributes of changing shapes: the position each path step
    /// remembers is only a first guess, never the answer.
    #[test]
    fn a_path_finds_its_key_wherever_the_object_has_it() {
        let c = Condition::compile(
            &Value::parse(r#"{"u.plan": "gold", "u.n": {"$gt": 1}}"#).unwrap(),
            &Value::Null,
            &NoRegex,
        );
        let cases = [
            (r#"{"u": {"plan": "gold", "n": 2}}"#, true),
            (r#"{"x": 1, "u": {"n": 2, "y": 0, "plan": "gold"}}"#, true),
            (r#"{"u": {"n": 2, "plan": "silver"}}"#, false),
            (r#"{"u": {"plan": "gold"}}"#, false),
            (r#"{"x": 1, "y": 2, "z": 3, "u": {"a": 1, "b": 2, "c": 3, "plan": "gold", "n": 9}}"#, true),
            (r#"{"u": {"n": 2}}"#, false),
            (r#"{"u": {"plan": "gold", "n": 2}}"#, true),
            (r#"{"plan": "gold", "n": 2}"#, false),
        ];
        for _ in 0..2 {
            for (attrs, want) in cases {
                assert_eq!(c.eval(&Value::parse(attrs).unwrap()), want, "{attrs}");
            }
        }
        // Items of a list with their keys in different orders.
        let e = Condition::compile(
            &Value::parse(r#"{"items": {"$elemMatch": {"sku": "b", "q": 2}}}"#).unwrap(),
            &Value::Null,
            &NoRegex,
        );
        let list = r#"{"items": [{"sku": "a", "q": 2}, {"q": 2, "sku": "b"}, {"z": 0, "sku": "c", "q": 1}]}"#;
        assert!(e.eval(&Value::parse(list).unwrap()));
        assert!(!e.eval(&Value::parse(r#"{"items": [{"sku": "a", "q": 2}, {"q": 1, "sku": "b"}]}"#).unwrap()));
    }
}
