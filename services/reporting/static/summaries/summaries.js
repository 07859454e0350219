// 总结填报 / the summary editor of the reporting service (Element Plus), for city coordinators, supporting units'
// liaisons and the provincial office: pre-filled numbers, the narrative saved automatically with If-Match (a save
// that finds someone else's newer version shows both and never overwrites silently), pictures, submission before
// the deadline, the deadline board with the office's exceptions, and the PDF preview. Relative URLs only.
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, watch, onMounted } = Vue;
  const { ElMessage, ElMessageBox } = ElementPlus;
  const { call, newId } = window.sciweek.api;
  const staff = window.sciweek.staff;
  const API = "../api/v1";
  const AUTOSAVE_MS = 1200;
  const STATUS = { pending: "未到期", on_time: "按时", late: "逾期", missing: "缺交" };
  const STATUS_TAG = { pending: "info", on_time: "success", late: "warning", missing: "danger" };
  const LABELS = {
    planned: "计划走访", completed: "完成走访", households_reached: "走访农户", consultations: "现场咨询", trainees: "培训人数",
    books: "发放图书", venues_registered: "登记场馆", venues_approved: "批准场馆", opendays: "开放日", sessions: "场次",
    bookings: "有效预约", visitors: "入场人数", visitors_free: "免费入场", visitors_half_price: "半价入场",
    activities_scheduled: "主题活动（计划）", activities_held: "主题活动（举办）", "activities.policy_lecture.held": "政策宣讲（举办）",
    participants: "活动参与人数", exhibits_submitted: "申报展项", exhibits_accepted: "入选展项", exhibits_confirmed: "确认参展",
    exhibits_placed: "已布展", area_used_dm2: "已用面积（平方分米）",
  };
  const short = (e) => (e.message || "操作失败").split(" / ")[0];
  const say = (e) => ElMessage.error(short(e));

  createApp({
    setup() {
      const me = ref(null);
      const pasted = ref("");
      const tab = ref("edit");
      const code = ref("");
      const s = ref(null); // the summary as last read
      const narrative = ref(""); // what the editor shows
      const base = ref(""); // the server's narrative at `etag`: what the local text was edited from
      const etag = ref("");
      const saving = ref(false);
      const savedAt = ref(null);
      const failed = ref("");
      const conflict = reactive({ open: false, theirs: "", mine: "", merged: "", by: "", at: null, etag: "" });
      const pictureUrls = reactive({});
      const board = ref(null);
      const grant = reactive({ open: false, row: null, until: "" });
      const pdfUrl = ref("");
      let timer = null;

      const boardRows = computed(() =>
        board.value ? [...board.value.cities, ...board.value.units].map((r) => ({ ...r, code: r.city_code || r.unit_code })) : [],
      );
      const authors = computed(() => boardRows.value);
      const authorName = computed(() => (boardRows.value.find((r) => r.code === code.value) || {}).name || "");
      const who = computed(() => {
        if (!me.value) return "";
        if (me.value.role === "admin") return "自治区科技厅";
        return `${authorName.value}${me.value.role === "unit" ? "联络员" : "协调员"}`;
      });
      const dirty = computed(() => narrative.value !== base.value);
      const saveText = computed(() => {
        if (conflict.open) return "与他人的修改冲突，请选择保留的版本";
        if (saving.value) return "正在保存…";
        if (failed.value) return `保存失败：${failed.value}`;
        if (dirty.value) return "有未保存的修改";
        return savedAt.value ? `已保存 ${savedAt.value.toLocaleTimeString("zh-CN", { hour12: false })}` : "";
      });
      const label = (key) => LABELS[key] || key;
      const time = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "");
      const pct = (x) => `${Math.round((x || 0) * 100)}%`;
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value.token, ...opts });
      async function authorised(path) {
        const response = await fetch(`${API}${path}`, { headers: { Authorization: `Bearer ${me.value.token}` } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response;
      }

      async function loadPictures() {
        for (const id of s.value.pictures) {
          if (!pictureUrls[id]) {
            authorised(`/summaries/${code.value}/pictures/${id}`)
              .then(async (r) => (pictureUrls[id] = URL.createObjectURL(await r.blob())))
              .catch(() => {});
          }
        }
      }
      async function loadSummary() {
        const { data, etag: tag } = await api(`/summaries/${code.value}`);
        s.value = data;
        etag.value = tag;
        base.value = narrative.value = data.narrative;
        Object.assign(conflict, { open: false });
        savedAt.value = null;
        pdfUrl.value = "";
        loadPictures();
      }
      // read the summary again without losing what is typed here: only a narrative nobody else changed is replaced
      async function refresh() {
        const { data, etag: tag } = await api(`/summaries/${code.value}`);
        s.value = data;
        if (data.narrative === base.value) etag.value = tag;
        else if (!dirty.value) [etag.value, base.value, narrative.value] = [tag, data.narrative, data.narrative];
        // else: keep the old ETag, so the next save meets the other version and asks
        loadPictures();
      }

      // autosave: a PUT with If-Match; 412 means another save came first
      function schedule() {
        clearTimeout(timer);
        if (dirty.value && !conflict.open) timer = setTimeout(saveNow, AUTOSAVE_MS);
      }
      watch(narrative, schedule);
      async function saveNow() {
        clearTimeout(timer);
        if (!dirty.value || saving.value || conflict.open || !s.value || s.value.locked) return;
        const text = narrative.value;
        saving.value = true;
        failed.value = "";
        try {
          const { etag: tag } = await api(`/summaries/${code.value}`, { method: "PUT", body: { narrative: text }, ifMatch: etag.value });
          [etag.value, base.value, savedAt.value] = [tag, text, new Date()];
        } catch (e) {
          if (e.status === 412) await stale(text);
          else failed.value = short(e);
        } finally {
          saving.value = false;
          schedule();
        }
      }
      async function stale(mine) {
        const { data, etag: tag } = await api(`/summaries/${code.value}`);
        s.value = data;
        if (data.narrative === base.value || data.narrative === mine) {
          // the version moved for pictures, an exception or the same words: nothing of anyone's is lost by saving
          [etag.value, base.value] = [tag, data.narrative];
          return;
        }
        const merged = mine.includes(data.narrative) ? mine : data.narrative.includes(mine) ? data.narrative : `${data.narrative}\n${mine}`;
        Object.assign(conflict, { open: true, theirs: data.narrative, mine, merged, by: data.updated_by, at: data.updated_at, etag: tag });
      }
      function takeTheirs() {
        [etag.value, base.value, narrative.value] = [conflict.etag, conflict.theirs, conflict.theirs];
        conflict.open = false;
      }
      async function resolveWith(text) {
        [etag.value, base.value, narrative.value] = [conflict.etag, conflict.theirs, text];
        conflict.open = false;
        await saveNow();
      }

      async function addPictures(event) {
        const files = [...event.target.files];
        event.target.value = "";
        try {
          for (const file of files) {
            const form = new FormData();
            form.append("file", file, file.name);
            await api(`/summaries/${code.value}/pictures/${newId()}`, { method: "PUT", body: form, timeoutMs: 60000 });
          }
          await refresh();
          ElMessage.success(`已上传 ${files.length} 张图片`);
        } catch (e) {
          say(e);
        }
      }
      async function submit() {
        try {
          await ElMessageBox.confirm("提交后数字即冻结（文字在锁定前仍可修改）。确定提交？", "提交总结", { type: "warning" });
        } catch (e) {
          return;
        }
        try {
          await saveNow();
          if (conflict.open) return;
          const { data } = await api(`/summaries/${code.value}/submit`, { method: "POST", key: newId() });
          ElMessage.success(`已提交（${STATUS[data.status]}）`);
          await refresh();
        } catch (e) {
          say(e);
        }
      }
      async function previewPdf() {
        try {
          await saveNow();
          const blob = await (await authorised(`/exports/summaries/${code.value}.pdf`)).blob();
          if (pdfUrl.value) URL.revokeObjectURL(pdfUrl.value);
          pdfUrl.value = URL.createObjectURL(blob);
          tab.value = "pdf";
        } catch (e) {
          say(e);
        }
      }

      async function loadBoard() {
        board.value = (await api("/deadlines")).data;
      }
      function openAuthor(author) {
        if (author !== code.value) {
          code.value = author;
          loadSummary().catch(say);
        }
        tab.value = "edit";
      }
      function openGrant(row) {
        const later = new Date(Date.now() + 3 * 86400000 - new Date().getTimezoneOffset() * 60000);
        Object.assign(grant, { open: true, row, until: later.toISOString().slice(0, 16) });
      }
      async function grantException() {
        try {
          await api(`/summaries/${grant.row.code}/exception`, { method: "POST", body: { until: new Date(grant.until).toISOString() } });
          grant.open = false;
          ElMessage.success(`已为${grant.row.name}开例外`);
          await loadBoard();
        } catch (e) {
          say(e);
        }
      }
      function onTab(name) {
        if (name === "board") loadBoard().catch(say);
      }

      async function start() {
        if (!["city", "unit", "admin"].includes(me.value.role)) {
          ElMessage.error("该令牌不是协调员、单位联络员或自治区科技厅的令牌");
          staff.signOut();
          me.value = null;
          return;
        }
        try {
          await loadBoard();
          code.value = me.value.role === "city" ? me.value.city : me.value.role === "unit" ? me.value.org : boardRows.value[0].code;
          await loadSummary();
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
      window.addEventListener("beforeunload", (event) => {
        if (dirty.value) event.preventDefault(); // typed words not yet saved: the browser asks before leaving
      });
      onMounted(() => {
        me.value = staff.fromAddress();
        if (me.value) start();
      });

      return {
        STATUS, STATUS_TAG, me, pasted, tab, code, s, narrative, conflict, pictureUrls, board, boardRows, authors, authorName,
        who, grant, pdfUrl, saveText, label, time, pct, loadSummary, saveNow, takeTheirs, resolveWith, addPictures, submit,
        previewPdf, openAuthor, openGrant, grantException, onTab, signIn, signOut,
      };
    },
  }).use(ElementPlus, { locale: ElementPlusLocaleZhCn }).mount("#app");
})();
