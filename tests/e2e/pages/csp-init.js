// The script-tag snippet of a page with a strict Content-Security-Policy (script-src 'self'):
// no inline script is allowed, so the queue function and the init call are this file.
window.tailor =
  window.tailor ||
  function () {
    var a = arguments;
    return new Promise(function (ok, fail) {
      (tailor.q = tailor.q || []).push([a, ok, fail]);
    });
  };
tailor("init", { site: "csp", endpoint: "/", consent: "granted", publicKey: window.tailorConfig && window.tailorConfig.publicKey });
