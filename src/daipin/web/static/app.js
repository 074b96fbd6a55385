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
  /* The phone menu: a real button that says whether the menu is open; Escape closes it and returns focus. */
  function setupNav() {
    var btn = document.getElementById("navbtn"), nav = document.getElementById("mainnav");
    if (!btn || !nav) return;
    btn.addEventListener("click", function () {
      var open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
    nav.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && nav.classList.contains("open")) { btn.click(); btn.focus(); }
    });
  }
  /* 长辈版: one tap on every page, remembered in this browser. */
  function setupElder() {
    var btn = document.getElementById("elder-toggle");
    if (!btn) return;
    var d = document.documentElement;
    function show() {
      var on = d.classList.contains("elder");
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      btn.textContent = on ? btn.getAttribute("data-on") : btn.getAttribute("data-off");
    }
    btn.addEventListener("click", function () {
      var on = !d.classList.contains("elder");
      d.classList.toggle("elder", on);
      try { window.localStorage.setItem("daipin-elder", on ? "1" : "0"); } catch (e) {}
      show();
      window.dispatchEvent(new Event("resize"));  // charts redraw at the new text size
    });
    show();
  }
  /* A table wider than the screen scrolls inside its box: the box takes keyboard focus and is named after the
     table's caption or the heading above it, so a keyboard or screen-reader user can reach and scroll it. */
  function labelTables(root) {
    (root || document).querySelectorAll(".table-wrap").forEach(function (w) {
      if (!w.hasAttribute("tabindex")) w.setAttribute("tabindex", "0");
      if (!w.hasAttribute("role")) w.setAttribute("role", "region");
      if (w.hasAttribute("aria-labelledby") || w.dataset.named) return;
      var cap = w.querySelector("caption"), name = cap ? cap.textContent : "";
      if (!name) {
        var el = w;
        while (el && !name) {
          var prev = el.previousElementSibling;
          while (prev && !/^H[1-6]$/.test(prev.tagName)) prev = prev.previousElementSibling;
          if (prev) name = prev.textContent; else el = el.parentElement;
          if (el && el.tagName === "MAIN") break;
        }
      }
      if (name) { w.setAttribute("aria-label", name.trim().replace(/\s+/g, " ")); w.dataset.named = "1"; }
    });
  }
  /* A refused form: the error summary at its top takes the focus, so it is read out and seen first. */
  function focusErrors(root) {
    var s = (root || document).querySelector("[data-error-summary]");
    if (s) { s.setAttribute("tabindex", "-1"); s.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    setupNav(); setupElder(); labelTables(document); focusErrors(document); draw(document);
  });
  document.addEventListener("htmx:afterSwap", function (e) { labelTables(e.target); focusErrors(e.target); });
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
