// The results page: reads GET /v1/admin/results/{site} with the admin token, or with the
// Studio token of the link it was opened from, and draws it.
// No library: the charts are a few SVG elements made here (docs/results.md says why).
"use strict";

const TOKEN_KEY = "tailor.adminToken";
// Set while the token of this tab came from a Studio link (not the admin token).
const STUDIO_KEY = "tailor.studioLink";
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// ---------- small DOM helpers ----------

/** An HTML element; `attrs.text` sets its text, `attrs.class` its class, others are attributes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
}

// ---------- numbers as people read them ----------

const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const count = (n) => (isNum(n) ? n.toLocaleString("en-US") : "–");
const pct = (x, digits = 1) => (isNum(x) ? (x * 100).toFixed(digits) + "%" : "–");
const signed = (s, x) => (x > 0 ? "+" + s : s);
const signedPct = (x) => (isNum(x) ? signed(pct(x), x) : "–");
const points = (x) => (isNum(x) ? signed((x * 100).toFixed(2), x) + " pts" : "–");
const money = (x) => (isNum(x) ? x.toFixed(2) : "–");
const signedMoney = (x) => (isNum(x) ? signed(x.toFixed(2), x) : "–");
const pValue = (p) => (!isNum(p) ? "–" : p < 0.0001 ? "< 0.0001" : p.toFixed(4));
function chance(x) {
  if (!isNum(x)) return "–";
  if (x > 0.999) return "> 99.9%";
  if (x < 0.001) return "< 0.1%";
  return pct(x);
}
const range = (pair, f) => (Array.isArray(pair) && pair.every(isNum) ? `${f(pair[0])} to ${f(pair[1])}` : "–");

// What the server's default metrics are called on the page, and where their figures are in
// a report that does not list them per metric.
const KNOWN = {
  conversion: {
    title: "Conversion rate",
    explain: "Share of shoppers who bought at least once after they first saw the test.",
    value: (v) => v.conversionRate,
    interval: (v) => v.conversionInterval,
  },
  revenuePerShopper: {
    title: "Revenue per shopper",
    explain: "Revenue of purchases after the first exposure, divided by every exposed shopper (buyers or not).",
    value: (v) => v.revenuePerShopper,
    interval: (v) => v.revenuePerShopperInterval,
  },
  averageOrderValue: {
    title: "Average order value",
    explain: "Revenue per order, over the orders placed after the first exposure.",
  },
};

/** "addToCart" as "Add to cart". */
function humanize(key) {
  const words = String(key).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[-_]+/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * How to read one metric: its title, whether it is a rate, and each variation's value and
 * interval (from `metric.variations` when the report lists them per metric).
 */
function metricInfo(metric) {
  const known = KNOWN[metric.key] || {};
  const rate = metric.kind === "proportion" || metric.kind === "conversion";
  const perMetric = Array.isArray(metric.variations) ? metric.variations : null;
  const own = (i) => (perMetric ? perMetric.find((x) => x.variation === i) : null);
  return {
    title: known.title || humanize(metric.key),
    rate,
    explain: known.explain || metric.definition || "",
    goal: metric.role ? metric.role === "goal" : !!metric.goal,
    value: (v, i) => (perMetric ? own(i)?.value : known.value?.(v)),
    interval: (v, i) => (perMetric ? own(i)?.interval : known.interval?.(v)),
    shoppers: (v, i) => own(i)?.shoppers ?? v.shoppers,
    show: rate ? (x) => pct(x, 2) : money,
    absolute: rate ? points : signedMoney,
    loss: rate ? (x) => points(x).replace(/^\+/, "") : money,
    tick: rate ? (x) => pct(x, 0) : (x) => String(+x.toFixed(2)),
  };
}

// ---------- the verdict of an experiment ----------

function verdict(experiment) {
  if (experiment.srm && experiment.srm.mismatch) return { kind: "broken", text: "Broken split" };
  const goals = experiment.metrics.filter((m) => metricInfo(m).goal);
  const comparisons = (goals.length ? goals : experiment.metrics.slice(0, 1)).flatMap((m) => m.comparisons);
  if (!comparisons.length) return { kind: "wait", text: "Not enough data" };
  if (comparisons.some((c) => c.significant && c.absolute > 0)) return { kind: "win", text: "Winner found" };
  if (comparisons.some((c) => c.significant && c.absolute < 0)) return { kind: "lose", text: "Worse than control" };
  return { kind: "running", text: "Keep running" };
}

// ---------- variation names from the published ruleset ----------

function variationNames(ruleset, key, n) {
  const exp = ruleset && Array.isArray(ruleset.experiments) ? ruleset.experiments.find((e) => e.key === key) : null;
  const names = [];
  for (let i = 0; i < n; i++) {
    const given = exp && exp.variations && exp.variations[i] && exp.variations[i].key;
    names.push(given || (i === 0 ? "control" : `variation ${i}`));
  }
  return names;
}

// ---------- the charts ----------

const BAR_W = 200;
const BAR_H = 22;
const PAD = 8;

/** A scale from [lo, hi] to the bar's pixels, over nice round ends that include 0. */
function scaleFor(values) {
  const finite = values.filter(isNum);
  let lo = Math.min(0, ...finite);
  let hi = Math.max(0, ...finite);
  if (hi === lo) hi = lo + 1;
  const step = niceStep((hi - lo) / 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const x = (v) => PAD + ((v - lo) / (hi - lo)) * (BAR_W - 2 * PAD);
  return { lo, hi, step, x };
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** The axis above a column of interval bars: ticks with their labels. */
function axis(scale, label) {
  const g = svg("g", { class: "axis" });
  for (let v = scale.lo; v <= scale.hi + scale.step / 2; v += scale.step) {
    const x = scale.x(v);
    g.append(svg("line", { x1: x, x2: x, y1: 16, y2: 22 }));
    g.append(svg("text", { x, y: 11, "text-anchor": "middle", text: label(v) }));
  }
  return svg("svg", { class: "chart axis-chart", viewBox: `0 0 ${BAR_W} ${BAR_H}`, width: BAR_W, height: BAR_H, "aria-hidden": "true" }, g);
}

/** One variation's interval as a bar with a dot, over the control's interval as a band. */
function intervalBar(scale, interval, value, control, colour, label) {
  const children = [svg("title", { text: label })];
  if (control) {
    const [a, b] = control.map(scale.x);
    children.push(svg("rect", { class: "band", x: a, y: 2, width: Math.max(1, b - a), height: BAR_H - 4 }));
  }
  if (Array.isArray(interval) && interval.every(isNum)) {
    const [a, b] = interval.map(scale.x);
    children.push(svg("line", { class: "range", x1: a, x2: b, y1: BAR_H / 2, y2: BAR_H / 2, stroke: colour }));
  }
  if (isNum(value)) children.push(svg("circle", { class: "dot", cx: scale.x(value), cy: BAR_H / 2, r: 5, fill: colour }));
  return svg("svg", { class: "chart", viewBox: `0 0 ${BAR_W} ${BAR_H}`, width: BAR_W, height: BAR_H, role: "img", "aria-label": label }, ...children);
}

/** The uplift's interval around a zero line: green above zero, red below, grey across it. */
function upliftBar(scale, interval, value, label) {
  const W = 130;
  const H = 26;
  const x = (v) => 4 + ((scale.x(v) - PAD) / (BAR_W - 2 * PAD)) * (W - 8);
  const [lo, hi] = interval;
  const zero = x(0);
  // The "no change" mark is labelled on the side with more room.
  const right = zero < W / 2;
  return svg(
    "svg",
    { class: `chart uplift ${upliftTone(interval)}`, viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": label },
    svg("title", { text: label }),
    svg("line", { class: "zero", x1: zero, x2: zero, y1: 0, y2: H }),
    svg("text", { class: "zero-label", x: right ? zero + 3 : zero - 3, y: 8, "text-anchor": right ? "start" : "end", text: "no change" }),
    svg("line", { class: "range", x1: x(lo), x2: x(hi), y1: 18, y2: 18 }),
    svg("circle", { class: "dot", cx: x(value), cy: 18, r: 4 }),
  );
}

/** "up" when the whole interval is above zero, "down" when below, else "flat". */
function upliftTone([lo, hi]) {
  return lo > 0 ? "up" : hi < 0 ? "down" : "flat";
}

const COLOURS = ["#64748b", "#2563eb", "#c2410c", "#7c3aed", "#0f766e", "#be185d"];
const colour = (i) => COLOURS[i % COLOURS.length];

// ---------- the uplift over time ----------

/** "2026-12-01" as "1 Dec". */
const shortDate = (day) => new Date(day + "T00:00:00Z").toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });

const LINE_W = 640;
const LINE_H = 220;
const LINE_PAD = { left: 52, right: 16, top: 14, bottom: 30 };

/**
 * The cumulative relative uplift of each variation against the control, one point per day
 * (the shoppers first exposed up to that day), with its 95% interval as a band: drawn from
 * `experiment.timeline` for `metric`. `null` without a day that has an uplift.
 */
function upliftOverTime(experiment, metric, names) {
  const days = (experiment.timeline || []).map((d) => ({ day: d.day, m: d.metrics.find((x) => x.key === metric.key) }));
  const series = [];
  for (let v = 1; v < experiment.variations.length; v++) {
    const points = days
      .map(({ day, m }, i) => ({ i, day, c: m && m.comparisons.find((c) => c.variation === v), shoppers: m && m.variations }))
      .filter((p) => p.c && isNum(p.c.relative));
    if (points.length) series.push({ v, points });
  }
  if (!series.length) return null;
  const ends = series.flatMap((s) => s.points.flatMap((p) => [p.c.relative, ...(p.c.relativeInterval || [])])).filter(isNum);
  let lo = Math.min(0, ...ends);
  let hi = Math.max(0, ...ends);
  if (hi === lo) hi = lo + 0.1;
  const step = niceStep((hi - lo) / 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const plotW = LINE_W - LINE_PAD.left - LINE_PAD.right;
  const plotH = LINE_H - LINE_PAD.top - LINE_PAD.bottom;
  const x = (i) => LINE_PAD.left + (days.length === 1 ? plotW / 2 : (i / (days.length - 1)) * plotW);
  const y = (r) => LINE_PAD.top + ((hi - r) / (hi - lo)) * plotH;
  const g = [];
  // Horizontal grid with percentages; "no change" at zero.
  for (let r = lo; r <= hi + step / 2; r += step) {
    const zero = Math.abs(r) < step / 1000;
    g.push(svg("line", { class: zero ? "zero" : "grid", x1: LINE_PAD.left, x2: LINE_W - LINE_PAD.right, y1: y(r), y2: y(r) }));
    g.push(svg("text", { class: "tick", x: LINE_PAD.left - 6, y: y(r) + 4, "text-anchor": "end", text: zero ? "0%" : signedPct(r).replace(".0%", "%") }));
  }
  // Dates: the first, the last and a few between.
  const every = Math.max(1, Math.ceil(days.length / 6));
  days.forEach((d, i) => {
    if (i % every && i !== days.length - 1) return;
    g.push(svg("text", { class: "tick", x: x(i), y: LINE_H - 8, "text-anchor": "middle", text: shortDate(d.day) }));
  });
  for (const { v, points } of series) {
    const withBand = points.filter((p) => Array.isArray(p.c.relativeInterval) && p.c.relativeInterval.every(isNum));
    if (withBand.length) {
      const upper = withBand.map((p) => `${x(p.i)},${y(p.c.relativeInterval[1])}`);
      const lower = withBand.map((p) => `${x(p.i)},${y(p.c.relativeInterval[0])}`).reverse();
      g.push(svg("polygon", { class: "ci", points: upper.concat(lower).join(" "), fill: colour(v) }));
    }
    g.push(svg("polyline", { class: "trend", points: points.map((p) => `${x(p.i)},${y(p.c.relative)}`).join(" "), stroke: colour(v) }));
    for (const p of points) {
      const label = `${p.day}, ${names[v]}: ${signedPct(p.c.relative)} (95% interval ${range(p.c.relativeInterval, signedPct)})`;
      g.push(
        svg(
          "circle",
          { class: "dot", cx: x(p.i), cy: y(p.c.relative), r: 3.5, fill: colour(v), "data-day": p.day, "data-variation": v, "data-relative": p.c.relative },
          svg("title", { text: label }),
        ),
      );
    }
  }
  const legend = el(
    "p",
    { class: "legend" },
    ...series.map(({ v, points }) => {
      const last = points[points.length - 1].c;
      return el("span", {}, el("span", { class: "swatch", "data-colour": v % COLOURS.length }), `${names[v]}: ${signedPct(last.relative)} so far`);
    }),
  );
  const chart = svg(
    "svg",
    { class: "chart timeline", viewBox: `0 0 ${LINE_W} ${LINE_H}`, role: "img", "aria-label": `Cumulative uplift against ${names[0]}, day by day` },
    ...g,
  );
  return el(
    "figure",
    { class: "over-time", "data-timeline": metric.key },
    el("figcaption", {}, el("strong", { text: "Uplift over time. " }), `Each day counts every shopper who saw the test up to that day (UTC); the band is the 95% interval. A line that settles and a band that narrows away from 0% is a result; one that crosses 0% is not yet.`),
    chart,
    legend,
  );
}

// ---------- one experiment ----------

function srmBanner(experiment, names) {
  const srm = experiment.srm;
  if (!srm || !srm.mismatch) return null;
  const total = experiment.variations.reduce((s, v) => s + v.shoppers, 0);
  const expected = srm.weights.map((w) => pct(w, 0)).join(" / ");
  const seen = experiment.variations.map((v) => pct(total ? v.shoppers / total : 0)).join(" / ");
  return el(
    "div",
    { class: "srm", role: "alert", "data-srm": "mismatch" },
    el("strong", { text: "Broken split. " }),
    `The ruleset sends ${expected} of shoppers to ${names.join(" / ")}, but ${seen} arrived ` +
      `(a gap this large happens by chance with p ${pValue(srm.pValue).replace(/^(?!<)/, "= ")}). ` +
      "Something drops or moves shoppers of one variation: a redirect, a cache, a filter on exposures. " +
      "Do not act on the figures below until the cause is found.",
  );
}

function metricTable(experiment, metric, names) {
  const info = metricInfo(metric);
  // A report without an average order value metric still has the figure per variation.
  const aovColumn = metric.key === "revenuePerShopper" && !experiment.metrics.some((m) => m.key === "averageOrderValue");
  const vars = experiment.variations;
  const control = vars[0];
  const byVariation = new Map(metric.comparisons.map((c) => [c.variation, c]));
  const scale = scaleFor(vars.flatMap((v, i) => info.interval(v, i) || []));
  const upliftScale = scaleFor(metric.comparisons.flatMap((c) => c.relativeInterval || []).concat([0]));
  const head = el(
    "tr",
    {},
    el("th", { scope: "col", text: "Variation" }),
    el("th", { scope: "col", class: "num", text: "Shoppers" }),
    el("th", { scope: "col", class: "num", text: info.title }),
    el("th", { scope: "col", class: "bar" }, el("span", { class: "sr", text: "95% interval" }), axis(scale, info.tick)),
    el("th", { scope: "col", class: "num", text: "Uplift vs control" }),
    el("th", { scope: "col", class: "num", text: "Chance to beat control" }),
    el("th", { scope: "col", text: "Significant?" }),
    aovColumn ? el("th", { scope: "col", class: "num", text: "Avg order value" }) : null,
  );
  const rows = vars.map((v, i) => {
    // Phones show each row as a card without the table head: each bar gets its own axis.
    const phoneAxis = axis(scale, info.tick);
    phoneAxis.classList.add("phone-only");
    const c = byVariation.get(i);
    const value = info.value(v, i);
    const interval = info.interval(v, i);
    const label = `${names[i]}: ${info.show(value)}, 95% interval ${range(interval, info.show)}`;
    const cells = [
      el("th", { scope: "row", "data-label": "Variation", class: "name" }, el("span", { class: "swatch", "data-colour": i % COLOURS.length }), names[i], el("span", { class: "tag", text: i === 0 ? "control" : `variation ${i}` })),
      el("td", { class: "num", "data-label": "Shoppers", "data-field": "shoppers", text: count(info.shoppers(v, i)) }),
      el(
        "td",
        { class: "num", "data-label": info.title, "data-field": "value" },
        el("div", { class: "val" }, el("span", { class: "big", text: info.show(value) }), el("span", { class: "sub", "data-field": "interval", text: range(interval, info.show) })),
      ),
      el("td", { class: "bar", "data-label": "95% interval" }, phoneAxis, intervalBar(scale, interval, value, i > 0 ? info.interval(control, 0) : null, colour(i), label)),
    ];
    if (i === 0) {
      // Nothing to compare the control with: these cells are hidden on phones.
      cells.push(el("td", { class: "num muted", "data-label": "Uplift vs control", text: "baseline" }));
      cells.push(el("td", { class: "num muted empty", "data-label": "Chance to beat control", text: "–" }));
      cells.push(el("td", { class: "muted empty", "data-label": "Significant?", text: "–" }));
    } else if (!c) {
      cells.push(el("td", { class: "num muted", "data-label": "Uplift vs control", text: "no data yet" }));
      cells.push(el("td", { class: "num muted", "data-label": "Chance to beat control", text: "–" }));
      cells.push(el("td", { class: "muted", "data-label": "Significant?", text: "–" }));
    } else {
      const hasRelative = isNum(c.relative) && Array.isArray(c.relativeInterval) && c.relativeInterval.every(isNum);
      cells.push(
        el(
          "td",
          { class: "num", "data-label": "Uplift vs control" },
          el(
            "div",
            { class: "val" },
            el("span", { class: `big tone-${upliftTone(hasRelative ? c.relativeInterval : c.absoluteInterval)}`, "data-field": "relative", text: hasRelative ? signedPct(c.relative) : info.absolute(c.absolute) }),
            el("span", { class: "sub", "data-field": "relativeInterval", text: hasRelative ? range(c.relativeInterval, signedPct) : range(c.absoluteInterval, info.absolute) }),
            hasRelative ? upliftBar(upliftScale, c.relativeInterval, c.relative, `uplift ${signedPct(c.relative)}, 95% interval ${range(c.relativeInterval, signedPct)}`) : null,
          ),
        ),
      );
      cells.push(el("td", { class: "num", "data-label": "Chance to beat control", "data-field": "chanceToBeat", text: chance(c.chanceToBeat) }));
      const sig = c.significant ? (c.absolute > 0 ? ["yes-up", "Yes, better"] : ["yes-down", "Yes, worse"]) : ["no", "Not yet"];
      cells.push(el("td", { "data-label": "Significant?", "data-field": "significant" }, el("span", { class: `pill ${sig[0]}`, text: sig[1] })));
    }
    if (aovColumn) {
      cells.push(el("td", { class: "num", "data-label": "Avg order value", "data-field": "averageOrderValue", text: money(v.averageOrderValue) }));
    }
    return el("tr", { "data-variation": i }, ...cells);
  });
  return el("table", { class: "figures" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function detailsTable(metric, names, info) {
  // CUPED (variance reduction with pre-exposure data), where the report has it.
  const cuped = metric.comparisons.some((c) => c.cuped);
  const columns = ["Variation", "Absolute uplift (95%)", "p-value", "p-value after Holm", "Sequential p-value", "Sequential interval", "Expected loss"];
  if (cuped) columns.push("Uplift with CUPED (95%)", "Variance removed by CUPED");
  const rows = metric.comparisons.map((c) =>
    el(
      "tr",
      { "data-variation": c.variation },
      el("th", { scope: "row", "data-label": "Variation", text: names[c.variation] }),
      el("td", { class: "num", "data-label": columns[1], "data-field": "absolute", text: `${info.absolute(c.absolute)} (${range(c.absoluteInterval, info.absolute)})` }),
      el("td", { class: "num", "data-label": columns[2], "data-field": "pValue", text: pValue(c.pValue) }),
      el("td", { class: "num", "data-label": columns[3], "data-field": "pValueAdjusted", text: pValue(c.pValueAdjusted) }),
      el("td", { class: "num", "data-label": columns[4], "data-field": "sequentialPValue", text: pValue(c.sequentialPValue) }),
      el("td", { class: "num", "data-label": columns[5], "data-field": "sequentialInterval", text: range(c.sequentialInterval, info.absolute) }),
      el("td", { class: "num", "data-label": columns[6], "data-field": "expectedLoss", text: info.loss(c.expectedLoss) }),
      cuped ? el("td", { class: "num", "data-label": columns[7], "data-field": "cupedRelative", text: c.cuped ? `${signedPct(c.cuped.relative)} (${range(c.cuped.relativeInterval, signedPct)})` : "–" }) : null,
      cuped ? el("td", { class: "num", "data-label": columns[8], "data-field": "cupedVarianceReduction", text: c.cuped ? pct(c.cuped.varianceReduction, 0) : "–" }) : null,
    ),
  );
  const head = el("tr", {}, ...columns.map((t, i) => el("th", { scope: "col", class: i ? "num" : null, text: t })));
  return el(
    "details",
    { class: "more" },
    el("summary", { text: "More statistics" }),
    el("div", { class: "scroll" }, el("table", { class: "figures stats" }, el("thead", {}, head), el("tbody", {}, ...rows))),
  );
}

function experimentView(site, experiment, ruleset) {
  const names = variationNames(ruleset, experiment.experimentKey, experiment.variations.length);
  const v = verdict(experiment);
  const total = experiment.variations.reduce((s, x) => s + x.shoppers, 0);
  const csv = el("a", { class: "button csv", "data-csv": experiment.experimentKey, download: `results-${site}-${experiment.experimentKey}.csv`, text: "Download CSV" });
  csv.href = URL.createObjectURL(new Blob([toCsv(site, experiment, names)], { type: "text/csv" }));
  const split = experiment.variations.map((x, i) => `${names[i]} ${count(x.shoppers)}`).join(" · ");
  const section = el(
    "article",
    { class: `experiment ${v.kind}`, id: "experiment-" + experiment.experimentKey, "data-experiment": experiment.experimentKey },
    el("header", { class: "exp-head" }, el("h2", { text: experiment.experimentKey }), el("span", { class: `verdict ${v.kind}`, text: v.text }), csv),
    el("p", { class: "guidance", "data-field": "guidance", text: experiment.guidance }),
    srmBanner(experiment, names),
    el("p", { class: "summary" }, `${count(total)} shoppers in the test: ${split}.`),
  );
  for (const metric of experiment.metrics) {
    const info = metricInfo(metric);
    section.append(
      el(
        "section",
        { class: "metric", "data-metric": metric.key },
        el("h3", {}, info.title, el("span", { class: `role ${info.goal ? "goal" : "guardrail"}`, text: info.goal ? "goal" : "guardrail" })),
        el("p", { class: "definition", text: info.explain }),
        el("div", { class: "scroll" }, metricTable(experiment, metric, names)),
        info.goal ? upliftOverTime(experiment, metric, names) : null,
        metric.comparisons.length ? detailsTable(metric, names, info) : null,
      ),
    );
  }
  return section;
}

// ---------- CSV ----------

const CSV_COLUMNS = [
  "site", "experiment", "metric", "variation", "variation_key", "shoppers", "exposures", "conversions", "orders",
  "revenue", "value", "value_low", "value_high", "absolute_uplift", "absolute_low", "absolute_high",
  "relative_uplift", "relative_low", "relative_high", "chance_to_beat", "expected_loss", "p_value",
  "p_value_holm", "significant", "sequential_p_value", "srm_p_value", "srm_mismatch",
];

function csvCell(x) {
  if (x === null || x === undefined) return "";
  const s = String(x);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Every figure of the experiment's tables at full precision, one row per metric and variation. */
function toCsv(site, experiment, names) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const metric of experiment.metrics) {
    const info = metricInfo(metric);
    experiment.variations.forEach((v, i) => {
      const c = metric.comparisons.find((x) => x.variation === i) || {};
      const interval = info.interval(v, i) || [];
      const row = [
        site, experiment.experimentKey, metric.key, i, names[i], info.shoppers(v, i), v.exposures, v.conversions, v.orders,
        v.revenue, info.value(v, i), interval[0], interval[1], c.absolute, (c.absoluteInterval || [])[0],
        (c.absoluteInterval || [])[1], c.relative, (c.relativeInterval || [])[0], (c.relativeInterval || [])[1],
        c.chanceToBeat, c.expectedLoss, c.pValue, c.pValueAdjusted, c.significant, c.sequentialPValue,
        experiment.srm ? experiment.srm.pValue : null, experiment.srm ? experiment.srm.mismatch : null,
      ];
      lines.push(row.map(csvCell).join(","));
    });
  }
  return lines.join("\r\n") + "\r\n";
}

// ---------- loading ----------

function currentSite() {
  return $("site").value.trim();
}

/**
 * Opened from a Studio link (`?tailor_studio=TOKEN`): the token is kept for this tab and
 * taken out of the address at once, so it is not bookmarked, shared or sent as a referrer.
 */
function takeStudioToken() {
  const url = new URL(location.href);
  const token = url.searchParams.get("tailor_studio");
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(STUDIO_KEY, "1");
  url.searchParams.delete("tailor_studio");
  history.replaceState(null, "", url);
}

const viaStudioLink = () => sessionStorage.getItem(STUDIO_KEY) === "1";

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(STUDIO_KEY);
}

/** Asks the server for a Studio link of the site (admin only) and shows it to copy. */
async function makeStudioLink(event) {
  event.preventDefault();
  const out = $("studio-link-out");
  const error = $("studio-link-error");
  out.value = "";
  $("studio-shop-out").value = "";
  $("studio-shop-open").hidden = true;
  error.textContent = "";
  // The shop page the Studio opens on: a path on this server or the shop's own address.
  let shop;
  try {
    shop = new URL($("studio-shop").value.trim() || "/", location.origin);
    if (!/^https?:$/.test(shop.protocol)) throw new Error();
  } catch {
    error.textContent = "The shop page must be a path such as / or a full http(s) address of the shop.";
    return;
  }
  const body = { role: $("studio-role").value, ttl: $("studio-ttl").value };
  let response;
  try {
    response = await fetch(`/v1/admin/studio-links/${encodeURIComponent(currentSite())}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    error.textContent = "The server did not answer.";
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    error.textContent = answer.message || `The server answered ${response.status}.`;
    return;
  }
  out.value = new URL(answer.link, location.origin).href;
  out.dataset.expiresAt = answer.expiresAt;
  // The same token on the shop's page: its Tailor loader takes it out of the address and loads the Studio.
  shop.searchParams.set("tailor_studio", answer.token);
  $("studio-shop-out").value = shop.href;
  $("studio-shop-open").href = shop.href;
  $("studio-shop-open").hidden = false;
  const may = { view: "read the results", edit: "read the results and make links", publish: "read the results, make links and publish" };
  const until = new Date(answer.expiresAt).toISOString().slice(0, 16).replace("T", " ");
  $("studio-link-note").textContent = `Anyone with this link can ${may[answer.role] || answer.role} of site ${answer.site} until ${until} UTC.`;
  out.select();
}

function showSignIn(message) {
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("studio-open").hidden = true;
  $("studio-link").hidden = true;
  $("sign-in-error").textContent = message || "";
  $("token").focus();
}

async function load() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const site = currentSite();
  $("site-name").textContent = site;
  if (!token) return showSignIn();
  $("sign-in").hidden = true;
  $("status").textContent = "Loading the results…";
  let response;
  try {
    response = await fetch(`/v1/admin/results/${encodeURIComponent(site)}`, { headers: { Authorization: `Bearer ${token}` } });
  } catch (e) {
    $("status").textContent = "The server did not answer. Check that tailor serve is running, then reload.";
    return;
  }
  if (response.status === 401 || response.status === 403) {
    const body = await response.json().catch(() => ({}));
    const studio = viaStudioLink();
    forgetToken();
    $("status").textContent = "";
    // A Studio link refused says why (tampered, expired, another site), in the server's words.
    if (studio) return showSignIn(`This Studio link does not open the results: ${body.message || "refused"}.`);
    return showSignIn("The server refused that token. Check the admin token and try again.");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    $("status").textContent = `The server answered ${response.status}: ${body.message || response.statusText}`;
    return;
  }
  const report = await response.json();
  // Variation names come from the published ruleset (public); the page works without it.
  const ruleset = await fetch(`/v1/rulesets/${encodeURIComponent(site)}`)
    .then((r) => (r.ok ? r.json() : null))
    .then((envelope) => (envelope ? envelope.ruleset : null))
    .catch(() => null);
  render(site, report, ruleset);
}

function render(site, report, ruleset) {
  $("sign-out").hidden = false;
  // Links are made by the admin; a tab opened from a link only reads.
  $("studio-open").hidden = viaStudioLink();
  const list = $("experiments");
  list.replaceChildren();
  const toc = $("toc");
  toc.replaceChildren();
  if (!report.experiments.length) {
    $("status").textContent = `No experiment of site "${site}" has exposures yet. Results appear here once shoppers see an experiment.`;
    toc.hidden = true;
    return;
  }
  $("status").textContent = "";
  const items = report.experiments.map((e) => {
    const v = verdict(e);
    return el("li", {}, el("a", { href: "#experiment-" + e.experimentKey, text: e.experimentKey }), el("span", { class: `verdict ${v.kind}`, text: v.text }));
  });
  toc.append(el("h2", { text: `${report.experiments.length} experiment${report.experiments.length === 1 ? "" : "s"}` }), el("ul", {}, ...items));
  toc.hidden = false;
  for (const experiment of report.experiments) list.append(experimentView(site, experiment, ruleset));
  $("help").hidden = false;
  document.body.dataset.ready = "true";
}

$("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.removeItem(STUDIO_KEY);
  $("token").value = "";
  const url = new URL(location.href);
  url.searchParams.set("site", currentSite());
  history.replaceState(null, "", url);
  load();
});

$("sign-out").addEventListener("click", () => {
  forgetToken();
  $("experiments").replaceChildren();
  $("toc").hidden = true;
  $("help").hidden = true;
  delete document.body.dataset.ready;
  showSignIn();
});

$("studio-open").addEventListener("click", () => {
  const panel = $("studio-link");
  panel.hidden = !panel.hidden;
  if (!panel.hidden) $("studio-role").focus();
});
$("studio-link").addEventListener("submit", makeStudioLink);

takeStudioToken();
load();
