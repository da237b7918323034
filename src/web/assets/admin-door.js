// The back office's door page, live: every 10 s it fetches the page's JSON twin
// (same URL, Accept: application/json) and fills in the counters, the gates,
// the recent scans and the conflicts. The server gives every text already in
// the page's language and on the venue's clock; the words for an empty table
// come from the page (data-t-none). Without this script the page has a
// refresh link.
(function () {
  "use strict";
  var root = document.querySelector("[data-door]");
  if (!root) { return; }
  var url = root.getAttribute("data-json-url");
  var none = root.getAttribute("data-t-none") || "";
  function live(name) { return root.querySelector('[data-live="' + name + '"]'); }
  function set(name, value) { var el = live(name); if (el) { el.textContent = String(value); } }
  function cell(tr, text, attr, cls) {
    var td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : String(text);
    if (attr) { td.setAttribute(attr, ""); }
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }
  function fill(name, items, columns, row) {
    var body = live(name);
    if (!body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!items.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = columns;
      td.textContent = none;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    // Each cell carries its column's name, which a phone shows beside the value.
    var heads = body.parentNode.querySelectorAll("thead th");
    items.forEach(function (item) {
      var tr = document.createElement("tr");
      row(tr, item);
      for (var i = 0; i < tr.children.length && i < heads.length; i++) {
        tr.children[i].setAttribute("data-label", heads[i].textContent);
      }
      body.appendChild(tr);
    });
  }
  function show(d) {
    set("admitted", d.admitted);
    set("expected", d.expected);
    set("inside", d.inside);
    set("updated", d.updated);
    fill("gates", d.gates || [], 3, function (tr, g) {
      tr.setAttribute("data-gate", g.key);
      cell(tr, g.name); cell(tr, g.admitted, "data-admitted"); cell(tr, g.expected, "data-expected");
    });
    fill("scans", d.scans || [], 7, function (tr, s) {
      tr.setAttribute("data-scan", s.result);
      if (s.offline) { tr.setAttribute("data-offline", ""); }
      cell(tr, s.at); cell(tr, s.seat); cell(tr, s.result_name); cell(tr, s.staff); cell(tr, s.gate);
      cell(tr, s.direction); cell(tr, s.mode, null, s.offline ? "offline" : "");
    });
    fill("conflicts", d.conflicts || [], 3, function (tr, c) {
      tr.setAttribute("data-conflict", c.seat);
      cell(tr, c.seat); cell(tr, c.first_by + " · " + c.first_at); cell(tr, c.second_by + " · " + c.second_at);
    });
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { show(d); } })
      .catch(function () {});
  }
  setInterval(poll, 10000);
})();
