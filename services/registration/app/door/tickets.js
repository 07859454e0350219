// 离线验票 / tickets verified on the device: an Ed25519 (EdDSA) JWT checked against the service's public key
// (GET ../api/v1/public/ticket-key, kept on the device), with WebCrypto. No secret lives on the door device.
(function (global) {
  "use strict";
  const ISSUER = "sciweek-registration-ticket";

  function bytes(b64url) {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }
  async function importKey(jwk) {
    return crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
  }
  // the claims of a genuine ticket, or null (forged, altered, not a ticket)
  async function verify(key, token) {
    const parts = String(token).trim().split(".");
    if (parts.length !== 3) return null;
    try {
      const header = JSON.parse(new TextDecoder().decode(bytes(parts[0])));
      if (header.alg !== "EdDSA") return null;
      const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
      if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, bytes(parts[2]), signed))) return null;
      const claims = JSON.parse(new TextDecoder().decode(bytes(parts[1])));
      const ok = claims.iss === ISSUER && ["b", "v", "s", "d"].every((k) => typeof claims[k] === "string") && Number.isInteger(claims.n);
      return ok ? claims : null;
    } catch (e) {
      return null;
    }
  }
  global.sciweek = Object.assign(global.sciweek || {}, { tickets: { importKey, verify } });
})(window);
