// sciweek 离线队列 / an IndexedDB queue of what a person did while offline (needs vendor idb@8.0.4/build/umd.js).
// Each entry keeps its client id (op_id / Idempotency-Key) and device time from the moment it was made, so a
// flush retried any number of times is applied once by the server. Entries leave the queue only when the
// server has answered for them (applied, duplicate, or a final refusal the app has shown).
// Plain script: defines window.sciweek.queue.open(name) -> Queue.

(function (global) {
  "use strict";

  class Queue {
    constructor(db) {
      this.db = db;
    }
    // add {kind, payload, ...}: returns the stored entry with its id and device_time
    async add(entry) {
      const stored = { id: entry.id || global.sciweek.api.newId(), device_time: new Date().toISOString(), ...entry };
      stored.state = stored.state || "pending";
      await this.db.put("ops", stored);
      return stored;
    }
    async all() {
      return (await this.db.getAll("ops")).sort((a, b) => a.device_time.localeCompare(b.device_time));
    }
    async pending() {
      return (await this.all()).filter((e) => e.state === "pending");
    }
    async count() {
      return (await this.pending()).length;
    }
    async update(id, changes) {
      const entry = await this.db.get("ops", id);
      if (entry) await this.db.put("ops", { ...entry, ...changes });
    }
    async remove(ids) {
      const tx = this.db.transaction("ops", "readwrite");
      await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done]);
    }
    // small key-value settings (credential, cached lists) in the same database
    async get(key) {
      const row = await this.db.get("kv", key);
      return row ? row.value : undefined;
    }
    async set(key, value) {
      await this.db.put("kv", { key, value });
    }
  }

  async function open(name) {
    const db = await global.idb.openDB(name, 1, {
      upgrade(db) {
        db.createObjectStore("ops", { keyPath: "id" });
        db.createObjectStore("kv", { keyPath: "key" });
      },
    });
    return new Queue(db);
  }

  global.sciweek = Object.assign(global.sciweek || {}, { queue: { open } });
})(typeof self !== "undefined" ? self : window);
