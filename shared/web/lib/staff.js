// 工作人员登录凭据 / a staff member's bearer token on this tab. In production it comes from the organisation's identity
// provider; here it is pasted once or handed over in the address (#token=…), then kept in sessionStorage (this tab
// only, gone when it closes) and removed from the address bar.
(function (global) {
  "use strict";
  const KEY = "sciweek.staff.token";

  const { claims } = global.sciweek.api;
  function current() {
    const token = sessionStorage.getItem(KEY);
    const c = token && claims(token);
    if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
    return { token, ...c };
  }
  function fromAddress() {
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.get("token")) {
      sessionStorage.setItem(KEY, hash.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return current();
  }
  function signIn(token) {
    const c = claims(token.trim());
    if (!c) return null;
    sessionStorage.setItem(KEY, token.trim());
    return current();
  }
  function signOut() {
    sessionStorage.removeItem(KEY);
  }
  global.sciweek = Object.assign(global.sciweek || {}, { staff: { current, fromAddress, signIn, signOut } });
})(window);
