// 门口扫码 / the door scanner: camera → jsQR → ticket verified on the device → 通过 / 重复 / 无效 / 已取消.
// Every admission is queued in IndexedDB first (scan id, device time) and uploaded with the idempotent batch
// endpoint whenever the device is online; the day's door list (statuses, tickets) is kept for offline use.
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted } = Vue;
  const { call, newId } = window.sciweek.api;
  const { importKey, verify } = window.sciweek.tickets;
  const cred = window.sciweek.credentialFor({ key: "sciweek.operator.token", accept: "../api/v1/public/invitations/accept" });
  const API = "../api/v1";
  const VENUE = "sciweek.door.venue";
  const WORDS = { pass: "通过", again: "重复", invalid: "无效", cancelled: "已取消", exit: "离场" };
  const TONES = { pass: 880, again: 440, invalid: 220, cancelled: 220, exit: 660 };
  const shanghaiDate = () => new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
  const hm = (iso) => new Date(iso).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });

  function beep(kind) {
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      tone.frequency.value = TONES[kind];
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + (kind === "pass" ? 0.15 : 0.4));
      if (navigator.vibrate && kind !== "pass") navigator.vibrate(300);
    } catch (e) { /* no sound: the colour says it */ }
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => {}); // scope: this app's path; opens without signal
  }

  createApp({
    setup() {
      const me = ref(cred.current());
      const online = ref(navigator.onLine);
      const today = ref(shanghaiDate());
      const venues = ref([]);
      const venueId = ref(localStorage.getItem(VENUE) || "");
      const picking = ref(false);
      const mode = ref("in");
      const list = reactive({ bookings: [], presence: { inside: 0, entered: 0 }, tracks_exit: false });
      const seen = reactive({}); // booking id -> party size, admitted on this device today
      const ops = ref([]);
      const alerts = ref([]);
      const last = ref(null);
      const manual = ref("");
      const cameraOn = ref(false);
      const cameraError = ref("");
      let queue = null;
      let key = null;
      let flushing = false;

      const venueName = computed(() => (venues.value.find((v) => v.id === venueId.value) || {}).name || "请选择场馆");
      const venueActions = computed(() => venues.value.map((v) => ({ name: v.name, id: v.id })));
      const tracksExit = computed(() => list.tracks_exit);
      const mine = (op) => op.venue_id === venueId.value && op.date === today.value;
      const waiting = computed(() => ops.value.filter(mine).length);
      const byId = computed(() => Object.fromEntries(list.bookings.map((b) => [b.id, b])));
      // each party once: checked in per the server's list, or admitted here and not uploaded yet
      const entered = computed(() => {
        const parties = {};
        for (const b of list.bookings) if (b.checked_in_at) parties[b.id] = b.party_size;
        Object.assign(parties, seen);
        return Object.values(parties).reduce((n, p) => n + p, 0);
      });
      const inside = computed(() =>
        ops.value.filter(mine).reduce((n, op) => n + (op.kind === "scan" ? op.party : -op.party), list.presence.inside));
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value.token, ...opts });
      const kvKey = (what) => `${what}:${venueId.value}:${today.value}`;

      async function loadLocal() {
        key = await queue.get("ticket-key").then((jwk) => jwk && importKey(jwk));
        venues.value = (await queue.get("venues")) || [];
        Object.assign(list, (await queue.get(kvKey("list"))) || { bookings: [], presence: { inside: 0, entered: 0 }, tracks_exit: false });
        for (const k of Object.keys(seen)) delete seen[k];
        Object.assign(seen, (await queue.get(kvKey("seen"))) || {});
        ops.value = await queue.pending();
      }
      async function download() {
        const jwk = (await call(`${API}/public/ticket-key`)).data;
        await queue.set("ticket-key", jwk);
        key = await importKey(jwk);
        const approved = (await api("/venues?status=approved&limit=100")).data.items;
        await queue.set("venues", approved);
        venues.value = approved;
        if (!venueId.value && venues.value.length) pickVenue(venues.value[0]);
        if (!venueId.value) return;
        const fresh = (await api(`/venues/${venueId.value}/door-list?date=${today.value}`)).data;
        Object.assign(list, fresh);
        await queue.set(kvKey("list"), JSON.parse(JSON.stringify(fresh)));
      }
      async function sync() {
        online.value = navigator.onLine;
        if (!online.value || flushing) return;
        flushing = true;
        try {
          await flush();
          await download();
        } catch (e) {
          console.warn("sync", e.code || e, e.message);
          if (e.status === 401) alerts.value = [{ scan_id: "auth", name: "登录已失效", detail: (e.message || "").split(" / ")[0] }];
        } finally {
          flushing = false;
        }
      }
      async function flush() {
        const pending = await queue.pending();
        const scans = pending.filter((op) => op.kind === "scan");
        for (const venue of new Set(scans.map((op) => op.venue_id))) {
          const batch = scans.filter((op) => op.venue_id === venue).slice(0, 500);
          const body = { scans: batch.map((op) => ({ scan_id: op.id, token: op.token, scanned_at: op.device_time })) };
          const { data } = await api(`/venues/${venue}/checkins/batch`, { method: "POST", body });
          alerts.value = [...data.results.filter((r) => r.alert), ...alerts.value].slice(0, 20);
          await queue.remove(batch.map((op) => op.id));
        }
        for (const op of pending.filter((o) => o.kind === "exit")) {
          try {
            await api(`/venues/${op.venue_id}/exits`, { method: "POST", body: { token: op.token, scan_id: op.id } });
          } catch (e) {
            if (e.retriable) throw e; // an answered refusal (e.g. exits not tracked) is final: drop it
          }
          await queue.remove([op.id]);
        }
        ops.value = await queue.pending();
      }

      function show(kind, who, detail) {
        last.value = { kind, word: WORDS[kind], who, detail };
        beep(kind);
      }
      // one scanned text (camera, or the ticket of a typed booking code): decided here, uploaded later. One at a
      // time: camera frames of one ticket arriving while its signature is checked must not let it in twice.
      let deciding = false;
      async function handle(text) {
        if (last.value || deciding || !venueId.value) return false;
        deciding = true;
        try {
          await decide(text);
        } finally {
          deciding = false;
        }
        return true;
      }
      async function decide(text) {
        const claims = key ? await verify(key, text) : null;
        if (!claims) return show("invalid", "", key ? "二维码无效或被篡改" : "尚未下载验票公钥，请联网一次");
        if (claims.v !== venueId.value) return show("invalid", "", "非本场馆的预约");
        if (claims.d !== today.value) return show("invalid", "", `预约日期为 ${claims.d}`);
        const booking = byId.value[claims.b];
        const who = `${booking ? booking.name + " · " : ""}${claims.n} 人`;
        if (mode.value === "out") return leave(claims, text, who);
        if (booking && ["cancelled", "expired"].includes(booking.status)) return show("cancelled", who, "该预约已取消，不能入场");
        if (seen[claims.b] || (booking && booking.checked_in_at)) {
          return show("again", who, booking && booking.checked_in_at ? `已于 ${hm(booking.checked_in_at)} 入场` : "本设备已放行过此票");
        }
        if (booking && booking.status !== "confirmed") return show("invalid", who, "预约未确认（候补中）");
        seen[claims.b] = claims.n;
        await queue.set(kvKey("seen"), { ...seen });
        await queue.add({ id: newId(), kind: "scan", venue_id: venueId.value, date: today.value, token: text, party: claims.n });
        ops.value = await queue.pending();
        show("pass", who, "请入场");
        sync();
      }
      async function leave(claims, text, who) {
        await queue.add({ id: newId(), kind: "exit", venue_id: venueId.value, date: today.value, token: text, party: claims.n });
        ops.value = await queue.pending();
        show("exit", who, "已记录离场");
        sync();
      }
      function byCode() {
        const code = manual.value.trim().toUpperCase();
        const booking = list.bookings.find((b) => b.code === code);
        if (!booking) return show("invalid", "", online.value ? "今日本场馆无此预约码" : "离线名单中无此预约码");
        manual.value = "";
        if (!booking.ticket) return show(booking.status === "confirmed" ? "invalid" : "cancelled", booking.name, "该预约无有效入场码");
        handle(booking.ticket);
      }
      function resume() {
        last.value = null;
      }
      async function pickVenue(v) {
        venueId.value = v.id;
        localStorage.setItem(VENUE, v.id);
        picking.value = false;
        if (queue) {
          await loadLocal();
          sync();
        }
      }

      async function startCamera() {
        const video = document.getElementById("camera");
        try {
          video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
          await video.play();
          cameraOn.value = true;
        } catch (e) {
          cameraError.value = "无法打开摄像头（需 HTTPS 或本机地址，并允许使用摄像头）。可手输预约码。";
          return;
        }
        const canvas = document.createElement("canvas");
        const context = canvas.getContext("2d", { willReadFrequently: true });
        setInterval(() => {
          if (last.value || !video.videoWidth) return;
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          context.drawImage(video, 0, 0);
          const found = jsQR(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height, { inversionAttempts: "dontInvert" });
          if (found && found.data) handle(found.data);
        }, 200);
      }

      onMounted(async () => {
        try {
          me.value = (await cred.fromAddress()) || me.value;
        } catch (e) { /* the portal explains invitations; here we keep what the device has */ }
        if (!me.value) return;
        queue = await window.sciweek.queue.open("sciweek-door");
        await loadLocal();
        window.addEventListener("online", sync);
        window.addEventListener("offline", () => { online.value = false; });
        setInterval(() => {
          today.value = shanghaiDate();
          sync();
        }, 5000);
        await sync();
        startCamera();
        window.door = { handle, resume, sync }; // the camera's entry (tests feed forged tokens through it)
      });

      return {
        me, online, today, venues, venueId, venueName, venueActions, picking, mode, tracksExit, entered, inside,
        waiting, alerts, last, manual, cameraOn, cameraError, byCode, resume, pickVenue,
      };
    },
  }).use(vant).mount("#app");
})();
