// The wizard's few behaviours that need a browser: warn before leaving unsaved changes,
// insert Suggested Data Elements at the cursor, filter them, and reorder steps by
// dragging (copy buttons are site.js's). Everything else is plain forms and htmx swaps.
(function () {
  "use strict";
  var dirty = false;
  var lastField = null;

  document.addEventListener("input", function (event) {
    if (event.target.closest(".panel-form") && !event.target.classList.contains("suggestion-filter")) dirty = true;
    if (event.target.classList.contains("suggestion-filter")) filter(event.target);
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest(".panel-form")) dirty = true;
  });
  // Posting the form (Proceed, Save and Exit, a row editor) keeps what was typed.
  document.addEventListener("submit", function () { dirty = false; });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target.closest && event.target.closest(".panel-form")) dirty = false;
  });
  // A panel that came back with errors still holds work that is not saved.
  document.addEventListener("htmx:afterSwap", function () {
    dirty = document.querySelector("#panel [role=alert], #panel .errorlist") !== null;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });
  // Navigating the panel with htmx also leaves the form: ask first.
  document.addEventListener("htmx:confirm", function (event) {
    if (!dirty || event.target.closest(".panel-form")) return;
    if (!window.confirm("You have unsaved changes. Leave them?")) event.preventDefault();
    else dirty = false;
  });

  // + Add New Account leaves the page for the Authorize form and comes back with the new
  // account chosen: what was typed into the form meanwhile is kept in this tab
  // (sessionStorage, by the form's address) and put back when that form is shown again.
  // Passwords are not kept; the account is the one just made.
  var DRAFT = "switchboard-draft:";
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-keeps-form]");
    var form = link && link.closest("form");
    if (!form) return;
    var values = [];
    form.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.name === "account" || el.name === "csrfmiddlewaretoken") return;
      if (["password", "hidden", "file", "submit", "button"].indexOf(el.type) >= 0) return;
      values.push([el.name, el.type === "checkbox" || el.type === "radio" ? el.checked : el.value]);
    });
    try {
      window.sessionStorage.setItem(DRAFT + form.getAttribute("action"), JSON.stringify(values));
      dirty = false;
    } catch (error) { /* storage full or off: leaving asks first, as before */ }
  });
  function restoreDraft() {
    document.querySelectorAll(".panel-form").forEach(function (form) {
      var key = DRAFT + form.getAttribute("action");
      var saved;
      try { saved = window.sessionStorage.getItem(key); } catch (error) { return; }
      if (!saved) return;
      window.sessionStorage.removeItem(key);
      var seen = {};
      JSON.parse(saved).forEach(function (pair) {
        // Fields sharing a name (checkbox lists) come back in the order they were read.
        var index = seen[pair[0]] = (seen[pair[0]] || 0) + 1;
        var el = form.querySelectorAll("[name='" + CSS.escape(pair[0]) + "']")[index - 1];
        if (!el) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = pair[1];
        else el.value = pair[1];
      });
      dirty = true;
    });
  }
  document.addEventListener("DOMContentLoaded", restoreDraft);
  document.addEventListener("htmx:afterSettle", restoreDraft);

  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el.matches(".panel-form input[type=text], .panel-form textarea") && !el.classList.contains("suggestion-filter")) lastField = el;
  });
  document.addEventListener("click", function (event) {
    var element = event.target.closest(".data-element");
    if (element) insert(element.dataset.reference);
  });

  function insert(reference) {
    var field = lastField && document.contains(lastField) ? lastField : null;
    if (!field) { window.alert("Click into a field first, then choose a data element."); return; }
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.setRangeText(reference, start, end, "end");
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function filter(box) {
    var words = box.value.toLowerCase();
    var panel = box.closest(".suggestions");
    panel.querySelectorAll(".data-element").forEach(function (el) {
      el.closest("li").hidden = words && el.textContent.toLowerCase().indexOf(words) < 0 &&
        el.dataset.reference.toLowerCase().indexOf(words) < 0;
    });
  }

  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    dragged = event.target.closest("[data-reorder] li[data-key]");
  });
  document.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest("[data-reorder] li[data-key]")) event.preventDefault();
  });
  document.addEventListener("drop", function (event) {
    var target = event.target.closest("[data-reorder] li[data-key]");
    if (!dragged || !target || target === dragged) return;
    event.preventDefault();
    var list = target.parentNode;
    var items = Array.prototype.slice.call(list.children);
    list.insertBefore(dragged, items.indexOf(dragged) < items.indexOf(target) ? target.nextSibling : target);
    var form = list.closest("form");
    // Steps inside a branch or a loop move with their holder: only top-level keys count.
    form.querySelector("[name=order]").value = Array.prototype.filter.call(list.children, function (li) {
      return li.dataset.key;
    }).map(function (li) {
      return li.dataset.key;
    }).join(",");
    dragged = null;
    form.submit();
  });
})();
