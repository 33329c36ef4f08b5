// HTML a merchandiser typed, made into a value the ruleset accepts. First the SDK's own
// `sanitize` (src/web/changes.js), the very function that puts HTML on a shopper's page, so
// the preview is what ships; then the publish allowlist (docs/ruleset.md, "Page changes":
// the elements and attributes the server's sanitiser keeps), so the engine's validator
// accepts the value. Both steps say what they took out.
import { sanitize } from "../../src/web/changes.js";
import { HTML_TAGS, htmlAttributeAllowed, linkProblem, urlProblem } from "./editor-rules.js";

// Elements whose content goes with them (their text is code or a document, not words).
const DROP_WITH_CONTENT = /^(script|style|template|noscript|iframe|frame|frameset|object|embed|applet|svg|math|select|textarea|title|head)$/;

// Chromium reports a strict CSP's script-src-attr violation for every on* attribute it
// parses, even in an inert document: the handlers are renamed in the text of each tag
// before parsing (ON_MARK + name), reported under their own name and removed. Safety does
// not rest on this: whatever it misses, the allowlist and the SDK's sanitize remove.
const ON_MARK = "x-tailor-removed-";
const defuse = (html) => html.replace(/<[a-zA-Z][^>]*>/g, (tag) => tag.replace(/([\s/"'])(on[a-z0-9_-]*\s*(=|[\s/>]))/gi, `$1${ON_MARK}$2`));
const shown = (name) => (name.startsWith(ON_MARK) ? name.slice(ON_MARK.length) : name);

// "<img> onerror" style counts of what a tree holds: elements and attributes.
function inventory(root, into = new Map()) {
  const bump = (k) => into.set(k, (into.get(k) || 0) + 1);
  for (const n of root.childNodes) {
    if (n.nodeType === 8) bump("a comment");
    if (n.nodeType !== 1) continue;
    bump(`<${n.localName}>`);
    for (const a of n.attributes) bump(`the ${shown(a.name)} attribute of <${n.localName}>`);
    inventory(n.localName === "template" ? n.content : n, into);
  }
  return into;
}

/**
 * Cleans `input` (HTML text). Returns `{ html, removed }`: the value to write (serialised
 * from what is left) and what was taken out, as phrases ("the onerror attribute of <img>").
 */
export function cleanHtml(input, doc) {
  // Parsed in a document of its own (no scripts run, nothing loads), with the inline
  // handlers renamed first, then allowlisted, then through the SDK's sanitize, which is
  // what the shopper's browser runs on the value.
  const parsed = doc.implementation.createHTMLDocument("").body;
  parsed.innerHTML = defuse(String(input));
  const before = inventory(parsed);
  allowlist(parsed);
  const box = doc.createElement("div");
  box.append(...sanitize(parsed.innerHTML));
  allowlist(box);
  const after = inventory(box);
  const removed = [];
  for (const [k, n] of before) {
    const gone = n - (after.get(k) || 0);
    if (gone > 0) removed.push(gone > 1 ? `${k} (${gone} times)` : k);
  }
  return { html: box.innerHTML, removed };
}

// Applies the publish allowlist in place: unknown elements are unwrapped (their text stays)
// or dropped with their content when that content is code; attributes outside the list and
// URLs that break the URL rule are removed.
function allowlist(parent) {
  for (const n of [...parent.childNodes]) {
    if (n.nodeType === 8) {
      n.remove();
      continue;
    }
    if (n.nodeType !== 1) continue;
    const tag = n.localName;
    if (!HTML_TAGS.has(tag)) {
      if (DROP_WITH_CONTENT.test(tag)) n.remove();
      else {
        allowlist(n);
        n.replaceWith(...n.childNodes);
      }
      continue;
    }
    for (const a of [...n.attributes]) {
      const name = a.name;
      const bad = !htmlAttributeAllowed(tag, name) || (name === "href" && linkProblem(a.value)) || ((name === "src" || name === "cite") && urlProblem(a.value));
      if (bad) n.removeAttribute(name);
    }
    allowlist(n);
  }
}
