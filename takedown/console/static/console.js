// The console's one script, served from /static (the Content-Security-Policy forbids inline script). Every page
// works without it; it adds two things: an unblurred picture is masked again when its time is up, and keyboard
// shortcuts (an element with data-key="x" is clicked, or focused if it is a field, when x is pressed).
(function () {
  "use strict";

  function remask(img) {
    var seconds = parseInt(img.getAttribute("data-seconds"), 10) || 10;
    var label = img.parentElement ? img.parentElement.querySelector(".countdown") : null;
    var left = seconds;
    function tick() {
      if (left <= 0) {
        img.src = img.getAttribute("data-masked");
        img.className = "remasked";
        if (label) { label.textContent = ""; }
        return;
      }
      if (label) { label.textContent = "(" + left + " s)"; }
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function shortcut(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var chosen = null;
    var keyed = document.querySelectorAll("[data-key]");
    for (var i = 0; i < keyed.length; i += 1) {
      if (keyed[i].getAttribute("data-key") === event.key) { chosen = keyed[i]; break; }
    }
    if (!chosen) { return; }
    event.preventDefault();
    if (typing(chosen)) { chosen.focus(); } else { chosen.click(); }
  }

  var shown = document.querySelectorAll("img.unblurred");
  for (var i = 0; i < shown.length; i += 1) { remask(shown[i]); }
  document.addEventListener("keydown", shortcut);
}());
