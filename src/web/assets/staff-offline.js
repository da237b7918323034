// Offline check-in for the staff app (docs/checkin.md, "Offline"). The app keeps
// a signed bundle of its event's door (keys, seats, states) in IndexedDB and,
// when the gateway cannot be reached, decides a scan on the device: the code's
// Ed25519 signature checked with WebCrypto, its event, its issue (revoked or
// not), the admission window on this device's clock, the live code's digits,
// and what this device admitted itself. Admissions made offline queue in
// IndexedDB and upload when the network is back, with the time they were made;
// the gateway journals each once and flags a seat two devices let in.
(function () {
  "use strict";
  var root = document.querySelector("[data-staff-app]");
  if (!root || !window.indexedDB || !window.crypto || !crypto.subtle) { return; }
  var eventId = root.getAttribute("data-event");
  var bundleUrl = root.getAttribute("data-bundle-url");
  var uploadUrl = root.getAttribute("data-upload-url");
  var verdictWords = JSON.parse(root.getAttribute("data-verdicts") || "{}");
  var SEAT_CONTEXT = "dialticket seat code\u0000";
  var BUNDLE_CONTEXT = "dialticket offline bundle\u0000";
  var CLOCK_MARGIN = 120; // seconds, as the gateway's CLOCK_MARGIN_SECS
  var STEP = 15; // the live code's TOTP step
  var SYNC_EVERY = 15000;
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  var CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var enc = new TextEncoder();

  // The keys a bundle must be signed with: pinned in this page (kept by the
  // service worker), never taken from the bundle itself.
  var pinned = {};
  (root.getAttribute("data-keys") || "").split(",").forEach(function (pair) {
    var at = pair.indexOf(":");
    if (at > 0) { pinned[pair.slice(0, at)] = b64url(pair.slice(at + 1)); }
  });

  var state = {
    bundle: null, body: null, rows: {}, refs: {}, etag: null, syncedAt: 0, skew: 0,
    online: navigator.onLine, queue: [], local: {}, refused: false
  };

  function now() { return Math.floor(Date.now() / 1000); }
  function b64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function concat(a, b) { var out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; }
  // RFC 9285 base45; null for anything that is not.
  function base45(text) {
    if (text.length % 3 === 1) { return null; }
    var out = [];
    for (var i = 0; i < text.length; i += 3) {
      var c = [0, 1, 2].map(function (k) { return i + k < text.length ? B45.indexOf(text[i + k]) : 0; });
      if (c.some(function (v) { return v < 0; })) { return null; }
      if (i + 2 < text.length) {
        var n = c[0] + c[1] * 45 + c[2] * 2025;
        if (n > 65535) { return null; }
        out.push(n >> 8, n & 255);
      } else {
        var m = c[0] + c[1] * 45;
        if (m > 255) { return null; }
        out.push(m);
      }
    }
    return new Uint8Array(out);
  }
  // A typed reference as stored (K7QF2M9XTA), or null: as the gateway reads it.
  function reference(typed) {
    var out = "";
    for (var i = 0; i < typed.length; i++) {
      var c = typed[i].toUpperCase();
      if (c === "-" || c === " ") { continue; }
      c = c === "O" ? "0" : (c === "I" || c === "L") ? "1" : c;
      if (CROCKFORD.indexOf(c) < 0 || out.length === 10) { return null; }
      out += c;
    }
    return out.length === 10 ? out : null;
  }
  function ed25519(raw, signature, message) {
    return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"])
      .then(function (key) { return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message); })
      .catch(function () { return false; });
  }

  // ---- IndexedDB: one store of values by key ----
  var dbOpen = new Promise(function (resolve, reject) {
    var req = indexedDB.open("dialticket-staff", 1);
    req.onupgradeneeded = function () { req.result.createObjectStore("kv"); };
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });
  function kv(mode, fn) {
    return dbOpen.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("kv", mode), req = fn(tx.objectStore("kv"));
        tx.oncomplete = function () { resolve(req && req.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function load(name) { return kv("readonly", function (s) { return s.get(name + ":" + eventId); }); }
  function save(name, value) { return kv("readwrite", function (s) { return s.put(value, name + ":" + eventId); }); }

  // ---- the bundle ----
  // The bundle's text if its signature is by a pinned key and it is this event's; else null.
  function verifyBundle(body) {
    var raw = body && pinned[body.key];
    if (!raw || typeof body.bundle !== "string" || typeof body.signature !== "string") { return Promise.resolve(null); }
    var message = concat(enc.encode(BUNDLE_CONTEXT), enc.encode(body.bundle));
    return ed25519(raw, b64url(body.signature), message).then(function (ok) {
      if (!ok) { return null; }
      var b = JSON.parse(body.bundle);
      return b.format === 1 && b.event && b.event.id === eventId ? b : null;
    });
  }
  function adopt(b) {
    state.bundle = b;
    state.rows = {};
    state.refs = {};
    b.seats.forEach(function (r) {
      var row = { position: r[0], seat: r[1], epoch: r[2], state: r[3], reference: r[4], name: r[5], gate: r[6] };
      state.rows[row.position] = row;
      if (row.reference) { state.refs[row.reference] = row; }
    });
  }
  function kept() { return { body: state.body, etag: state.etag, syncedAt: state.syncedAt, skew: state.skew }; }
  function persist() {
    return Promise.all([save("queue", state.queue), save("local", state.local)]).catch(function () {});
  }

  function upload() {
    if (!state.queue.length) { return Promise.resolve(); }
    var batch = state.queue.slice();
    return fetch(uploadUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ scans: batch })
    }).then(function (r) {
      if (!r.ok) { throw new Error("upload " + r.status); }
      return r.json();
    }).then(function (answer) {
      var done = {};
      (answer.results || []).forEach(function (x) { done[x.id] = true; });
      state.queue = state.queue.filter(function (s) { return !done[s.id]; });
      if (state.bundle) { state.bundle.conflicts = answer.conflicts || []; }
      return persist();
    });
  }
  function fetchBundle() {
    var headers = { "Accept": "application/json" };
    if (state.etag) { headers["If-None-Match"] = state.etag; }
    return fetch(bundleUrl, { credentials: "same-origin", cache: "no-store", headers: headers }).then(function (r) {
      // How far this device's clock is from the gateway's (HTTP Date, to the second).
      var date = Date.parse(r.headers.get("Date") || "");
      if (!isNaN(date)) { state.skew = Math.round(date / 1000) - now(); }
      if (r.status === 304) { state.syncedAt = now(); return save("bundle", kept()); }
      if (!r.ok) { throw new Error("bundle " + r.status); }
      var etag = r.headers.get("ETag");
      return r.json().then(function (body) {
        return verifyBundle(body).then(function (b) {
          if (!b) { state.refused = true; return null; }
          state.refused = false;
          adopt(b);
          // Everything this device did is uploaded: the gateway's word is the whole truth again.
          if (!state.queue.length) { state.local = {}; }
          state.etag = etag;
          state.syncedAt = now();
          if (isNaN(date) && typeof body.server_time === "number") { state.skew = body.server_time - now(); }
          state.body = body;
          return save("bundle", kept());
        });
      });
    });
  }
  var syncing = null;
  function sync() {
    if (syncing) { return syncing; }
    syncing = upload().then(fetchBundle).then(function () { state.online = true; })
      .catch(function () { state.online = false; })
      .then(function () { syncing = null; render(); });
    return syncing;
  }

  // ---- what the staff member sees of it ----
  function fill(name, values) {
    return (root.getAttribute("data-t-" + name) || "").replace(/\{(\w+)\}/g, function (all, k) {
      return values && values[k] !== undefined ? String(values[k]) : all;
    });
  }
  function clock(t) { return new Date(t * 1000).toLocaleTimeString(document.documentElement.lang || undefined); }
  function render() {
    var box = root.querySelector('[data-live="network"]');
    if (!box) { return; }
    var parts = [];
    if (!state.bundle) {
      parts.push(state.online ? fill("net-online", { at: "…" }) : fill("net-never"));
    } else {
      parts.push(fill(state.online ? "net-online" : "net-offline", { at: clock(state.syncedAt) }));
    }
    var n = state.queue.length;
    if (n) { parts.push(n === 1 ? fill("net-waiting-one") : fill("net-waiting", { count: n })); }
    if (state.refused) { parts.push(fill("bundle-refused")); }
    var conflicts = (state.bundle && state.bundle.conflicts) || [];
    if (conflicts.length) {
      parts.push(fill("net-conflicts", { seats: conflicts.map(function (c) { return c.seat; }).join(", ") }));
    }
    box.textContent = parts.join(" · ");
    box.className = "net" + (conflicts.length ? " conflict" : state.online ? "" : " offline");
    box.hidden = false;
    box.setAttribute("data-online", String(state.online));
    box.setAttribute("data-waiting", String(n));
    box.setAttribute("data-synced", String(state.syncedAt));
    box.setAttribute("data-conflicts", String(conflicts.length));
  }

  // ---- deciding a scan on the device ----
  function verdict(result, row, extra) {
    var w = verdictWords[result] || [result, ""];
    var reason = w[1].replace("{minutes}", extra && extra.minutes !== undefined ? extra.minutes : "");
    return {
      result: result, admits: result === "admitted", offline: true, reentry: !!(extra && extra.reentry),
      headline: w[0], reason: reason,
      seat: row ? row.seat : null, position: row ? row.position : null, holder_name: row ? row.name : null,
      seat_line: row ? seatLine(row) : null,
      // Only what was let in or out waits to be uploaded.
      when_line: fill(result === "admitted" || result === "checked_out" ? "offline-verdict" : "offline-checked")
    };
  }
  // The seat and the gate it enters by, as the gateway words it (staff at another gate are told).
  function seatLine(row) {
    if (!row.gate) { return fill("seat", { seat: row.seat }); }
    var here = root.getAttribute("data-staff-gate") || "";
    var other = here && here.toUpperCase() !== row.gate.toUpperCase();
    return fill(other ? "seat-other-gate" : "seat-gate", { seat: row.seat, gate: row.gate });
  }
  // RFC 6238 with HMAC-SHA-1, as door/live.rs: the digits at the step holding t, a step either side accepted.
  function liveDigitsOk(row, digits, t) {
    var label = enc.encode(row.position + ":" + row.epoch);
    return crypto.subtle.digest("SHA-256", concat(b64url(state.bundle.live_key), label)).then(function (secret) {
      return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
    }).then(function (key) {
      var steps = [-1, 0, 1].map(function (d) {
        var counter = Math.floor(t / STEP) + d, msg = new Uint8Array(8);
        var high = Math.floor(counter / 4294967296), low = counter >>> 0;
        new DataView(msg.buffer).setUint32(0, high);
        new DataView(msg.buffer).setUint32(4, low);
        return crypto.subtle.sign("HMAC", key, msg).then(function (mac) {
          var h = new Uint8Array(mac), o = h[19] & 15;
          var n = ((h[o] & 127) << 24 | h[o + 1] << 16 | h[o + 2] << 8 | h[o + 3]) % 1000000;
          return ("00000" + n).slice(-6) === digits;
        });
      });
      return Promise.all(steps).then(function (ok) { return ok.indexOf(true) >= 0; });
    });
  }
  // Which seat a code or typed reference is: {row, epoch} or {result} for a refusal.
  function identify(code) {
    var ref = reference(code);
    if (ref) {
      var byRef = state.refs[ref];
      return Promise.resolve(byRef ? { row: byRef, epoch: byRef.epoch } : { result: "invalid" });
    }
    var bytes = base45(code);
    if (!bytes || bytes.length !== 77 || bytes[0] !== 1) { return Promise.resolve({ result: "invalid" }); }
    var keyTag = hex(bytes.subarray(9, 11)), t = now();
    var key = state.bundle.keys.filter(function (k) { return k.tag === keyTag && (k.until === null || k.until > t); })[0];
    if (!key) { return Promise.resolve({ result: "invalid" }); }
    var message = concat(enc.encode(SEAT_CONTEXT), bytes.subarray(0, 13));
    return ed25519(b64url(key.public_key), bytes.subarray(13), message).then(function (ok) {
      if (!ok) { return { result: "invalid" }; }
      if (hex(bytes.subarray(1, 5)) !== state.bundle.event.tag) { return { result: "wrong_event" }; }
      var view = new DataView(bytes.buffer);
      var row = state.rows[view.getUint32(5)], epoch = view.getUint16(11);
      if (!row || epoch > row.epoch) { return { result: "not_synced" }; }
      return epoch < row.epoch ? { result: "revoked", row: row } : { row: row, epoch: epoch };
    });
  }
  var REFUSED_STATES = ["cancelled", "invalid", "revoked"];
  function decide(text, direction) {
    var t = now();
    if (Math.abs(state.skew) > CLOCK_MARGIN) {
      return Promise.resolve(verdict("clock", null, { minutes: Math.round(Math.abs(state.skew) / 60) }));
    }
    var live = /^(.{116})\/(\d{6})$/.exec(text);
    var code = live ? live[1] : text;
    return identify(code).then(function (found) {
      if (found.result) { return verdict(found.result, found.row || null); }
      var row = found.row, ev = state.bundle.event, mine = state.local[row.position];
      if (REFUSED_STATES.indexOf(row.state) >= 0) { return verdict(row.state, row); }
      var inside = mine ? mine.inside : row.state === "already_admitted";
      if (direction === "out") {
        if (!ev.reentry) { return verdict("no_reentry", row); }
        if (!inside) { return verdict("not_inside", row); }
        return admitHere(text, direction, row, t, false).then(function () { return verdict("checked_out", row); });
      }
      if (inside) { return verdict("already_admitted", row); }
      if (t < ev.admission_opens || t > ev.admission_closes) { return verdict("not_open", row); }
      if (row.state === "not_confirmed") { return verdict("not_confirmed", row); }
      var back = !!mine || row.state === "checked_out";
      var checked = live ? liveDigitsOk(row, live[2], t) : Promise.resolve(true);
      return checked.then(function (ok) {
        if (!ok) { return verdict("stale", row); }
        return admitHere(text, direction, row, t, true).then(function () {
          var v = verdict("admitted", row, { reentry: back });
          if (back) { v.headline = (verdictWords.reentry || [v.headline])[0]; }
          return v;
        });
      });
    });
  }
  function admitHere(text, direction, row, t, inside) {
    var id = t.toString(36) + "-" + Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(8)),
      function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    state.queue.push({ id: id, code: text, direction: direction, at: t });
    state.local[row.position] = { inside: inside, at: t };
    return persist().then(render);
  }

  // The scan the gateway answered while online: this device remembers the seat's
  // side of the door until the next sync brings the gateway's own word.
  function noteOnline(v) {
    if (v && typeof v.position === "number") {
      if (v.result === "admitted") { state.local[v.position] = { inside: true, at: now() }; }
      if (v.result === "checked_out") { state.local[v.position] = { inside: false, at: now() }; }
      persist();
    }
  }

  window.DialticketOffline = {
    // A verdict decided here, or null when this device holds no bundle yet.
    scan: function (text, direction) {
      text = (text || "").trim();
      // Asked because the gateway did not answer: say so now, not at the next sync.
      state.online = false;
      render();
      return state.bundle ? decide(text, direction || "in") : Promise.resolve(null);
    },
    noteOnline: noteOnline, sync: sync, verifyBundle: verifyBundle, state: state
  };

  Promise.all([load("bundle"), load("queue"), load("local")]).then(function (kept) {
    var b = kept[0];
    state.queue = kept[1] || [];
    state.local = kept[2] || {};
    if (b) {
      return verifyBundle(b.body).then(function (parsed) {
        if (parsed) { adopt(parsed); state.body = b.body; state.etag = b.etag; state.syncedAt = b.syncedAt; state.skew = b.skew; }
      });
    }
  }).catch(function () {}).then(function () { render(); return sync(); });
  setInterval(sync, SYNC_EVERY);
  window.addEventListener("online", sync);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/staff/sw.js", { scope: "/staff" }).catch(function () {});
  }
})();
