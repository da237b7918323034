// The admission page, live: asks for its own URL as JSON every few seconds and
// updates the state in place (never reloads: a reload would wipe what staff are
// typing). Moves the clock every second on the venue's time, labelled with the
// venue's zone (JST). Every word it writes comes from the page (its data-
// attributes, rendered from the catalogs in the page's language), and the
// state's headline from the page's JSON in the same language. Without this
// script the page still works, with its refresh link.
(function () {
  "use strict";
  var root = document.querySelector("[data-admission]");
  if (!root) { return; }
  var url = root.getAttribute("data-admission");
  var every = Math.max(2, parseInt(root.getAttribute("data-poll-seconds"), 10) || 5) * 1000;
  var offsetMin = parseInt(root.getAttribute("data-venue-offset"), 10) || 0;
  var zone = root.getAttribute("data-zone") || "";
  var format = root.getAttribute("data-clock-format") || "%Y-%m-%d %H:%M:%S %Z";
  var weekdays = (root.getAttribute("data-weekdays") || "").split(" ");
  var months = (root.getAttribute("data-months") || "").split(" ");
  var words = {
    unreachable: root.getAttribute("data-unreachable") || "",
    earlier: root.getAttribute("data-earlier") || "",
    checked: root.getAttribute("data-checked") || "%s"
  };
  // The server's clock minus ours, so a phone set wrong still shows the venue's time.
  var skew = (parseInt(root.getAttribute("data-now"), 10) || 0) * 1000 - Date.now();
  var state = null;
  var polls = 0;
  var lastChecked = "";

  function live(name) { return root.querySelector('[data-live="' + name + '"]'); }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  // The venue's time in the page's format (see door-clock-format in locales/*/door.ftl).
  function venueTime(ms) {
    var d = new Date(ms + offsetMin * 60000);
    var parts = {
      "Y": String(d.getUTCFullYear()), "m": two(d.getUTCMonth() + 1), "-m": String(d.getUTCMonth() + 1),
      "d": two(d.getUTCDate()), "-d": String(d.getUTCDate()), "a": weekdays[d.getUTCDay()] || "",
      "b": months[d.getUTCMonth()] || "", "H": two(d.getUTCHours()), "M": two(d.getUTCMinutes()),
      "S": two(d.getUTCSeconds()), "Z": zone
    };
    return format.replace(/%(-?[A-Za-z])/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(parts, key) ? parts[key] : all;
    });
  }
  function checkedText(at) { return words.checked.replace("%s", at); }
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
    if (typeof data.venue_offset_minutes === "number") { offsetMin = data.venue_offset_minutes; }
    if (data.zone_label) { zone = data.zone_label; }
    lastChecked = data.now_display;
    live("checked").textContent = checkedText(lastChecked);
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
        live("checked").textContent = checkedText(lastChecked || words.earlier) + " — " + words.unreachable;
      });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(poll, every);
})();
