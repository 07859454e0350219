// 特派员走访 App 的 service worker（作用域为 /app/）：缓存应用外壳，离线也能打开。
// The API is never cached here: the app keeps its data and its queue of operations in IndexedDB itself.
// Workbox's production builds are loaded directly (each defines workbox.<module>); no build step.
/* global workbox */
"use strict";

const V = "../vendor/";
importScripts(
  V + "workbox-core@7.4.1/build/workbox-core.prod.js",
  V + "workbox-routing@7.4.1/build/workbox-routing.prod.js",
  V + "workbox-strategies@7.4.1/build/workbox-strategies.prod.js",
);

const SHELL_CACHE = "sciweek-field-shell-v1"; // the app's own files: network first, the cache when offline
const VENDOR_CACHE = "sciweek-field-vendor-v1"; // versioned paths that never change: cache first
const SHELL = ["./", "app.js", "app.css", "manifest.json", "icons/icon-192.png", "../lib/api.js", "../lib/queue.js"];
const VENDOR = [
  V + "vue@3.5.45/dist/vue.global.prod.js",
  V + "vant@4.10.2/lib/vant.min.js",
  V + "vant@4.10.2/lib/index.css",
  V + "idb@8.0.4/build/umd.js",
];

const scope = new URL(self.registration.scope); // …/app/
const base = new URL("../", scope); // the service (or the gateway's path to it)
const isShell = (url) => url.pathname.startsWith(scope.pathname) || url.pathname.startsWith(base.pathname + "lib/");
const isVendor = (url) => url.pathname.startsWith(base.pathname + "vendor/");

self.addEventListener("install", (event) => {
  event.waitUntil(
    Promise.all([
      caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)),
      caches.open(VENDOR_CACHE).then((cache) => cache.addAll(VENDOR)),
    ]).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  const keep = [SHELL_CACHE, VENDOR_CACHE];
  event.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((n) => !keep.includes(n)).map((n) => caches.delete(n)))),
  );
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
