// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Django's JavaScript catalogue (/jsi18n/, loaded first by base.html); English if it did not load.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (fmt, args) { var i = 0; return fmt.replace(/%s/g, function () { return String(args[i++]); }); };

  // A request HTMX could not swap (server error, network down): say so instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    showError(interpolate(gettext("That did not work (%s). Reload the page and try again."), [event.detail.xhr.status]));
  });
  document.addEventListener("htmx:sendError", function () {
    showError(gettext("The server could not be reached. Check the connection and try again."));
  });

  function showError(text) {
    var target = document.getElementById("htmx-error");
    if (target) {
      target.textContent = text;
      target.hidden = false;
    }
  }

  // Inbox: "select all on this page" and a live count of selected rows (the checkbox is hidden
  // without JavaScript, where it could not work).
  function selectedCount(form) {
    var boxes = form.querySelectorAll('input[name="cases"]');
    var checked = form.querySelectorAll('input[name="cases"]:checked');
    var all = form.querySelector(".select-all");
    if (all) {
      all.hidden = false;
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    }
    var label = form.querySelector(".selected-count");
    if (label) {
      label.textContent = checked.length ? interpolate(gettext("(%s selected)"), [checked.length]) : gettext("(none selected)");
    }
  }

  function initBulk() {
    var form = document.getElementById("bulk-form");
    if (form) selectedCount(form);
    showCurrentTabs();
  }

  // On a phone the main menu and the view tabs are rows that scroll sideways: bring the current
  // item into its row (without scrolling the page).
  function showCurrentTabs() {
    document.querySelectorAll('.topbar nav a[aria-current="page"], .tabs a[aria-current="page"]').forEach(function (current) {
      var strip = current.closest(".topbar nav") || current.closest("ul");
      if (strip && strip.scrollWidth > strip.clientWidth) {
        strip.scrollLeft += current.getBoundingClientRect().left - strip.getBoundingClientRect().left - 8;
      }
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#bulk-form");
    if (!form) return;
    if (event.target.classList.contains("select-all")) {
      form.querySelectorAll('input[name="cases"]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    selectedCount(form);
  });

  // After a swap, put keyboard focus somewhere useful: the first field with an error, the
  // conflict banner, the bulk report, or the status line; on an inbox tab change, the new tab.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelector) return;
    // An outerHTML swap replaced the target: look at the element now in the page.
    if (target.id && !target.isConnected) target = document.getElementById(target.id) || target;
    initBulk();
    var status = document.getElementById("case-actions-status");
    var focus =
      target.querySelector('[aria-invalid="true"]') ||
      target.querySelector(".banner.conflict") ||
      target.querySelector(".bulk-confirm") ||
      target.querySelector(".bulk-report") ||
      (target.id === "case-actions" && status && status.textContent.trim() ? status : null);
    if (!focus && target.id === "inbox-results") {
      var active = document.activeElement;
      if (!active || active === document.body) focus = target.querySelector('.tabs a[aria-current="page"]');
    }
    if (!focus && target.id === "case-actions") {
      focus = document.getElementById("actions-h");
    }
    if (focus) {
      if (!focus.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(focus.tagName)) {
        focus.setAttribute("tabindex", "-1");
      }
      focus.focus({ preventScroll: false });
    }
  });

  // Case page: open one action's form (closing the others), bring it to the top of the screen and
  // put the cursor in its first field. Used by the phone action bar and the keyboard shortcuts.
  function openAction(id) {
    var details = document.getElementById(id);
    if (!details) return false;
    var panel = details.closest(".actions");
    if (panel) {
      panel.querySelectorAll("details.action[open]").forEach(function (other) {
        if (other !== details) other.open = false;
      });
    }
    details.open = true;
    details.scrollIntoView({ block: "start" });
    // The first field (not a suggestion button before it); a button only when there is no field.
    var fields = Array.prototype.slice.call(details.querySelectorAll("select, textarea, input:not([type=hidden])"))
      .concat(Array.prototype.slice.call(details.querySelectorAll("button")));
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].offsetParent !== null && !fields[i].disabled) {
        fields[i].focus({ preventScroll: true });
        break;
      }
    }
    return true;
  }
  window.closeloop = { openAction: openAction };

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-open-action]");
    if (!link) return;
    if (openAction(link.getAttribute("href").slice(1))) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    initBulk();
  });
})();
