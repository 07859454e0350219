// 城市协调台 / the city coordinators' console of the volunteers service (Element Plus): imports checked before they
// write, quotas, the auto-planner's preview and commit, the flags queue, phone enrolment, cancel / reassign a visit.
// A client of the public API like any other (relative URLs: it works on the service's port and behind a gateway).
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted, nextTick } = Vue;
  const { ElMessage, ElMessageBox } = ElementPlus;
  const { call, newId } = window.sciweek.api;
  const staff = window.sciweek.staff;
  const API = "../api/v1";
  const KINDS = {
    commissioners: { label: "科技特派员", columns: "id,name,phone,city_code,county,expertise,available_dates,max_visits_per_day,base_lat,base_lon,org_id" },
    villages: { label: "村屯", columns: "code,name,county,city_code,lat,lon,needs" },
    households: { label: "贫困户", columns: "id,village_code,head_name,needs" },
  };
  const FLAG_KINDS = { geofence: "超范围签到", poor_accuracy: "定位精度差", late_sync: "迟同步", conflict: "报告冲突" };
  const FLAG_TAG = { geofence: "danger", poor_accuracy: "warning", late_sync: "info", conflict: "danger" };
  const STATUS = { planned: "已安排", accepted: "已接受", declined: "已拒绝", checked_in: "已签到", completed: "已完成", missed: "未走访", cancelled: "已取消" };
  const STATUS_TAG = { planned: "primary", accepted: "success", declined: "warning", checked_in: "success", completed: "success", missed: "danger", cancelled: "info" };
  const short = (e) => (e.message || "操作失败").split(" / ")[0];
  const say = (e) => ElMessage.error(short(e));

  createApp({
    setup() {
      const me = ref(null);
      const pasted = ref("");
      const tab = ref("import");
      const city = ref("");
      const progress = ref([]);
      const people = ref([]);
      const villages = ref([]);
      const imp = reactive({ kind: "commissioners", file: null, busy: false, report: null, errors: [], problem: null, progress: null });
      const plan = reactive({ preview: null, chosen: [], view: "table", busy: false, key: "" });
      const flags = reactive({ kind: "", resolved: false, items: [], counts: {}, dialog: false, current: null, note: "", apply: false });
      const openFlags = ref(0);
      const enrol = reactive({ commissioner: "", label: "", made: null, qr: "", items: [], sheet: "", sheetOpen: false });
      const visits = reactive({ status: "", items: [], dialog: false, current: null, person: "", date: "" });
      const planTable = ref(null);
      const sheetFrame = ref(null);

      const cities = computed(() => progress.value);
      const who = computed(() => {
        if (!me.value) return "";
        if (me.value.role === "admin") return "自治区科技厅";
        const c = progress.value.find((x) => x.city_code === me.value.city);
        return `${c ? c.name : me.value.city}市协调员`;
      });
      const percent = computed(() => (imp.progress && imp.progress.total ? Math.round((100 * imp.progress.processed) / imp.progress.total) : 0));
      const sampleColumns = computed(() => (imp.report && imp.report.sample.length ? Object.keys(imp.report.sample[0]) : []));
      const totalFlags = computed(() => Object.values(flags.counts).reduce((a, b) => a + b, 0));
      const planByDay = computed(() => {
        const groups = {};
        for (const p of (plan.preview && plan.preview.proposals) || []) (groups[p.visit_date] = groups[p.visit_date] || []).push(p);
        return Object.keys(groups).sort().map((day) => ({ day, items: groups[day] }));
      });
      const personName = (id) => (people.value.find((p) => p.id === id) || {}).name || id;
      const villageName = (code) => (villages.value.find((v) => v.code === code) || {}).name || code;
      const time = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "");
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value.token, ...opts });

      async function all(path) {
        const items = [];
        let cursor = "";
        for (let page = 0; page < 50; page++) {
          const sep = path.includes("?") ? "&" : "?";
          const { data } = await api(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ""}`);
          items.push(...data.items);
          cursor = data.next_cursor;
          if (!cursor) break;
        }
        return items;
      }
      async function authorised(path) {
        const response = await fetch(`${API}${path}`, { headers: { Authorization: `Bearer ${me.value.token}` } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response;
      }

      // 导入：先整表校验（dry run，不写入），再导入并显示进度
      function resetImport() {
        Object.assign(imp, { report: null, errors: [], problem: null, progress: null });
      }
      function pickFile(event) {
        imp.file = event.target.files[0] || null;
        resetImport();
      }
      function upload(query) {
        const form = new FormData();
        form.append("file", imp.file, imp.file.name);
        return api(`/${imp.kind}/import?${query}`, { method: "POST", body: form, timeoutMs: 120000 });
      }
      function showRefusal(e) {
        if (e.code === "import_invalid") {
          imp.errors = e.problem.errors || [];
          const more = e.problem.error_count > imp.errors.length ? `（仅列出前 ${imp.errors.length} 处）` : "";
          imp.problem = { title: `文件有 ${e.problem.error_count} 处错误，未写入任何数据${more}`, detail: "请改正以下各行后重新校验。" };
        } else {
          imp.problem = { title: "无法导入", detail: short(e) };
        }
      }
      async function checkImport() {
        resetImport();
        imp.busy = true;
        try {
          imp.report = (await upload("dry_run=true")).data;
        } catch (e) {
          showRefusal(e);
        } finally {
          imp.busy = false;
        }
      }
      async function runImport() {
        const id = `imp-${newId()}`;
        imp.busy = true;
        imp.progress = { status: "running", processed: 0, total: imp.report.total };
        let finished = false;
        const poll = async () => {
          while (!finished) {
            try {
              const { data } = await api(`/imports/${id}`);
              if (!finished) imp.progress = data;
            } catch (e) {
              /* not started yet */
            }
            await new Promise((r) => setTimeout(r, 300));
          }
        };
        poll();
        try {
          await upload(`import_id=${id}`);
          finished = true;
          imp.progress = (await api(`/imports/${id}`)).data;
          imp.report = null;
          ElMessage.success("导入完成");
          await loadReference();
        } catch (e) {
          finished = true;
          imp.progress = null;
          showRefusal(e);
        } finally {
          imp.busy = false;
        }
      }

      // 任务数与进度
      async function loadProgress() {
        progress.value = (await api("/dispatch/progress")).data.cities;
        if (!city.value) city.value = me.value.city || (progress.value[0] || {}).city_code || "";
      }
      async function setQuota(row, quota) {
        try {
          await api(`/quotas/${row.city_code}`, { method: "PUT", body: { quota } });
          ElMessage.success(`${row.name}任务数已改为 ${quota}`);
          await loadProgress();
        } catch (e) {
          say(e);
        }
      }

      // 自动排班：预览（不写入），选中后一次提交（全部成功或全部不建）
      async function previewPlan() {
        plan.busy = true;
        try {
          plan.preview = (await api("/plans/preview", { method: "POST", body: { city_code: city.value } })).data;
          plan.key = newId();
          await nextTick();
          if (planTable.value) planTable.value.toggleAllSelection();
        } catch (e) {
          say(e);
        } finally {
          plan.busy = false;
        }
      }
      async function commitPlan() {
        plan.busy = true;
        const assignments = plan.chosen.map((p) => ({
          commissioner_id: p.commissioner_id, city_code: city.value, village_code: p.village_code, visit_date: p.visit_date,
          household_ids: p.household_ids, planned_activities: p.planned_activities,
        }));
        try {
          const { data } = await api("/plans/commit", { method: "POST", body: { assignments }, key: plan.key });
          ElMessage.success(`已安排 ${data.created.length} 项走访`);
          Object.assign(plan, { preview: null, chosen: [] });
          await Promise.all([loadProgress(), loadVisits()]);
        } catch (e) {
          say(e);
        } finally {
          plan.busy = false;
        }
      }

      // 核实标记
      async function loadFlags() {
        const query = new URLSearchParams({ city_code: city.value, resolved: String(flags.resolved) });
        if (flags.kind) query.set("kind", flags.kind);
        const { data } = await api(`/flags?${query}`);
        flags.items = data.items;
        flags.counts = data.counts;
        if (!flags.resolved) openFlags.value = Object.values(data.counts).reduce((a, b) => a + b, 0);
      }
      function openResolve(row) {
        Object.assign(flags, { current: row, note: "", apply: false, dialog: true });
      }
      async function resolveFlag() {
        try {
          await api(`/flags/${flags.current.id}/resolve`, { method: "POST", body: { note: flags.note, apply_report: flags.apply } });
          flags.dialog = false;
          ElMessage.success("已处理");
          await loadFlags();
        } catch (e) {
          say(e);
        }
      }

      // 手机登记（特派员走访 App 的二维码）
      async function loadEnrolments() {
        enrol.items = await all(`/enrolments?city_code=${city.value}`);
      }
      async function enrolOne() {
        try {
          const body = { commissioner_id: enrol.commissioner, label: enrol.label };
          enrol.made = (await api("/enrolments", { method: "POST", body, key: newId() })).data;
          enrol.qr = URL.createObjectURL(await (await authorised(`/enrolments/${enrol.made.id}/qr.png`)).blob());
          await loadEnrolments();
        } catch (e) {
          say(e);
        }
      }
      async function enrolCity() {
        try {
          const { data } = await api(`/enrolments/city/${city.value}`, { method: "POST", key: newId() });
          ElMessage.success(`新登记 ${data.created.length} 部手机`);
          await loadEnrolments();
        } catch (e) {
          say(e);
        }
      }
      async function openSheet() {
        try {
          enrol.sheet = await (await authorised(`/enrolments/sheet?city_code=${city.value}`)).text();
          enrol.sheetOpen = true;
        } catch (e) {
          say(e);
        }
      }
      function printSheet() {
        sheetFrame.value.contentWindow.print();
      }
      async function revoke(row) {
        try {
          await ElMessageBox.confirm(`撤销 ${row.commissioner_name} 的手机登记？该手机将不能再同步。`, "撤销登记", { type: "warning" });
        } catch (e) {
          return;
        }
        try {
          await api(`/enrolments/${row.id}/revoke`, { method: "POST" });
          await loadEnrolments();
        } catch (e) {
          say(e);
        }
      }

      // 走访：取消、改派（If-Match：他人先改则刷新后重试）
      async function loadVisits() {
        const status = visits.status ? `&status=${visits.status}` : "";
        visits.items = await all(`/assignments?city_code=${city.value}${status}`);
      }
      function openEdit(row) {
        Object.assign(visits, { current: row, person: row.commissioner_id, date: row.visit_date, dialog: true });
      }
      async function changed(promise, done) {
        try {
          await promise;
          ElMessage.success(done);
        } catch (e) {
          if (e.status === 412 || e.status === 409) ElMessage.warning("该走访刚被他人修改，已刷新，请确认后重试");
          else say(e);
        }
        await loadVisits();
      }
      async function saveEdit() {
        const row = visits.current;
        const body = {};
        if (visits.person !== row.commissioner_id) body.commissioner_id = visits.person;
        if (visits.date !== row.visit_date) body.visit_date = visits.date;
        visits.dialog = false;
        await changed(api(`/assignments/${row.id}`, { method: "PATCH", body, ifMatch: `"${row.version}"` }), "已改派");
      }
      async function cancelVisit(row) {
        let reason;
        try {
          ({ value: reason } = await ElMessageBox.prompt("取消原因", "取消走访", { inputPlaceholder: "如：村里临时有事" }));
        } catch (e) {
          return;
        }
        const body = { reason: reason || "" };
        await changed(api(`/assignments/${row.id}/cancel`, { method: "POST", body, ifMatch: `"${row.version}"` }), "已取消");
      }

      async function loadReference() {
        [people.value, villages.value] = await Promise.all([all(`/commissioners?city_code=${city.value}`), all(`/villages?city_code=${city.value}`)]);
      }
      const LOADERS = { quotas: loadProgress, flags: loadFlags, enrol: loadEnrolments, visits: loadVisits };
      function onTab(name) {
        if (LOADERS[name]) LOADERS[name]().catch(say);
      }
      async function reload() {
        Object.assign(plan, { preview: null, chosen: [] });
        enrol.made = null;
        try {
          await Promise.all([loadReference(), loadFlags(), onTab(tab.value)]);
        } catch (e) {
          say(e);
        }
      }
      async function start() {
        if (!["city", "admin"].includes(me.value.role)) {
          ElMessage.error("该令牌不是城市协调员或自治区科技厅的令牌");
          me.value = null;
          staff.signOut();
          return;
        }
        try {
          await loadProgress();
          await reload();
        } catch (e) {
          say(e);
        }
      }
      function signIn() {
        me.value = staff.signIn(pasted.value);
        if (!me.value) return ElMessage.error("令牌无效或已过期");
        pasted.value = "";
        start();
      }
      function signOut() {
        staff.signOut();
        me.value = null;
      }
      onMounted(() => {
        me.value = staff.fromAddress();
        if (me.value) start();
      });

      return {
        KINDS, FLAG_KINDS, FLAG_TAG, STATUS, STATUS_TAG, me, pasted, tab, city, cities, progress, people, villages, imp, plan,
        flags, openFlags, enrol, visits, planTable, sheetFrame, who, percent, sampleColumns, totalFlags, planByDay, personName,
        villageName, time, resetImport, pickFile, checkImport, runImport, setQuota, previewPlan, commitPlan, loadFlags,
        openResolve, resolveFlag, enrolOne, enrolCity, openSheet, printSheet, revoke, loadVisits, openEdit, saveEdit,
        cancelVisit, onTab, reload, signIn, signOut,
      };
    },
  }).use(ElementPlus, { locale: ElementPlusLocaleZhCn }).mount("#app");
})();
