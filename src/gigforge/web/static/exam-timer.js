// The exam's countdown. The server keeps the time limit (answers after it are not graded); this
// only shows the time left, and says so when it reaches zero. An external file, as the pages'
// policy allows scripts from 'self' only.
(function () {
  "use strict";
  var timer = document.getElementById("exam-timer");
  var shown = document.getElementById("exam-time-left");
  var over = document.getElementById("exam-time-up");
  if (!timer || !shown) {
    return;
  }
  var seconds = parseInt(timer.getAttribute("data-seconds-left"), 10);
  if (!(seconds >= 0)) {
    return;
  }
  var end = Date.now() + seconds * 1000;

  function two(value) {
    return (value < 10 ? "0" : "") + value;
  }

  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    shown.textContent = Math.floor(left / 60) + ":" + two(left % 60);
    if (left === 0) {
      if (over) {
        over.hidden = false;
      }
      return;
    }
    window.setTimeout(tick, 1000);
  }

  tick();
})();
