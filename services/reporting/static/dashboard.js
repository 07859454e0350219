// 科技活动周实时看板: loads /api/v1/dashboard (or the public headline without a token) and reloads it
// whenever the server-sent stream reports that new events were applied.
"use strict";

const STATUS = { pending: "未到期", on_time: "按时", late: "逾期", missing: "缺交" };
const ACTIVITY = { scheduled: "计划", held: "已举办", cancelled: "已取消" };
const TYPES = {
  matchmaking: "成果对接", policy_lecture: "政策宣讲", poverty_relief: "精准扶贫", popularisation_contest: "科普评选",
  science_night: "科学之夜", grassroots: "科技进基层", open_day: "开放日", publicity: "宣传报道",
};

function token() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) sessionStorage.setItem("sciweek-token", decodeURIComponent(match[1]));
  return sessionStorage.getItem("sciweek-token");
}

async function load() {
  const bearer = token();
  const url = bearer ? "api/v1/dashboard" : "api/v1/dashboard/public";
  const response = await fetch(url, { headers: bearer ? { Authorization: "Bearer " + bearer } : {} });
  if (!response.ok) throw new Error(url + " " + response.status);
  return response.json();
}

function cell(text, attrs) {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) td.setAttribute(k, v);
  return td;
}

function fill(tableId, rows, toCells, key) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    if (key) tr.dataset.key = key(row);
    tr.append(...toCells(row));
    return tr;
  }));
}

function metricCell(row, name) { return cell(String(row[name] ?? 0), { "data-metric": name }); }

function renderHeadline(data) {
  const values = { ...data.totals, target: data.target };
  for (const el of document.querySelectorAll("#headline [data-metric]")) {
    el.textContent = String(values[el.dataset.metric] ?? 0);
  }
  document.getElementById("as-of").textContent = "数据更新：" + new Date(data.as_of).toLocaleString("zh-CN") +
    "（第 " + data.version + " 条事件）";
  document.body.dataset.version = String(data.version);
  fill("targets", data.targets, (t) => [
    cell(t.label + "（" + t.id + "）"), cell(t.scope), metricCell(t, "done"), cell(String(t.value)), cell(String(t.expected)),
    cell(t.behind ? "落后" : "正常", { class: t.behind ? "behind" : "" }),
  ], (t) => t.id);
}

function renderDetail(data) {
  fill("cities", data.cities, (c) => [
    cell(c.name), metricCell(c, "completed"), cell(String(c.quota)), metricCell(c, "planned"), metricCell(c, "bookings"),
    metricCell(c, "visitors"), cell(String(c["activities.policy_lecture.held"] ?? 0)),
    metricCell(c, "exhibits_submitted"), cell(STATUS[c.summary] || c.summary),
  ], (c) => c.city_code);
  fill("zones", data.zones, (z) => [
    cell(z.name), metricCell(z, "exhibits_submitted"), metricCell(z, "exhibits_accepted"),
    metricCell(z, "exhibits_placed"), cell(String(z.used_m2)), cell(String(z.budget_m2)),
  ], (z) => String(z.id));
  const names = Object.fromEntries(data.cities.map((c) => [c.city_code, c.name]));
  fill("calendar", data.calendar, (a) => [
    cell(a.date), cell(names[a.city_code] || a.city_code), cell(TYPES[a.activity_type] || a.activity_type),
    cell(a.title || ""), cell(ACTIVITY[a.status] || a.status), cell(String(a.participants ?? "")),
  ], (a) => a.activity_id);
  fill("deadlines", data.deadlines, (d) => [
    cell(d.name), cell(d.due), cell(STATUS[d.status] || d.status), cell(d.locked ? "已锁定" : ""),
  ], (d) => d.scope);
  drawCharts(data);
}

let charts = null;
function drawCharts(data) {
  if (typeof echarts === "undefined") return;
  charts = charts || {
    city: echarts.init(document.getElementById("city-chart")),
    day: echarts.init(document.getElementById("day-chart")),
  };
  charts.city.setOption({
    tooltip: {}, legend: { data: ["完成走访", "配额"] },
    xAxis: { type: "category", data: data.cities.map((c) => c.name) }, yAxis: { type: "value" },
    series: [
      { name: "完成走访", type: "bar", data: data.cities.map((c) => c.completed) },
      { name: "配额", type: "bar", data: data.cities.map((c) => c.quota) },
    ],
  });
  charts.day.setOption({
    tooltip: { trigger: "axis" }, legend: { data: ["完成走访", "入场人数", "举办活动"] },
    xAxis: { type: "category", data: data.days.map((d) => d.date.slice(5)) }, yAxis: { type: "value" },
    series: [
      { name: "完成走访", type: "line", data: data.days.map((d) => d.completed) },
      { name: "入场人数", type: "line", data: data.days.map((d) => d.visitors) },
      { name: "举办活动", type: "line", data: data.days.map((d) => d.activities_held) },
    ],
  });
}

async function refresh() {
  const data = await load();
  renderHeadline(data);
  if (data.cities) renderDetail(data); else document.body.classList.add("public");
}

function listen() {
  const live = document.getElementById("live");
  const source = new EventSource("api/v1/dashboard/stream");
  source.addEventListener("changed", (e) => {
    live.className = "on";
    live.textContent = "实时更新：已连接";
    if (e.data !== document.body.dataset.version) refresh().catch(console.error);
  });
  source.onerror = () => { live.className = "off"; live.textContent = "实时更新：重连中"; };
}

// 演练 (rehearsal): while the services run at programme time, a banner says so and shows that time ticking.
let clock = null;
async function loadClock() {
  const response = await fetch("api/v1/clock");
  if (!response.ok) return;
  const state = await response.json();
  clock = { ...state, at: Date.parse(state.now), fetched: Date.now() };
  document.body.dataset.rehearsal = String(state.rehearsal);
  tickClock();
}

function tickClock() {
  const banner = document.getElementById("rehearsal");
  banner.hidden = !(clock && clock.rehearsal);
  if (banner.hidden) return;
  const now = new Date(clock.at + (Date.now() - clock.fetched) * clock.rate);
  document.getElementById("programme-time").textContent =
    now.toLocaleString("zh-CN", { timeZone: clock.timezone, hour12: false });
  document.getElementById("clock-rate").textContent = clock.rate === 1 ? "" : "（" + clock.rate + " 倍速）";
}

loadClock().catch(console.error);
setInterval(() => loadClock().catch(console.error), 10000);
setInterval(tickClock, 1000);
refresh().catch((e) => { document.getElementById("as-of").textContent = "加载失败：" + e.message; });
listen();
