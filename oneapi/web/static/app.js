/* The admin UI's behaviour, shared by every theme: talks to the management API
   ({success, message, data} envelope), fills the server-rendered pages and wires their forms.
   Themes only change markup and CSS; every element this script uses is found by an id or a
   data- attribute that both themes render. */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("client-config").textContent);
  const PAGE_SIZE = 10;
  const DEFAULT_PASSWORD_FLAG = "oneapi.defaultPassword";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

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
      throw new ApiError("The server cannot be reached. Check your connection and try again.");
    }
    if (response.status === 401 && config.minRole > 0) {
      goToLogin();
      throw new ApiError("Your session has ended. Please sign in again.");
    }
    let payload;
    try {
      payload = await response.json();
    } catch (error) {
      throw new ApiError(`The server answered ${response.status} ${response.statusText} without a readable body.`);
    }
    if (!payload || payload.success !== true) {
      throw new ApiError((payload && payload.message) || `The request failed (HTTP ${response.status}).`);
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
    if (!config.displayInCurrency) return Math.round(value).toLocaleString("en-US");
    const dollars = value / config.quotaPerUnit;
    const digits = dollars !== 0 && Math.abs(dollars) < 0.01 ? 6 : 2;
    return `$${dollars.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits})}`;
  }

  /* For statistic cards: large amounts in compact form ($1.2B); the exact figure is the title. */
  function moneyShort(quota) {
    const value = Number(quota) || 0;
    const amount = config.displayInCurrency ? value / config.quotaPerUnit : value;
    if (Math.abs(amount) < 1e6) return money(quota);
    const text = new Intl.NumberFormat("en-US", {notation: "compact", maximumFractionDigits: 2}).format(amount);
    return config.displayInCurrency ? `$${text}` : text;
  }

  function moneyHint(quota) {
    const value = Number(quota) || 0;
    return `= $${(value / config.quotaPerUnit).toFixed(4)} (${config.quotaPerUnit.toLocaleString("en-US")} quota = $1)`;
  }

  const pad = (n) => String(n).padStart(2, "0");

  function dateTime(seconds) {
    if (!seconds || seconds <= 0) return "–";
    const d = new Date(seconds * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function toLocalInput(seconds) {
    if (!seconds || seconds <= 0) return "";
    const d = new Date(seconds * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  const fromLocalInput = (text) => (text ? Math.floor(new Date(text).getTime() / 1000) : 0);
  const duration = (ms) => (!ms ? "–" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
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
      button.textContent = "Copied!";
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
      throw new ApiError(`${label} is not valid JSON: ${error.message}`);
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
      label.textContent = `Page ${state.page + 1}`;
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
    setText("stat-requests", (user.request_count || 0).toLocaleString("en-US"));
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
        case "prompt": return String(log.prompt_tokens ?? 0);
        case "completion": return String(log.completion_tokens ?? 0);
        case "cost": return money(log.quota);
        case "duration": return duration(log.elapsed_time);
        case "detail": return log.content || "";
        default: return "";
      }
    }));
  }

  const LOG_TYPES = {1: ["Top-up", "blue"], 2: ["Consume", "green"], 3: ["Manage", "orange"], 4: ["System", "purple"], 5: ["Test", "violet"]};
  function logTypeBadge(type) {
    const [label, colour] = LOG_TYPES[type] || ["Unknown", "grey"];
    return badge(label, colour);
  }

  /* ---------- pages ---------- */

  const pages = {};

  pages.login = () => {
    const next = new URLSearchParams(location.search).get("next");
    api.get("/api/user/self").then(() => location.replace("/dashboard")).catch(() => {});  // signed in already
    bindForm("login", async (values) => {
      requireValid(values.username && values.password, "Enter your username and password.");
      await api.post("/api/user/login", {username: values.username, password: values.password});
      if (values.username === "root" && values.password === "123456") {
        localStorage.setItem(DEFAULT_PASSWORD_FLAG, "1");
        location.assign("/profile#password");
        return;
      }
      localStorage.removeItem(DEFAULT_PASSWORD_FLAG);
      location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard");
    });
  };

  pages.register = () => {
    bindForm("register", async (values) => {
      requireValid(values.username, "Choose a username.");
      requireValid(values.password.length >= 8 && values.password.length <= 20, "The password must have 8 to 20 characters.");
      requireValid(values.password === values.password2, "The two passwords differ.");
      await api.post(`/api/user/register${query({turnstile: ""})}`,
        {username: values.username, password: values.password, aff_code: values.aff_code});
      location.assign("/login");
    });
  };

  pages.dashboard = async () => {
    refreshSelf().catch((error) => setText("stat-quota", error.message));
    try {
      const rows = asList(await api.get("/api/user/dashboard")).map((row) => ({
        day: row.Day || row.day, model: row.ModelName || row.model_name || "unknown",
        quota: Number(row.Quota ?? row.quota ?? 0), requests: Number(row.RequestCount ?? row.request_count ?? 0),
        tokens: Number(row.token_used ?? (Number(row.PromptTokens ?? 0) + Number(row.CompletionTokens ?? 0))),
      }));
      setText("stat-tokens", rows.reduce((sum, row) => sum + row.tokens, 0).toLocaleString("en-US"));
      window.OneApiChart.daily(document.getElementById("chart-daily"), rows, money);
      window.OneApiChart.perModel(document.getElementById("chart-models"), rows, money);
    } catch (error) {
      for (const id of ["chart-daily", "chart-models"]) setText(id, error.message);
    }
    try {
      const logs = asList(await api.get(`/api/log/self${query({p: 0, type: 2})}`));
      renderRows("recent-logs", logRows(logs, ["time", "model", "token", "prompt", "completion", "cost", "duration"]),
        "No requests yet. Create a token and point an OpenAI client at /v1.");
    } catch (error) {
      renderRows("recent-logs", [], error.message);
    }
  };

  pages.channel = () => {
    const types = JSON.parse(document.getElementById("channel-types").textContent);
    const typeById = new Map(types.map((type) => [type.id, type]));
    const form = $('form[data-form="channel"]');
    const state = pager("channels-pager", load);
    const STATUS = {1: ["Enabled", "green"], 2: ["Disabled", "grey"], 3: ["Auto-disabled", "red"]};
    let previousType = null;

    function responseCell(channel) {
      const cell = el("span", {class: "response-time", "data-channel-time": channel.id});
      if (!channel.test_time) cell.append(badge("Not tested", "grey"));
      else {
        const ms = channel.response_time || 0;
        cell.append(badge(duration(ms), ms < 1000 ? "green" : ms < 3000 ? "blue" : ms < 5000 ? "orange" : "red"));
      }
      return cell;
    }

    function balanceCell(channel) {
      const type = typeById.get(channel.type);
      if (!type || !type.balance) return "–";
      const cell = el("span", {class: "balance-cell"},
        channel.balance_updated_time ? `$${Number(channel.balance).toFixed(2)} ` : "");
      cell.append(actionButton("Update", async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          await api.raw("GET", `/api/channel/update_balance/${channel.id}`);
          await load();
        } catch (error) {
          showError("channel-list-error", error);
          button.disabled = false;
        }
      }));
      return cell;
    }

    async function load() {
      showError("channel-list-error", null);
      try {
        const channels = asList(await api.get(listPath("/api/channel/", state)));
        state.update(channels.length);
        renderRows("channels", channels.map((channel) => [
          String(channel.id), channel.name, (typeById.get(channel.type) || {name: `Type ${channel.type}`}).name,
          badge(...(STATUS[channel.status] || ["Unknown", "grey"])), channel.group || "default",
          String(channel.priority ?? 0), String(channel.weight ?? 0), responseCell(channel), balanceCell(channel),
          money(channel.used_quota),
          el("span", {class: "row-actions"},
            actionButton("Test", (event) => testOne(channel, event.currentTarget), "secondary"),
            actionButton(channel.status === 1 ? "Disable" : "Enable", () => setStatus(channel, channel.status === 1 ? 2 : 1)),
            actionButton("Edit", () => edit(channel.id)),
            actionButton("Delete", () => remove(channel), "danger")),
        ]), state.keyword ? "No channel matches." : "No channels yet. Add one to start relaying.");
      } catch (error) {
        showError("channel-list-error", error);
        renderRows("channels", [], "Channels could not be loaded.");
      }
    }

    async function testOne(channel, button) {
      const slot = $(`[data-channel-time="${channel.id}"]`);
      if (button) { button.disabled = true; button.textContent = "Testing…"; }
      try {
        const payload = await api.raw("GET", `/api/channel/test/${channel.id}`);
        const seconds = Number(payload.time ?? 0);
        const result = badge(duration(seconds * 1000), seconds < 1 ? "green" : seconds < 5 ? "blue" : "orange");
        if (payload.modelName) result.title = `Answered ${payload.modelName} in ${duration(seconds * 1000)}`;
        if (slot) slot.replaceChildren(result);
        return {ok: true, seconds};
      } catch (error) {
        if (slot) slot.replaceChildren(badge("Failed", "red"), el("small", {class: "test-error"}, error.message));
        return {ok: false, error};
      } finally {
        if (button) { button.disabled = false; button.textContent = "Test"; }
      }
    }

    async function allChannels() {
      const all = [];
      for (let page = 0; page < 1000; page += 1) {
        const batch = asList(await api.get(`/api/channel/${query({p: page})}`));
        all.push(...batch);
        if (batch.length < PAGE_SIZE) break;
      }
      return all;
    }

    async function testAll(button) {
      const box = document.getElementById("channel-progress");
      const bar = $("progress", box);
      const text = $("[data-progress-text]", box);
      button.disabled = true;
      box.hidden = false;
      bar.value = 0;
      text.textContent = "listing channels…";
      try {
        const channels = (await allChannels()).filter((channel) => channel.status !== 2);
        let passed = 0;
        for (const [index, channel] of channels.entries()) {
          text.textContent = `${index} of ${channels.length} done; testing ${channel.name}…`;
          const result = await testOne(channel, null);
          if (result.ok) passed += 1;
          bar.value = (100 * (index + 1)) / channels.length;
        }
        bar.value = 100;
        text.textContent = `${channels.length} tested: ${passed} passed, ${channels.length - passed} failed.`;
        await load();
      } catch (error) {
        text.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    }

    async function setStatus(channel, status) {
      try {
        await api.put("/api/channel/", {id: channel.id, status});
        await load();
      } catch (error) { showError("channel-list-error", error); }
    }

    async function remove(channel) {
      if (!confirm(`Delete channel "${channel.name}"?`)) return;
      try {
        await api.del(`/api/channel/${channel.id}`);
        await load();
      } catch (error) { showError("channel-list-error", error); }
    }

    function applyType(typeId, fillModels) {
      const type = typeById.get(Number(typeId));
      const base = form.elements.base_url;
      const old = previousType && typeById.get(previousType);
      if (type && (!base.value || (old && base.value === old.base_url))) base.value = type.base_url;
      base.placeholder = type && type.base_url ? type.base_url : "Base URL of the OpenAI-compatible upstream";
      if (fillModels && type && !form.elements.models.value) form.elements.models.value = type.models.join(",");
      form.elements.other.closest(".field, .outlined").hidden = Number(typeId) !== 3;
      previousType = Number(typeId);
      form.elements.base_url.dispatchEvent(new Event("input", {bubbles: true}));
    }

    function create() {
      resetForm(form);
      previousType = null;
      form.elements.id.value = "";
      form.elements.type.value = "1";
      applyType(1, true);
      $("h2", document.getElementById("channel-dialog")).textContent = "Add channel";
      openDialog("channel-dialog");
    }

    async function edit(id) {
      try {
        const channel = await api.get(`/api/channel/${id}`);
        resetForm(form);
        previousType = channel.type;
        fillForm(form, {...channel, key: ""});
        applyType(channel.type, false);
        $("h2", document.getElementById("channel-dialog")).textContent = `Edit channel #${id}`;
        openDialog("channel-dialog");
      } catch (error) { showError("channel-list-error", error); }
    }

    form.elements.type.addEventListener("change", () => applyType(form.elements.type.value, true));
    bindForm("channel", async (values) => {
      requireValid(values.name, "Give the channel a name.");
      parseJsonField(values.model_mapping, "Model mapping");
      const body = {...values, type: Number(values.type), priority: Number(values.priority || 0),
        weight: Number(values.weight || 0), models: splitList(values.models).join(",")};
      requireValid(body.models, "List at least one model.");
      if (values.id) {
        body.id = Number(values.id);
        if (!body.key) delete body.key;
        await api.put("/api/channel/", body);
      } else {
        delete body.id;
        requireValid(body.key, "Enter the upstream key (one per line to add several channels).");
        await api.post("/api/channel/", body);
      }
      closeDialog(form);
      await load();
    });

    document.addEventListener("click", async (event) => {
      const action = event.target.closest("[data-action]");
      if (!action) return;
      const name = action.dataset.action;
      if (name === "channel-new") create();
      else if (name === "channel-test-all") testAll(action);
      else if (name === "channel-delete-disabled") {
        if (!confirm("Delete every disabled channel?")) return;
        try {
          await api.del("/api/channel/disabled");
          await load();
        } catch (error) { showError("channel-list-error", error); }
      } else if (name === "channel-default-models") {
        const type = typeById.get(Number(form.elements.type.value));
        form.elements.models.value = splitList([form.elements.models.value, ...(type ? type.models : [])].join(",")).join(",");
      } else if (name === "channel-clear-models") form.elements.models.value = "";
      else if (name === "channel-fetch-models") {
        const errorBox = $("[data-error]", form);
        showError(errorBox, null);
        action.disabled = true;
        try {
          const values = formValues(form);
          requireValid(values.id, "Save the channel first; its models can then be fetched with its stored key.");
          const data = await api.get(`/api/channel/fetch_models/${values.id}`);
          const models = asList(data).map((item) => (typeof item === "string" ? item : item.id)).filter(Boolean);
          requireValid(models.length, "The upstream listed no models.");
          form.elements.models.value = splitList(models.join(",")).join(",");
        } catch (error) {
          showError(errorBox, error);
        } finally { action.disabled = false; }
      }
    });
    bindSearch("channel-search", state, load);
    load();
  };

  pages.token = () => {
    const form = $('form[data-form="token"]');
    const state = pager("tokens-pager", load);
    const STATUS = {1: ["Enabled", "green"], 2: ["Disabled", "grey"], 3: ["Expired", "orange"], 4: ["Exhausted", "red"]};
    for (const slot of $$("[data-base-url]")) slot.textContent = `${location.origin}/v1`;

    function keyCell(token) {
      const key = fullKey(token.key);
      return el("span", {class: "key-cell"}, el("code", {class: "token-key", "data-token-name": token.name}, key),
        actionButton("Copy", (event) => copyText(key, event.currentTarget)));
    }

    async function load() {
      showError("token-list-error", null);
      try {
        const tokens = asList(await api.get(listPath("/api/token/", state)));
        state.update(tokens.length);
        renderRows("tokens", tokens.map((token) => [
          token.name, keyCell(token), badge(...(STATUS[token.status] || ["Unknown", "grey"])), money(token.used_quota),
          token.unlimited_quota ? "Unlimited" : money(token.remain_quota), dateTime(token.created_time),
          token.expired_time === -1 ? "Never" : dateTime(token.expired_time),
          el("span", {class: "row-actions"},
            actionButton(token.status === 1 ? "Disable" : "Enable", () => setStatus(token, token.status === 1 ? 2 : 1)),
            actionButton("Edit", () => edit(token.id)),
            actionButton("Delete", () => remove(token), "danger")),
        ]), state.keyword ? "No token matches." : "No tokens yet. Create one to call the API.");
        return tokens;
      } catch (error) {
        showError("token-list-error", error);
        renderRows("tokens", [], "Tokens could not be loaded.");
        return [];
      }
    }

    async function setStatus(token, status) {
      try {
        await api.put(`/api/token/${query({status_only: "true"})}`, {id: token.id, status});
        await load();
      } catch (error) { showError("token-list-error", error); }
    }

    async function remove(token) {
      if (!confirm(`Delete token "${token.name}"? Clients using it stop working.`)) return;
      try {
        await api.del(`/api/token/${token.id}`);
        await load();
      } catch (error) { showError("token-list-error", error); }
    }

    function syncUnlimited() {
      const quota = form.elements.remain_quota;
      quota.disabled = form.elements.unlimited_quota.checked;
      quota.closest(".field, .outlined").classList.toggle("is-disabled", quota.disabled);
    }

    async function edit(id) {
      try {
        const token = await api.get(`/api/token/${id}`);
        resetForm(form);
        fillForm(form, {...token, expired_time: toLocalInput(token.expired_time)});
        syncUnlimited();
        $("h2", document.getElementById("token-dialog")).textContent = `Edit token ${token.name}`;
        openDialog("token-dialog");
      } catch (error) { showError("token-list-error", error); }
    }

    form.elements.unlimited_quota.addEventListener("change", syncUnlimited);
    bindForm("token", async (values) => {
      requireValid(values.name, "Give the token a name.");
      const expires = fromLocalInput(values.expired_time);
      requireValid(!expires || expires > Date.now() / 1000, "The expiry time is in the past.");
      const body = {name: values.name, expired_time: expires || -1, unlimited_quota: values.unlimited_quota,
        remain_quota: Number(values.remain_quota ?? form.elements.remain_quota.value ?? 0) || 0,
        models: splitList(values.models).join(","), subnet: splitList(values.subnet).join(",")};
      if (values.id) {
        await api.put("/api/token/", {...body, id: Number(values.id)});
        closeDialog(form);
        await load();
        return;
      }
      const created = await api.post("/api/token/", body);
      closeDialog(form);
      state.keyword = "";
      state.page = 0;
      const tokens = await load();
      const key = (created && created.key) || (tokens.filter((t) => t.name === body.name).sort((a, b) => b.id - a.id)[0] || {}).key;
      if (key) {
        document.getElementById("token-created-key").value = fullKey(key);
        openDialog("token-created-dialog");
      }
    });

    document.addEventListener("click", (event) => {
      const action = event.target.closest("[data-action='token-new']");
      if (!action) return;
      resetForm(form);
      form.elements.id.value = "";
      form.elements.unlimited_quota.checked = false;
      syncUnlimited();
      $("h2", document.getElementById("token-dialog")).textContent = "Create token";
      openDialog("token-dialog");
    });
    bindSearch("token-search", state, load);
    load();
  };

  pages.log = () => {
    const form = $('form[data-form="log-filter"]');
    const state = pager("logs-pager", () => load(formValues(form)));
    const admin = () => session.user && session.user.role >= config.roles.admin;

    async function load(values) {
      const filters = {type: values.type || 0, start_timestamp: fromLocalInput(values.start_timestamp) || "",
        end_timestamp: fromLocalInput(values.end_timestamp) || "", token_name: values.token_name,
        model_name: values.model_name};
      if (admin()) Object.assign(filters, {username: values.username, channel: values.channel});
      const base = admin() ? "/api/log/" : "/api/log/self";
      const statBase = admin() ? "/api/log/stat" : "/api/log/self/stat";
      const [logs, stat] = await Promise.all([
        api.get(`${base}${query({...filters, p: state.page})}`),
        api.get(`${statBase}${query(filters)}`).catch(() => null),
      ]);
      const rows = asList(logs);
      state.update(rows.length);
      setText("log-total", stat ? money(stat.quota) : "–");
      renderRows("logs", logRows(rows, ["time", "channel", "user", "token", "type", "model", "prompt", "completion", "cost", "duration", "detail"]),
        "No logs match these filters.");
    }

    bindForm("log-filter", async (values) => {
      state.page = 0;
      await load(values);
    });
    bindForm("log-purge", async (values, purgeForm) => {
      const before = fromLocalInput(values.target_timestamp);
      requireValid(before, "Pick the date before which logs are deleted.");
      if (!confirm(`Delete every log before ${dateTime(before)}?`)) return;
      const count = await api.del(`/api/log/${query({target_timestamp: before})}`);
      note(purgeForm, `Deleted ${count} log${count === 1 ? "" : "s"}.`);
      await load(formValues(form));
    });
    load(formValues(form)).catch((error) => showError($("[data-error]", form), error));
  };

  pages.user = () => {
    const form = $('form[data-form="user"]');
    const state = pager("users-pager", load);
    const ROLES = {1: ["Common", "grey"], 10: ["Admin", "blue"], 100: ["Root", "purple"]};
    const STATUS = {1: ["Enabled", "green"], 2: ["Disabled", "red"], 3: ["Deleted", "grey"]};

    async function load() {
      showError("user-list-error", null);
      try {
        const users = asList(await api.get(listPath("/api/user/", state)));
        state.update(users.length);
        renderRows("users", users.map((user) => [
          String(user.id), el("span", {}, user.username, user.display_name && user.display_name !== user.username ? el("small", {class: "muted"}, ` ${user.display_name}`) : null),
          user.group || "default", badge(...(ROLES[user.role] || ["Guest", "grey"])), badge(...(STATUS[user.status] || ["Unknown", "grey"])),
          money(user.quota), money(user.used_quota), String(user.request_count || 0),
          el("span", {class: "row-actions"},
            actionButton("Edit", () => edit(user.id)),
            actionButton(user.status === 1 ? "Disable" : "Enable", () => manage(user, user.status === 1 ? "disable" : "enable")),
            user.role < config.roles.admin ? actionButton("Promote", () => manage(user, "promote")) : null,
            user.role === config.roles.admin ? actionButton("Demote", () => manage(user, "demote")) : null,
            user.role < config.roles.root ? actionButton("Delete", () => manage(user, "delete"), "danger") : null),
        ]), state.keyword ? "No user matches." : "No users.");
      } catch (error) {
        showError("user-list-error", error);
        renderRows("users", [], "Users could not be loaded.");
      }
    }

    async function manage(user, action) {
      if (action === "delete" && !confirm(`Delete user "${user.username}"?`)) return;
      try {
        await api.post("/api/user/manage", {username: user.username, action});
        await load();
      } catch (error) { showError("user-list-error", error); }
    }

    async function edit(id) {
      try {
        const user = await api.get(`/api/user/${id}`);
        resetForm(form);
        fillForm(form, {...user, password: ""});
        $("[data-edit-only]", form).hidden = false;
        $("h2", document.getElementById("user-dialog")).textContent = `Edit user ${user.username}`;
        openDialog("user-dialog");
      } catch (error) { showError("user-list-error", error); }
    }

    api.get("/api/group/").then((groups) => {
      document.getElementById("group-options").replaceChildren(...asList(groups).map((name) => el("option", {value: name})));
    }).catch(() => {});

    bindForm("user", async (values) => {
      requireValid(values.username, "Enter a username.");
      requireValid(!values.password || (values.password.length >= 8 && values.password.length <= 20),
        "The password must have 8 to 20 characters.");
      if (values.id) {
        const body = {id: Number(values.id), username: values.username, display_name: values.display_name,
          group: values.group || "default", quota: Number(values.quota || 0)};
        if (values.password) body.password = values.password;
        await api.put("/api/user/", body);
      } else {
        requireValid(values.password, "Set a password for the new user.");
        await api.post("/api/user/", {username: values.username, display_name: values.display_name, password: values.password});
      }
      closeDialog(form);
      await load();
    });

    document.addEventListener("click", (event) => {
      if (!event.target.closest("[data-action='user-new']")) return;
      resetForm(form);
      form.elements.id.value = "";
      $("[data-edit-only]", form).hidden = true;
      $("h2", document.getElementById("user-dialog")).textContent = "Add user";
      openDialog("user-dialog");
    });
    bindSearch("user-search", state, load);
    load();
  };

  pages.redemption = () => {
    const form = $('form[data-form="redemption"]');
    const state = pager("redemptions-pager", load);
    const STATUS = {1: ["Unused", "green"], 2: ["Disabled", "grey"], 3: ["Used", "blue"]};

    async function load() {
      showError("redemption-list-error", null);
      try {
        const codes = asList(await api.get(listPath("/api/redemption/", state)));
        state.update(codes.length);
        renderRows("redemptions", codes.map((code) => [
          String(code.id), code.name, badge(...(STATUS[code.status] || ["Unknown", "grey"])), money(code.quota),
          dateTime(code.created_time), dateTime(code.redeemed_time),
          el("span", {class: "row-actions"},
            actionButton("Copy", (event) => copyText(code.key, event.currentTarget)),
            code.status !== 3 ? actionButton(code.status === 1 ? "Disable" : "Enable", () => setStatus(code, code.status === 1 ? 2 : 1)) : null,
            actionButton("Delete", () => remove(code), "danger")),
        ]), state.keyword ? "No code matches." : "No redemption codes yet.");
      } catch (error) {
        showError("redemption-list-error", error);
        renderRows("redemptions", [], "Codes could not be loaded.");
      }
    }

    async function setStatus(code, status) {
      try {
        await api.put(`/api/redemption/${query({status_only: "true"})}`, {id: code.id, status});
        await load();
      } catch (error) { showError("redemption-list-error", error); }
    }

    async function remove(code) {
      if (!confirm(`Delete code "${code.name}"?`)) return;
      try {
        await api.del(`/api/redemption/${code.id}`);
        await load();
      } catch (error) { showError("redemption-list-error", error); }
    }

    bindForm("redemption", async (values) => {
      requireValid(values.name, "Name the batch of codes.");
      const count = Number(values.count);
      requireValid(count >= 1 && count <= 100, "Create between 1 and 100 codes at a time.");
      requireValid(Number(values.quota) > 0, "Each code must carry some quota.");
      const keys = asList(await api.post("/api/redemption/", {name: values.name, quota: Number(values.quota), count}));
      closeDialog(form);
      await load();
      if (keys.length) {
        document.getElementById("redemption-created-keys").value = keys.join("\n");
        openDialog("redemption-created-dialog");
      }
    });

    document.addEventListener("click", (event) => {
      if (!event.target.closest("[data-action='redemption-new']")) return;
      resetForm(form);
      openDialog("redemption-dialog");
    });
    bindSearch("redemption-search", state, load);
    load();
  };

  pages.setting = async () => {
    const loaded = {};
    const serialise = (field) => (field.type === "checkbox" ? String(field.checked) : field.value.trim());
    try {
      for (const option of asList(await api.get("/api/option/"))) loaded[option.key] = option.value;
      for (const form of $$('form[data-form="options"]')) fillForm(form, loaded);
    } catch (error) {
      showError("setting-load-error", error);
    }
    bindForm("options", async (values, form) => {
      const changed = [];
      for (const field of form.elements) {
        if (!field.name) continue;
        const value = serialise(field);
        if (value === (loaded[field.name] ?? "")) continue;
        if ("json" in field.dataset) parseJsonField(value, $(`label[for="${field.id}"]`).textContent);
        changed.push([field.name, value]);
      }
      for (const [key, value] of changed) {
        await api.put("/api/option/", {key, value});
        loaded[key] = value;
      }
      note(form, changed.length ? `Saved ${changed.length} setting${changed.length === 1 ? "" : "s"}.` : "Nothing changed.");
      if (changed.some(([key]) => ["Theme", "DisplayInCurrencyEnabled", "QuotaPerUnit", "SystemName"].includes(key))) {
        setTimeout(() => location.reload(), 600);
      }
    });
  };

  pages.profile = async () => {
    const user = await refreshSelf().catch(() => session.user);
    const profileForm = $('form[data-form="profile"]');
    if (user) fillForm(profileForm, user);
    const passwordForm = $('form[data-form="password"]');
    if (user) passwordForm.elements.username.value = user.username;
    if (location.hash === "#password") {
      passwordForm.scrollIntoView({block: "center"});
      passwordForm.elements.password.focus();
    }

    bindForm("password", async (values, form) => {
      requireValid(values.password.length >= 8 && values.password.length <= 20, "The new password must have 8 to 20 characters.");
      requireValid(values.password === values.password2, "The two passwords differ.");
      requireValid(values.password !== "123456", "Choose a password other than the default one.");
      await api.put("/api/user/self", {username: session.user.username, display_name: session.user.display_name, password: values.password});
      localStorage.removeItem(DEFAULT_PASSWORD_FLAG);
      showDefaultPasswordNotice();
      form.reset();
      form.elements.username.value = session.user.username;
      note(form, "Password changed.");
    });

    bindForm("profile", async (values, form) => {
      requireValid(values.username, "The username cannot be empty.");
      await api.put("/api/user/self", {username: values.username, display_name: values.display_name});
      applyUser(await refreshSelf());
      note(form, "Profile saved.");
    });

    bindForm("redeem", async (values, form) => {
      requireValid(values.key, "Enter a redemption code.");
      const added = await api.post("/api/user/topup", {key: values.key});
      await refreshSelf();
      form.reset();
      note(form, `Redeemed: ${money(added)} added to your balance.`);
    });

    document.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-action='profile-access-token']");
      if (!button) return;
      showError("profile-access-error", null);
      try {
        document.getElementById("profile-access-token").value = await api.get("/api/user/token");
      } catch (error) { showError("profile-access-error", error); }
    });

    const STATUS = {1: "Enabled", 2: "Disabled", 3: "Expired", 4: "Exhausted"};
    api.get(`/api/token/${query({p: 0})}`).then((tokens) => renderRows("profile-tokens", asList(tokens).map((token) => [
      token.name, el("code", {class: "token-key"}, fullKey(token.key)), STATUS[token.status] || "Unknown",
      money(token.used_quota), token.unlimited_quota ? "Unlimited" : money(token.remain_quota),
      token.expired_time === -1 ? "Never" : dateTime(token.expired_time),
    ]), "No tokens yet.")).catch((error) => renderRows("profile-tokens", [], error.message));
    api.get(`/api/log/self${query({p: 0, type: 2})}`).then((logs) => renderRows("profile-logs",
      logRows(asList(logs), ["time", "model", "token", "prompt", "completion", "cost", "duration"]), "No requests yet."))
      .catch((error) => renderRows("profile-logs", [], error.message));
    api.get("/api/log/self/stat").then((stat) => setText("profile-log-total", money(stat.quota))).catch(() => {});
  };

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

  async function boot() {
    if (config.minRole > 0) {
      let user;
      try {
        user = await api.get("/api/user/self");
      } catch (error) {
        if (!session.user) goToLogin();
        return;
      }
      if (!applyUser(user)) return;
    }
    const start = pages[config.page];
    if (start) await start();
    document.body.dataset.ready = "true";
  }

  window.OneApi = {api, money};
  boot();
})();
