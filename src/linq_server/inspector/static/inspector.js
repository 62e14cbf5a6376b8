// The inspector's only script (no build step, no library): live redraws over server-sent events.
// The server sends "change" when the partner's chats or deliveries moved; the page then fetches itself
// again and swaps in every element marked data-live (forms stay as they are, with what is typed in them).
(() => {
  "use strict";
  const state = document.getElementById("live-state");
  const show = (text, name) => { if (state) { state.textContent = text; state.dataset.state = name; } };
  const nearBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  const toBottom = () => document.querySelectorAll("[data-stick-bottom]").forEach((el) => { el.scrollTop = el.scrollHeight; });

  let running = false;
  let again = false;
  async function redraw() {
    if (running) { again = true; return; }
    running = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
      if (response.redirected || !response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const region of document.querySelectorAll("[data-live][id]")) {
        const replacement = fresh.getElementById(region.id);
        if (!replacement || replacement.innerHTML === region.innerHTML) continue;
        const stick = region.hasAttribute("data-stick-bottom") && nearBottom(region);
        region.innerHTML = replacement.innerHTML;
        if (stick) region.scrollTop = region.scrollHeight;
      }
      document.body.dataset.redraws = String(Number(document.body.dataset.redraws || 0) + 1);
    } catch (error) {
      show("offline", "offline");
    } finally {
      running = false;
      if (again) { again = false; redraw(); }
    }
  }

  toBottom();
  // A conversation read at its newest stays there when the window changes size (a phone turned).
  document.querySelectorAll("[data-stick-bottom]").forEach((el) => {
    el.dataset.pinned = "yes";
    el.addEventListener("scroll", () => { el.dataset.pinned = nearBottom(el) ? "yes" : "no"; });
  });
  window.addEventListener("resize", () => document.querySelectorAll("[data-stick-bottom][data-pinned=yes]")
    .forEach((el) => { el.scrollTop = el.scrollHeight; }));
  // The stream starts from the activity mark the page was drawn at, so it reports at once any change
  // made meanwhile; a reconnect (streams end every few seconds) reports again from there: one redraw.
  const since = encodeURIComponent(document.body.dataset.mark || "");
  const source = new EventSource(`/inspector/events?since=${since}`);
  source.addEventListener("ready", () => show("live", "live"));
  source.addEventListener("change", redraw);
  source.addEventListener("error", () => show("reconnecting…", "reconnecting"));
})();
