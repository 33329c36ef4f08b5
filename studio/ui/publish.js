// Drafts and publishing: save the working ruleset as a draft on the server (its errors by
// path come back too), share a preview link of it, publish it (role publish), the version
// history with each version's diff and a one-click rollback, and the audit log.
import { h, fill, when, fromNow } from "./dom.js";

export function publishPanel(studio, body) {
  const api = studio.api;
  const status = h("div", { class: "status", role: "status", "data-test": "publish-status" });
  // Kept on the Studio, so the message survives the redraw that a publish causes (top bar).
  const say = (text, ok = true) => {
    studio.lastStatus = { text, ok };
    fill(status, h("span", { class: ok ? "status ok" : "status bad" }, text));
  };
  if (studio.lastStatus) say(studio.lastStatus.text, studio.lastStatus.ok);
  const errorsBox = h("div", { "data-test": "server-errors" });
  const name = h("input", { value: studio.draftName, "data-test": "draft-name", on: { input: (e) => (studio.draftName = e.target.value) } });
  const linkBox = h("div", { "data-test": "preview-link" });
  const noEdit = studio.whyNot("edit");
  const noPublish = studio.whyNot("publish");

  async function save() {
    fill(errorsBox);
    try {
      const r = await api.saveDraft(studio.draftName, studio.doc);
      // Test setup shows the server's messages on metrics (the browser's engine ignores them).
      studio.serverProblems = r.errors || [];
      studio.savedDraft = r.valid ? studio.draftName : null;
      loadLists();
      if (r.valid) say(`Draft “${r.name}” saved ${when(r.savedAt)}${r.sanitised?.length ? `; HTML cleaned at ${r.sanitised.join(", ")}` : ""}.`);
      else {
        say(`Draft “${r.name}” saved with ${r.errors.length} error(s): it cannot be published or previewed until they are fixed.`, false);
        showErrors(r.errors);
      }
      return r.valid;
    } catch (e) {
      say(e.message, false);
      showErrors(e.errors);
      return false;
    }
  }
  function showErrors(errors) {
    fill(errorsBox, (errors || []).map((p) => h("div", { class: "error" }, `${p.path || "(ruleset)"}: ${p.message}`)));
  }
  async function share() {
    if (!(await save())) return;
    try {
      const r = await api.preview(studio.draftName, location.pathname);
      const url = new URL(r.link, location.href).href;
      let copied = false;
      try {
        await navigator.clipboard.writeText(url);
        copied = true;
      } catch {
        copied = false;
      }
      fill(linkBox, h("label", {}, `Preview link (${copied ? "copied; " : ""}expires ${when(r.expiresAt)}, ${fromNow(r.expiresAt)})`),
        h("div", { class: "link", "data-test": "preview-url", tabindex: "0" }, url),
        h("div", { class: "muted" }, "Whoever opens it sees this draft on this page; nothing they do is counted."));
    } catch (e) {
      say(e.message, false);
      showErrors(e.errors);
    }
  }
  async function publish() {
    if (!(await save())) return;
    try {
      const r = await api.publish(studio.draftName);
      say(`Published as version ${r.version}: shoppers get it now.`);
      studio.current = r;
      studio.resultsBoxes = {}; // Test setup asks for its experiment's figures again
      studio.render();
    } catch (e) {
      say(e.message, false);
      showErrors(e.errors);
    }
  }
  const history = h("div", { "data-test": "versions" }, h("p", { class: "muted" }, "Loading the version history…"));
  const audit = h("div", { "data-test": "audit" });
  const drafts = h("div", { "data-test": "drafts" });
  fill(body,
    h("h2", {}, "Save this working copy"),
    h("label", {}, "Draft name", name),
    h("div", { class: "actions" },
      h("button", { class: "primary", "data-test": "save-draft", disabled: Boolean(noEdit), title: noEdit, on: { click: save } }, "Save draft"),
      h("button", { "data-test": "share-preview", disabled: Boolean(noEdit), title: noEdit, on: { click: share } }, "Share a preview link"),
      h("button", { class: "primary", "data-test": "publish", disabled: Boolean(noPublish), title: noPublish, on: { click: publish } }, "Publish to shoppers")),
    noPublish ? h("p", { class: "muted", "data-test": "publish-why" }, noEdit ? `${noPublish} Saving a draft and sharing a preview link need “edit”.` : noPublish) : null,
    status, errorsBox, linkBox,
    h("h2", {}, "Saved drafts"), drafts,
    h("h2", {}, "Versions"), history,
    h("h2", {}, "Audit log"), audit);

  loadLists();
  async function loadLists() {
    try {
      const [d, v, a] = await Promise.all([api.drafts(), api.versions(), api.audit()]);
      fill(drafts, d.drafts.length ? d.drafts.map((x) => h("div", { class: "row" }, h("strong", {}, x.name), ` saved ${when(x.savedAt)} by ${x.savedBy}`,
        x.valid ? "" : h("span", { class: "no" }, ` · ${x.errors.length} error(s)`),
        h("div", { class: "actions" }, h("button", { on: { click: () => open(x.name) } }, "Open in the Studio")))) : h("p", { class: "muted" }, "No drafts yet."));
      fill(history, v.versions.map((x) => versionRow(x, v.versions)));
      fill(audit, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "when"), h("th", {}, "who"), h("th", {}, "did"))),
        h("tbody", {}, a.entries.slice(-30).reverse().map((e) => h("tr", {}, h("td", {}, when(e.at)), h("td", {}, `${e.who} (${e.role})`),
          h("td", {}, `${e.action.replace(/_/g, " ")} ${e.target} ${e.detail}`.trim()))))));
    } catch (e) {
      fill(history, h("p", { class: "error" }, e.message));
    }
  }
  async function open(draftName) {
    try {
      const r = await api.draft(draftName);
      studio.doc = r.ruleset;
      studio.draftName = draftName;
      studio.refresh();
      say(`Draft “${draftName}” opened: the page shows it now.`);
    } catch (e) {
      say(e.message, false);
    }
  }
  function versionRow(x, all) {
    const diffBox = h("div", {});
    const older = all.find((o) => o.version < x.version);
    return h("div", { class: "row", "data-test": `version-${x.version}` },
      h("strong", {}, `v${x.version}`), x.current ? h("span", { class: "yes" }, " live now") : "",
      h("div", { class: "muted" }, `${when(x.publishedAt)} by ${x.who} (${x.role})`),
      h("div", { class: "reason" }, x.summary),
      h("div", { class: "actions" },
        older ? h("button", { on: { click: async () => {
          try {
            const d = await api.diff(x.version, older.version);
            fill(diffBox, d.changes.length ? d.changes.map((c) => h("div", { class: "reason" }, `${c.change} ${c.kind} ${c.key ?? c.path}`,
              (c.fields || []).map((f) => h("div", { class: "muted" }, `${f.path}: ${JSON.stringify(f.from)} → ${JSON.stringify(f.to)}`)))) : h("div", { class: "muted" }, "No change."));
          } catch (e) {
            fill(diffBox, h("div", { class: "error" }, e.message));
          }
        } } }, `Diff against v${older.version}`) : null,
        x.current ? null : h("button", { class: "danger", "data-test": `rollback-${x.version}`, disabled: Boolean(noPublish), title: noPublish, on: { click: async () => {
          try {
            const r = await api.rollback(x.version);
            studio.current = r;
            say(`Rolled back: version ${x.version}'s ruleset is live again as version ${r.version}.`);
            studio.render();
          } catch (e) {
            say(e.message, false);
          }
        } } }, `Roll back to v${x.version}`)),
      diffBox);
  }
}
