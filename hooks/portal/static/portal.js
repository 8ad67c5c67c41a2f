// kubehooks portal: live regions. Every page reads without this script; with it, a page that
// asks for polling (<body data-poll="ms">) re-fetches itself and swaps each [data-live] region
// (by id) for the fresh one. The server escaped everything; nothing here builds HTML from text.
"use strict";
(function () {
  const period = Number(document.body.dataset.poll || 0);
  if (!period || !window.fetch || !window.DOMParser) return;
  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const answer = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "portal-poll" },
        cache: "no-store",
      });
      if (!answer.ok || new URL(answer.url).pathname !== window.location.pathname) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      for (const region of document.querySelectorAll("[data-live][id]")) {
        const next = fresh.getElementById(region.id);
        // A keyboard user's focus inside a region is not taken away: it waits for the next tick.
        if (region.contains(document.activeElement) && document.activeElement !== document.body) {
          continue;
        }
        if (next && next.innerHTML !== region.innerHTML) {
          region.replaceWith(document.adoptNode(next));
        }
      }
      document.body.dataset.refreshed = String(Date.now());
    } catch (err) {
      // offline or the portal restarting: try again at the next tick
    } finally {
      busy = false;
    }
  }
  window.setInterval(refresh, period);
  document.addEventListener("visibilitychange", refresh);
})();
