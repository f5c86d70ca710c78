/* Berry theme: the sidebar collapses to an icon rail (remembered) or, on phones, slides in
   as a drawer over a scrim; the avatar opens an account menu. */
(() => {
  "use strict";
  const body = document.body;
  const toggle = document.querySelector("[data-sidebar-toggle]");
  const scrim = document.querySelector("[data-sidebar-close]");
  const phone = window.matchMedia("(max-width: 900px)");
  const RAIL_KEY = "oneapi.berry.rail";

  function setDrawer(open) {
    body.classList.toggle("drawer-open", open);
    if (scrim) scrim.hidden = !open;
    if (toggle) toggle.setAttribute("aria-expanded", String(open));
  }

  function sync() {
    if (phone.matches) setDrawer(false);
    else {
      if (scrim) scrim.hidden = true;
      body.classList.remove("drawer-open");
      const rail = localStorage.getItem(RAIL_KEY) === "1";
      body.classList.toggle("rail", rail);
      if (toggle) toggle.setAttribute("aria-expanded", String(!rail));
    }
  }

  if (toggle) {
    toggle.addEventListener("click", () => {
      if (phone.matches) setDrawer(!body.classList.contains("drawer-open"));
      else {
        const rail = !body.classList.contains("rail");
        localStorage.setItem(RAIL_KEY, rail ? "1" : "0");
        sync();
      }
    });
  }
  if (scrim) scrim.addEventListener("click", () => setDrawer(false));
  phone.addEventListener("change", sync);
  sync();

  const accountToggle = document.querySelector("[data-account-toggle]");
  const accountMenu = document.getElementById("account-menu");
  function setAccount(open) {
    if (!accountMenu) return;
    accountMenu.hidden = !open;
    accountToggle.setAttribute("aria-expanded", String(open));
  }
  if (accountToggle) {
    accountToggle.addEventListener("click", (event) => {
      event.stopPropagation();
      setAccount(accountMenu.hidden);
      if (!accountMenu.hidden) accountMenu.querySelector("a, button").focus();
    });
    document.addEventListener("click", (event) => { if (!accountMenu.contains(event.target)) setAccount(false); });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (accountMenu && !accountMenu.hidden) { setAccount(false); accountToggle.focus(); }
    if (body.classList.contains("drawer-open")) setDrawer(false);
  });
})();
