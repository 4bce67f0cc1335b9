// Light or dark: the system's choice unless the user picked one (kept in localStorage).
// A classic script in <head>, so the page never flashes the wrong theme.
(function () {
  "use strict";
  const root = document.documentElement;

  function stored() {
    try {
      return localStorage.getItem("theme");
    } catch {
      return null;
    }
  }

  function current() {
    const choice = stored();
    if (choice === "light" || choice === "dark") return choice;
    return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function apply(theme) {
    root.dataset.theme = theme;
    const light = document.getElementById("hljs-light");
    const dark = document.getElementById("hljs-dark");
    if (light && dark) {
      light.media = theme === "light" ? "all" : "not all";
      dark.media = theme === "dark" ? "all" : "not all";
    }
  }

  apply(current());
  document.addEventListener("DOMContentLoaded", function () {
    apply(current());
    const button = document.getElementById("theme");
    if (!button) return;
    button.addEventListener("click", function () {
      const next = current() === "dark" ? "light" : "dark";
      try {
        localStorage.setItem("theme", next);
      } catch {
        // Private mode: the choice lasts for this page only.
      }
      apply(next);
    });
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
    apply(current());
  });
})();
