// Reloads the page while an element asks for it: <div data-refresh-seconds="3">. Used by the
// progress pages of a case file export and a report export (no inline script: the CSP allows only our files).
(function () {
  "use strict";
  var holder = document.querySelector("[data-refresh-seconds]");
  if (!holder) {
    return;
  }
  var seconds = parseInt(holder.getAttribute("data-refresh-seconds"), 10);
  if (seconds > 0) {
    window.setTimeout(function () {
      window.location.reload();
    }, seconds * 1000);
  }
})();
