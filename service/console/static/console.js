/* Niceties only: every console form works without this file. */
(function () {
  "use strict";

  function showWhen(nodes, visible) {
    nodes.forEach(function (node) { node.hidden = !visible(node); });
  }

  function steerForm(form) {
    var scope = form.elements.namedItem("scope");
    var action = form.elements.namedItem("action");
    var byScope = Array.prototype.slice.call(form.querySelectorAll("[data-for-scope]"));
    var byAction = Array.prototype.slice.call(form.querySelectorAll("[data-for-action]"));
    function sync() {
      showWhen(byScope, function (n) { return n.getAttribute("data-for-scope") === scope.value; });
      showWhen(byAction, function (n) { return n.getAttribute("data-for-action") === action.value; });
    }
    scope.addEventListener("change", sync);
    action.addEventListener("change", sync);
    sync();
  }

  function compareForm(form) {
    var pairs = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-dim]"));
    var hint = document.getElementById("pair-help");
    function sync() {
      var checked = form.querySelector("input[name=dim]:checked");
      var dim = checked ? checked.value : "maturity";
      showWhen(pairs, function (n) { return n.getAttribute("data-dim") === dim; });
      if (hint) { hint.hidden = true; }
    }
    Array.prototype.forEach.call(form.querySelectorAll("input[name=dim]"), function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var steer = document.querySelector("form[data-steer]");
    if (steer) { steerForm(steer); }
    var compare = document.querySelector("form[data-compare]");
    if (compare) { compareForm(compare); }
    // After a submitted form, move focus to its outcome so that it is announced and the
    // keyboard continues from there (the search and context forms use native autofocus).
    var target = document.querySelector(".message-error[role=alert], #results, #comparison, #awareness");
    if (target && !document.querySelector("[autofocus]")) {
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });
})();
