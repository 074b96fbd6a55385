/* daipin: read before the page is drawn (no flash): the 长辈版 (large text, high contrast) chosen in this browser,
   and the mark that scripts run (the phone menu then folds behind its button). No inline script: the CSP forbids it. */
(function () {
  var d = document.documentElement;
  d.classList.add("js");
  try { if (window.localStorage.getItem("daipin-elder") === "1") d.classList.add("elder"); } catch (e) {}
})();
