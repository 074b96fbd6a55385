/* daipin: draws ECharts charts whose options sit in data-chart attributes (no inline scripts, CSP-safe). */
(function () {
  var loading = null;
  function loadECharts(cb) {
    if (window.echarts) { cb(); return; }
    if (!loading) {
      loading = [];
      var s = document.createElement("script");
      s.src = "/static/vendor/echarts.min.js";
      s.onload = function () { loading.forEach(function (f) { f(); }); };
      document.head.appendChild(s);
    }
    loading.push(cb);
  }
  function draw(root) {
    var els = (root || document).querySelectorAll("[data-chart]");
    if (!els.length) return;
    loadECharts(function () {
      els.forEach(function (el) {
        if (el.dataset.drawn) return;
        el.dataset.drawn = "1";
        var chart = window.echarts.init(el, null, { renderer: "svg" });
        chart.setOption(JSON.parse(el.dataset.chart));
        window.addEventListener("resize", function () { chart.resize(); });
        el.setAttribute("data-chart-ready", "1");
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
  document.addEventListener("htmx:configRequest", function (e) {
    var m = document.querySelector("body").getAttribute("hx-headers");
    if (m) { try { var h = JSON.parse(m); for (var k in h) e.detail.headers[k] = h[k]; } catch (x) {} }
  });
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-confirm]");
    if (t && !window.confirm(t.getAttribute("data-confirm"))) e.preventDefault();
  });
})();
