// sciweek 应用外壳 service worker / the apps' one service worker (served at lib/shell-sw.js by every service).
// 缓存应用外壳，离线也能打开。An app's own small sw.js (its directory is the worker's scope) sets its config
// and imports this:
//   self.SHELL_APP = { name: "field", shell: ["./", "app.js", "../lib/api.js"], vendor: ["idb@8.0.4/build/umd.js"] };
//   importScripts("../lib/shell-sw.js");
// shell: the app's own files (relative to its sw.js), network first, the cache when offline;
// vendor: files under /vendor/ (versioned paths that never change), cache first.
// The API is never cached here: each app keeps its data and its queue of operations in IndexedDB itself.
// Workbox's production builds are loaded directly (each defines workbox.<module>); no build step.
/* global workbox */
"use strict";

(function () {
  const app = self.SHELL_APP;
  const V = "../vendor/";
  importScripts(
    V + "workbox-core@7.4.1/build/workbox-core.prod.js",
    V + "workbox-routing@7.4.1/build/workbox-routing.prod.js",
    V + "workbox-strategies@7.4.1/build/workbox-strategies.prod.js",
  );

  // 多个应用经网关同源：缓存名带应用名，只清理本应用的旧缓存 / apps share one origin behind the gateway
  const prefix = `sciweek-${app.name}-`;
  const SHELL_CACHE = prefix + "shell-v1";
  const VENDOR_CACHE = prefix + "vendor-v1";

  const scope = new URL(self.registration.scope); // e.g. …/app/
  const base = new URL("../", scope); // the service (or the gateway's path to it)
  const isShell = (url) => url.pathname.startsWith(scope.pathname) || url.pathname.startsWith(base.pathname + "lib/");
  const isVendor = (url) => url.pathname.startsWith(base.pathname + "vendor/");

  self.addEventListener("install", (event) => {
    event.waitUntil(
      Promise.all([
        caches.open(SHELL_CACHE).then((cache) => cache.addAll(app.shell)),
        caches.open(VENDOR_CACHE).then((cache) => cache.addAll(app.vendor.map((file) => V + file))),
      ]).then(() => self.skipWaiting()),
    );
  });

  self.addEventListener("activate", (event) => {
    const keep = [SHELL_CACHE, VENDOR_CACHE];
    const old = (n) => n.startsWith(prefix) && !keep.includes(n); // never another app's caches
    event.waitUntil(caches.keys().then((names) => Promise.all(names.filter(old).map((n) => caches.delete(n)))));
  });

  workbox.core.clientsClaim();
  workbox.routing.registerRoute(
    ({ url, request }) => url.origin === self.location.origin && request.method === "GET" && isVendor(url),
    new workbox.strategies.CacheFirst({ cacheName: VENDOR_CACHE }),
  );
  workbox.routing.registerRoute(
    ({ url, request }) => url.origin === self.location.origin && request.method === "GET" && isShell(url),
    new workbox.strategies.NetworkFirst({ cacheName: SHELL_CACHE, networkTimeoutSeconds: 4 }),
  );
})();
