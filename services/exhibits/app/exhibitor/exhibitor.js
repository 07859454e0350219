// 展商申报 / the exhibitors' console: drafts, media, submit before the deadline, the decision and the booth.
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted } = Vue;
  const { ElMessage, ElMessageBox } = ElementPlus;
  const { call, newId } = window.sciweek.api;
  const cred = window.sciweek.credentialFor({ key: "sciweek.exhibitor.token", accept: "../api/v1/exhibitor-invitations/accept" });
  const API = "../api/v1";
  const STATUS = { draft: "草稿", submitted: "已提交", in_review: "评审中", accepted: "已录用", rejected: "未录用", waitlisted: "候补", confirmed: "已确认参展", withdrawn: "已撤回" };
  const STATUS_TYPE = { draft: "info", submitted: "", in_review: "warning", accepted: "success", rejected: "danger", waitlisted: "warning", confirmed: "success", withdrawn: "info" };
  const say = (e) => ElMessage.error((e.message || "操作失败").split(" / ")[0]);
  const blank = () => ({ id: "", etag: "", status: "", title: "", zone: null, industry: null, summary: "", highlights: "", video_url: "", physical: false, footprint_m2: 4, power_kw: 0, weight_kg: 0, network: false, contact: { name: "", phone: "", email: "" }, media: [] });

  createApp({
    setup() {
      const me = ref(null);
      const expo = reactive({ open: true, submission_deadline: null, zones: [], cities: [], units: [] });
      const items = ref([]);
      const editing = ref(false);
      const busy = ref(false);
      const caption = ref("");
      const form = reactive(blank());
      const narrow = ref(window.innerWidth < 640);
      let createKey = "";

      const industries = computed(() => ((expo.zones.find((z) => z.id === form.zone) || {}).industries || []));
      const locked = computed(() => !!form.id && form.status !== "draft");
      const zoneName = (id) => { const z = expo.zones.find((x) => x.id === id); return z ? `第${z.id}展区 ${z.name}` : `第${id}展区`; };
      const cityName = (code) => (expo.cities.find((c) => c.code === code) || {}).name || code || "";
      const orgName = (code) => (expo.units.find((u) => u.code === code) || {}).name || code || "";
      const when = (iso) => new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
      const kb = (n) => (n ? `${Math.round(n / 1024)} KB` : "");
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value && me.value.token, ...opts });

      async function load() {
        const all = [];
        let cursor = "";
        do {
          const { data } = await api(`/submissions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
          all.push(...data.items);
          cursor = data.next_cursor || "";
        } while (cursor);
        items.value = all.reverse();
      }
      function fill(s, etag) {
        const o = s.physical_object;
        Object.assign(form, blank(), {
          id: s.id, etag, status: s.status, title: s.title, zone: s.zone, industry: s.industry, summary: s.summary,
          highlights: (s.highlights || []).join("\n"), video_url: s.video_url || "", physical: !!o, contact: { ...s.contact }, media: s.media,
        });
        if (o) Object.assign(form, { footprint_m2: o.footprint_m2, power_kw: o.power_kw, weight_kg: o.weight_kg, network: o.network });
      }
      function startNew() {
        Object.assign(form, blank());
        form.zone = expo.zones.length ? expo.zones[0].id : null;
        createKey = newId();
        editing.value = true;
      }
      async function edit(s) {
        const { data, etag } = await api(`/submissions/${s.id}`);
        fill(data, etag);
        editing.value = true;
      }
      function body() {
        const b = {
          title: form.title.trim(), zone: form.zone, industry: industries.value.length ? form.industry : null, summary: form.summary,
          highlights: form.highlights.split("\n").map((x) => x.trim()).filter(Boolean).slice(0, 10),
          video_url: form.video_url.trim() || null, contact: form.contact,
          physical_object: form.physical ? { footprint_m2: form.footprint_m2, power_kw: form.power_kw, weight_kg: form.weight_kg, network: form.network } : null,
        };
        return b;
      }
      async function save(andSubmit) {
        if (!form.title.trim()) return ElMessage.warning("请填写展品名称");
        busy.value = true;
        try {
          let reply;
          if (form.id) {
            reply = await api(`/submissions/${form.id}`, { method: "PUT", body: body(), ifMatch: form.etag });
            if (andSubmit) reply = await api(`/submissions/${form.id}/submit`, { method: "POST" });
          } else {
            reply = await api("/submissions", { method: "POST", body: { ...body(), submit: andSubmit }, key: createKey });
          }
          fill(reply.data, reply.etag);
          ElMessage.success(andSubmit ? "已提交，等待评审" : "已保存；可继续上传图片或视频");
          if (andSubmit) editing.value = false;
          await load();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function upload(event) {
        const file = event.target.files[0];
        if (!file) return;
        const data = new FormData();
        data.append("file", file);
        data.append("caption", caption.value);
        busy.value = true;
        try {
          const reply = await api(`/submissions/${form.id}/media/${newId().replace(/-/g, "").slice(0, 20)}`, { method: "PUT", body: data, timeoutMs: 120000 });
          fill(reply.data, reply.etag);
          caption.value = "";
          event.target.value = "";
          ElMessage.success("已上传");
          await load();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function step(s, action, done) {
        try {
          await api(`/submissions/${s.id}/${action}`, { method: "POST" });
          ElMessage.success(done);
          await load();
        } catch (e) {
          say(e);
        }
      }
      const submit = (s) => step(s, "submit", "已提交，等待评审");
      async function withdraw(s) {
        try {
          await ElMessageBox.confirm(`撤回后「${s.title}」将退出评审和展览，不能恢复。`, "撤回申报", { type: "warning" });
        } catch (e) {
          return;
        }
        await step(s, "withdraw", "已撤回");
      }
      function signOut() {
        cred.signOut();
        me.value = null;
      }

      onMounted(async () => {
        window.addEventListener("resize", () => (narrow.value = window.innerWidth < 640));
        call(`${API}/exhibition`).then(({ data }) => Object.assign(expo, data), () => {});
        try {
          me.value = await cred.fromAddress();
        } catch (e) {
          ElMessageBox.alert((e.message || "").split(" / ")[0], "邀请链接不可用", { type: "error" });
          me.value = cred.current();
        }
        if (!me.value) return;
        try {
          await load();
        } catch (e) {
          say(e);
          if (e.status === 401) signOut();
        }
      });

      return { STATUS, STATUS_TYPE, me, expo, items, editing, busy, caption, form, narrow, industries, locked, zoneName, cityName, orgName, when, kb, startNew, edit, save, upload, step, submit, withdraw, signOut };
    },
  }).use(ElementPlus, { locale: ElementPlusLocaleZhCn }).mount("#app");
})();
