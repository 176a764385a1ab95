// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  function focusErrors(root) {
    var summary = (root || document).querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }
  // On a phone the menu scrolls sideways: show the current item, and fade the edge while more follows.
  function markMoreMenu(nav) {
    nav.classList.toggle("site-nav--more", nav.scrollLeft + nav.clientWidth < nav.scrollWidth - 4);
  }
  function showCurrentMenuItem() {
    var nav = document.querySelector(".site-nav");
    if (!nav) { return; }
    var current = nav.querySelector("[aria-current]");
    if (current && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
    markMoreMenu(nav);
    nav.addEventListener("scroll", function () { markMoreMenu(nav); }, { passive: true });
  }
  document.addEventListener("DOMContentLoaded", function () { focusErrors(document); showCurrentMenuItem(); });
  document.addEventListener("htmx:after:swap", function (event) {
    focusErrors(event.target);
    if (event.target.querySelector && event.target.querySelector(".site-nav")) { showCurrentMenuItem(); }
  });
  // A form that cannot be undone asks first (htmx asks for its own forms with hx-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) { window.print(); }
  });
})();
