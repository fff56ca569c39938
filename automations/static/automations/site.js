// What every page may use: copy buttons (data-copy names the element whose text is
// copied) and the menu button of the navigation on narrow screens.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.dataset.copy);
      if (!source) return;
      var label = copy.textContent;
      navigator.clipboard.writeText(source.value || source.textContent.trim()).then(function () {
        copy.textContent = "Copied";
      }, function () { copy.textContent = "Select and copy"; });
      window.setTimeout(function () { copy.textContent = label; }, 2000);
    }
    var menu = event.target.closest("#menu-button");
    if (menu) {
      var open = menu.getAttribute("aria-expanded") !== "true";
      menu.setAttribute("aria-expanded", open ? "true" : "false");
      document.getElementById("site-menu").classList.toggle("open", open);
    }
  });
})();
