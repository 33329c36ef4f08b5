// HTML a merchandiser typed, made into a value the ruleset accepts. First the SDK's own
// `sanitize` (src/web/changes.js), the very function that puts HTML on a shopper's page, so
// the preview is what ships; then the publish allowlist (docs/ruleset.md, "Page changes":
// the elements and attributes the server's sanitiser keeps), so the engine's validator
// accepts the value. Both steps say what they took out.
import { sanitize } from "../../src/web/changes.js";
import { htmlAttributeAllowed, htmlTagAllowed, linkProblem, urlProblem } from "./gen/studio_engine.js";

// Elements whose content goes with them (their text is code or a document, not words).
const DROP_WITH_CONTENT = /^(script|style|template|noscript|iframe|frame|frameset|object|embed|applet|svg|math|select|textarea|title|head)$/;

// Chromium reports a strict CSP's script-src-attr violation for every on* attribute it
// parses, even in an inert document: the handlers are renamed in each start tag (read as
// the HTML tokenizer reads attributes, so attribute values are left alone) before parsing (ON_MARK + name), reported under their own name and removed. Safety does
// not rest on this: whatever it misses, the allowlist and the SDK's sanitize remove.
const ON_MARK = "x-tailor-removed-";
function defuse(html) {
  let out = "";
  let i = 0;
  const n = html.length;
  const ws = (c) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f";
  while (i < n) {
    const lt = html.indexOf("<", i);
    if (lt < 0 || lt + 1 >= n || !/[a-zA-Z]/.test(html[lt + 1])) {
      out += html.slice(i, lt < 0 ? n : lt + 1);
      i = lt < 0 ? n : lt + 1;
      continue;
    }
    // A start tag: its name, then attributes as the HTML tokenizer reads them.
    let j = lt + 1;
    while (j < n && !ws(html[j]) && html[j] !== "/" && html[j] !== ">") j++;
    out += html.slice(i, j);
    while (j < n && html[j] !== ">") {
      if (ws(html[j]) || html[j] === "/") {
        out += html[j++];
        continue;
      }
      let k = j;
      while (k < n && !ws(html[k]) && html[k] !== "/" && html[k] !== ">" && (html[k] !== "=" || k === j)) k++;
      const name = html.slice(j, k);
      out += (/^on/i.test(name) ? ON_MARK : "") + name;
      j = k;
      while (j < n && ws(html[j])) out += html[j++];
      if (html[j] !== "=") continue;
      out += html[j++];
      while (j < n && ws(html[j])) out += html[j++];
      const q = html[j];
      if (q === '"' || q === "'") {
        const end = html.indexOf(q, j + 1);
        const stop = end < 0 ? n : end + 1;
        out += html.slice(j, stop);
        j = stop;
      } else {
        while (j < n && !ws(html[j]) && html[j] !== ">") out += html[j++];
      }
    }
    i = j;
  }
  return out;
}
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
    if (!htmlTagAllowed(tag)) {
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
