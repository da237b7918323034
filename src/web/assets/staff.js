// The staff check-in app: the field takes what a keyboard-wedge scanner types
// (the code, then Enter), a typed reference, or what the camera reads where the
// browser has BarcodeDetector. Each scan goes to the scanning API; the verdict
// fills the screen and the field is ready for the next one. Without this script
// the same form posts to /staff/scan and the verdict comes back as the page.
(function () {
  "use strict";
  var root = document.querySelector("[data-staff-app]");
  if (!root) { return; }
  var scanUrl = root.getAttribute("data-scan-url");
  var countsUrl = root.getAttribute("data-counts-url");
  var form = root.querySelector('[data-live="scan-form"]');
  var input = form.querySelector("input[name=code]");
  var busy = false;
  var scans = 0;

  // The words come from the page (data-t-*, rendered from the catalog in the
  // staff member's language); "{name}" in them is filled in here.
  function words(key, values) {
    var pattern = root.getAttribute("data-t-" + key) || "";
    return pattern.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : all;
    });
  }
  function live(name) { return root.querySelector('[data-live="' + name + '"]'); }
  function text(name, value) { live(name).textContent = value || ""; }

  function showCounts(c) {
    var line = c.reentry
      ? words("counts-reentry", { inside: c.inside, admitted: c.admitted, expected: c.expected })
      : words("counts", { admitted: c.admitted, expected: c.expected });
    (c.gates || []).forEach(function (g) { line += " · " + words("gate-count", { gate: g.gate, admitted: g.admitted }); });
    live("counts").textContent = line;
  }
  function refreshCounts() {
    fetch(countsUrl, { headers: { "Accept": "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) { if (c) { showCounts(c); } })
      .catch(function () {});
  }
  function showVerdict(v) {
    var box = live("verdict");
    box.className = "verdict " + (v.admits ? "ok" : (v.result === "checked_out" ? "out" : "bad"));
    box.setAttribute("data-offline", v.offline ? "true" : "false");
    text("headline", v.headline);
    text("reason", v.reason);
    text("seat", v.seat_line || (v.seat ? words("seat", { seat: v.seat }) : ""));
    text("holder", v.holder_name ? words("holder", { name: v.holder_name }) : "");
    // When, where and by whom: admitted, back in, or checked out (the answer's
    // own line, in the page's language).
    var when = v.when_line || "";
    if (!when && v.admitted_at_display) {
      when = words("when", { when: v.admitted_at_display }) + (v.gate ? words("when-gate", { gate: v.gate }) : "")
        + (v.by ? words("when-by", { name: v.by }) : "");
    }
    text("when", when);
    scans += 1;
    root.setAttribute("data-scans", String(scans));
  }
  function showProblem(message) {
    var box = live("verdict");
    box.className = "verdict bad";
    text("headline", words("not-checked"));
    text("reason", message);
    text("seat", ""); text("holder", ""); text("when", "");
    scans += 1;
    root.setAttribute("data-scans", String(scans));
  }
  // The In/Out switch (re-entry events only): which way this scan goes.
  function direction() {
    var checked = form.querySelector("input[name=direction]:checked");
    return checked ? checked.value : "in";
  }
  function scan(code) {
    code = (code || "").trim();
    if (!code || busy) { return; }
    busy = true;
    var way = direction();
    // A gateway that does not answer within 4 s is as good as gone: decide on the device.
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, 4000) : null;
    fetch(scanUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store", signal: abort ? abort.signal : undefined,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ code: code, direction: way })
    })
      .then(function (r) {
        // A proxy in front of a gateway that is down: 502, 503, 504.
        if (r.status >= 502 && r.status <= 504) { throw new Error("gateway " + r.status); }
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (res.ok) {
          showVerdict(res.body);
          refreshCounts();
          if (window.DialticketOffline) { window.DialticketOffline.noteOnline(res.body); }
        } else {
          showProblem(res.body.error || words("refused"));
        }
      })
      .catch(function () { return offlineScan(code, way); })
      .then(function () { clearTimeout(timer); busy = false; input.value = ""; input.focus(); });
  }
  // No gateway: the offline bundle decides (staff-offline.js), else the scan is not checked.
  function offlineScan(code, way) {
    var offline = window.DialticketOffline;
    var decided = offline ? offline.scan(code, way) : Promise.resolve(null);
    return decided.then(function (v) {
      if (v) { showVerdict(v); } else { showProblem(words("offline")); }
    }, function () { showProblem(words("offline")); });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); scan(input.value); });
  // A wedge scanner types into whatever has the focus: keep it on the field.
  input.addEventListener("blur", function () {
    setTimeout(function () { if (!document.querySelector("video:not([hidden])")) { input.focus(); } }, 300);
  });

  // The camera, where the browser reads QR codes itself. The button starts it
  // and stops it, as often as staff like.
  var cameraButton = live("camera");
  var camera = null; // { stream, timer } while the camera is on
  function stopCamera() {
    if (!camera) { return; }
    clearInterval(camera.timer);
    camera.stream.getTracks().forEach(function (t) { t.stop(); });
    camera = null;
    live("video").hidden = true;
    cameraButton.textContent = words("camera");
    input.focus();
  }
  function startCamera() {
    var video = live("video");
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    var last = "", lastAt = 0;
    cameraButton.disabled = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      return video.play().then(function () {
        var timer = setInterval(function () {
          detector.detect(video).then(function (found) {
            if (!found.length) { return; }
            var value = found[0].rawValue;
            var now = Date.now();
            // The same code held in front of the camera is one scan, not one per frame.
            if (value === last && now - lastAt < 3000) { return; }
            last = value; lastAt = now;
            scan(value);
          }).catch(function () {});
        }, 250);
        camera = { stream: stream, timer: timer };
        cameraButton.textContent = words("camera-stop");
      });
    }).catch(function () { showProblem(words("camera-failed")); })
      .then(function () { cameraButton.disabled = false; });
  }
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", function () {
      if (camera) { stopCamera(); } else { startCamera(); }
    });
  }
  setInterval(refreshCounts, 10000);
  input.focus();
})();
