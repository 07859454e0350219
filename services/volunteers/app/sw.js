// 特派员走访 App 的 service worker（作用域为 /app/）：缓存应用外壳，离线也能打开。
// The worker itself is shared by every app (lib/shell-sw.js); this file, in the app's directory, sets the scope.
self.SHELL_APP = {
  name: "field", // caches sciweek-field-shell-v1 / sciweek-field-vendor-v1
  shell: ["./", "app.js", "app.css", "manifest.json", "icons/icon-192.png", "../lib/api.js", "../lib/queue.js"],
  vendor: [
    "vue@3.5.45/dist/vue.global.prod.js",
    "vant@4.10.2/lib/vant.min.js",
    "vant@4.10.2/lib/index.css",
    "idb@8.0.4/build/umd.js",
  ],
};
importScripts("../lib/shell-sw.js");
