// The admission page, live: asks for its own URL as JSON every few seconds and
// updates the state in place (never reloads: a reload would wipe what staff are
// typing). Moves the clock every second on the venue's time. Without this
// script the page still works, with its refresh link.
(function () {
  "use strict";
  var root = document.querySelector("[data-admission]");
  if (!root) { return; }
  var url = root.getAttribute("data-admission");
  var every = Math.max(2, parseInt(root.getAttribute("data-poll-seconds"), 10) || 5) * 1000;
  var offsetMin = parseInt(root.getAttribute("data-venue-offset"), 10) || 0;
  // The server's clock minus ours, so a phone set wrong still shows the venue's time.
  var skew = (parseInt(root.getAttribute("data-now"), 10) || 0) * 1000 - Date.now();
  var state = null;
  var polls = 0;
  var lastChecked = "";

  function live(name) { return root.querySelector('[data-live="' + name + '"]'); }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function label() {
    var sign = offsetMin < 0 ? "-" : "+";
    var m = Math.abs(offsetMin);
    return "(UTC" + sign + two(Math.floor(m / 60)) + ":" + two(m % 60) + ")";
  }
  function venueTime(ms) {
    var d = new Date(ms + offsetMin * 60000);
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " " +
      two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds()) + " " + label();
  }
  function tick() {
    var clock = live("clock");
    if (clock) { clock.textContent = venueTime(Date.now() + skew); }
  }
  function show(data) {
    var headline = live("headline");
    headline.textContent = data.headline;
    headline.className = "state " + data.tone;
    var refusal = live("refusal");
    refusal.textContent = data.refusal || "";
    refusal.hidden = !data.refusal;
    if (state !== null && state !== data.state) {
      // The admit form belongs to a valid ticket only; a typed PIN is never cleared otherwise.
      var form = live("admit-form");
      if (form && data.state !== "valid") { form.remove(); }
    }
    // The live codes: each seat's QR code and digits for this step; gone once admitted.
    var codes = live("codes");
    if (codes) {
      var current = {};
      (data.live || []).forEach(function (l) { current[String(l.position)] = l; });
      Array.prototype.forEach.call(codes.querySelectorAll("[data-live-seat]"), function (box) {
        var l = current[box.getAttribute("data-live-seat")];
        if (!l) { box.remove(); return; }
        var digits = box.querySelector('[data-live-part="digits"]');
        if (digits.textContent !== l.digits) {
          // The SVG is drawn by the gateway from a code it signed: no caller-made text in it.
          box.querySelector('[data-live-part="qr"]').innerHTML = l.qr_svg;
          digits.textContent = l.digits;
        }
      });
      if (!codes.querySelector("[data-live-seat]")) { codes.remove(); }
    }
    state = data.state;
    skew = data.now * 1000 - Date.now();
    lastChecked = data.now_display;
    live("checked").textContent = lastChecked;
    polls += 1;
    root.setAttribute("data-polls", String(polls));
    root.removeAttribute("data-offline");
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(show)
      .catch(function () {
        // Offline or the link stopped working: say so, keep the last state shown.
        root.setAttribute("data-offline", "1");
        live("checked").textContent = (lastChecked || "earlier") + " — not reachable now, trying again";
      });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(poll, every);
})();
