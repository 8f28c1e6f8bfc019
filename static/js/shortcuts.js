// Keyboard shortcuts for the inbox and the case page (docs/inbox.md, "Keyboard shortcuts").
// Single keys, as in Gmail and GitHub. None fires while typing in a field (input, textarea, select,
// contenteditable) or with Ctrl, Alt or Meta held; Shift only where the key needs it (? and /).
(function () {
  "use strict";
  // Django's JavaScript catalogue (/jsi18n/, loaded first by base.html); English if it did not load.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (fmt, args) { var i = 0; return fmt.replace(/%s/g, function () { return String(args[i++]); }); };

  var SHORTCUTS = [
    ["j", gettext("Next case in the list"), "inbox"],
    ["k", gettext("Previous case in the list"), "inbox"],
    ["o", gettext("Open the selected case (or Enter)"), "inbox"],
    ["/", gettext("Search the inbox"), "inbox"],
    ["c", gettext("Claim and start the case"), "case"],
    ["n", gettext("Write a note"), "case"],
    ["x", gettext("Close the case"), "case"],
    ["?", gettext("Show this list"), "both"],
  ];

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    if (target.tagName === "INPUT") return !/^(checkbox|radio|button|submit|reset)$/.test(target.type);
    return /^(TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
  }

  // --- inbox: a current row moved with j/k --------------------------------------------------

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-results .case-row"));
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(".case-row") : null;
  }

  function moveRow(step) {
    var list = rows();
    if (!list.length) return false;
    var index = list.indexOf(currentRow());
    var next = index === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(index + step, 0), list.length - 1);
    var row = list[next];
    row.setAttribute("tabindex", "-1");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    return true;
  }

  function openRow() {
    var row = currentRow();
    var link = row && row.querySelector("a.case-link");
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  // --- case page ----------------------------------------------------------------------------

  function claimAndStart() {
    var form = document.getElementById("action-start-form") || document.getElementById("action-claim-form");
    if (!form) return false;
    form.requestSubmit();
    return true;
  }

  function openAction(id) {
    return !!(window.closeloop && window.closeloop.openAction(id));
  }

  function focusSearch() {
    var search = document.getElementById("filter-q");
    if (!search) return false;
    search.focus();
    search.select();
    return true;
  }

  // --- help: a modal <dialog> (focus moves in, Esc closes, focus returns) --------------------

  var returnFocus = null;

  function helpDialog() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "shortcut-help";
    dialog.className = "shortcut-help";
    dialog.setAttribute("aria-labelledby", "shortcut-help-h");
    var where = document.getElementById("inbox-results") ? "inbox" : "case";
    var html = '<h2 id="shortcut-help-h">' + gettext("Keyboard shortcuts") + '</h2><dl>';
    SHORTCUTS.forEach(function (item) {
      if (item[2] !== "both" && item[2] !== where) return;
      html += "<dt><kbd>" + item[0] + "</kbd></dt><dd>" + item[1] + "</dd>";
    });
    html += "</dl><p class=\"muted\">" + gettext("Not while typing in a field.") + " " +
      (where === "inbox" ? gettext("On a case: c, n, x.") : gettext("In the inbox: j, k, o, /.")) + "</p>" +
      '<form method="dialog"><button type="submit" class="button">' + gettext("Close") + '</button></form>';
    dialog.innerHTML = html;
    dialog.addEventListener("close", function () {
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      returnFocus = null;
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  function showHelp() {
    var dialog = helpDialog();
    if (dialog.open) return true;
    returnFocus = document.activeElement;
    dialog.showModal();
    return true;
  }

  // --- one listener ----------------------------------------------------------------------------

  var ACTIONS = {
    j: function () { return moveRow(1); },
    k: function () { return moveRow(-1); },
    o: openRow,
    c: claimAndStart,
    n: function () { return openAction("action-note"); },
    x: function () { return openAction("action-close"); },
    "/": focusSearch,
    "?": showHelp,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.altKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // the dialog owns the keyboard (Esc closes it)
    var key = event.key;
    if (event.shiftKey && key !== "?" && key !== "/") return;
    if (key === "Enter") {
      // A focused row (moved to with j/k) opens; on links and buttons Enter does what it always does.
      if (document.activeElement && document.activeElement.classList.contains("case-row") && openRow()) {
        event.preventDefault();
      }
      return;
    }
    var action = Object.prototype.hasOwnProperty.call(ACTIONS, key) ? ACTIONS[key] : null;
    if (action && action()) event.preventDefault();
  });
})();
