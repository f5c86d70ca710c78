/* Default theme: the top menu folds into a toggled list on narrow screens. */
(() => {
  "use strict";
  const toggle = document.querySelector("[data-menu-toggle]");
  const menu = document.getElementById("main-menu");
  if (!toggle || !menu) return;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
})();
