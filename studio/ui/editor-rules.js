// The page-change rules of docs/ruleset.md ("Page changes"), checked as the merchandiser
// types so the editor says what is wrong next to the field instead of writing a change the
// engine's validator (src/engine/page.rs) refuses at publish. The engine stays the judge:
// the Studio validates the whole ruleset with it before saving; these checks only answer
// early, with the same reasons.

/** Attributes the `attribute` action may set, besides `aria-*` and `data-*`. */
export const SETTABLE_ATTRIBUTES = ["alt", "dir", "height", "href", "lang", "loading", "placeholder", "rel", "role", "sizes", "src", "srcset", "target", "title", "value", "width"];
const CODE_DATA_PREFIXES = ["data-bind", "data-hx-", "data-ng-", "data-on", "data-x-", "data-v-on"];

/** Elements an HTML value may contain, and their attributes (the publish sanitiser's list). */
export const HTML_TAGS = new Set("a abbr b bdi bdo blockquote br caption cite code col colgroup dd del details dfn div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s small span strong sub summary sup table tbody td tfoot th thead time tr ul".split(" "));
const GENERIC_ATTRIBUTES = ["class", "dir", "lang", "role", "title"];
const TAG_ATTRIBUTES = {
  a: ["href", "hreflang", "rel", "target"],
  img: ["alt", "height", "loading", "src", "width"],
  blockquote: ["cite"],
  q: ["cite"],
  del: ["cite", "datetime"],
  ins: ["cite", "datetime"],
  time: ["datetime"],
  td: ["colspan", "rowspan"],
  th: ["colspan", "rowspan", "scope"],
  ol: ["reversed", "start"],
};

/** May `name` stay on a `<tag>` inside an HTML value? */
export function htmlAttributeAllowed(tag, name) {
  return GENERIC_ATTRIBUTES.includes(name) || (name.startsWith("aria-") && name.length > 5) || (TAG_ATTRIBUTES[tag] || []).includes(name);
}

/** Why `url` breaks the URL rule ("URLs"), or null. The reasons are the engine's. */
export function urlProblem(url) {
  if (url === "") return "is empty";
  if (/[\0- \x7f-\xa0\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\\"'<>`]|\s/.test(url)) return "contains a space, a control or invisible character, or one of \\ \" ' < > `";
  const head = url.split(/[?#]/)[0];
  if (head.includes("&")) return "contains & before its query (an HTML entity could hide a scheme)";
  if (url.startsWith("//")) return "is protocol-relative (//host): write https://host";
  const first = url.search(/[/?#]/);
  const before = first < 0 ? url : url.slice(0, first);
  const colon = before.indexOf(":");
  if (colon >= 0) {
    if (!/^https?$/i.test(url.slice(0, colon))) return "has a scheme other than http: or https:";
    const rest = url.slice(colon + 1);
    if (!rest.startsWith("//") || rest.length === 2 || rest[2] === "/") return "must be http(s)://host...";
  }
  return null;
}

/** The rule of links (`href`): the URL rule plus `mailto:` and `tel:`. */
export function linkProblem(url) {
  const m = /^(mailto|tel):/i.exec(url);
  if (!m) return urlProblem(url);
  const rest = url.slice(m[0].length);
  return rest ? urlProblem(rest) : "is empty after its scheme";
}

// CSS with escapes decoded, comments and white space dropped, letters lowercased.
function cssPlain(css) {
  return css
    .replace(/\/\*[\s\S]*?(\*\/|$)/g, "")
    .replace(/\\([0-9a-fA-F]{1,6})|\\([\s\S])/g, (_, hex, c) => (hex ? String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff) || 0xfffd) : c))
    .replace(/[\s\p{Cc}]+/gu, "")
    .toLowerCase();
}

/** Why CSS (page CSS or a style value) is refused, or null. */
export function cssProblem(css) {
  if (css.includes("</") || css.includes("<!")) return "contains </ or <! (it could close the style element)";
  const plain = cssPlain(css);
  const banned = [
    ["expression(", "uses expression()"],
    ["javascript:", "contains javascript:"],
    ["vbscript:", "contains vbscript:"],
    ["@import", "uses @import"],
    ["behavior:", "uses behavior:"],
    ["behaviour:", "uses behavior:"],
    ["-moz-binding", "uses -moz-binding"],
    ["@charset", "uses @charset"],
  ];
  for (const [b, why] of banned) if (plain.includes(b)) return why;
  for (const m of plain.matchAll(/(?:url|src)\(([^)]*)/g)) {
    const u = m[1].replace(/^["']+|["']+$/g, "");
    const head = u.split(/[/?#]/)[0];
    const colon = head.indexOf(":");
    if (colon >= 0 && !/^https?$/.test(head.slice(0, colon))) return "has a url() with a scheme other than http: or https:";
  }
  return null;
}

/** Why a CSS selector is refused, or null (syntax is checked against the page: `doc`). */
export function selectorProblem(sel, doc) {
  if (!sel.trim()) return "is empty";
  if ([...sel].length > 500) return "is longer than 500 characters";
  if (/[{}<]/.test(sel)) return "is not a CSS selector (it contains {, } or <)";
  try {
    doc.querySelector(sel);
  } catch {
    return "is not a valid CSS selector";
  }
  return null;
}

/** Why the `attribute` action may not set `name` to `value`, or null. */
export function attributeProblem(name, value) {
  if (!name) return "Give the attribute's name.";
  if (name.length > 64 || !/^[a-z0-9-]+$/.test(name)) return `The attribute name "${name}" must be lowercase letters, digits and -.`;
  if (name.startsWith("on")) return `"${name}" is an event handler: it can never be set.`;
  if (name === "style") return 'Use "Style" to change how it looks: the style attribute cannot be set.';
  if (/^(data|aria)-./.test(name)) {
    if (CODE_DATA_PREFIXES.some((p) => name.startsWith(p))) return `"${name}" is read as code by page frameworks: it cannot be set.`;
  } else if (!SETTABLE_ATTRIBUTES.includes(name)) {
    return `"${name}" cannot be set. Settable: ${SETTABLE_ATTRIBUTES.join(", ")}, aria-* and data-*.`;
  }
  const why = name === "href" ? linkProblem(value) : name === "src" ? urlProblem(value) : name === "srcset" ? value.split(",").map((c) => urlProblem(c.trim().split(/\s+/)[0] || "")).find(Boolean) : null;
  return why ? `The URL "${value}" is refused: it ${why}.` : null;
}

/** Why a `style` change of property `name` to `value` is refused, or null. */
export function styleProblem(name, value) {
  if (!name) return "Give the CSS property, for example background-color.";
  const custom = /^--[A-Za-z0-9_-]+$/.test(name);
  if (!(custom || /^[a-z-]+$/.test(name)) || cssProblem(name)) return `"${name}" is not a CSS property name (lowercase, for example font-size).`;
  if (!value.trim()) return "Give a value, for example #b91c1c or 18px.";
  if (/[{};]/.test(value)) return "One value only: no ; { or } (one property per change).";
  const why = cssProblem(value);
  return why ? `This CSS is refused: it ${why}.` : null;
}

/** The value limit every change shares. */
export const MAX_VALUE = 10000;
export const MAX_CSS = 10000;
export const MAX_CHANGES = 100;
