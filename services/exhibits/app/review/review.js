// 专家评审 / the reviewers' console: the queue of my zones, the weighted criteria (from the API), scores and a
// comment; the other reviewers' scores only once my own review is in (the API refuses them before: review_first).
(function () {
  "use strict";
  const { createApp, reactive, ref, computed, onMounted } = Vue;
  const { ElMessage } = ElementPlus;
  const { call } = window.sciweek.api;
  const cred = window.sciweek.credentialFor({ key: "sciweek.reviewer.token" });
  const API = "../api/v1";
  const say = (e) => ElMessage.error((e.message || "操作失败").split(" / ")[0]);

  createApp({
    setup() {
      const me = ref(null);
      const expo = reactive({ zones: [], cities: [], units: [] });
      const criteria = reactive({ scale: { min: 1, max: 5 }, items: [] });
      const queue = ref([]);
      const current = ref(null);
      const scores = reactive({});
      const comment = ref("");
      const reviews = ref(null); // null: hidden until my own review is in
      const busy = ref(false);

      const mine = computed(() => !!(reviews.value && reviews.value.some((r) => r.reviewer_id === me.value.sub)));
      const weighted = computed(() => {
        if (!criteria.items.length || criteria.items.some((c) => !scores[c.id])) return null;
        const total = criteria.items.reduce((n, c) => n + c.weight, 0);
        return criteria.items.reduce((n, c) => n + scores[c.id] * c.weight, 0) / total;
      });
      const zoneName = (id) => { const z = expo.zones.find((x) => x.id === id); return z ? `第${z.id}展区 ${z.name}` : `第${id}展区`; };
      const cityName = (code) => (expo.cities.find((c) => c.code === code) || {}).name || code || "";
      const orgName = (code) => (expo.units.find((u) => u.code === code) || {}).name || code || "";
      const api = (path, opts = {}) => call(`${API}${path}`, { token: me.value && me.value.token, ...opts });

      async function loadQueue() {
        const all = [];
        let cursor = "";
        do {
          const { data } = await api(`/review-queue?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
          all.push(...data.items);
          cursor = data.next_cursor || "";
        } while (cursor);
        queue.value = all;
      }
      async function loadReviews(id) {
        try {
          reviews.value = (await api(`/submissions/${id}/reviews`)).data.items;
        } catch (e) {
          if (e.code !== "review_first") throw e;
          reviews.value = null;
        }
      }
      async function open(row) {
        current.value = row;
        comment.value = "";
        for (const c of criteria.items) scores[c.id] = 0;
        try {
          await loadReviews(row.id);
          const own = (reviews.value || []).find((r) => r.reviewer_id === me.value.sub);
          if (own) {
            Object.assign(scores, own.scores);
            comment.value = own.comment;
          }
        } catch (e) {
          say(e);
        }
      }
      async function send() {
        busy.value = true;
        try {
          const body = { scores: Object.fromEntries(criteria.items.map((c) => [c.id, scores[c.id]])), comment: comment.value };
          await api(`/submissions/${current.value.id}/reviews`, { method: "POST", body });
          ElMessage.success("评分已提交");
          await Promise.all([loadReviews(current.value.id), loadQueue()]);
        } catch (e) {
          say(e);
        } finally {
          busy.value = false;
        }
      }
      function signOut() {
        cred.signOut();
        me.value = null;
      }

      onMounted(async () => {
        call(`${API}/exhibition`).then(({ data }) => Object.assign(expo, data), () => {});
        me.value = await cred.fromAddress();
        if (!me.value) return;
        try {
          Object.assign(criteria, (await call(`${API}/review-criteria`)).data);
          await loadQueue();
        } catch (e) {
          say(e);
          if (e.status === 401) signOut();
        }
      });

      return { me, expo, criteria, queue, current, scores, comment, reviews, busy, mine, weighted, zoneName, cityName, orgName, loadQueue, open, send, signOut };
    },
  }).use(ElementPlus, { locale: ElementPlusLocaleZhCn }).mount("#app");
})();
