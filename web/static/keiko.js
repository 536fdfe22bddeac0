// Keiko's shared page script: the theme switch. Pages work without it;
// it only remembers a choice that differs from the system's.
(function () {
  "use strict";
  const root = document.documentElement;
  function current() {
    if (root.dataset.theme) return root.dataset.theme;
    return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-theme-toggle]");
    if (!b) return;
    const next = current() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    document.cookie = `keiko_theme=${next}; path=/; max-age=31536000; samesite=lax`;
    document.dispatchEvent(new CustomEvent("keiko-theme", { detail: next }));
  });
})();
