// The script-tag snippet of tests/e2e/pages/studio.html (an external file, so that a strict
// policy allows it). The page's own history state is set first: the SDK must keep it.
history.replaceState({ shop: "state" }, "");
window.tailor =
  window.tailor ||
  function () {
    var a = arguments;
    return new Promise(function (ok, fail) {
      (tailor.q = tailor.q || []).push([a, ok, fail]);
    });
  };
tailor("init", { site: "studio", endpoint: "/", consent: "granted", publicKey: window.tailorConfig && window.tailorConfig.publicKey });
tailor("ready", function (t) {
  window.T = t;
  window.urlAtInit = location.href;
});
