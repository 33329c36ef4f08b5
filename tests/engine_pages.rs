//! Page changes and URL targeting (issue 11): every validation rule with its exact path and
//! reason, URL matching for every pattern type (tests/vectors/url_patterns.json), and the
//! decision output the browser applies (changes, css, redirect, pageExposures).

use tailor::engine::decision::{DecideOptions, Exposure};
use tailor::engine::experiment::{ExperimentReason, ForcedVariations};
use tailor::engine::json::Value;
use tailor::engine::page::targeted;
use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;

fn compile(text: &str) -> Result<Ruleset, Vec<String>> {
    let doc = Value::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    Ruleset::compile(&doc, &NativeRegex).map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// A ruleset with one offer and one experiment on `/` and `/sale...`; `{V1}` is replaced by
/// the fields of variation 1, `{PATTERNS}` by the urlPatterns, `{OFFER}` by offer fields.
fn ruleset(v1: &str, patterns: &str, offer: &str) -> String {
    let base = r#"{
      "version": 1,
      "placements": { "hero": { "limit": 1 } },
      "offers": [{ "id": "o", "placements": ["hero"], "content": { "title": "T" } {OFFER} }],
      "experiments": [{
        "key": "x",
        "urlPatterns": {PATTERNS},
        "variations": [{ "key": "control" }, { "key": "b" {V1} }]
      }]
    }"#;
    let patterns = if patterns.is_empty() {
        r#"[{"type":"exact","pattern":"/"},{"type":"prefix","pattern":"/sale"}]"#
    } else {
        patterns
    };
    base.replace("{V1}", v1).replace("{PATTERNS}", patterns).replace("{OFFER}", offer)
}

fn with_change(change: &str) -> String {
    ruleset(&format!(r#", "changes": [{change}]"#), "", "")
}

const C: &str = "experiments[0].variations[1].changes[0]";

#[test]
fn every_rule_is_reported_at_its_path() {
    let actions =
        "text, html, attribute, addClass, removeClass, style, insertBefore, insertAfter, prepend, append, move, hide";
    // (ruleset, the error line; a line ending in "..." is compared as a prefix)
    let cases: Vec<(String, String)> = vec![
        (
            with_change(r##"{"selector":"#a","action":"shout","value":"x"}"##),
            format!(r#"{C}.action: unknown action "shout" (one of {actions})"#),
        ),
        (with_change(r#"{"action":"hide"}"#), format!("{C}.selector: is required")),
        (with_change(r##"{"selector":"#a"}"##), format!("{C}.action: is required")),
        (with_change(r##"{"selector":"#a","action":7}"##), format!("{C}.action: expected a string, found number")),
        (
            with_change(r##"{"selector":["#a","#b","#c","#d","#e","#f"],"action":"hide"}"##),
            format!("{C}.selector: expected a CSS selector or an array of 1 to 5 selectors"),
        ),
        (with_change(r#"{"selector":[],"action":"hide"}"#), format!("{C}.selector: expected a CSS selector or an array of 1 to 5 selectors")),
        (
            with_change(r##"{"selector":["#a",3],"action":"hide"}"##),
            format!("{C}.selector[1]: expected a CSS selector string, found number"),
        ),
        (
            with_change(r#"{"selector":"a{}","action":"hide"}"#),
            format!("{C}.selector: is not a CSS selector (it contains {{, }} or <)"),
        ),
        (with_change(r#"{"selector":"  ","action":"hide"}"#), format!("{C}.selector: must not be empty")),
        (with_change(r##"{"selector":"#a","action":"hide","fingerprint":""}"##), format!("{C}.fingerprint: must not be empty")),
        (
            with_change(r##"{"selector":"#a","action":"hide","selectr":"#b"}"##),
            format!("{C}.selectr: unknown field (expected one of selector, fingerprint, action, name, value, target, position)"),
        ),
        (with_change(r##"{"selector":"#a","action":"attribute","value":"x"}"##), format!("{C}.name: is required")),
        (with_change(r##"{"selector":"#a","action":"style","value":"red"}"##), format!("{C}.name: is required")),
        (with_change(r##"{"selector":"#a","action":"text"}"##), format!("{C}.value: is required by action text")),
        (with_change(r##"{"selector":"#a","action":"append"}"##), format!("{C}.value: is required by action append")),
        (with_change(r##"{"selector":"#a","action":"text","value":5}"##), format!("{C}.value: expected a string, found number")),
        (with_change(r##"{"selector":"#a","action":"hide","value":"x"}"##), format!("{C}.value: is not used by action hide")),
        (
            with_change(r##"{"selector":"#a","action":"text","value":"x","name":"title"}"##),
            format!("{C}.name: is only used by the attribute and style actions"),
        ),
        (with_change(r##"{"selector":"#a","action":"move","position":"after"}"##), format!("{C}.target: is required")),
        (
            with_change(r##"{"selector":"#a","action":"move","target":"#b"}"##),
            format!(r#"{C}.position: expected one of "before", "after", "prepend", "append" (required by action move)"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"move","target":"#b","position":"inside"}"##),
            format!(r#"{C}.position: expected one of "before", "after", "prepend", "append" (required by action move)"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"text","value":"x","target":"#b"}"##),
            format!("{C}.target: is only used by action move"),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"onclick","value":"alert(1)"}"##),
            format!(r#"{C}.name: attribute "onclick" is an event handler: never settable"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"style","value":"color:red"}"##),
            format!(r#"{C}.name: attribute "style" is not settable: use the style action"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"srcdoc","value":"x"}"##),
            format!(r#"{C}.name: attribute "srcdoc" is not settable (one of alt, dir, ..."#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"data-bind","value":"x"}"##),
            format!(r#"{C}.name: attribute "data-bind" is read as code by page frameworks: not settable"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"Title","value":"x"}"##),
            format!(r#"{C}.name: attribute name "Title" is not a lowercase name (a-z, 0-9, -)"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"href","value":"javascript:alert(1)"}"##),
            format!(r#"{C}.value: URL "javascript:alert(1)" is refused: it has a scheme other than http: or https:"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"src","value":"data:image/png;base64,AAAA"}"##),
            format!(r#"{C}.value: URL "data:image/png;base64,AAAA" is refused: it has a scheme other than http: or https:"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"src","value":"mailto:a@b.example"}"##),
            format!(r#"{C}.value: URL "mailto:a@b.example" is refused: ..."#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"srcset","value":"/a.png 1x, javascript:x 2x"}"##),
            format!(r#"{C}.value: URL "/a.png 1x, javascript:x 2x" is refused: it has a scheme other than http: or https:"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"attribute","name":"href","value":"tel:+49 30 1234"}"##),
            format!(r#"{C}.value: URL "tel:+49 30 1234" is refused: it contains a space..."#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"style","name":"width","value":"expression(alert(1))"}"##),
            format!("{C}.value: CSS is refused: it uses expression()"),
        ),
        (
            with_change(r##"{"selector":"#a","action":"style","name":"color","value":"red; background: blue"}"##),
            format!("{C}.value: a style value must not contain {{, }} or ; (one value of one property)"),
        ),
        (
            with_change(r##"{"selector":"#a","action":"style","name":"background image","value":"none"}"##),
            format!(r#"{C}.name: "background image" is not a CSS property name"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"style","name":"background","value":"url(javascript:alert(1))"}"##),
            format!("{C}.value: CSS is refused: it contains javascript:"),
        ),
        (
            with_change(r##"{"selector":"#a","action":"addClass","value":"  "}"##),
            format!("{C}.value: expected one or more class names"),
        ),
        (
            with_change(r##"{"selector":"#a","action":"html","value":"<script>alert(1)</script>"}"##),
            format!("{C}.value: HTML is refused: it contains a <script> element (allowed: ..."),
        ),
        (
            with_change(r##"{"selector":"#a","action":"insertAfter","value":"<img src=x onerror=alert(1)>"}"##),
            format!(r#"{C}.value: HTML is refused: it has attribute "onerror" on <img>, which is not allowed"#),
        ),
        (
            with_change(r##"{"selector":"#a","action":"prepend","value":"<a href='javascript:x'>x</a>"}"##),
            format!(r#"{C}.value: HTML is refused: it has a href URL "javascript:x" that is refused: it has a scheme other than http: or https:"#),
        ),
        (
            with_change(&format!(r##"{{"selector":"#a","action":"text","value":"{}"}}"##, "x".repeat(10_001))),
            format!("{C}.value: is longer than 10000 characters"),
        ),
        (
            ruleset(&format!(r#", "changes": [{}]"#, vec![r##"{"selector":"#a","action":"hide"}"##; 101].join(",")), "", ""),
            "experiments[0].variations[1].changes: expected an array of at most 100 changes".into(),
        ),
        (
            ruleset(r#", "changes": {}"#, "", ""),
            "experiments[0].variations[1].changes: expected an array of at most 100 changes".into(),
        ),
        (
            ruleset(r#", "css": "@import url(https://cdn.example/x.css);""#, "", ""),
            "experiments[0].variations[1].css: CSS is refused: it uses @import".into(),
        ),
        (
            ruleset(r#", "css": "</style><script>alert(1)</script>""#, "", ""),
            "experiments[0].variations[1].css: CSS is refused: it contains </ or <! (it could close the style element)".into(),
        ),
        (
            ruleset(r#", "css": ".a { background: url('data:text/html,x') }""#, "", ""),
            "experiments[0].variations[1].css: CSS is refused: it has a url() with a scheme other than http: or https:".into(),
        ),
        (ruleset(&format!(r#", "css": "{}""#, "a".repeat(10_001)), "", ""), "experiments[0].variations[1].css: is longer than 10000 characters".into()),
        (ruleset(r#", "css": 1"#, "", ""), "experiments[0].variations[1].css: expected a string, found number".into()),
        // Offers: changes and css, never a redirect.
        (
            ruleset("", "", r##", "changes": [{"selector":"#b","action":"blink"}]"##),
            format!(r#"offers[0].changes[0].action: unknown action "blink" (one of {actions})"#),
        ),
        (
            ruleset("", "", r#", "css": "a { behavior: url(x.htc) }""#),
            "offers[0].css: CSS is refused: it uses behavior:".into(),
        ),
        (ruleset("", "", r#", "redirect": {"url": "/x"}"#), "offers[0].redirect: unknown field (expected one of ...".into()),
        // Redirects.
        (
            ruleset(r#", "redirect": {"url": "javascript:alert(1)"}"#, "", ""),
            r#"experiments[0].variations[1].redirect.url: redirect URL "javascript:alert(1)" is refused: it has a scheme other than http: or https:"#.into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "//evil.example/"}"#, "", ""),
            r#"experiments[0].variations[1].redirect.url: redirect URL "//evil.example/" is refused: it is protocol-relative (//host): write https://host"#.into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "new-home"}"#, "", ""),
            r#"experiments[0].variations[1].redirect.url: redirect URL "new-home" is refused: it is neither absolute (https://...) nor starting with /"#.into(),
        ),
        (ruleset(r#", "redirect": {}"#, "", ""), "experiments[0].variations[1].redirect.url: is required".into()),
        (
            ruleset(r#", "redirect": {"url": "/new", "keepQuery": "yes"}"#, "", ""),
            "experiments[0].variations[1].redirect.keepQuery: expected true or false, found string".into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "/new", "keepquery": true}"#, "", ""),
            "experiments[0].variations[1].redirect.keepquery: unknown field (expected one of url, keepQuery)".into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "/sale/new"}"#, "", ""),
            r#"experiments[0].variations[1].redirect.url: redirect target "/sale/new" matches the experiment's urlPatterns: it would redirect again"#.into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "https://shop.example/?v=2"}"#, "", ""),
            r#"experiments[0].variations[1].redirect.url: redirect target "https://shop.example/?v=2" matches the experiment's urlPatterns: it would redirect again"#.into(),
        ),
        (
            ruleset(r##", "redirect": {"url": "/new"}, "css": "a { color: red }""##, "", ""),
            "experiments[0].variations[1].redirect: a redirect variation leaves the page: it cannot also have changes or css".into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "/new"}"#, r#"[{"type":"wildcard","pattern":"*"},{"type":"prefix","pattern":"/new","include":false}]"#, "")
                .replace(r#"{ "key": "control" }"#, r#"{ "key": "control", "redirect": {"url": "/new"} }"#),
            "experiments[0].variations[0].redirect: the control (variation 0) cannot redirect: shoppers outside the experiment see it".into(),
        ),
        (
            ruleset(r#", "redirect": {"url": "/new"}"#, "", "").replace(r#""urlPatterns": [{"type":"exact","pattern":"/"},{"type":"prefix","pattern":"/sale"}],"#, ""),
            "experiments[0].variations[1].redirect: a redirect needs urlPatterns: without them the experiment runs on every page, the target's too".into(),
        ),
        // URL patterns.
        (ruleset("", "[]", ""), "experiments[0].urlPatterns: expected an array of 1 to 20 URL patterns".into()),
        (ruleset("", r#""/""#, ""), "experiments[0].urlPatterns: expected an array of 1 to 20 URL patterns".into()),
        (
            ruleset("", &format!("[{}]", vec![r#"{"type":"prefix","pattern":"/"}"#; 21].join(",")), ""),
            "experiments[0].urlPatterns: expected an array of 1 to 20 URL patterns".into(),
        ),
        (
            ruleset("", r#"[{"type":"glob","pattern":"/*"}]"#, ""),
            r#"experiments[0].urlPatterns[0].type: expected one of "exact", "prefix", "wildcard", "regex", found "glob""#.into(),
        ),
        (
            ruleset("", r#"[{"pattern":"/"}]"#, ""),
            r#"experiments[0].urlPatterns[0].type: expected one of "exact", "prefix", "wildcard", "regex", found nothing"#.into(),
        ),
        (ruleset("", r#"[{"type":"exact"}]"#, ""), "experiments[0].urlPatterns[0].pattern: is required".into()),
        (ruleset("", r#"[{"type":"exact","pattern":""}]"#, ""), "experiments[0].urlPatterns[0].pattern: must not be empty".into()),
        (
            ruleset("", r#"[{"type":"exact","pattern":"/","include":"yes"}]"#, ""),
            "experiments[0].urlPatterns[0].include: expected true or false, found string".into(),
        ),
        (
            ruleset("", r#"[{"type":"exact","pattern":"/","exclude":true}]"#, ""),
            "experiments[0].urlPatterns[0].exclude: unknown field (expected one of type, pattern, include)".into(),
        ),
        (
            ruleset("", r##"[{"type":"exact","pattern":"/#top"}]"##, ""),
            "experiments[0].urlPatterns[0].pattern: must not have a fragment (#...): the page URL's fragment is ignored".into(),
        ),
        (
            ruleset("", r#"[{"type":"prefix","pattern":"sale"}]"#, ""),
            "experiments[0].urlPatterns[0].pattern: expected a path starting with / or an absolute URL (https://host/...)".into(),
        ),
        (
            ruleset("", r#"[{"type":"regex","pattern":"^/(a+)+$"}]"#, ""),
            r#"experiments[0].urlPatterns[0].pattern: pattern "^/(a+)+$" is rejected: it ..."#.into(),
        ),
        (
            ruleset("", r#"[{"type":"regex","pattern":"/p/(["}]"#, ""),
            r#"experiments[0].urlPatterns[0].pattern: pattern "/p/([" is rejected: ..."#.into(),
        ),
        (
            ruleset("", r#"[{"type":"prefix","pattern":"/checkout","include":false}]"#, ""),
            "experiments[0].urlPatterns: needs at least one include pattern (include: true, the default)".into(),
        ),
    ];
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (text, want) in &cases {
        let errors = match compile(text) {
            Ok(_) => {
                failures.push(format!("accepted, wanted {want}"));
                continue;
            }
            Err(errors) => errors,
        };
        let ok = match want.strip_suffix("...") {
            Some(prefix) => errors.len() == 1 && errors[0].starts_with(prefix),
            None => errors == [want.clone()],
        };
        if !ok {
            failures.push(format!("wanted exactly {want:?}\n   got {errors:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn valid_page_changes_of_every_action_load() {
    let changes = r##"[
      {"selector": ["#hero h1", ".hero-title"], "fingerprint": "Welcome", "action": "text", "value": "Winter sale"},
      {"selector": "#hero .lead", "action": "html", "value": "<strong>-20%</strong> on <a href=\"/sale\">everything</a>"},
      {"selector": "#cta", "action": "attribute", "name": "href", "value": "/sale?from=hero"},
      {"selector": "#cta", "action": "attribute", "name": "aria-label", "value": "See the sale"},
      {"selector": "#cta", "action": "attribute", "name": "data-track", "value": "hero-cta"},
      {"selector": "#contact", "action": "attribute", "name": "href", "value": "mailto:help@shop.example"},
      {"selector": "#phone", "action": "attribute", "name": "href", "value": "tel:+493012345"},
      {"selector": "#hero img", "action": "attribute", "name": "srcset", "value": "/img/a.jpg 1x, https://cdn.example/a@2x.jpg 2x"},
      {"selector": "#cta", "action": "addClass", "value": "btn-large btn-red"},
      {"selector": "#cta", "action": "removeClass", "value": "btn-small"},
      {"selector": "#cta", "action": "style", "name": "background-color", "value": "#b91c1c"},
      {"selector": "#cta", "action": "style", "name": "--accent", "value": "url(/img/dot.png)"},
      {"selector": "#hero", "action": "insertBefore", "value": "<p class=\"ribbon\">Free delivery</p>"},
      {"selector": "#hero", "action": "insertAfter", "value": "<hr>"},
      {"selector": "#hero ul", "action": "prepend", "value": "<li>New</li>"},
      {"selector": "#hero ul", "action": "append", "value": "<li>Last</li>"},
      {"selector": "#reviews", "action": "move", "target": "#hero", "position": "after"},
      {"selector": "#newsletter-popup", "action": "hide"}
    ]"##;
    let text = ruleset(&format!(r##", "changes": {changes}, "css": "#hero h1 {{ letter-spacing: .02em }}""##), "", "");
    let rs = compile(&text).unwrap_or_else(|e| panic!("{e:?}"));
    let v = &rs.experiments[0].variations[1];
    assert_eq!(v.page.changes.as_ref().and_then(Value::as_array).map(Vec::len), Some(18));
    assert!(rs.experiments[0].changes_page());
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
}

#[test]
fn page_changes_without_url_patterns_are_a_warning() {
    let text = ruleset(r##", "changes": [{"selector":"#a","action":"hide"}]"##, "", "")
        .replace(r#""urlPatterns": [{"type":"exact","pattern":"/"},{"type":"prefix","pattern":"/sale"}],"#, "");
    let rs = compile(&text).unwrap();
    let w: Vec<String> = rs.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        ["experiments[0].urlPatterns: the experiment changes the page but has no urlPatterns: its changes apply on every page"]
    );
}

#[test]
fn url_pattern_vectors() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/url_patterns.json")).unwrap();
    let groups = Value::parse(&text).unwrap();
    let groups = groups.as_array().unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    let (mut types, mut excludes) = (Vec::new(), 0);
    for g in groups {
        let name = g.get("name").and_then(Value::as_str).unwrap();
        let patterns = g.get("urlPatterns").unwrap();
        for p in patterns.as_array().unwrap() {
            types.push(p.get("type").and_then(Value::as_str).unwrap().to_string());
            excludes += usize::from(p.get("include") == Some(&Value::Bool(false)));
        }
        let rs = compile(&format!(
            r#"{{"version":1,"placements":{{}},"experiments":[{{"key":"x","urlPatterns":{},"variations":[{{}},{{}}]}}]}}"#,
            patterns.to_json()
        ))
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        for c in g.get("cases").and_then(Value::as_array).unwrap() {
            n += 1;
            let url = c.get("url").and_then(Value::as_str).unwrap();
            let want = c.get("expected").and_then(Value::as_bool).unwrap();
            if targeted(&rs.experiments[0].url_patterns, url) != want {
                failures.push(format!("{name}: {url:.100} should {}match", if want { "" } else { "not " }));
            }
            // The decision agrees: on a page that is not targeted, the shopper is not in it.
            let attrs =
                Value::parse(&format!(r#"{{"id":"u1","context":{{"url":{}}}}}"#, Value::from(url).to_json())).unwrap();
            let d = rs.decide(&attrs, &DecideOptions { now: 1.0, ..Default::default() });
            let reason = &d.experiments[0].reason;
            if !want && (d.experiments[0].in_experiment || *reason != ExperimentReason::UrlNotTargeted) {
                failures.push(format!("{name}: {url:.100}: decided {reason:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 60, "{n} cases");
    for t in ["exact", "prefix", "wildcard", "regex"] {
        assert!(types.iter().any(|x| x == t), "no {t} pattern in the vectors");
    }
    assert!(excludes >= 3, "exclude patterns");
}

/// The shopper ids that land in variation 1 (and 0) of experiment `x` of `rs`.
fn ids_for(rs: &Ruleset, url: &str) -> (String, String) {
    let (mut one, mut zero) = (None, None);
    for i in 0..200 {
        let id = format!("u{i}");
        let d = rs.decide(&attrs(&id, Some(url)), &DecideOptions { now: 1.0, ..Default::default() });
        match (d.experiments[0].in_experiment, d.experiments[0].variation) {
            (true, 1) => one = one.or(Some(id)),
            (true, 0) => zero = zero.or(Some(id)),
            _ => {}
        }
    }
    (one.unwrap(), zero.unwrap())
}

fn attrs(id: &str, url: Option<&str>) -> Value {
    let context = url.map_or("{}".to_string(), |u| format!(r#"{{"url":{}}}"#, Value::from(u).to_json()));
    Value::parse(&format!(r#"{{"id":"{id}","context":{context}}}"#)).unwrap()
}

const PAGE_RULESET: &str = r##"{
  "version": 1,
  "placements": { "hero": { "limit": 1 } },
  "offers": [
    { "id": "banner", "placements": ["hero"], "content": { "title": "Sale" },
      "changes": [{ "selector": "#banner", "action": "text", "value": "Sale now on" }], "css": "#banner { color: #b91c1c }" }
  ],
  "experiments": [
    { "key": "headline",
      "urlPatterns": [{ "type": "exact", "pattern": "/" }],
      "variations": [
        { "key": "control" },
        { "key": "bold",
          "changes": [{ "selector": ["#hero h1", ".hero-title"], "action": "text", "value": "Winter sale" },
                      { "selector": "#cta", "action": "hide" }],
          "css": "#hero h1 { font-weight: 800 }" }
      ] },
    { "key": "new-product-page",
      "urlPatterns": [{ "type": "prefix", "pattern": "/p/" }, { "type": "prefix", "pattern": "/p/new/", "include": false }],
      "variations": [{ "key": "control" }, { "key": "new", "redirect": { "url": "/p/new/" } }] },
    { "key": "plain", "variations": [{ "key": "a", "value": 1 }, { "key": "b", "value": 2 }] }
  ]
}"##;

#[test]
fn decisions_carry_the_changes_and_page_exposures() {
    let rs = compile(PAGE_RULESET).unwrap();
    let (one, zero) = ids_for(&rs, "https://shop.example/");
    let options = DecideOptions { now: 1.0, ..Default::default() };

    // Treatment: the entry carries changes and css; the exposure waits for the browser.
    let d = rs.decide(&attrs(&one, Some("https://shop.example/?utm_source=news")), &options);
    let v = d.to_value();
    let hx = &v.get("experiments").and_then(Value::as_array).unwrap()[0];
    assert_eq!(hx.get("variationKey").and_then(Value::as_str), Some("bold"));
    assert_eq!(
        hx.get("changes").unwrap().to_json(),
        r##"[{"selector":["#hero h1",".hero-title"],"action":"text","value":"Winter sale"},{"selector":"#cta","action":"hide"}]"##
    );
    assert_eq!(hx.get("css").and_then(Value::as_str), Some("#hero h1 { font-weight: 800 }"));
    assert!(hx.get("redirect").is_none());
    let exposures = v.get("exposures").unwrap().to_json();
    assert!(!exposures.contains("headline"), "{exposures}");
    assert!(!exposures.contains("banner"), "{exposures}");
    assert!(exposures.contains(r#""experimentKey":"plain""#), "{exposures}");
    assert_eq!(
        v.get("pageExposures").unwrap().to_json(),
        r##"[{"type":"experiment_exposure","experimentKey":"headline","variation":1,"selectors":["#hero h1",".hero-title","#cta"]},{"type":"offer_impression","offerId":"banner","placement":"hero","selectors":["#banner"]}]"##
    );
    assert!(d.page_exposures.contains(&Exposure::Experiment { experiment: 0, variation: 1 }));
    assert!(!d.exposures.iter().any(|e| matches!(e, Exposure::Experiment { experiment: 0, .. })));
    // The offer's changes ride with it in the placement.
    let offer = &v
        .get("placements")
        .and_then(|p| p.get("hero"))
        .and_then(|h| h.get("offers"))
        .and_then(Value::as_array)
        .unwrap()[0];
    assert_eq!(
        offer.get("changes").unwrap().to_json(),
        r##"[{"selector":"#banner","action":"text","value":"Sale now on"}]"##
    );
    assert_eq!(offer.get("css").and_then(Value::as_str), Some("#banner { color: #b91c1c }"));
    // The redirect experiment is not on this page.
    let rx = &v.get("experiments").and_then(Value::as_array).unwrap()[1];
    assert_eq!(rx.get("inExperiment"), Some(&Value::Bool(false)));
    #[cfg(feature = "reason-text")]
    let not_here = Value::from("the page URL does not match the experiment's urlPatterns: not on this page");
    #[cfg(not(feature = "reason-text"))]
    let not_here = Value::parse(r#"{"code":"url_not_targeted"}"#).unwrap();
    assert_eq!(rx.get("reason"), Some(&not_here));

    // Control: no changes, but the exposure is still a page exposure (counted once the
    // elements under test are on the page), with the same selectors.
    let v = rs.decide(&attrs(&zero, Some("https://shop.example/")), &options).to_value();
    let hx = &v.get("experiments").and_then(Value::as_array).unwrap()[0];
    assert_eq!(hx.get("variation").and_then(Value::as_f64), Some(0.0));
    assert!(hx.get("changes").is_none() && hx.get("css").is_none());
    assert!(v.get("pageExposures").unwrap().to_json().starts_with(
        r##"[{"type":"experiment_exposure","experimentKey":"headline","variation":0,"selectors":["#hero h1",".hero-title","#cta"]}"##
    ));

    // Another page: not in the experiment, no changes.
    let v = rs.decide(&attrs(&one, Some("https://shop.example/cart")), &options).to_value();
    let hx = &v.get("experiments").and_then(Value::as_array).unwrap()[0];
    assert_eq!(hx.get("inExperiment"), Some(&Value::Bool(false)));
    assert!(hx.get("changes").is_none());
    assert!(!v.get("pageExposures").unwrap().to_json().contains("headline"));

    // No URL at all.
    let d = rs.decide(&attrs(&one, None), &options);
    assert_eq!(d.experiments[0].reason, ExperimentReason::NoPageUrl);
    #[cfg(feature = "reason-text")]
    assert_eq!(
        d.experiments[0].reason_text(&rs),
        "no page URL (context.url) to match the experiment's urlPatterns: not on this page"
    );
    assert!(d.page_exposures.iter().all(|e| !matches!(e, Exposure::Experiment { .. })));
}

#[test]
fn redirect_variations_and_their_exposure() {
    let rs = compile(PAGE_RULESET).unwrap();
    let options = DecideOptions { now: 1.0, ..Default::default() };
    let one = (0..200)
        .map(|i| format!("u{i}"))
        .find(|id| rs.decide(&attrs(id, Some("https://shop.example/p/1")), &options).experiments[1].variation == 1)
        .unwrap();
    let v = rs.decide(&attrs(&one, Some("https://shop.example/p/1?size=42")), &options).to_value();
    let rx = &v.get("experiments").and_then(Value::as_array).unwrap()[1];
    assert_eq!(rx.get("redirect").unwrap().to_json(), r#"{"url":"/p/new/","keepQuery":true}"#);
    assert!(v
        .get("pageExposures")
        .unwrap()
        .to_json()
        .contains(r#"{"type":"experiment_exposure","experimentKey":"new-product-page","variation":1,"selectors":[]}"#));
    // The target is excluded from the experiment: arriving there never redirects again.
    let v = rs.decide(&attrs(&one, Some("https://shop.example/p/new/?size=42")), &options).to_value();
    let rx = &v.get("experiments").and_then(Value::as_array).unwrap()[1];
    assert_eq!(rx.get("inExperiment"), Some(&Value::Bool(false)));
    assert!(rx.get("redirect").is_none());
}

#[test]
fn forced_variations_still_need_the_page() {
    let rs = compile(PAGE_RULESET).unwrap();
    let forced = DecideOptions { now: 1.0, forced: ForcedVariations::parse("headline:1"), ..Default::default() };
    // On the page: the forced variation's changes, not counted.
    let v = rs.decide(&attrs("qa", Some("https://shop.example/")), &forced).to_value();
    let hx = &v.get("experiments").and_then(Value::as_array).unwrap()[0];
    assert_eq!(hx.get("variation").and_then(Value::as_f64), Some(1.0));
    assert_eq!(hx.get("inExperiment"), Some(&Value::Bool(false)));
    assert!(hx.get("changes").is_some());
    assert!(!v.get("pageExposures").unwrap().to_json().contains("headline"));
    // Elsewhere: nothing, whatever is forced.
    let v = rs.decide(&attrs("qa", Some("https://shop.example/sale")), &forced).to_value();
    let hx = &v.get("experiments").and_then(Value::as_array).unwrap()[0];
    assert_eq!(hx.get("variation").and_then(Value::as_f64), Some(0.0));
    assert!(hx.get("changes").is_none());
}

#[test]
fn decide_page_leaves_out_experiments_that_do_not_target_the_page() {
    let rs = compile(PAGE_RULESET).unwrap();
    let options = DecideOptions { now: 1.0, placements: Some(Vec::new()), ..Default::default() };
    let d = rs.decide_page(&attrs("u1", Some("https://shop.example/p/7")), &options);
    let keys: Vec<&str> = d.experiments.iter().map(|r| rs.experiments[r.experiment].key.as_str()).collect();
    assert_eq!(keys, ["new-product-page"]);
    assert!(d.placements.is_empty());
    let v = d.to_value();
    assert_eq!(v.get("experiments").and_then(Value::as_array).map(Vec::len), Some(1));
    assert!(d.sticky.iter().all(|(x, _)| *x == 1));
    assert!(d.exposures.is_empty(), "{:?}", d.exposures);
    // The full decision still has all three.
    assert_eq!(rs.decide(&attrs("u1", Some("https://shop.example/p/7")), &options).experiments.len(), 3);
}
