// 门口扫码的 service worker（作用域为 /door/）：缓存应用外壳，门口无信号时刷新也能打开。
// The worker itself is shared by every app (lib/shell-sw.js); the door's data (ticket key, venues, door list,
// queued scans) is in IndexedDB already.
self.SHELL_APP = {
  name: "door", // caches sciweek-door-shell-v1 / sciweek-door-vendor-v1
  shell: ["./", "door.js", "door.css", "tickets.js", "../lib/api.js", "../lib/queue.js", "../lib/credential.js"],
  vendor: [
    "vue@3.5.45/dist/vue.global.prod.js",
    "vant@4.10.2/lib/vant.min.js",
    "vant@4.10.2/lib/index.css",
    "idb@8.0.4/build/umd.js",
    "jsqr@1.4.0/dist/jsQR.js",
  ],
};
importScripts("../lib/shell-sw.js");
