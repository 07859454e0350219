// 科技特派员走访 App（PWA）：登记、我的走访、接受/拒绝、签到/签退、走访报告与照片，离线优先。
// Every action goes first into the IndexedDB queue (op_id + device time), then POST ../api/v1/sync when online;
// the same op_id is sent again until the server has answered for it, so nothing is lost or applied twice.
// Plain script (Vue 3 global build + Vant 4 UMD), relative URLs only.
/* global Vue, vant, sciweek */
(function () {
  "use strict";

  const { createApp, reactive, computed, watch } = Vue;
  const api = sciweek.api;
  const API = "../api/v1";
  const DB_NAME = "sciweek-field";
  const PHOTO_MAX_PX = 1280; // photos are downscaled on the phone before they are queued
  const PHOTO_QUALITY = 0.8;
  const RETRY_MS = 20000; // while something waits and the phone is online, try again this often

  const STATUS = {
    planned: "待接受",
    accepted: "已接受",
    declined: "已拒绝",
    checked_in: "已签到",
    completed: "已完成",
    missed: "未按时走访",
    cancelled: "已取消",
    reassigned: "已改派他人",
  };
  const STATUS_TAG = {
    planned: "warning",
    accepted: "primary",
    checked_in: "primary",
    completed: "success",
    declined: "default",
    missed: "danger",
    cancelled: "default",
    reassigned: "default",
  };
  const OP_NAME = { accept: "接受", decline: "拒绝", check_in: "签到", check_out: "签退", report: "走访报告", photo: "照片" };
  const OUTCOME = {
    applied: "已生效",
    unchanged: "无变化（之前已生效）",
    deferred: "已收到，待前一版报告到达后生效",
    uploaded: "已上传",
    conflict: "冲突：已转协调员处理",
    rejected: "被拒绝",
  };

  const zh = (text) => String(text || "").split(" / ")[0];
  const today = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); // Beijing time
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "");

  function distanceM(lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const a =
      Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
    return 6371000 * 2 * Math.asin(Math.sqrt(a));
  }

  function locate() {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation) return reject(new Error("此手机不支持定位"));
      navigator.geolocation.getCurrentPosition((p) => resolve(p.coords), reject, {
        enableHighAccuracy: true,
        timeout: 20000,
        maximumAge: 30000,
      });
    });
  }

  async function downscale(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PHOTO_MAX_PX / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", PHOTO_QUALITY));
  }

  const state = reactive({
    phase: "loading", // loading | welcome | revoked | ready
    revokedReason: "",
    token: null,
    me: null,
    rules: { geofence_m: 3000, max_gps_accuracy_m: 500, visit_photos_max: 10, sync_max_operations: 200 },
    assignments: {},
    entries: [], // the queue: pending, and answered ones that need a look (conflict / rejected)
    history: [], // answered operations, newest first
    online: navigator.onLine,
    syncing: false,
    lastSync: null,
    message: "",
    tab: "visits",
    view: "list", // list | visit | report
    currentId: null,
    refreshing: false,
  });

  let queue = null;
  let retryTimer = null;

  // ---------- storage ----------
  async function loadQueue() {
    state.entries = await queue.all();
  }
  const pending = computed(() => state.entries.filter((e) => e.state === "pending"));
  const attention = computed(() => state.entries.filter((e) => e.state === "conflict" || e.state === "rejected"));

  async function enqueue(entry) {
    const payload = JSON.parse(JSON.stringify(entry.payload || {})); // plain data: IndexedDB cannot clone a proxy
    const stored = await queue.add({ ...entry, payload, state: "pending" });
    await loadQueue();
    flushSoon();
    return stored;
  }

  async function remember(entry, outcome, result) {
    const item = {
      id: entry.id,
      type: entry.kind === "photo" ? "photo" : entry.type,
      assignment_id: entry.assignment_id,
      device_time: entry.device_time,
      outcome,
      message: zh(result && result.message),
      replayed: !!(result && result.replayed),
      at: new Date().toISOString(),
    };
    state.history = [item, ...state.history.filter((h) => h.id !== item.id)].slice(0, 100);
    await queue.set("history", JSON.parse(JSON.stringify(state.history)));
  }

  // ---------- enrolment and identity ----------
  function enrolmentFromLink() {
    const match = /[#&]enrol=([^&]+)/.exec(location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  async function becomeRevoked(error) {
    state.phase = "revoked";
    state.revokedReason =
      error && error.code === "enrolment_revoked"
        ? "协调员已撤销本机的登记。"
        : "本机的登记凭证已失效（过期或无效）。";
    await queue.set("revoked", state.revokedReason);
  }

  async function loadMe() {
    const { data } = await api.call(`${API}/me`, { token: state.token });
    state.me = data.commissioner;
    state.rules = { ...state.rules, ...data.rules };
    await queue.set("me", data.commissioner);
    await queue.set("rules", JSON.parse(JSON.stringify(state.rules))); // plain data: IndexedDB cannot clone a proxy
  }

  // ---------- reading: delta sync of my assignments ----------
  async function refresh() {
    let cursor = await queue.get("cursor");
    const all = { ...state.assignments };
    for (let round = 0; round < 50; round++) {
      let data;
      try {
        const path = `${API}/me/assignments` + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : "");
        data = (await api.call(path, { token: state.token })).data;
      } catch (e) {
        if (e.status === 410 && cursor) {
          cursor = null; // too old a cursor: start again from everything
          continue;
        }
        throw e;
      }
      for (const a of data.assignments) all[a.id] = a;
      for (const t of data.tombstones) {
        if (all[t.id]) all[t.id] = { ...all[t.id], status: t.status === "cancelled" ? "cancelled" : "reassigned", gone: true };
      }
      cursor = data.cursor;
      if (!data.has_more) break;
    }
    state.assignments = all;
    state.lastSync = new Date().toISOString();
    await queue.set("assignments", JSON.parse(JSON.stringify(all)));
    await queue.set("cursor", cursor);
    await queue.set("lastSync", state.lastSync);
  }

  // ---------- writing: flush the queue ----------
  function flushSoon() {
    if (state.online) setTimeout(() => flush().catch(() => {}), 50);
  }

  async function uploadPhoto(entry) {
    const form = new FormData();
    form.append("file", entry.blob, `${entry.id}.jpg`);
    await api.call(`${API}/assignments/${entry.assignment_id}/photos/${entry.id}`, {
      method: "PUT",
      body: form,
      token: state.token,
      timeoutMs: 60000,
    });
  }

  async function answer(entry, result) {
    const outcome = result.status;
    if (outcome === "conflict" || outcome === "rejected") {
      await queue.update(entry.id, { state: outcome, result });
    } else {
      await queue.remove([entry.id]);
    }
    await remember(entry, result.replayed && outcome !== "rejected" ? "duplicate" : outcome, result);
  }

  async function flush() {
    if (state.syncing || state.phase !== "ready") return;
    state.syncing = true;
    state.message = "";
    try {
      const waiting = await queue.pending();
      for (const entry of waiting.filter((e) => e.kind === "photo")) {
        try {
          await uploadPhoto(entry);
          await answer(entry, { status: "uploaded" });
        } catch (e) {
          if (e.retriable || e.status === 401) throw e;
          await answer(entry, { status: "rejected", code: e.code, message: e.message });
        }
      }
      const ops = waiting.filter((e) => e.kind === "op");
      const size = state.rules.sync_max_operations || 200;
      for (let i = 0; i < ops.length; i += size) {
        const chunk = ops.slice(i, i + size);
        const body = {
          operations: chunk.map((e) => ({
            op_id: e.id,
            type: e.type,
            assignment_id: e.assignment_id,
            device_time: e.device_time,
            payload: e.payload || {},
          })),
        };
        const { data } = await api.call(`${API}/sync`, { method: "POST", body, token: state.token, timeoutMs: 60000 });
        const byId = Object.fromEntries(chunk.map((e) => [e.id, e]));
        for (const result of data.results) if (byId[result.op_id]) await answer(byId[result.op_id], result);
      }
      if (state.phase === "ready") await refresh();
      state.online = true;
    } catch (e) {
      if (e.status === 401) await becomeRevoked(e);
      else if (e.status === 0) state.online = false;
      else state.message = e.message_zh || e.message;
    } finally {
      state.syncing = false;
      await loadQueue();
    }
  }

  // ---------- what the phone shows for a visit: the server's state with what is still waiting ----------
  function localStatus(a) {
    let status = a.status;
    if (a.gone) return status;
    for (const e of pending.value) {
      if (e.assignment_id !== a.id || e.kind !== "op") continue;
      if (e.type === "accept" && ["planned", "declined"].includes(status)) status = "accepted";
      if (e.type === "decline" && ["planned", "accepted"].includes(status)) status = "declined";
      if (e.type === "check_in" && ["planned", "accepted", "missed"].includes(status)) status = "checked_in";
      if (e.type === "report" && !["cancelled", "declined"].includes(status)) status = "completed";
    }
    return status;
  }
  const waitingFor = (id) => pending.value.filter((e) => e.assignment_id === id).length;
  const lastPosition = (a, kind) => {
    const local = pending.value.filter((e) => e.assignment_id === a.id && e.type === kind).pop();
    if (local) return { ...local.payload, device_time: local.device_time, local: true };
    return (a.positions || []).filter((p) => p.kind === kind).pop();
  };

  // ---------- components ----------
  const SyncBar = {
    setup() {
      return { state, pending, attention, flush };
    },
    template: `
      <div class="syncbar" :class="{ offline: !state.online }">
        <span class="net">{{ state.online ? '● 在线' : '● 离线' }}</span>
        <span class="count">待同步 <b id="pending-count">{{ pending.length }}</b> 条</span>
        <van-button size="small" type="primary" round :loading="state.syncing" loading-text="同步中"
          id="sync-now" @click="flush">立即同步</van-button>
      </div>
      <van-notice-bar v-if="attention.length" left-icon="warning-o" mode="link" id="attention" wrapable :scrollable="false"
        @click="state.tab = 'log'">有 {{ attention.length }} 条记录需要您查看（冲突或被拒绝），点此查看</van-notice-bar>
      <van-notice-bar v-if="state.message" color="#ed6a0c" background="#fffbe8">{{ state.message }}</van-notice-bar>`,
  };

  const VisitList = {
    setup() {
      const groups = computed(() => {
        const t = today();
        const list = Object.values(state.assignments).sort((a, b) => a.visit_date.localeCompare(b.visit_date));
        const done = (a) => ["completed", "cancelled", "declined", "reassigned"].includes(localStatus(a));
        return [
          { title: "今天", items: list.filter((a) => a.visit_date === t && !done(a)) },
          { title: "即将走访", items: list.filter((a) => a.visit_date > t && !done(a)) },
          { title: "过期未完成", items: list.filter((a) => a.visit_date < t && !done(a)) },
          { title: "已完成 / 已结束", items: list.filter(done) },
        ].filter((g) => g.items.length);
      });
      async function onRefresh() {
        try {
          await flush();
          if (state.phase === "ready") await refresh();
        } catch (e) {
          if (e.status === 401) await becomeRevoked(e);
          else vant.showToast(e.status === 0 ? "离线：显示的是本机保存的任务" : e.message_zh || e.message);
        } finally {
          state.refreshing = false;
        }
      }
      const open = (a) => {
        state.currentId = a.id;
        state.view = "visit";
      };
      return { state, groups, onRefresh, open, localStatus, waitingFor, STATUS, STATUS_TAG, fmtTime };
    },
    template: `
      <van-pull-refresh v-model="state.refreshing" @refresh="onRefresh" pulling-text="下拉刷新" loosing-text="释放刷新"
        loading-text="正在同步…">
        <div class="me" v-if="state.me">{{ state.me.name }}，您好 <small>上次同步：{{ fmtTime(state.lastSync) || '尚未同步' }}</small></div>
        <van-empty v-if="!groups.length" description="暂时没有走访任务" />
        <template v-for="g in groups" :key="g.title">
          <h3 class="group">{{ g.title }}</h3>
          <van-cell-group inset>
            <van-cell v-for="a in g.items" :key="a.id" is-link size="large" :data-visit="a.id" @click="open(a)"
              :title="(a.village && a.village.name) || a.village_code"
              :label="a.visit_date + ' · 指派农户 ' + (a.households || []).length + ' 户' + (a.village ? ' · ' + a.village.county : '')">
              <template #value>
                <van-tag :type="STATUS_TAG[localStatus(a)]" size="medium" class="status">{{ STATUS[localStatus(a)] }}</van-tag>
                <div v-if="waitingFor(a.id)" class="waiting">待同步 {{ waitingFor(a.id) }}</div>
              </template>
            </van-cell>
          </van-cell-group>
        </template>
      </van-pull-refresh>`,
  };

  const VisitDetail = {
    setup() {
      const a = computed(() => state.assignments[state.currentId]);
      const status = computed(() => (a.value ? localStatus(a.value) : ""));
      const village = computed(() => (a.value && a.value.village) || {});
      const mapUrl = computed(
        () =>
          `https://uri.amap.com/marker?position=${village.value.lon},${village.value.lat}` +
          `&name=${encodeURIComponent(village.value.name || "")}&coordinate=wgs84&callnative=1`,
      );
      const checkIn = computed(() => a.value && lastPosition(a.value, "check_in"));
      const checkOut = computed(() => a.value && lastPosition(a.value, "check_out"));

      async function op(type, payload) {
        await enqueue({ kind: "op", id: api.newId(), type, assignment_id: a.value.id, payload: payload || {} });
      }
      async function accept() {
        await op("accept");
        vant.showToast({ message: state.online ? "已接受" : "已接受（离线保存，联网后同步）", duration: 1500 });
      }
      async function decline() {
        let reason = "";
        try {
          await vant.showConfirmDialog({
            title: "拒绝此次走访",
            message:
              '<p class="dialog-hint">请填写原因，协调员会据此改派。</p>' +
              '<textarea id="decline-reason" rows="3" maxlength="500" placeholder="如：当天另有任务"></textarea>',
            allowHtml: true,
            confirmButtonText: "确认拒绝",
            beforeClose: (action) => {
              if (action !== "confirm") return true;
              reason = (document.getElementById("decline-reason") || {}).value || "";
              if (!reason.trim()) {
                vant.showToast("请填写原因");
                return false;
              }
              return true;
            },
          });
        } catch (e) {
          return;
        }
        await op("decline", { reason: reason.trim() });
      }
      async function position(type) {
        const toast = vant.showLoadingToast({ message: "正在定位…", forbidClick: true, duration: 0 });
        let coords;
        try {
          coords = await locate();
        } catch (e) {
          vant.closeToast();
          vant.showDialog({ title: "无法定位", message: "请打开手机定位并允许浏览器使用位置信息后重试。" });
          return;
        }
        toast.close();
        const acc = Math.round(coords.accuracy);
        const payload = { lat: coords.latitude, lon: coords.longitude, accuracy_m: acc };
        const v = village.value;
        const metres = v.lat != null ? distanceM(coords.latitude, coords.longitude, v.lat, v.lon) : 0;
        const far = metres > state.rules.geofence_m;
        const vague = acc > state.rules.max_gps_accuracy_m;
        if (far || vague) {
          const why = far
            ? `您距离${v.name || "村子"}约 ${(metres / 1000).toFixed(1)} 公里，超出 ${(state.rules.geofence_m / 1000).toFixed(1)} 公里范围`
            : `定位精度较差（±${acc} 米）`;
          try {
            await vant.showConfirmDialog({
              title: OP_NAME[type] + "位置需要核实",
              message: `${why}。仍可${OP_NAME[type]}，但这次${OP_NAME[type]}会被标记，由协调员核实。`,
              confirmButtonText: "仍然" + OP_NAME[type],
              cancelButtonText: "取消",
            });
          } catch (e) {
            return;
          }
        }
        await op(type, payload);
        vant.showToast({
          message: `已${OP_NAME[type]}（定位精度 ±${acc} 米）${far ? "，将被标记" : ""}${state.online ? "" : "，待同步"}`,
          duration: 2500,
        });
      }
      return {
        state,
        a,
        status,
        village,
        mapUrl,
        checkIn,
        checkOut,
        accept,
        decline,
        position,
        STATUS,
        STATUS_TAG,
        fmtTime,
        waitingFor,
        report: () => (state.view = "report"),
      };
    },
    template: `
      <div v-if="a" class="visit">
        <van-cell-group inset :title="a.visit_date + ' 走访'">
          <van-cell title="村屯" :value="village.name || a.village_code" :label="village.county" />
          <van-cell title="状态">
            <template #value><van-tag :type="STATUS_TAG[status]" size="medium" id="visit-status">{{ STATUS[status] }}</van-tag>
              <span v-if="waitingFor(a.id)" class="waiting"> · 待同步 {{ waitingFor(a.id) }} 条</span></template>
          </van-cell>
          <van-cell v-if="village.lat != null" title="位置" :value="village.lat.toFixed(4) + ', ' + village.lon.toFixed(4)"
            is-link :url="mapUrl" label="点此在高德地图中查看" />
          <van-cell v-if="checkIn" id="check-in" title="签到" :value="fmtTime(checkIn.device_time)"
            :label="'定位精度 ±' + Math.round(checkIn.accuracy_m) + ' 米' + ((checkIn.flags || []).length ? ' · 已标记待核实' : '') + (checkIn.local ? ' · 待同步' : '')" />
          <van-cell v-if="checkOut" id="check-out" title="签退" :value="fmtTime(checkOut.device_time)"
            :label="'定位精度 ±' + Math.round(checkOut.accuracy_m) + ' 米' + (checkOut.local ? ' · 待同步' : '')" />
          <van-cell v-if="a.decline_reason" title="拒绝原因" :value="a.decline_reason" />
        </van-cell-group>
        <van-cell-group inset title="本次指派的农户">
          <van-cell v-for="h in a.households" :key="h.id" :title="h.head_name + ' 户'" :label="(h.needs || []).join('、')" :value="h.id" />
          <van-cell v-if="!a.households.length" title="未指定农户" />
        </van-cell-group>
        <van-cell-group inset title="计划活动" v-if="(a.planned_activities || []).length">
          <van-cell v-for="p in a.planned_activities" :key="p" :title="p" />
        </van-cell-group>
        <div class="actions" v-if="!a.gone">
          <template v-if="status === 'planned' || status === 'declined'">
            <van-button block round type="primary" size="large" @click="accept">接受</van-button>
            <van-button v-if="status === 'planned'" block round size="large" @click="decline">拒绝</van-button>
          </template>
          <template v-if="status === 'accepted' || status === 'missed'">
            <van-button block round type="primary" size="large" icon="location-o" @click="position('check_in')">签到</van-button>
            <van-button block round size="large" @click="decline">拒绝</van-button>
          </template>
          <template v-if="status === 'checked_in'">
            <van-button block round type="primary" size="large" icon="edit" @click="report">填写报告</van-button>
            <van-button block round size="large" icon="location-o" @click="position('check_out')">签退</van-button>
          </template>
          <template v-if="status === 'completed'">
            <van-button v-if="!checkOut" block round type="primary" size="large" icon="location-o" @click="position('check_out')">签退</van-button>
            <p class="done" v-if="a.report">报告第 {{ a.report_version }} 版已提交</p>
          </template>
        </div>
        <van-notice-bar v-else wrapable :scrollable="false">该走访{{ STATUS[status] }}，无需再操作。如有疑问请联系协调员。</van-notice-bar>
      </div>`,
  };

  const ReportForm = {
    setup() {
      const a = computed(() => state.assignments[state.currentId]);
      const assigned = computed(() => new Set((a.value.households || []).map((h) => h.id)));
      const households = computed(() => {
        const all = (a.value.village && a.value.village.households) || a.value.households || [];
        return [...all].sort((x, y) => assigned.value.has(y.id) - assigned.value.has(x.id));
      });
      const form = reactive({
        households_reached: [...assigned.value],
        consultations: 0,
        people_trained: 0,
        books: [{ title: "", count: 0 }],
        notes: "",
        photos: [], // {id, blob, url, size}
      });
      async function addPhotos(event) {
        const files = [...(event.target.files || [])];
        event.target.value = "";
        for (const file of files) {
          if (form.photos.length >= state.rules.visit_photos_max) {
            vant.showToast(`每次走访最多 ${state.rules.visit_photos_max} 张照片`);
            break;
          }
          try {
            const blob = await downscale(file);
            form.photos.push({ id: api.newId(), blob, url: URL.createObjectURL(blob), size: blob.size });
          } catch (e) {
            vant.showToast("无法读取这张照片");
          }
        }
      }
      const removePhoto = (i) => form.photos.splice(i, 1);
      async function submit() {
        const books = form.books.filter((b) => b.title.trim() && b.count > 0).map((b) => ({ title: b.title.trim(), count: b.count }));
        const id = a.value.id;
        for (const p of form.photos) await queue.add({ kind: "photo", id: p.id, assignment_id: id, blob: p.blob, size: p.size, state: "pending" });
        await enqueue({
          kind: "op",
          id: api.newId(),
          type: "report",
          assignment_id: id,
          payload: {
            households_reached: form.households_reached,
            consultations: form.consultations,
            people_trained: form.people_trained,
            books,
            notes: form.notes,
            photo_ids: form.photos.map((p) => p.id),
          },
        });
        vant.showToast(state.online ? "报告已提交" : "报告已保存在本机，联网后自动同步");
        state.view = "visit";
      }
      return { state, a, households, assigned, form, addPhotos, removePhoto, submit };
    },
    template: `
      <div v-if="a" class="report">
        <van-cell-group inset title="走访到的农户（可多选）">
          <van-checkbox-group v-model="form.households_reached">
            <van-cell v-for="h in households" :key="h.id" clickable :title="h.head_name + ' 户'"
              :label="assigned.has(h.id) ? '本次指派' : '本村其他农户'" @click="$refs['hh-' + h.id][0].toggle()">
              <template #right-icon><van-checkbox :name="h.id" :ref="'hh-' + h.id" @click.stop /></template>
            </van-cell>
          </van-checkbox-group>
        </van-cell-group>
        <van-cell-group inset title="服务情况">
          <van-cell title="现场咨询（人次）"><template #value><van-stepper v-model="form.consultations" min="0" max="10000" integer input-width="56px" button-size="32px" id="consultations" /></template></van-cell>
          <van-cell title="技能培训（人）"><template #value><van-stepper v-model="form.people_trained" min="0" max="10000" integer input-width="56px" button-size="32px" id="trainees" /></template></van-cell>
        </van-cell-group>
        <van-cell-group inset title="赠送图书">
          <div v-for="(b, i) in form.books" :key="i" class="book">
            <van-field v-model="b.title" :label="'书名 ' + (i + 1)" placeholder="如：柑橘栽培技术" :name="'book-title-' + i" />
            <van-cell title="册数"><template #value><van-stepper v-model="b.count" min="0" max="100000" integer input-width="56px" button-size="32px" :id="'book-count-' + i" /></template></van-cell>
          </div>
          <van-cell title="再加一种书" icon="add-o" clickable @click="form.books.push({ title: '', count: 0 })" />
        </van-cell-group>
        <van-cell-group inset title="备注">
          <van-field v-model="form.notes" type="textarea" rows="3" autosize maxlength="4000" show-word-limit
            placeholder="走访情况、群众需求、后续安排…" name="notes" />
        </van-cell-group>
        <van-cell-group inset title="现场照片">
          <div class="photos">
            <div v-for="(p, i) in form.photos" :key="p.id" class="photo">
              <img :src="p.url" alt="走访照片"><span class="size">{{ Math.round(p.size / 1024) }} KB</span>
              <van-icon name="cross" class="remove" @click="removePhoto(i)" />
            </div>
            <label class="add-photo"><van-icon name="photograph" size="28" /><span>拍照</span>
              <input type="file" accept="image/*" capture="environment" multiple @change="addPhotos" id="photo-input"></label>
          </div>
        </van-cell-group>
        <div class="actions">
          <van-button block round type="primary" size="large" @click="submit" id="submit-report">提交报告</van-button>
        </div>
      </div>`,
  };

  const SyncLog = {
    setup() {
      const village = (id) => {
        const a = state.assignments[id];
        return (a && a.village && a.village.name) || id;
      };
      function explain(e) {
        const r = e.result || {};
        if (e.state === "conflict") {
          const kept = r.kept_report;
          const keptText = kept
            ? `服务器上保留的是协调员确认的第 ${(r.assignment || {}).report_version} 版报告（咨询 ${kept.consultations} 人次，培训 ${kept.people_trained} 人）。`
            : `该走访现为“${STATUS[(r.assignment || {}).status] || "已变更"}”。`;
          return `${zh(r.message)}。${keptText}您的这份报告没有丢失：已转给协调员核对，可由协调员采用。`;
        }
        if (r.code === "reassigned") return "协调员已把这次走访改派给他人，您的这条记录未生效。";
        if (r.code === "assignment_cancelled") return "协调员已取消这次走访，您的这条记录未生效。";
        return `${zh(r.message) || "被拒绝"}。如需更正，请重新操作（会作为新记录提交）。`;
      }
      async function dismiss(e) {
        await queue.remove([e.id]);
        await loadQueue();
      }
      return { state, pending, attention, village, explain, dismiss, OP_NAME, OUTCOME, fmtTime };
    },
    template: `
      <div class="log">
        <van-cell-group inset v-if="attention.length" title="需要您查看">
          <div v-for="e in attention" :key="e.id" class="attention" :data-op="e.id" :data-outcome="e.state">
            <van-cell :title="OP_NAME[e.type || 'photo'] + ' · ' + village(e.assignment_id)" :label="fmtTime(e.device_time)">
              <template #value><van-tag :type="e.state === 'conflict' ? 'warning' : 'danger'">{{ e.state === 'conflict' ? '冲突' : '被拒绝' }}</van-tag></template>
            </van-cell>
            <p class="explain">{{ explain(e) }}</p>
            <van-button size="small" round plain type="primary" class="dismiss" @click="dismiss(e)">知道了</van-button>
          </div>
        </van-cell-group>
        <van-cell-group inset :title="'待同步（' + pending.length + ' 条）'">
          <van-cell v-for="e in pending" :key="e.id" :title="OP_NAME[e.kind === 'photo' ? 'photo' : e.type] + ' · ' + village(e.assignment_id)"
            :label="fmtTime(e.device_time)" value="待同步" />
          <van-cell v-if="!pending.length" title="全部已同步" icon="passed" />
        </van-cell-group>
        <van-cell-group inset title="同步结果">
          <van-cell v-for="h in state.history" :key="h.id" :data-outcome="h.outcome" :title="OP_NAME[h.type] + ' · ' + village(h.assignment_id)"
            :label="fmtTime(h.device_time) + (h.message ? ' · ' + h.message : '')"
            :value="h.outcome === 'duplicate' ? '重复（之前已生效）' : OUTCOME[h.outcome]" />
          <van-cell v-if="!state.history.length" title="还没有同步记录" />
        </van-cell-group>
      </div>`,
  };

  const Root = {
    components: { SyncBar, VisitList, VisitDetail, ReportForm, SyncLog },
    setup() {
      const title = computed(() =>
        state.tab === "log" ? "同步记录" : { list: "我的走访", visit: "走访详情", report: "走访报告" }[state.view],
      );
      const back = () => (state.view = state.view === "report" ? "visit" : "list");
      const showBack = computed(() => state.tab === "visits" && state.view !== "list");
      return { state, pending, title, back, showBack };
    },
    template: `
      <template v-if="state.phase === 'loading'"><van-loading class="center" vertical>正在打开…</van-loading></template>
      <template v-else-if="state.phase === 'welcome'">
        <div class="gate" id="not-enrolled">
          <img src="icons/icon-192.png" alt="" width="96" height="96">
          <h2>科技特派员走访</h2>
          <p>本机尚未登记。请用手机相机扫描协调员给您的登记二维码，或打开协调员发来的登记链接。</p>
          <p class="hint">登记后无需输入密码；没有信号时也能记录走访，联网后自动同步。</p>
        </div>
      </template>
      <template v-else-if="state.phase === 'revoked'">
        <div class="gate revoked" id="revoked">
          <van-icon name="warning-o" size="64" color="#ee0a24" />
          <h2>本机已不再登记</h2>
          <p>{{ state.revokedReason }}本机不能再查看任务或提交记录。</p>
          <p v-if="pending.length" class="kept">本机还有 <b>{{ pending.length }}</b> 条未同步的记录，已保留在本机，不会删除。</p>
          <p class="hint">请联系本市协调员重新登记，扫描新的二维码后，保留的记录会自动同步。</p>
        </div>
      </template>
      <template v-else>
        <van-nav-bar :title="title" :left-arrow="showBack" @click-left="back" fixed placeholder safe-area-inset-top />
        <sync-bar />
        <main class="content">
          <sync-log v-if="state.tab === 'log'" />
          <visit-list v-else-if="state.view === 'list'" />
          <visit-detail v-else-if="state.view === 'visit'" />
          <report-form v-else-if="state.view === 'report'" />
        </main>
        <van-tabbar v-model="state.tab" safe-area-inset-bottom>
          <van-tabbar-item name="visits" icon="todo-list-o" @click="state.view = 'list'">我的走访</van-tabbar-item>
          <van-tabbar-item name="log" icon="exchange" :badge="pending.length || ''">同步记录</van-tabbar-item>
        </van-tabbar>
      </template>`,
  };

  // ---------- start ----------
  async function start() {
    queue = await sciweek.queue.open(DB_NAME);
    const fromLink = enrolmentFromLink();
    if (fromLink) {
      const before = await queue.get("token");
      const was = before && api.claims(before);
      const now = api.claims(fromLink);
      if (!now) {
        vant.showDialog({ title: "登记链接无效", message: "请向协调员重新索取登记二维码。" });
      } else {
        if (!was || was.sub !== now.sub) {
          for (const key of ["me", "assignments", "cursor", "lastSync"]) await queue.set(key, undefined);
        }
        await queue.set("token", fromLink);
        await queue.set("revoked", undefined);
      }
      history.replaceState(null, "", location.pathname + location.search); // the credential leaves the address bar
    }
    state.token = await queue.get("token");
    state.me = (await queue.get("me")) || null;
    state.rules = { ...state.rules, ...((await queue.get("rules")) || {}) };
    state.assignments = (await queue.get("assignments")) || {};
    state.history = (await queue.get("history")) || [];
    state.lastSync = (await queue.get("lastSync")) || null;
    await loadQueue();
    const revoked = await queue.get("revoked");
    if (!state.token) state.phase = "welcome";
    else if (revoked) {
      state.phase = "revoked";
      state.revokedReason = revoked;
    } else state.phase = "ready";
    if (state.phase === "ready") {
      try {
        await loadMe();
        await refresh();
        state.online = true;
      } catch (e) {
        if (e.status === 401) await becomeRevoked(e);
        else if (e.status === 0) state.online = false;
        else state.message = e.message_zh || e.message;
      }
      if (pending.value.length) flushSoon();
    }
  }

  window.addEventListener("online", () => {
    state.online = true;
    flushSoon();
  });
  window.addEventListener("offline", () => (state.online = false));
  retryTimer = setInterval(() => {
    if (pending.value.length && navigator.onLine) flush().catch(() => {});
  }, RETRY_MS);
  watch(
    () => state.view,
    () => window.scrollTo(0, 0),
  );

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => {}); // scope: this app's path
  }

  const app = createApp(Root);
  app.use(vant);
  app.mount("#app");
  window.fieldApp = { state, flush, refresh, queue: () => queue, retryTimer }; // for support and tests
  start().catch((e) => {
    state.phase = state.token ? "ready" : "welcome";
    state.message = "本机存储不可用：" + (e && e.message);
  });
})();
