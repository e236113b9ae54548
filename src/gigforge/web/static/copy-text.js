// Copy buttons: a <button data-copy-target="ID" hidden> copies the text of the element ID to
// the clipboard and says so in the next .copy-status element. The button stays hidden where
// scripts or the clipboard are unavailable, so no page offers a button that does nothing. An
// external file, as the pages' policy allows scripts from 'self' only.
(function () {
  "use strict";

  function attach(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) {
      return;
    }
    var status = button.parentNode.querySelector(".copy-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent).then(
        function () { if (status) { status.textContent = "Copied."; } },
        function () { if (status) { status.textContent = "Copying was refused: select the text and copy it."; } }
      );
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy-target]"), attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
