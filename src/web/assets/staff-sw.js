// The staff app's service worker (scope /staff): it keeps the app itself — the
// page, its scripts, its manifest — so the app opens and works with the network
// gone. Network first (a fresh page when there is one), the kept copy when not.
// The API (/staff/api/…) is never kept here: the app holds the door's data
// itself (IndexedDB, see staff-offline.js).
"use strict";
var CACHE = "dialticket-staff-1";
var SHELL = ["/staff", "/assets/staff.js", "/assets/staff-offline.js", "/staff/manifest.webmanifest",
  "/assets/staff-icon.svg"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (r.ok) { return cache.put(url, r); }
      }).catch(function () {});
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || SHELL.indexOf(url.pathname) < 0) {
    return;
  }
  var kept = function (fallback) {
    return caches.match(url.pathname).then(function (copy) { return copy || fallback || Response.error(); });
  };
  event.respondWith(fetch(event.request).then(function (r) {
    if (r.ok) {
      var copy = r.clone();
      caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      return r;
    }
    // A proxy in front of a gateway that is down answers 502/503/504: the kept copy.
    return r.status >= 500 ? kept(r) : r;
  }).catch(function () { return kept(null); }));
});
