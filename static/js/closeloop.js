// Small progressive enhancements; every page works without them.
document.addEventListener("htmx:responseError", function (event) {
  var target = document.getElementById("htmx-error");
  if (target) {
    target.textContent = "That did not work (" + event.detail.xhr.status + "). Reload the page and try again.";
    target.hidden = false;
  }
});
