// Live updates for the inbox, the case page and the overdue dashboard (docs/inbox.md, "Live
// updates and notifications"). The page's marker ([data-live], templates/cases/_live_marker.html)
// carries a signed ticket and the counters the page was rendered with; every POLL_MS this asks
// /cases/live/ with If-None-Match. 304: nothing changed. 200: show "N new" / "Updated" (a click
// refreshes the list through HTMX, or reloads the page) and the bell's unread count. Errors back
// off to BACKOFF_MAX_MS and say "Live updates are paused" with a manual refresh; a hidden tab
// does not poll, and polls at once when it is shown again. Pages work the same without it.
(function () {
  "use strict";
  // Django's JavaScript catalogue (/jsi18n/, loaded first by base.html); English if it did not load.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (fmt, args) { var i = 0; return fmt.replace(/%s/g, function () { return String(args[i++]); }); };

  var POLL_MS = 2000;
  var BACKOFF_MAX_MS = 60000;

  function init() {
    var marker = document.querySelector("[data-live]");
    if (!marker || !window.fetch) return;
    var data = marker.dataset;
    var button = marker.querySelector(".live-button");
    var off = marker.querySelector(".live-off");
    var url = data.liveUrl + "?scope=" + encodeURIComponent(data.liveScope) +
      (data.liveCase ? "&case=" + encodeURIComponent(data.liveCase) : "");
    var ticket = data.liveTicket;
    var etag = data.liveToken || "";
    // What the page shows: the list fingerprint and the running count of new cases.
    var shown = data.liveList ? { list: data.liveList, new: parseInt(data.liveNew, 10) || 0 } : null;
    var latest = null;
    var delay = POLL_MS;
    var timer = null;
    var stopped = false;

    function schedule(ms) {
      clearTimeout(timer);
      timer = setTimeout(poll, ms);
    }

    function paused(on) {
      if (off) off.hidden = !on;
    }

    function render() {
      if (!latest || !shown) return;
      var added = latest.new - shown.new;
      if (added > 0) {
        button.textContent = interpolate(ngettext("%s new case: show it", "%s new cases: show them", added), [added]);
      } else if (latest.list !== shown.list) {
        button.textContent = data.liveWhat === "case" ? gettext("This case was updated: show it") : gettext("Updated: refresh the list");
      } else {
        button.hidden = true;
        marker.removeAttribute("data-live-pending");
        return;
      }
      button.hidden = false;
      marker.setAttribute("data-live-pending", added > 0 ? String(added) : "updated");
    }

    function bell(count) {
      var badges = document.querySelectorAll("[data-live-bell]");
      for (var i = 0; i < badges.length; i++) {
        badges[i].textContent = String(count);
        badges[i].hidden = !count;
      }
      var link = document.querySelector("[data-live-bell-link]");
      if (link) link.setAttribute("aria-label", interpolate(gettext("Notifications: %s unread"), [count]));
    }

    function poll() {
      if (stopped) return;
      if (document.visibilityState === "hidden") return; // resumed by visibilitychange
      var headers = { "X-Live-Ticket": ticket || "" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 304) return null;
          if (response.status === 401 || response.status === 404) {
            stopped = true; // signed out, or the case is no longer theirs: a refresh says which
            throw new Error("stopped");
          }
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (body) {
          paused(false);
          delay = POLL_MS;
          if (body) {
            etag = body.token;
            if (body.ticket) ticket = body.ticket;
            latest = { list: body.list, new: body.new };
            if (!shown) shown = latest; // rendered without counters (Redis was down): start here
            if (body.new < shown.new) shown = { list: shown.list, new: body.new }; // counters reset
            render();
            bell(body.unread);
          }
          schedule(delay);
        })
        .catch(function () {
          paused(true);
          if (stopped) return;
          delay = Math.min(delay * 2, BACKOFF_MAX_MS);
          schedule(delay);
        });
    }

    button.addEventListener("click", function () {
      if (data.liveRefresh === "inbox" && window.htmx && document.getElementById("inbox-results")) {
        var target = latest;
        window.htmx.ajax("GET", window.location.pathname + window.location.search,
          { target: "#inbox-results", swap: "innerHTML" }).then(function () {
            shown = target;
            render();
          });
      } else {
        window.location.reload();
      }
    });

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") schedule(0);
    });

    schedule(delay);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
