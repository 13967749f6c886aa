// The scan station's few behaviours; every decision is the server's.
(function () {
  "use strict";
  var GS = "\u001d";
  var scan = document.getElementById("scan");

  function insertAtCursor(input, text) {
    var start = input.selectionStart, end = input.selectionEnd;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = start + text.length;
  }

  // A wedge scanner sends GS (FNC1) as Ctrl+] or a bare GS key; Chromium inserts neither.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-gs], textarea[data-gs]"), function (input) {
    input.addEventListener("keydown", function (e) {
      var ctrlBracket = e.ctrlKey && (e.code === "BracketRight" || e.key === "]" || e.key === GS);
      if (ctrlBracket || e.key === GS || e.key === "GroupSeparator") {
        e.preventDefault();
        insertAtCursor(input, GS);
      }
    });
  });

  if (scan) {
    // The scan field keeps focus: a scan must never land anywhere else. Tab still reaches the
    // links and buttons for someone on a keyboard.
    scan.addEventListener("blur", function (e) {
      if (scan.hasAttribute("data-free-focus")) return; // a desk form has other fields

      var next = e.relatedTarget;
      if (next && (next.tagName === "A" || next.tagName === "BUTTON")) return;
      setTimeout(function () { scan.focus(); }, 0);
    });
    document.body.addEventListener("htmx:beforeRequest", function (e) {
      if (e.detail.elt && e.detail.elt.id === "scan-form") scan.value = "";
    });
    document.body.addEventListener("htmx:afterSwap", function () { scan.focus(); });
    if (scan.hasAttribute("autofocus")) scan.focus();
  }

  // The checklist and last scans, pushed by the server whenever anyone scans into this batch
  // (Server-Sent Events). The server ends the stream with the operator's session and refuses a
  // reconnection (204), which closes it: then the badge screen.
  var live = document.getElementById("live");
  if (live && window.EventSource) {
    var source = new EventSource(live.getAttribute("data-live"));
    source.addEventListener("panels", function (e) {
      var panels = document.getElementById("panels");
      if (panels) panels.outerHTML = e.data;
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) window.location.assign("/station");
    });
    // Leaving the page (sign-out, another batch) closes it first, so that is not taken for the
    // server's refusal.
    window.addEventListener("beforeunload", function () { source.close(); });
  }

  // Idle sign-out: the server ends the session after the same time; this only brings the
  // badge screen up without waiting for the next scan.
  var idle = document.getElementById("idle");
  var form = document.getElementById("sign-out");
  if (idle && form) {
    var seconds = parseInt(idle.getAttribute("data-idle-seconds"), 10) || 300;
    var timer = null;
    var reset = function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () { form.submit(); }, seconds * 1000);
    };
    ["keydown", "pointerdown", "htmx:afterRequest"].forEach(function (name) {
      document.addEventListener(name, reset, true);
    });
    reset();
  }
})();
