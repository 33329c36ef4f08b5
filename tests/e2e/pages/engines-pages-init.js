// The script-tag snippet of tests/e2e/pages/engines-pages.html (a file: the page's policy
// allows no inline script). The site is the head snippet's data-site.
window.tailor =
  window.tailor ||
  function () {
    var a = arguments;
    return new Promise(function (ok, fail) {
      (tailor.q = tailor.q || []).push([a, ok, fail]);
    });
  };
tailor("init", { site: "pages", endpoint: "/", consent: "granted", publicKey: window.tailorConfig && window.tailorConfig.publicKey, flushInterval: 600000 });
