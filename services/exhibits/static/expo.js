// 云上科技展 / the cloud exhibition's only script: progressive enhancement, the pages work without it.
// Search as you type (the server's own result list, swapped in), live view counts, the share button.
(function () {
  "use strict";

  const form = document.querySelector("form[data-live-search]");
  if (form && window.fetch && window.DOMParser) {
    let timer = null;
    let asked = 0;
    const refresh = async () => {
      const query = new URLSearchParams(new FormData(form));
      const url = form.getAttribute("action") + "?" + query.toString();
      const ticket = ++asked;
      const reply = await fetch(url, { headers: { Accept: "text/html" } });
      if (!reply.ok || ticket !== asked) return; // a later keystroke's answer wins
      const page = new DOMParser().parseFromString(await reply.text(), "text/html");
      const fresh = page.getElementById("results");
      const shown = document.getElementById("results");
      if (fresh && shown) shown.replaceWith(fresh);
      history.replaceState(null, "", url);
    };
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => refresh().catch(() => {}), 250);
    });
  }

  const views = document.querySelector("[data-views]");
  if (views && window.fetch) {
    const show = async () => {
      if (document.hidden) return;
      const reply = await fetch(views.getAttribute("data-views"));
      if (reply.ok) views.textContent = " · 浏览 " + (await reply.json()).views + " 次";
    };
    show().catch(() => {});
    setInterval(() => show().catch(() => {}), 20000);
  }

  const share = document.querySelector("[data-share]");
  const link = document.getElementById("share-url");
  if (share && link) {
    share.hidden = false;
    share.addEventListener("click", async () => {
      try {
        if (navigator.share) await navigator.share({ title: document.title, url: link.value });
        else {
          await navigator.clipboard.writeText(link.value);
          share.textContent = "已复制链接";
        }
      } catch (e) {
        link.select();
      }
    });
  }
})();
