// 展览办公室 / the exhibition office's console: decisions in bulk, the booth map of the hall with the allocator's
// proposal and moves by hand (checked by the API against the working plan's ETag), releases with their changelog,
// exhibitor invitations and reviewers' zones.
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted } = Vue;
  const { ElMessage, ElMessageBox } = ElementPlus;
  const { call, newId } = window.sciweek.api;
  const cred = window.sciweek.credentialFor({ key: "sciweek.office.token" });
  const API = "../api/v1";
  const STATUS = { submitted: "已提交", in_review: "评审中", waitlisted: "候补", accepted: "已录用", confirmed: "已确认", rejected: "未录用", withdrawn: "已撤回", draft: "草稿" };
  const STATUS_TYPE = { draft: "info", submitted: "", in_review: "warning", accepted: "success", rejected: "danger", waitlisted: "warning", confirmed: "success", withdrawn: "info" };
  const INVITE_STATUS = { pending: "未使用", accepted: "已登录", revoked: "已撤销" };
  const DECIDED = { accepted: "录用", rejected: "不录用", waitlisted: "候补" };
  let titled = (text) => text; // names exhibits by title in the API's problems (set once the map is loaded)
  const say = (e) => {
    const problems = ((e.problem && e.problem.problems) || []).map((p) => titled(p.split(" / ")[0]));
    ElMessage.error([(e.message || "操作失败").split(" / ")[0], ...problems].join("；"));
  };

  createApp({
    setup() {
      const me = ref(null);
      const tab = ref("decisions");
      const busy = ref(false);
      const expo = reactive({ zones: [], cities: [], units: [] });
      const submissions = ref([]);
      const shown = ref(["submitted", "in_review", "waitlisted"]);
      const picked = ref([]);
      const force = ref(false);
      const outcomes = reactive({});
      const plan = reactive({ hall: "", width_m: 120, depth_m: 80, version: 0, zones: [], booths: [], exhibits: [], unplaced: [] });
      let planTag = "";
      const chosen = ref(null);
      const releases = ref([]);
      const changelog = ref("");
      const invitations = ref([]);
      const made = ref(null);
      const inviteForm = reactive({ label: "", org_id: "", city_code: "", valid_hours: 72 });
      const reviewerForm = reactive({ id: "", zones: [] });

      const listed = computed(() => submissions.value.filter((s) => shown.value.includes(s.status)));
      const placedCount = computed(() => plan.exhibits.filter((e) => e.booth_id).length);
      const svgBox = computed(() => ({ viewBox: `0 0 ${plan.width_m} ${plan.depth_m}` }));
      const cityName = (code) => (expo.cities.find((c) => c.code === code) || {}).name || code || "";
      const orgName = (code) => (expo.units.find((u) => u.code === code) || {}).name || code || "";
      const when = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "");
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value && me.value.token, ...opts });
      const exhibitOf = (id) => plan.exhibits.find((e) => e.id === id);
      const reasonOf = (id) => { const u = plan.unplaced.find((x) => x.exhibit_id === id); return u ? u.detail.split(" / ")[0] : ""; };

      function fits(b) {
        const e = chosen.value;
        if (!e || b.exhibit_id || b.zone !== e.zone) return false;
        return b.size_m2 >= e.footprint_m2 && b.power_kw >= e.power_kw && (b.network || !e.network);
      }
      function boothTip(b) {
        const e = b.exhibit_id && exhibitOf(b.exhibit_id);
        const facts = `${b.id} · ${b.size_m2} m² · ${b.power_kw} kW${b.network ? " · 网络" : ""}`;
        return e ? `${facts}\n${e.title}` : `${facts}\n空闲`;
      }

      async function loadSubmissions() {
        const all = [];
        let cursor = "";
        do {
          const { data } = await api(`/submissions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
          all.push(...data.items);
          cursor = data.next_cursor || "";
        } while (cursor);
        submissions.value = all;
      }
      async function decide(decision) {
        const items = picked.value.map((s) => ({ id: s.id, decision }));
        try {
          const { data } = await api("/decisions", { method: "POST", body: { items, force: force.value } });
          for (const r of data.results) outcomes[r.id] = r.ok ? "" : `未能${DECIDED[decision]}：${r.code}`;
          ElMessage[data.decided === items.length ? "success" : "warning"](`已${DECIDED[decision]} ${data.decided} / ${items.length} 项`);
          await loadSubmissions();
        } catch (e) {
          say(e);
        }
      }
      async function loadPlan() {
        const { data, etag } = await api("/allocation/floor-plan");
        Object.assign(plan, data);
        planTag = etag;
        titled = (text) => plan.exhibits.reduce((t, e) => t.split(e.id).join(`「${e.title}」`), text);
        if (chosen.value) chosen.value = exhibitOf(chosen.value.id) || null;
      }
      async function propose() {
        if (plan.version) {
          try {
            await ElMessageBox.confirm("自动生成会覆盖当前工作方案（包括手工调整）。继续？", "生成分配方案", { type: "warning" });
          } catch (e) {
            return;
          }
        }
        busy.value = true;
        try {
          await api("/allocation/proposals", { method: "POST" });
          await loadPlan();
          ElMessage.success(`已生成方案：安排 ${placedCount.value} 项，未安排 ${plan.unplaced.length} 项`);
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function move(e, boothId) {
        try {
          await api("/allocation/moves", { method: "POST", body: { exhibit_id: e.id, booth_id: boothId }, ifMatch: planTag });
          ElMessage.success(boothId ? `已移到展位 ${boothId}` : "已移出展位");
        } catch (err) {
          say(err);
        }
        await loadPlan();
      }
      function clickBooth(b) {
        if (b.exhibit_id) chosen.value = exhibitOf(b.exhibit_id) || null;
        else if (chosen.value) move(chosen.value, b.id);
      }
      function dragStart(e, event) {
        event.dataTransfer.setData("text/plain", e.id);
        chosen.value = e;
      }
      function dropOn(b, event) {
        const e = exhibitOf(event.dataTransfer.getData("text/plain"));
        if (e && !b.exhibit_id) move(e, b.id);
      }
      async function loadReleases() {
        releases.value = (await api("/allocation/releases")).data.items;
      }
      async function release() {
        busy.value = true;
        try {
          await loadPlan();
          const { data } = await api("/allocation/releases", { method: "POST", body: { changelog: changelog.value }, ifMatch: planTag });
          ElMessage.success(`已发布第 ${data.release} 版`);
          changelog.value = "";
          await loadReleases();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function loadInvitations() {
        invitations.value = (await api("/exhibitor-invitations")).data;
      }
      async function invite() {
        busy.value = true;
        const body = { label: inviteForm.label, org_id: inviteForm.org_id, valid_hours: inviteForm.valid_hours, link_base: new URL("../exhibitor/", location.href).href };
        if (inviteForm.city_code) body.city_code = inviteForm.city_code;
        try {
          made.value = (await api("/exhibitor-invitations", { method: "POST", body, key: newId() })).data;
          Object.assign(inviteForm, { label: "", org_id: "", city_code: "" });
          await loadInvitations();
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      async function revoke(i) {
        try {
          await ElMessageBox.confirm(`撤销后「${i.label}」的设备将无法再登录。`, "撤销邀请", { type: "warning" });
          await api(`/exhibitor-invitations/${i.id}/revoke`, { method: "POST" });
          await loadInvitations();
        } catch (e) {
          if (e && e.code) say(e);
        }
      }
      async function assign() {
        try {
          await api(`/reviewers/${encodeURIComponent(reviewerForm.id.trim())}`, { method: "PUT", body: { zones: reviewerForm.zones } });
          ElMessage.success("已保存");
        } catch (e) {
          say(e);
        }
      }
      const LOADERS = { decisions: loadSubmissions, map: loadPlan, releases: () => Promise.all([loadPlan(), loadReleases()]), invitations: loadInvitations, reviewers: async () => {} };
      async function show(name) {
        try {
          await LOADERS[name]();
        } catch (e) {
          say(e);
          if (e.status === 401) signOut();
        }
      }
      function signOut() {
        cred.signOut();
        me.value = null;
      }

      onMounted(async () => {
        call(`${API}/exhibition`).then(({ data }) => Object.assign(expo, data), () => {});
        me.value = await cred.fromAddress();
        if (me.value) await show(tab.value);
      });

      return {
        STATUS, STATUS_TYPE, INVITE_STATUS, me, tab, busy, expo, submissions, shown, picked, force, outcomes, listed, plan, chosen,
        placedCount, svgBox, releases, changelog, invitations, made, inviteForm, reviewerForm, cityName, orgName, when, reasonOf,
        fits, boothTip, decide, loadPlan, propose, move, clickBooth, dragStart, dropOn, release, invite, revoke, assign, show, signOut,
      };
    },
  }).use(ElementPlus, { locale: ElementPlusLocaleZhCn }).mount("#app");
})();
