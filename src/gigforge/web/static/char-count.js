// Live character counters: a <textarea data-limit="N" data-counter="ID"> updates the element
// ID with how much of the limit is used, and says by how much it is over. The server checks the
// same limit and explains a refusal, so nothing is cut without a word. An external file, as the
// pages' policy allows scripts from 'self' only.
(function () {
  "use strict";
  var format = new Intl.NumberFormat("en");

  function update(area, counter, limit) {
    var used = Array.from(area.value).length;
    var over = used - limit;
    var text = format.format(used) + " of " + format.format(limit) + " characters";
    if (over > 0) {
      text += ": " + format.format(over) + " over the limit";
    }
    counter.textContent = text;
    counter.classList.toggle("over", over > 0);
  }

  function attach(area) {
    var counter = document.getElementById(area.getAttribute("data-counter"));
    var limit = parseInt(area.getAttribute("data-limit"), 10);
    if (!counter || !(limit > 0)) {
      return;
    }
    var refresh = function () { update(area, counter, limit); };
    area.addEventListener("input", refresh);
    refresh();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-limit]"), attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
