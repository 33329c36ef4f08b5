// Loaded first by tests/e2e/pages/engines-pages.html and engines-studio.html: records what
// the tests read back in every engine (WebDriver classic has no init script). Policy
// violations; calls of window.__xss (code that should never run); when the parser inserts the
// headline, whether it is hidden; when the head snippet's style comes and goes, and the
// headline's text when it goes. ?nowasm=1 takes WebAssembly away first.
(function () {
  if (new URLSearchParams(location.search).get("nowasm")) delete window.WebAssembly;
  var p = (window.__probe = { violations: [], ran: 0, inserted: null, shield: null, shown: null });
  window.__xss = function () {
    p.ran++;
  };
  document.addEventListener("securitypolicyviolation", function (e) {
    p.violations.push(e.violatedDirective + " " + e.blockedURI);
  });
  new MutationObserver(function (records) {
    var h = document.querySelector("#hero h1");
    if (h && !p.inserted) p.inserted = { t: performance.now(), visibility: getComputedStyle(h).visibility, text: h.textContent };
    records.forEach(function (r) {
      r.addedNodes.forEach(function (n) {
        if (n.id === "tailor-hide") p.shield = { t: performance.now(), nonce: n.nonce, css: n.textContent };
      });
      r.removedNodes.forEach(function (n) {
        if (n.id === "tailor-hide") p.shown = { t: performance.now(), text: h && h.textContent };
      });
    });
  }).observe(document, { childList: true, subtree: true });
  // The Studio's shadow root is closed: keep it where the tests can read it.
  var attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    var root = attach.call(this, init);
    if (this.localName === "tailor-studio") window.__studio = root;
    return root;
  };
})();
