// The head snippet against flicker (pkg/dist/tailor-hide.js, or inlined). For a returning
// shopper whose page changes the SDK applied before, it hides only those elements (the SDK
// keeps their selectors per path in localStorage) until the SDK has applied the changes
// again and removes the style, or until the timeout: never the whole page, nothing on a
// first visit. Put it in <head> before the page's content:
//
//   <script src="/tailor-hide.js" data-site="my-shop" data-timeout="1000"></script>
(function (d) {
  try {
    var me = d.currentScript || {},
      data = me.dataset || {},
      sel = JSON.parse(localStorage.getItem("tailor:" + data.site + ":hide") || "{}")[location.pathname],
      st;
    if (!sel) return;
    st = d.createElement("style");
    st.id = "tailor-hide";
    var nonce = me.nonce || (d.querySelector("meta[name=csp-nonce]") || {}).content;
    if (nonce) st.nonce = nonce;
    st.textContent = sel + "{visibility:hidden!important}";
    d.head.appendChild(st);
    setTimeout(function () {
      st.remove();
    }, +data.timeout || 1000);
  } catch (e) {}
})(document);
