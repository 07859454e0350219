// 运营者登录凭据 / the operator's credential on this device, shared by the portal (/operator/) and the door (/door/).
// An invitation link (#invite=…) is exchanged once for a token (role venue, its venues); a coordinator's own
// token may be handed over as #token=…. Stored in localStorage of this origin; revocable by the city.
(function (global) {
  "use strict";
  const KEY = "sciweek.operator.token";
  const DEVICE = "sciweek.device";

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) {
      return null;
    }
  }
  function deviceId() {
    let id = localStorage.getItem(DEVICE);
    if (!id) localStorage.setItem(DEVICE, (id = global.sciweek.api.newId()));
    return id;
  }
  function current() {
    const token = localStorage.getItem(KEY);
    const c = token && claims(token);
    if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
    return { token, ...c };
  }
  // the hash of the address: accept an invitation (retried safely with this device's id) or take a token
  async function fromAddress() {
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.get("token")) localStorage.setItem(KEY, hash.get("token"));
    if (hash.get("invite")) {
      const { data } = await global.sciweek.api.call("../api/v1/public/invitations/accept", {
        method: "POST",
        body: { secret: hash.get("invite"), device_id: deviceId() },
      });
      localStorage.setItem(KEY, data.token);
    }
    if (hash.get("token") || hash.get("invite")) history.replaceState(null, "", location.pathname + location.search);
    return current();
  }
  function signOut() {
    localStorage.removeItem(KEY);
  }
  global.sciweek = Object.assign(global.sciweek || {}, { credential: { current, fromAddress, signOut, claims } });
})(window);
