// The monitoring page's only script, embedded in the binary: every element with data-live is
// replaced every few seconds by the fragment its URL renders (the same server-side code as the
// full page), and forms with data-confirm ask first. Without JavaScript the pages still work;
// they are only not live.
"use strict";
for (const el of document.querySelectorAll("[data-live]")) {
  const every = Number(el.dataset.every || 3000);
  const tick = async () => {
    try {
      const answer = await fetch(el.dataset.live, { credentials: "same-origin", cache: "no-store" });
      if (answer.status === 401) { location.reload(); return; }
      if (answer.ok) {
        el.innerHTML = await answer.text();
        el.dataset.updated = String(Date.now());
      }
    } catch (_) { /* the next tick tries again */ }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
