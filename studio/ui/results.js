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
