// sciweek 应用公共库 / the apps' one way to call their service's API (served at lib/api.js by every service).
// Relative URLs only: an app at /app/ calls "../api/v1/..." so it works on the service's port and behind a gateway.
// Plain script (no build step): defines window.sciweek.api (credential.js and staff.js, loaded after it, use it).

(function (global) {
  "use strict";

  // A random id for Idempotency-Key and op_id (crypto.randomUUID needs a secure context; getRandomValues does not).
  function newId() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    const b = global.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // The claims of a JWT (not verified: the service does that), or null if it is not one.
  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) {
      return null;
    }
  }

  // Chinese words for the refusals every app may meet; a problem's own `detail` (already Chinese first) wins.
  const MESSAGES = {
    network: "网络不可用，已保存在本机，恢复联网后自动同步",
    unauthorized: "登录已失效或设备已被撤销，请联系协调员重新登记",
    forbidden: "没有权限进行此操作",
    not_found: "找不到该记录",
    rate_limited: "操作过于频繁，请稍后再试",
    database_unavailable: "服务器繁忙，请稍后再试",
    validation_error: "填写的内容有误，请检查",
  };

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || MESSAGES[problem && problem.code] || `HTTP ${status}`);
      this.status = status; // 0 = no answer (offline, timeout)
      this.code = (problem && problem.code) || (status === 0 ? "network" : "http_" + status);
      this.problem = problem || {};
      this.retryAfter = problem && problem.retry_after;
    }
    get retriable() {
      return this.status === 0 || this.status === 429 || this.status >= 500;
    }
    get message_zh() {
      return MESSAGES[this.code] || this.message;
    }
  }

  // fetch JSON: {method, body, token, key (Idempotency-Key), ifMatch, timeoutMs}. Resolves to {status, data, etag}.
  async function call(path, opts = {}) {
    const headers = { Accept: "application/json" };
    if (opts.token) headers.Authorization = "Bearer " + opts.token;
    if (opts.key) headers["Idempotency-Key"] = opts.key;
    if (opts.ifMatch) headers["If-Match"] = opts.ifMatch;
    let body = opts.body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), opts.timeoutMs || 15000);
    let response;
    try {
      response = await fetch(path, { method: opts.method || "GET", headers, body, signal: controller.signal });
    } catch (e) {
      throw new ApiError(0, null);
    } finally {
      clearTimeout(timer);
    }
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      const problem = data || {};
      if (response.headers.get("Retry-After")) problem.retry_after = Number(response.headers.get("Retry-After"));
      throw new ApiError(response.status, problem);
    }
    return { status: response.status, data, etag: response.headers.get("ETag") };
  }

  global.sciweek = Object.assign(global.sciweek || {}, { api: { call, newId, claims, ApiError, MESSAGES } });
})(typeof self !== "undefined" ? self : window);
