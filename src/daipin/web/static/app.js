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
  function list(x) { return x ? (Array.isArray(x) ? x : [x]) : []; }
  /* Chart text dark enough on white (at least 7:1), whatever ECharts' default grey. */
  function darkLabels(opt) {
    opt.textStyle = opt.textStyle || {};
    if (!opt.textStyle.color) opt.textStyle.color = "#1d2330";
    list(opt.xAxis).concat(list(opt.yAxis)).forEach(function (a) {
      a.axisLabel = a.axisLabel || {}; if (!a.axisLabel.color) a.axisLabel.color = "#1d2330";
      a.nameTextStyle = a.nameTextStyle || {}; if (!a.nameTextStyle.color) a.nameTextStyle.color = "#1d2330";
    });
    list(opt.title).forEach(function (t) { t.textStyle = t.textStyle || {}; if (!t.textStyle.color) t.textStyle.color = "#1d2330"; });
    list(opt.legend).forEach(function (l) { l.textStyle = l.textStyle || {}; if (!l.textStyle.color) l.textStyle.color = "#1d2330"; });
    list(opt.series).forEach(function (s) { if (s.type === "pie") { s.label = s.label || {}; if (!s.label.color) s.label.color = "#1d2330"; } });
  }
  /* Every chart's figures also as a table (folded under the chart) and the chart named for screen readers. */
  function chartTable(el, opt) {
    if (el.dataset.tabled) return;
    el.dataset.tabled = "1";
    var title = list(opt.title).map(function (t) { return t.text; }).join(" ");
    if (!title) { var h = el.previousElementSibling; while (h && !/^H[1-6]$/.test(h.tagName)) h = h.previousElementSibling; title = h ? h.textContent.trim() : ""; }
    var word = el.getAttribute("data-table-label") || "数据表";
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", title ? title + "（" + word + "见下）" : word);
    var series = list(opt.series), cats = null, rows = [], head = [];
    if (series.length && series[0].type === "pie") {
      head = ["", series[0].name || title];
      (series[0].data || []).forEach(function (d) { rows.push([d.name, d.value]); });
    } else {
      list(opt.xAxis).concat(list(opt.yAxis)).forEach(function (a) { if (!cats && a.type === "category" && a.data) cats = a.data; });
      if (!cats) return;
      head = [""].concat(series.map(function (s, i) { return s.name || (series.length > 1 ? String(i + 1) : title); }));
      cats.forEach(function (c, i) {
        rows.push([typeof c === "object" && c ? c.value : c].concat(series.map(function (s) {
          var v = (s.data || [])[i]; return v && typeof v === "object" ? v.value : v; })));
      });
    }
    var d = document.createElement("details"); d.className = "chart-data";
    var sm = document.createElement("summary"); sm.textContent = (title ? title + "：" : "") + word; d.appendChild(sm);
    var wrap = document.createElement("div"); wrap.className = "table-wrap stack-wrap"; wrap.setAttribute("tabindex", "0");
    wrap.setAttribute("role", "region"); wrap.setAttribute("aria-label", title || word);
    var t = document.createElement("table"), cap = document.createElement("caption"); cap.textContent = title || word;
    t.className = "stack";  /* on a phone each row stacks: its name, then each figure under its series' name */
    t.appendChild(cap);
    var tr = document.createElement("tr");
    head.forEach(function (x) { var th = document.createElement("th"); th.scope = "col"; th.textContent = x == null ? "" : x; tr.appendChild(th); });
    var thead = document.createElement("thead"); thead.appendChild(tr); t.appendChild(thead);
    var tb = document.createElement("tbody");
    rows.forEach(function (r) {
      var row = document.createElement("tr");
      r.forEach(function (x, i) { var c = document.createElement(i ? "td" : "th"); if (!i) c.scope = "row"; else { c.className = "num"; c.dataset.label = head[i] == null ? "" : String(head[i]); }
        c.textContent = x == null ? "" : (typeof x === "number" ? x.toLocaleString("zh-CN") : x); row.appendChild(c); });
      tb.appendChild(row);
    });
    t.appendChild(tb); wrap.appendChild(t); d.appendChild(wrap);
    el.parentNode.insertBefore(d, el.nextSibling);
  }
  function draw(root) {
    var els = (root || document).querySelectorAll("[data-chart]");
    if (!els.length) return;
    loadECharts(function () {
      els.forEach(function (el) {
        if (el.dataset.drawn) return;
        el.dataset.drawn = "1";
        var chart = window.echarts.init(el, null, { renderer: "svg" });
        var opt = JSON.parse(el.dataset.chart);
        darkLabels(opt);
        chart.setOption(opt);
        chartTable(el, opt);
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
