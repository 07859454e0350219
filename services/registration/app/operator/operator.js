// 场馆运营门户 / the venue operators' portal (and the coordinators' review and invitations), Element Plus.
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted } = Vue;
  const { ElMessage, ElMessageBox } = ElementPlus;
  const { call, newId } = window.sciweek.api;
  const cred = window.sciweek.credentialFor({ key: "sciweek.operator.token", accept: "../api/v1/public/invitations/accept" });
  const API = "../api/v1";
  const TYPES = { research_institute: "科研院所", high_tech_enterprise: "高新技术企业", science_base: "科普基地", science_museum: "科技场馆", university: "高校" };
  const VENUE_STATUS = { pending: "待审核", approved: "已通过", rejected: "未通过" };
  const BOOKING_STATUS = { confirmed: "已确认", waitlisted: "候补", offered: "候补待确认", cancelled: "已取消", expired: "已过期" };
  const BOOKING_TAG = { confirmed: "success", waitlisted: "warning", offered: "warning", cancelled: "info", expired: "info" };
  const INVITE_STATUS = { pending: "未使用", accepted: "已登录", revoked: "已撤销" };
  const WEEKDAYS = "日一二三四五六";
  const TZ = "Asia/Shanghai";
  const WIDE = window.matchMedia("(min-width: 768px)"); // below it: cards and list rows instead of tables
  const say = (e) => ElMessage.error((e.message || "操作失败").split(" / ")[0]);

  createApp({
    setup() {
      const me = ref(null);
      const tab = ref("venues");
      const busy = ref(false);
      const programme = reactive({ start: "", end: "", cities: [] });
      const venues = ref([]);
      const days = ref([]);
      const venueId = ref("");
      const day = ref(null);
      const bookings = ref([]);
      const sessionFilter = ref("");
      const pending = ref([]);
      const invitations = ref([]);
      const made = ref(null);
      const phone = ref(!WIDE.matches);
      const venueForm = reactive({ id: "", etag: "", name: "", org_type: "science_museum", city_code: "", address: "", tracks_exit: false });
      const dayForm = reactive({ date: "", online: false, online_url: "", price_policy: "free", normal_price: 20, max_group_size: 5, closes: "", sessions: [] });
      const inviteForm = reactive({ label: "", venue_ids: [], valid_hours: 72 });
      let dayKey = ""; // the draft's client-generated id: a retried save makes one open day

      const role = computed(() => (me.value ? me.value.role : ""));
      const who = computed(() => (me.value ? { venue: "场馆运营者", city: `协调员（${cityName(me.value.city)}）`, admin: "省办" }[me.value.role] || me.value.role : ""));
      const approved = computed(() => venues.value.filter((v) => v.status === "approved"));
      const cityVenues = computed(() => venues.value.filter((v) => v.status === "approved"));
      const shownBookings = computed(() => bookings.value.filter((b) => !sessionFilter.value || b.session_id === sessionFilter.value));
      const chosenSession = computed(() => (day.value && day.value.sessions.find((s) => s.session_id === sessionFilter.value)) || {});
      const tally = computed(() => {
        const live = shownBookings.value.filter((b) => b.status === "confirmed");
        const people = (list) => list.reduce((n, b) => n + b.party_size, 0);
        return { orders: live.length, people: people(live), inside: people(live.filter((b) => b.checked_in_at)) };
      });
      const cityName = (code) => (programme.cities.find((c) => c.code === code) || {}).name || code || "";
      const venueName = (id) => (venues.value.find((v) => v.id === id) || {}).name || id;
      const time = (iso, withDate) => {
        if (!iso) return "";
        const t = new Date(iso);
        const hm = t.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TZ });
        return withDate ? `${t.toLocaleDateString("zh-CN", { timeZone: TZ })} ${hm}` : hm;
      };
      const dayLabel = (date) => {
        const [y, m, d] = date.split("-").map(Number);
        return `${m}月${d}日 周${WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]}`;
      };
      const span = (s) => `${time(s.starts_at)}–${time(s.ends_at)}`;
      const seats = (s) => (s.cancelled ? "已取消" : s.remaining == null ? `名额 ${s.capacity}` : `已约 ${s.capacity - s.remaining}/${s.capacity}`);
      const price = (d) => (d.price_policy === "free" ? "免费" : d.normal_price ? `半价（原价 ${d.normal_price} 元）` : "半价");
      const deadline = (iso) => new Date(iso).toLocaleString("zh-CN", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TZ });
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value && me.value.token, ...opts });

      async function loadVenues() {
        venues.value = (await api("/venues?limit=100")).data.items;
        if (!venueId.value && approved.value.length) venueId.value = approved.value[0].id;
      }
      function resetVenue() {
        Object.assign(venueForm, { id: "", etag: "", name: "", address: "", tracks_exit: false });
      }
      async function editVenue(v) {
        const { data, etag } = await api(`/venues/${v.id}`);
        Object.assign(venueForm, { id: v.id, etag, name: data.name, address: data.address, tracks_exit: data.tracks_exit });
      }
      async function saveVenue() {
        busy.value = true;
        try {
          if (venueForm.id) {
            const body = { name: venueForm.name, address: venueForm.address, tracks_exit: venueForm.tracks_exit };
            await api(`/venues/${venueForm.id}`, { method: "PATCH", body, ifMatch: venueForm.etag });
          } else {
            const body = { name: venueForm.name, org_type: venueForm.org_type, city_code: venueForm.city_code, address: venueForm.address, tracks_exit: venueForm.tracks_exit };
            await api("/venues", { method: "POST", body, key: newId() });
          }
          ElMessage.success(venueForm.id ? "已保存" : "已提交，等待本市协调员审核");
          resetVenue();
          await loadVenues();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function loadDays() {
        if (venueId.value) days.value = (await api(`/venues/${venueId.value}/opendays`)).data;
      }
      function openDays(v) {
        venueId.value = v.id;
        tab.value = "days";
        loadDays();
      }
      function addSession() {
        const last = dayForm.sessions[dayForm.sessions.length - 1];
        const start = last ? last.end : "09:00";
        const [h, m] = start.split(":").map(Number);
        dayForm.sessions.push({ start, end: `${String(Math.min(h + 1, 23)).padStart(2, "0")}:${String(m).padStart(2, "0")}`, capacity: 50 });
      }
      async function createDay() {
        busy.value = true;
        dayKey = dayKey || newId();
        const body = {
          id: dayKey,
          date: dayForm.date,
          online: dayForm.online,
          price_policy: dayForm.price_policy,
          max_group_size: dayForm.max_group_size,
          sessions: dayForm.online ? [] : dayForm.sessions.map((s) => ({ start: s.start, end: s.end, capacity: s.capacity })),
        };
        if (dayForm.online) body.online_url = dayForm.online_url;
        if (dayForm.price_policy === "half_price") body.normal_price = dayForm.normal_price;
        if (dayForm.closes) body.booking_closes_at = new Date(dayForm.closes).toISOString();
        try {
          await api(`/venues/${venueId.value}/opendays`, { method: "POST", body });
          ElMessage.success("已保存为草稿，发布后公众可见");
          dayKey = "";
          dayForm.sessions = [];
          await loadDays();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function publish(d) {
        try {
          await api(`/opendays/${d.id}/publish`, { method: "POST" });
          ElMessage.success("已发布");
          await loadDays();
        } catch (e) {
          say(e);
        }
      }
      async function openBookings(d) {
        day.value = d;
        sessionFilter.value = "";
        tab.value = "bookings";
        await loadBookings();
      }
      async function loadBookings() {
        const all = [];
        let cursor = "";
        do {
          const { data } = await api(`/opendays/${day.value.id}/bookings?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
          all.push(...data.items);
          cursor = data.next_cursor || "";
        } while (cursor);
        bookings.value = all;
      }
      async function exportXlsx() {
        const response = await fetch(`${API}/opendays/${day.value.id}/bookings.xlsx`, { headers: { Authorization: `Bearer ${me.value.token}` } });
        if (!response.ok) return ElMessage.error("导出失败");
        const link = document.createElement("a");
        link.href = URL.createObjectURL(await response.blob());
        link.download = `预约名单-${day.value.venue_name}-${day.value.date}.xlsx`;
        link.click();
      }
      async function cancelSession() {
        try {
          await ElMessageBox.confirm("取消后该场次的全部预约将被取消，预约者会看到“场馆已取消该场次”。确定取消？", "取消场次", { type: "warning" });
        } catch (e) {
          return;
        }
        try {
          day.value = (await api(`/opendays/${day.value.id}/sessions/${sessionFilter.value}/cancel`, { method: "POST" })).data;
          ElMessage.success("场次已取消");
          await loadBookings();
        } catch (e) {
          say(e);
        }
      }

      async function loadCoordinator() {
        pending.value = (await api("/venues?status=pending&limit=100")).data.items;
        invitations.value = (await api("/invitations")).data;
      }
      async function review(v, approve) {
        try {
          if (approve) await api(`/venues/${v.id}/approve`, { method: "POST", key: newId() });
          else {
            const { value } = await ElMessageBox.prompt("请说明不通过的理由（运营者可见）", "审核不通过", { inputValidator: (x) => !!(x && x.trim()) || "请填写理由" });
            await api(`/venues/${v.id}/reject`, { method: "POST", body: { reason: value.trim() }, key: newId() });
          }
          ElMessage.success(approve ? "已通过" : "已退回");
          await Promise.all([loadCoordinator(), loadVenues()]);
        } catch (e) {
          if (e && e.code) say(e);
        }
      }
      async function invite() {
        busy.value = true;
        const body = { label: inviteForm.label, venue_ids: inviteForm.venue_ids, valid_hours: inviteForm.valid_hours, link_base: new URL("./", location.href).href };
        if (me.value.role === "admin") body.city_code = (venues.value.find((v) => inviteForm.venue_ids.includes(v.id)) || {}).city_code || "450100";
        try {
          made.value = (await api("/invitations", { method: "POST", body, key: newId() })).data;
          inviteForm.label = "";
          inviteForm.venue_ids = [];
          await loadCoordinator();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function revoke(i) {
        try {
          await ElMessageBox.confirm(`撤销后「${i.label}」的设备将无法再登录。`, "撤销邀请", { type: "warning" });
          await api(`/invitations/${i.id}/revoke`, { method: "POST" });
          await loadCoordinator();
        } catch (e) {
          if (e && e.code) say(e);
        }
      }
      function signOut() {
        cred.signOut();
        me.value = null;
      }

      onMounted(async () => {
        WIDE.addEventListener("change", (e) => (phone.value = !e.matches));
        call(`${API}/public/programme`).then(({ data }) => Object.assign(programme, data), () => {});
        try {
          me.value = await cred.fromAddress();
        } catch (e) {
          ElMessageBox.alert((e.message || "").split(" / ")[0], "邀请链接不可用", { type: "error" });
          me.value = cred.current();
        }
        if (!me.value) return;
        tab.value = me.value.role === "venue" ? "venues" : "review";
        try {
          await loadVenues();
          if (me.value.role !== "venue") await loadCoordinator();
        } catch (e) {
          say(e);
          if (e.status === 401) signOut();
        }
      });

      return {
        TYPES, VENUE_STATUS, BOOKING_STATUS, BOOKING_TAG, INVITE_STATUS, me, role, who, tab, busy, phone, programme, venues, approved,
        cityVenues, days, venueId, day, bookings, shownBookings, sessionFilter, chosenSession, tally, pending, invitations, made,
        venueForm, dayForm, inviteForm, cityName, venueName, time, dayLabel, span, seats, price, deadline, loadDays, resetVenue, editVenue, saveVenue, openDays,
        addSession, createDay, publish, openBookings, exportXlsx, cancelSession, review, invite, revoke, signOut,
      };
    },
  }).use(ElementPlus, { locale: ElementPlusLocaleZhCn }).mount("#app");
})();
