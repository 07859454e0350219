// sciweek 设备登录凭据 / a console's credential on this device (served at lib/credential.js by every service).
// sciweek.credentialFor({key, accept}) keeps one token in localStorage under `key`: an invitation link's
// #invite=<secret> is exchanged once at `accept` (a relative URL, retried safely with this device's id) and a
// staff token may be handed over as #token=<jwt>. Either is removed from the address at once.
(function (global) {
  "use strict";
  const DEVICE = "sciweek.device";

  const { claims } = global.sciweek.api;
  function deviceId() {
    let id = localStorage.getItem(DEVICE);
    if (!id) localStorage.setItem(DEVICE, (id = global.sciweek.api.newId()));
    return id;
  }
  function credentialFor({ key, accept }) {
    function current() {
      const token = localStorage.getItem(key);
      const c = token && claims(token);
      if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
      return { token, ...c };
    }
    async function fromAddress() {
      const hash = new URLSearchParams(location.hash.slice(1));
      if (hash.get("token")) localStorage.setItem(key, hash.get("token"));
      if (hash.get("invite") && accept) {
        const { data } = await global.sciweek.api.call(accept, {
          method: "POST",
          body: { secret: hash.get("invite"), device_id: deviceId() },
        });
        localStorage.setItem(key, data.token);
      }
      if (hash.get("token") || hash.get("invite")) history.replaceState(null, "", location.pathname + location.search);
      return current();
    }
    function signOut() {
      localStorage.removeItem(key);
    }
    return { current, fromAddress, signOut };
  }
  global.sciweek = Object.assign(global.sciweek || {}, { credentialFor });
})(window);
