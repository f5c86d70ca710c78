/* The admin UI's shared behaviour, used by every theme: the management API client
   ({success, message, data} envelope), formatting, forms, dialogs, paged tables, the
   signed-in user and the page-wide wiring (copy buttons, tabs, sign-out, money hints, the
   language switch). Every string a person reads goes through t(): the server puts the page's
   language's translations of the scripts' strings in #js-messages (from the same gettext
   catalogs as the templates), and numbers, money and dates are formatted by Intl in that
   language.
   Themes change only markup and CSS; every element used here is found by an id or a
   data- attribute that both themes render. */

const config = JSON.parse(document.getElementById("client-config").textContent);
const messages = JSON.parse(document.getElementById("js-messages").textContent);
const locale = config.language;
const LANGUAGE_COOKIE = "lang";
const LANGUAGE_KEY = "oneapi.language";
const PAGE_SIZE = 10;
const DEFAULT_PASSWORD_FLAG = "oneapi.defaultPassword";
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/* ---------- language ---------- */

/* ``text`` in the page's language; {name} placeholders are filled from ``params``. */
function t(text, params) {
  const translated = messages[text] || text;
  if (!params) return translated;
  return translated.replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}
window.OneApiI18n = {t, locale};  // for the classic scripts (chart.js)

/* The switch's choice: a cookie the server reads on the next page, and localStorage, which
   puts the cookie back when it was cleared or has expired. */
function chooseLanguage(tag) {
  document.cookie = `${LANGUAGE_COOKIE}=${encodeURIComponent(tag)}; path=/; max-age=31536000; samesite=lax`;
  localStorage.setItem(LANGUAGE_KEY, tag);
  location.reload();
}

const hasLanguageCookie = () => document.cookie.split(";").some((part) => part.trim().startsWith(`${LANGUAGE_COOKIE}=`));
const rememberedLanguage = localStorage.getItem(LANGUAGE_KEY);
/* once per tab: a browser that refuses cookies would otherwise reload for ever */
if (rememberedLanguage && rememberedLanguage !== locale && !hasLanguageCookie()
    && !sessionStorage.getItem(LANGUAGE_KEY)) {
  sessionStorage.setItem(LANGUAGE_KEY, "restored");
  chooseLanguage(rememberedLanguage);
}
for (const select of document.querySelectorAll("[data-language-switch]")) {
  select.addEventListener("change", () => chooseLanguage(select.value));
}

/* ---------- API ---------- */

class ApiError extends Error {}

async function request(method, path, body) {
  const init = {method, credentials: "same-origin", headers: {Accept: "application/json"}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(t("The server cannot be reached. Check your connection and try again."));
  }
  if (response.status === 401 && config.minRole > 0) {
    goToLogin();
    throw new ApiError(t("Your session has ended. Please sign in again."));
  }
  let payload;
  try {
    payload = await response.json();
  } catch (error) {
    throw new ApiError(t("The server answered {status} {reason} without a readable body.", {status: response.status, reason: response.statusText}));
  }
  if (!payload || payload.success !== true) {
    const error = new ApiError((payload && payload.message) || t("The request failed (HTTP {status}).", {status: response.status}));
    error.data = payload && payload.data;  // e.g. {require_2fa: true} from a sign-in
    throw error;
  }
  return payload;
}

const api = {
  get: async (path) => (await request("GET", path)).data,
  post: async (path, body) => (await request("POST", path, body || {})).data,
  put: async (path, body) => (await request("PUT", path, body || {})).data,
  del: async (path) => (await request("DELETE", path)).data,
  raw: request,
};

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== undefined && value !== null) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function goToLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login${query({next})}`);
}

/* ---------- formatting ---------- */

function money(quota) {
  const value = Number(quota) || 0;
  if (!config.displayInCurrency) return Math.round(value).toLocaleString(locale);
  const dollars = value / config.quotaPerUnit;
  const digits = dollars !== 0 && Math.abs(dollars) < 0.01 ? 6 : 2;
  return dollarFormat(digits).format(dollars);
}

/* US dollars in the page's language, written with "$" as one-api's pages write them */
function dollarFormat(digits, extra = {}) {
  return new Intl.NumberFormat(locale, {style: "currency", currency: "USD", currencyDisplay: "narrowSymbol",
    minimumFractionDigits: digits, maximumFractionDigits: digits, ...extra});
}

/* For prices: every digit up to a millionth of a dollar ($0.075, not $0.08). */
function unitPrice(quota) {
  const value = Number(quota) || 0;
  if (!config.displayInCurrency) return Math.round(value).toLocaleString(locale);
  return dollarFormat(2, {maximumFractionDigits: 6}).format(value / config.quotaPerUnit);
}

/* For statistic cards: large amounts in compact form ($1.2B); the exact figure is the title. */
function moneyShort(quota) {
  const value = Number(quota) || 0;
  const amount = config.displayInCurrency ? value / config.quotaPerUnit : value;
  if (Math.abs(amount) < 1e6) return money(quota);
  if (config.displayInCurrency) return dollarFormat(0, {notation: "compact", maximumFractionDigits: 2}).format(amount);
  return new Intl.NumberFormat(locale, {notation: "compact", maximumFractionDigits: 2}).format(amount);
}

function moneyHint(quota) {
  const value = Number(quota) || 0;
  return t("= {amount} ({quota} quota = $1)", {amount: dollarFormat(4).format(value / config.quotaPerUnit),
    quota: config.quotaPerUnit.toLocaleString(locale)});
}

const pad = (n) => String(n).padStart(2, "0");

const dateTimeFormat = new Intl.DateTimeFormat(locale, {year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"});
const dateTime = (seconds) => (!seconds || seconds <= 0 ? "–" : dateTimeFormat.format(new Date(seconds * 1000)));

function toLocalInput(seconds) {
  if (!seconds || seconds <= 0) return "";
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const fromLocalInput = (text) => (text ? Math.floor(new Date(text).getTime() / 1000) : 0);
const duration = (ms) => (!ms ? "–" : ms < 1000 ? `${Math.round(ms).toLocaleString(locale)} ms`
  : `${(ms / 1000).toLocaleString(locale, {minimumFractionDigits: 2, maximumFractionDigits: 2})} s`);
const fullKey = (key) => (!key ? "" : key.startsWith("sk-") ? key : `sk-${key}`);
const splitList = (text) => [...new Set(String(text || "").split(/[,\n]/).map((s) => s.trim()).filter(Boolean))];

/* ---------- DOM helpers ---------- */

function el(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value !== false && value !== undefined && value !== null) element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const badge = (text, colour) => el("span", {class: `badge badge-${colour}`}, text);

function actionButton(label, onClick, kind = "") {
  const theme = document.body.dataset.theme;
  const base = theme === "berry" ? "pill pill-sm" : "btn btn-sm";
  const variant = kind ? (theme === "berry" ? ` pill-${kind}` : ` btn-${kind}`) : (theme === "berry" ? " pill-outline" : "");
  return el("button", {class: base + variant, type: "button", onclick: onClick}, label);
}

function renderRows(tableId, rows, emptyText) {
  const table = document.getElementById(tableId);
  if (!table) return;
  const labels = $$("thead th", table).map((th) => th.textContent);
  const body = table.tBodies[0];
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", {colspan: labels.length, class: "muted"}, emptyText)));
    return;
  }
  body.replaceChildren(...rows.map((cells) => {
    const row = el("tr", {});
    cells.forEach((cell, index) => row.append(el("td", {"data-label": labels[index] || ""}, cell)));
    return row;
  }));
}

function showError(target, error) {
  const box = typeof target === "string" ? document.getElementById(target) : target;
  if (!box) return;
  box.textContent = error ? (error.message || String(error)) : "";
  box.hidden = !error;
}

function note(form, text) {
  const slot = $(".saved-note", form);
  if (slot) slot.textContent = text;
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {
    const area = el("textarea", {class: "sr-only"}, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    const label = button.textContent;
    button.textContent = t("Copied!");
    setTimeout(() => { button.textContent = label; }, 1500);
  }
}

/* ---------- forms and dialogs ---------- */

function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name || field.disabled) continue;
    if (field.type === "checkbox") values[field.name] = field.checked;
    else values[field.name] = field.value.trim();
  }
  return values;
}

function fillForm(form, data) {
  for (const field of form.elements) {
    if (!field.name || !(field.name in data)) continue;
    const value = data[field.name];
    if (field.type === "checkbox") field.checked = value === true || value === "true";
    else field.value = value === null || value === undefined ? "" : String(value);
    field.dispatchEvent(new Event("input", {bubbles: true}));
  }
}

function resetForm(form) {
  form.reset();
  showError($("[data-error]", form), null);
  for (const field of form.elements) field.dispatchEvent(new Event("input", {bubbles: true}));
}

function bindForm(name, handler) {
  for (const form of $$(`form[data-form="${name}"]`)) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const errorBox = $("[data-error]", form);
      showError(errorBox, null);
      note(form, "");
      const buttons = $$("button[type=submit]", form);
      const labels = buttons.map((button) => button.textContent);
      buttons.forEach((button) => {
        button.disabled = true;
        if (button.dataset.busy) button.textContent = button.dataset.busy;
      });
      try {
        await handler(formValues(form), form);
      } catch (error) {
        showError(errorBox, error);
        const first = $("input:not([type=hidden]), select, textarea", form);
        if (errorBox && !errorBox.hidden && first && !form.contains(document.activeElement)) first.focus();
      } finally {
        buttons.forEach((button, index) => { button.disabled = false; button.textContent = labels[index]; });
      }
    });
  }
}

function openDialog(id) {
  const dialog = document.getElementById(id);
  if (!dialog.open) dialog.showModal();
  const first = $("input:not([type=hidden]):not([readonly]), select, textarea, button", dialog);
  if (first) first.focus();
  return dialog;
}

function closeDialog(element) {
  const dialog = element.closest("dialog");
  if (dialog && dialog.open) dialog.close();
}

function requireValid(condition, message) {
  if (!condition) throw new ApiError(message);
}

function parseJsonField(text, label) {
  if (!text) return;
  try {
    JSON.parse(text);
  } catch (error) {
    throw new ApiError(t("{label} is not valid JSON: {error}", {label, error: error.message}));
  }
}

/* ---------- paging ---------- */

function pager(id, load) {
  const nav = document.getElementById(id);
  const state = {page: 0, keyword: ""};
  if (!nav) return state;
  const [previous, next] = $$("[data-page-step]", nav);
  const label = $(".pager-label", nav);
  state.update = (count) => {
    label.textContent = t("Page {number}", {number: state.page + 1});
    previous.disabled = state.page === 0;
    next.disabled = count < PAGE_SIZE;
  };
  previous.addEventListener("click", () => { state.page = Math.max(0, state.page - 1); load(); });
  next.addEventListener("click", () => { state.page += 1; load(); });
  return state;
}

function listPath(base, state) {
  return state.keyword ? `${base}search${query({keyword: state.keyword, p: state.page})}` : `${base}${query({p: state.page})}`;
}

function bindSearch(id, state, load) {
  const form = $(`form[data-search="${id}"]`);
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.keyword = document.getElementById(id).value.trim();
    state.page = 0;
    load();
  });
}

/* A paged, searchable table filled from one management list route. */
function managedList({table, search, errorId, base, empty, render}) {
  const list = {items: []};
  const state = pager(`${table}-pager`, () => list.load());
  list.state = state;
  list.load = async () => {
    showError(errorId, null);
    try {
      list.items = asList(await api.get(listPath(base, state)));
      state.update(list.items.length);
      renderRows(table, list.items.map(render), state.keyword ? t("Nothing matches the search.") : empty);
    } catch (error) {
      showError(errorId, error);
      renderRows(table, [], t("The list could not be loaded."));
    }
    return list.items;
  };
  /* Run an action on a row (after an optional confirmation), show its error, reload. */
  list.act = async (action, question) => {
    if (question && !confirm(question)) return;
    try {
      await action();
      await list.load();
    } catch (error) { showError(errorId, error); }
  };
  bindSearch(search, state, list.load);
  return list;
}

const asList = (data) => (Array.isArray(data) ? data : (data && Array.isArray(data.data) ? data.data : []));

/* ---------- session ---------- */

const session = {user: null};

function applyUser(user) {
  session.user = user;
  for (const slot of $$("[data-user-name]")) slot.textContent = user.display_name || user.username;
  for (const slot of $$("[data-user-initial]")) slot.textContent = (user.display_name || user.username || "?").slice(0, 1).toUpperCase();
  for (const item of $$("[data-min-role]")) {
    if (user.role < Number(item.dataset.minRole)) {
      const wrapper = item.closest(".field, .outlined") || item;
      wrapper.hidden = true;
      item.disabled = true;
    }
  }
  const denied = user.role < config.minRole;
  for (const box of $$(".permission-denied")) box.hidden = !denied;
  for (const body of $$(".page-body")) body.hidden = denied;
  showDefaultPasswordNotice();
  return !denied;
}

function showDefaultPasswordNotice() {
  const flagged = localStorage.getItem(DEFAULT_PASSWORD_FLAG) === "1";
  for (const box of $$("[data-default-password]")) box.hidden = !flagged;
}

async function refreshSelf() {
  const user = await api.get("/api/user/self");
  session.user = user;
  setStat("stat-quota", user.quota);
  setStat("stat-used", user.used_quota);
  setText("stat-requests", (user.request_count || 0).toLocaleString(locale));
  return user;
}

function setStat(id, quota) {
  const element = document.getElementById(id);
  if (!element) return;
  element.textContent = moneyShort(quota);
  element.title = money(quota);
}

function setText(id, text) {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}

function logRows(logs, columns) {
  return logs.map((log) => columns.map((column) => {
    switch (column) {
      case "time": return dateTime(log.created_at);
      case "channel": return log.channel || log.channel_id || "–";
      case "user": return log.username || "–";
      case "token": return log.token_name || "–";
      case "type": return logTypeBadge(log.type);
      case "model": return log.model_name || "–";
      case "prompt": return promptTokens(log);
      case "completion": return String(log.completion_tokens ?? 0);
      case "cost": return money(log.quota);
      case "duration": return duration(log.elapsed_time);
      case "detail": return detailText(log);
      default: return "";
    }
  }));
}

function logFacts(log) {
  try { return log.other ? JSON.parse(log.other) : {}; } catch { return {}; }
}

/* the content, and the client's hosted tools its channel had no form for */
function detailText(log) {
  const omitted = logFacts(log)["omitted-tools"];
  const content = log.content || "";
  return omitted ? t("{content} (tools left out: {tools})", {content, tools: omitted.replaceAll(",", ", ")}) : content;
}

/* prompt tokens, with the prompt-cache reads and writes billed at their own ratios */
function promptTokens(log) {
  const facts = logFacts(log);
  const parts = [];
  if (facts.cache_read_tokens) parts.push(t("{count} cache read", {count: facts.cache_read_tokens}));
  if (facts.cache_write_tokens) parts.push(t("{count} cache write", {count: facts.cache_write_tokens}));
  const total = String(log.prompt_tokens ?? 0);
  return parts.length ? `${total} (${parts.join(", ")})` : total;
}

const LOG_TYPES = {1: [t("Top-up"), "blue"], 2: [t("Consume"), "green"], 3: [t("Manage"), "orange"], 4: [t("System"), "purple"], 5: [t("Test"), "violet"]};
function logTypeBadge(type) {
  const [label, colour] = LOG_TYPES[type] || [t("Unknown"), "grey"];
  return badge(label, colour);
}

/* ---------- wiring shared by every page ---------- */

document.addEventListener("click", async (event) => {
  const target = event.target;
  const close = target.closest("[data-close]");
  if (close) closeDialog(close);
  const copy = target.closest("[data-copy]");
  if (copy) copyText(document.getElementById(copy.dataset.copy).value, copy);
  if (target.closest("[data-action='logout']")) {
    try { await api.get("/api/user/logout"); } catch (error) { /* signed out either way */ }
    location.assign("/login");
  }
});

/* Tabs: [data-tabs] holds role=tab buttons whose aria-controls name [data-tab-panel]s. */
function selectTab(tab, focus) {
  const list = tab.closest("[data-tabs]");
  for (const other of $$("[role=tab]", list)) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
}

for (const list of $$("[data-tabs]")) {
  const tabs = $$("[role=tab]", list);
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", (event) => {
      const step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[event.key];
      if (!step) return;
      event.preventDefault();
      selectTab(tabs[(index + step + tabs.length) % tabs.length], true);
    });
  });
  if (tabs.length) selectTab(tabs[0], false);
}

document.addEventListener("input", (event) => {
  const hint = event.target.id && $(`[data-money-for="${event.target.id}"]`);
  if (hint) hint.textContent = event.target.value ? moneyHint(event.target.value) : "";
});

export {
  $, $$, DEFAULT_PASSWORD_FLAG, PAGE_SIZE, actionButton, api, applyUser, asList, badge, bindForm,
  closeDialog, config, copyText, dateTime, detailText, duration, el, fillForm, formValues, fromLocalInput,
  fullKey, goToLogin, locale, logFacts, logRows, logTypeBadge, managedList, money, note, openDialog, pager,
  parseJsonField, query, refreshSelf, renderRows, requireValid, resetForm, session, setText,
  showDefaultPasswordNotice, showError, splitList, t, toLocalInput, unitPrice,
};
