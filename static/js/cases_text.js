// Close form: the suggested root causes are one-tap choices that fill the root-cause select (and,
// through its change event, show that cause's playbook). Without JavaScript the suggestions are a
// line of text and the select works as ever.
(function () {
  "use strict";

  function reveal(root) {
    root.querySelectorAll(".suggestions").forEach(function (group) {
      var buttons = group.querySelector(".suggestion-buttons");
      var text = group.querySelector(".suggestion-text");
      if (buttons) buttons.hidden = false;
      if (text) text.hidden = true;
    });
  }

  function markPressed(select) {
    document.querySelectorAll('.suggestion[data-select="' + select.id + '"]').forEach(function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-root-cause") === select.value ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".suggestion[data-root-cause]");
    if (!button) return;
    var select = document.getElementById(button.getAttribute("data-select"));
    if (!select) return;
    select.value = button.getAttribute("data-root-cause");
    select.dispatchEvent(new Event("change", { bubbles: true }));
    markPressed(select);
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select")) markPressed(event.target);
  });

  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:afterSettle", function (event) { reveal(event.target); });
})();
