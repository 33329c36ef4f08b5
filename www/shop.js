// The demo storefront: a small catalogue, pages rendered from it, touchpoints sent to Tailor
// and placements filled from Tailor's decisions. Every Tailor call goes through the
// `tailor(...)` queue of the script-tag snippet, so nothing waits for the SDK to load.
const CATALOGUE = [
  { sku: "SH-TRAIL-1", name: "Trail runner", category: "shoes", brand: "stride", price: 89 },
  { sku: "SH-ROAD-2", name: "Road racer", category: "shoes", brand: "stride", price: 119 },
  { sku: "SH-WALK-3", name: "City walker", category: "shoes", brand: "terra", price: 69 },
  { sku: "JK-RAIN-1", name: "Rain shell", category: "jackets", brand: "nimbus", price: 149 },
  { sku: "JK-DOWN-2", name: "Down jacket", category: "jackets", brand: "nimbus", price: 199 },
  { sku: "AC-SOCK-1", name: "Merino socks (3 pairs)", category: "accessories", brand: "terra", price: 24 },
  { sku: "AC-CARE-2", name: "Shoe care kit", category: "accessories", brand: "stride", price: 19 },
];
const bySku = (sku) => CATALOGUE.find((p) => p.sku === sku);
const params = new URLSearchParams(location.search);
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function productCard(p) {
  return `<div class="product"><a href="/product.html?sku=${p.sku}"><strong>${esc(p.name)}</strong></a>
    <div>${esc(p.brand)} · €${p.price}</div>
    <button data-add="${p.sku}">Add to cart</button></div>`;
}

function renderOffers(el, offers) {
  if (!offers.length) return;
  el.innerHTML = offers
    .map(
      (o) => `<div class="offer" data-offer="${esc(o.offerId)}"><strong>${esc(o.content.title)}</strong>
        <div>${esc(o.content.body)}</div>
        ${o.content.cta ? `<a class="cta" href="${esc(o.content.url || "#")}" data-offer-click="${esc(o.offerId)}">${esc(o.content.cta)}</a>` : ""}
        <div class="why">${o.reason ? `ranked ${o.rank} of ${o.reason.candidates} eligible (priority ${o.priority}, score ${o.score})` : ""}</div></div>`,
    )
    .join("");
}

// Fills every placement on the page from one decision: once a ruleset is in use (at once
// from the cache for a returning shopper; after the first fetch, at most 3 s, on a first
// visit), and again whenever a new version is published while the page is open.
function personalise(pageType) {
  const els = [...document.querySelectorAll("[data-placement]")];
  if (!els.length) return;
  const decide = () =>
    tailor("decide", { pageType }, { placements: els.map((e) => e.dataset.placement) }).then((d) => {
      for (const el of els) {
        const p = d.placements && d.placements[el.dataset.placement];
        renderOffers(el, (p && p.offers) || []);
        el.classList.add("decided");
      }
      window.lastDecision = d;
    });
  tailor("ready")
    .then(decide)
    .then(() => tailor("on", "ruleset", decide));
}

document.addEventListener("click", (e) => {
  const add = e.target.closest("[data-add]");
  if (add) {
    const p = bySku(add.dataset.add);
    tailor("track", "add_to_cart", { sku: p.sku, quantity: 1, price: p.price, currency: "EUR", name: p.name, category: p.category, brand: p.brand }).then(() => {
      add.textContent = "Added ✓";
    });
  }
  const click = e.target.closest("[data-offer-click]");
  if (click) {
    const placement = click.closest("[data-placement]");
    tailor("track", "offer_click", { offerId: click.dataset.offerClick, placement: placement && placement.dataset.placement });
  }
});

// The product page's tabs, a small single-page section: a tab changes the URL's `tab`
// parameter with the History API (the other parameters stay) and shows its panel, without a
// reload; Back and Forward follow. Tailor sees the route change and re-targets its page
// experiments (the delivery-promise experiment runs on ?tab=delivery only).
function tabs() {
  const show = () => {
    const tab = new URLSearchParams(location.search).get("tab") || "details";
    for (const el of document.querySelectorAll("[data-tab-panel]")) el.hidden = el.dataset.tabPanel !== tab;
    for (const a of document.querySelectorAll("[data-tab]")) {
      if (a.dataset.tab === tab) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  };
  document.getElementById("tabs").addEventListener("click", (e) => {
    const a = e.target.closest("[data-tab]");
    if (!a) return;
    e.preventDefault();
    const q = new URLSearchParams(location.search);
    q.set("tab", a.dataset.tab);
    history.pushState(null, "", "?" + q);
    show();
  });
  addEventListener("popstate", show);
  show();
}

const pages = {
  home() {
    $("#grid").innerHTML = CATALOGUE.slice(0, 4).map(productCard).join("");
    personalise("home");
  },
  category() {
    const c = params.get("c") || "shoes";
    $("#title").textContent = c[0].toUpperCase() + c.slice(1);
    $("#grid").innerHTML = CATALOGUE.filter((p) => p.category === c).map(productCard).join("");
    tailor("track", "category_view", { category: c });
    personalise("category");
  },
  product() {
    const p = bySku(params.get("sku")) || CATALOGUE[0];
    tabs();
    $("#title").textContent = p.name;
    $("#details").innerHTML = `${esc(p.brand)} · ${esc(p.category)} · €${p.price} <button data-add="${p.sku}">Add to cart</button>`;
    tailor("track", "product_view", { sku: p.sku, name: p.name, category: p.category, brand: p.brand, price: p.price, currency: "EUR" });
    personalise("product");
  },
  cart() {
    tailor("profile").then((profile) => {
      const items = (profile && profile.cart && profile.cart.items) || [];
      $("#items").innerHTML = items.length
        ? items.map((i) => `<div>${esc((bySku(i.sku) || {}).name || i.sku)} × ${i.quantity} · €${i.price ?? "?"}</div>`).join("")
        : "<p>Your cart is empty.</p>";
      $("#checkout").disabled = !items.length;
      $("#checkout").onclick = () => {
        const revenue = items.reduce((t, i) => t + (i.price || 0) * i.quantity, 0);
        tailor("track", "purchase", { orderId: "o-" + Date.now(), revenue, currency: "EUR", items: items.map((i) => ({ sku: i.sku, quantity: i.quantity, price: i.price })) }).then(() => {
          $("#items").innerHTML = "<p>Thank you for your order!</p>";
        });
      };
    });
    personalise("cart");
  },
};

const page = document.body.dataset.page;
tailor("track", "page_view", { path: location.pathname, title: document.title });
if (pages[page]) pages[page]();
tailor("ready", (t) => {
  const s = t.status;
  $("#sdk-status").textContent = `Tailor ${window.Tailor ? window.Tailor.version : ""} ready: storage ${s.storage}, consent ${s.consent}`;
});
