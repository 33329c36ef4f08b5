// Results: the figures the server computes for the selected experiment (docs/results.md).
import { h, fill } from "./dom.js";

export function resultsPanel(studio, body) {
  const x = studio.doc.experiments?.[studio.selected];
  if (!x) return fill(body, h("p", { class: "muted" }, "Pick an experiment in Test setup first."));
  fill(body, h("h2", {}, `Results of “${x.key}”`), h("p", { class: "muted" }, "Loading…"));
  studio.api.results(x.key).then((r) => {
    const e = r.experiments?.find((y) => y.experimentKey === x.key);
    if (!e) return fill(body, h("h2", {}, `Results of “${x.key}”`), h("p", { class: "muted" }, "No shopper has been exposed to this experiment yet."));
    const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "–");
    fill(body, h("h2", {}, `Results of “${x.key}”`),
      h("p", { "data-test": "guidance" }, e.guidance || r.guidance || ""),
      h("table", { "data-test": "results" }, h("thead", {}, h("tr", {}, ["variation", "shoppers", "exposures", "conversions", "rate"].map((t) => h("th", {}, t)))),
        h("tbody", {}, e.variations.map((v) => h("tr", {}, h("td", {}, `${v.variation}: ${v.key ?? ""}`), h("td", {}, v.shoppers), h("td", {}, v.exposures), h("td", {}, v.conversions), h("td", {}, pct(v.conversionRate)))))),
      e.srm ? h("p", { class: e.srm.mismatch ? "no" : "muted" }, e.srm.mismatch ? `The split differs from the weights (p = ${e.srm.pValue.toPrecision(2)}): check the setup before trusting the figures.` : `The split matches the weights (p = ${e.srm.pValue.toPrecision(2)}).`) : null);
  }, (err) => fill(body, h("h2", {}, `Results of “${x.key}”`), h("p", { class: "error" }, err.message)));
}

/**
 * A compact box of the server's figures for experiment `key`, for the Test setup beside the
 * editor: exposures and conversions per variation, and each variation against the control on
 * the goal metric (uplift, its interval, the p-value and whether it is significant). It loads
 * when drawn; **Refresh** asks again.
 */
export function resultsBox(studio, key) {
  const box = h("div", { class: "box", "data-test": "results-box", "aria-live": "polite" });
  const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "–");
  const signed = (v) => (Number.isFinite(v) ? `${v > 0 ? "+" : ""}${(v * 100).toFixed(1)}%` : "–");
  const p = (v) => (!Number.isFinite(v) ? "–" : v < 0.0001 ? "< 0.0001" : v.toFixed(4));
  const title = () => h("div", { class: "actions" }, h("strong", {}, `Results of “${key}” so far`),
    h("button", { "data-test": "results-refresh", on: { click: load } }, "Refresh"));
  function load() {
    fill(box, title(), h("div", { class: "muted" }, "Loading…"));
    studio.api.results(key).then((r) => {
      const e = r.experiments?.find((y) => y.experimentKey === key);
      if (!e) return fill(box, title(), h("div", { class: "muted", "data-test": "results-none" }, "No shopper has been exposed to this experiment yet (the live ruleset has to hold it)."));
      const goal = e.metrics?.find((m) => m.goal) || e.metrics?.[0];
      const name = (v) => `${v}: ${e.variations[v]?.key ?? ""}`;
      fill(box, title(),
        h("table", { "data-test": "results-box-table" },
          h("thead", {}, h("tr", {}, ["variation", "shoppers", "exposures", "conversions", "rate"].map((t) => h("th", {}, t)))),
          h("tbody", {}, e.variations.map((v) => h("tr", {}, h("td", {}, name(v.variation)), h("td", {}, v.shoppers), h("td", {}, v.exposures), h("td", {}, v.conversions), h("td", {}, pct(v.conversionRate)))))),
        goal ? h("div", { class: "muted" }, `Goal: ${goal.definition || goal.key}`) : null,
        (goal?.comparisons || []).map((c) =>
          h("div", { "data-test": `results-uplift-${c.variation}`, class: c.significant ? (c.relative > 0 ? "yes" : "no") : "" },
            `${name(c.variation)} against the control: ${signed(c.relative)} (${Math.round((1 - (e.alpha ?? 0.05)) * 100)}% interval ${signed(c.relativeInterval?.[0])} to ${signed(c.relativeInterval?.[1])}), p = ${p(c.pValueAdjusted ?? c.pValue)}: `,
            c.significant ? "significant" : "not significant yet")),
        e.guidance ? h("div", { class: "reason", "data-test": "results-box-guidance" }, e.guidance) : null);
    }, (err) => fill(box, title(), h("div", { class: "error" }, err.message)));
  }
  load();
  return box;
}

/**
 * The results box of `key`, kept while the Test setup redraws (each edit redraws it): loaded
 * once when the tab opens and again after a publish (`studio.resultsBoxes = {}` forgets them).
 */
export function resultsBoxFor(studio, key) {
  studio.resultsBoxes ||= {};
  return (studio.resultsBoxes[key] ||= resultsBox(studio, key));
}
