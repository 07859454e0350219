// 开放日预约（公众，手机优先，无需账号）/ The public booking pages: list, book, ticket, waiting list, my bookings.
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted, onUnmounted } = Vue;
  const { call, newId } = window.sciweek.api;
  const API = "../api/v1/public";
  const MINE = "sciweek.book.mine"; // the bookings made on this phone: {code, venue_name, date, starts_at}
  const TYPES = {
    research_institute: "科研院所",
    high_tech_enterprise: "高新技术企业",
    science_base: "科普基地",
    science_museum: "科技场馆",
    university: "高校（线上）",
  };
  const STATUS = { confirmed: "预约成功", waitlisted: "候补中", offered: "候补有名额，待确认", cancelled: "已取消", expired: "已过期" };
  // every refusal the API gives, in words a visitor understands
  const REFUSALS = {
    session_full: "该场次已约满，可以加入候补名单",
    booking_closed: "预约已截止",
    booking_not_open: "预约尚未开始",
    daily_cap_reached: "同一手机号每天的预约次数已达上限",
    rate_limited: "操作过于频繁，请稍后再试",
    group_too_large: "超过每单人数上限",
    session_cancelled: "该场次已被场馆取消",
    session_not_found: "场次不存在或已下线",
    online_only: "线上开放无需预约",
    offer_expired: "候补名额已过期",
    no_offer: "当前没有可确认的候补名额",
    already_checked_in: "已入场，不能取消",
    validation_error: "填写的内容有误，请检查姓名和手机号",
    idempotency_key_reused: "请求重复，请刷新后重试",
    network: "网络不可用，请检查网络后重试",
  };

  function refusal(e) {
    let text = REFUSALS[e.code] || (e.message || "").split(" / ")[0] || "操作失败，请稍后再试";
    if (e.code === "rate_limited" && e.retryAfter) text += `（约 ${e.retryAfter} 秒后）`;
    if (e.code === "daily_cap_reached") text = (e.message || "").split(" / ")[0] || text;
    return text;
  }
  function readMine() {
    try { return JSON.parse(localStorage.getItem(MINE) || "[]"); } catch (e) { return []; }
  }

  createApp({
    setup() {
      const route = ref(location.hash || "#/");
      const programme = reactive({ start: "", end: "", cities: [] });
      const filters = reactive({ city_code: "", org_type: "", price_policy: "", date: "", seats_left: false });
      const days = ref([]);
      const loaded = ref(false);
      const day = ref(null);
      const booking = ref(null);
      const busy = ref(false);
      const mine = ref(readMine());
      const live = reactive({});
      const form = reactive({ session_id: "", name: "", phone: "", party_size: 1 });
      let attempt = { body: "", key: "" }; // one Idempotency-Key per distinct request: a double tap or a retry reuses it
      let timer = null;

      const view = computed(() => route.value.split("/")[1] || "list");
      const param = computed(() => decodeURIComponent(route.value.split("/")[2] || ""));
      const title = computed(() => ({ list: "开放日预约", day: "开放日详情", booking: "我的入场码", mine: "我的预约" })[view.value] || "开放日预约");
      const cityOptions = computed(() => [{ text: "全部城市", value: "" }, ...programme.cities.map((c) => ({ text: c.name, value: c.code }))]);
      const typeOptions = [{ text: "全部类别", value: "" }, ...Object.entries(TYPES).map(([value, text]) => ({ text, value }))];
      const priceOptions = [{ text: "免费/半价", value: "" }, { text: "免费", value: "free" }, { text: "半价", value: "half_price" }];
      const shownDays = computed(() => days.value.filter((d) => !filters.seats_left || d.online || left(d) > 0));
      const chosen = computed(() => (day.value ? day.value.sessions.find((s) => s.session_id === form.session_id) : null));

      const left = (d) => d.sessions.filter((s) => !s.cancelled).reduce((n, s) => n + Math.max(0, s.remaining || 0), 0);
      const cityName = (code) => (programme.cities.find((c) => c.code === code) || {}).name || code;
      const typeName = (t) => TYPES[t] || t;
      const priceName = (d) => (d.price_policy === "free" ? "免费" : `半价${d.normal_price ? `（原价 ¥${d.normal_price}）` : ""}`);
      const seatsText = (d) => (left(d) > 0 ? `余 ${left(d)} 位` : "已满");
      const time = (iso, withDate) => {
        if (!iso) return "";
        const t = new Date(iso);
        const hm = t.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
        return withDate ? `${t.toLocaleDateString("zh-CN", { month: "numeric", day: "numeric", timeZone: "Asia/Shanghai" })} ${hm}` : hm;
      };
      const statusText = (b) => (b.status === "cancelled" && b.cancel_reason === "session_cancelled" ? "场馆已取消该场次" : STATUS[b.status] || b.status);
      const mineEntry = (code) => mine.value.find((m) => m.code === code);
      const go = (hash) => { location.hash = hash; };

      async function load() {
        const q = new URLSearchParams({ limit: "50" });
        for (const k of ["city_code", "org_type", "price_policy", "date"]) if (filters[k]) q.set(k, filters[k]);
        try {
          days.value = (await call(`${API}/opendays?${q}`)).data.items;
        } catch (e) {
          vant.showToast(refusal(e));
        }
        loaded.value = true;
      }
      async function loadDay(id) {
        try {
          day.value = (await call(`${API}/opendays/${encodeURIComponent(id)}`)).data;
          if (!chosen.value) form.session_id = (day.value.sessions.find((s) => !s.cancelled && s.remaining > 0) || day.value.sessions[0] || {}).session_id || "";
        } catch (e) {
          vant.showToast(refusal(e));
        }
      }
      async function loadBooking(code) {
        try {
          const b = (await call(`${API}/bookings/${encodeURIComponent(code)}`)).data;
          if (view.value === "booking" && param.value === code) booking.value = b;
          live[b.code] = b;
          return b;
        } catch (e) {
          if (e.status !== 0) vant.showToast(refusal(e));
        }
      }
      const pick = (s) => { if (!s.cancelled) form.session_id = s.session_id; };

      async function submit(waitlist) {
        const body = { session_id: form.session_id, name: form.name.trim(), phone: form.phone.trim(), party_size: Number(form.party_size), waitlist_if_full: waitlist };
        const text = JSON.stringify(body);
        if (attempt.body !== text) attempt = { body: text, key: newId() };
        return (await call(`${API}/bookings`, { method: "POST", body, key: attempt.key })).data;
      }
      async function book() {
        if (busy.value || !chosen.value) return;
        busy.value = true;
        try {
          let made;
          try {
            made = await submit(chosen.value.remaining <= 0);
          } catch (e) {
            if (e.code !== "session_full") throw e;
            await vant.showConfirmDialog({ title: "已满", message: "该场次已约满。加入候补名单？有人取消时按顺序通知您确认。", confirmButtonText: "加入候补" });
            made = await submit(true);
          }
          remember(made);
          attempt = { body: "", key: "" };
          go(`#/booking/${made.code}`);
        } catch (e) {
          if (e && e.code) vant.showDialog({ title: "未能预约", message: refusal(e) });
        } finally {
          busy.value = false;
        }
      }
      function remember(b) {
        if (mineEntry(b.code)) return;
        mine.value = [{ code: b.code, venue_name: day.value ? day.value.venue_name : "", date: b.date, starts_at: b.starts_at }, ...mine.value];
        localStorage.setItem(MINE, JSON.stringify(mine.value));
      }
      async function accept(b) {
        try {
          const done = (await call(`${API}/bookings/${b.code}/accept`, { method: "POST" })).data;
          live[done.code] = done;
          if (booking.value && booking.value.code === done.code) booking.value = done;
          vant.showToast("已确认预约");
        } catch (e) {
          vant.showDialog({ title: "未能确认", message: refusal(e) });
        }
      }
      async function cancel(b, question) {
        try {
          await vant.showConfirmDialog({ title: "请确认", message: question });
        } catch (e) {
          return;
        }
        try {
          const done = (await call(`${API}/bookings/${b.code}/cancel`, { method: "POST" })).data;
          live[done.code] = done;
          if (booking.value && booking.value.code === done.code) booking.value = done;
        } catch (e) {
          vant.showDialog({ title: "未能取消", message: refusal(e) });
        }
      }

      // live enough to be honest: the open page refreshes its seats and statuses every few seconds
      async function refresh() {
        if (view.value === "list") await load();
        else if (view.value === "day") await loadDay(param.value);
        else if (view.value === "booking") await loadBooking(param.value);
        else if (view.value === "mine") await Promise.all(mine.value.map((m) => loadBooking(m.code)));
      }
      function onRoute() {
        route.value = location.hash || "#/";
        booking.value = view.value === "booking" ? live[param.value] || null : booking.value;
        if (view.value !== "day") day.value = null;
        refresh();
        window.scrollTo(0, 0);
      }
      onMounted(async () => {
        window.addEventListener("hashchange", onRoute);
        try {
          Object.assign(programme, (await call(`${API}/programme`)).data);
        } catch (e) { /* the filters still work by code */ }
        onRoute();
        timer = setInterval(() => { if (document.visibilityState === "visible" && !busy.value) refresh(); }, 5000);
      });
      onUnmounted(() => clearInterval(timer));

      return {
        view, title, programme, filters, days, shownDays, loaded, day, booking, busy, mine, live, form, chosen,
        cityOptions, typeOptions, priceOptions, cityName, typeName, priceName, seatsText, time, statusText, mineEntry,
        go, load, pick, book, accept, cancel,
      };
    },
  }).use(vant).mount("#app");
})();
