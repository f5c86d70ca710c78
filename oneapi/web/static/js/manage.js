/* Tokens, logs, users, redemption codes and the root settings. */
import {
  $, $$, actionButton, api, asList, badge, bindForm, closeDialog, config, copyText, dateTime, detailText,
  duration, el, fillForm, formValues, fromLocalInput, fullKey, logFacts, logRows, logTypeBadge,
  managedList, money, note, openDialog, pager, parseJsonField, query, renderRows, requireValid, resetForm,
  session, setText, showError, splitList, t, toLocalInput,
} from "./core.js";

export const token = () => {
  const form = $('form[data-form="token"]');
  const STATUS = {1: [t("Enabled"), "green"], 2: [t("Disabled"), "grey"], 3: [t("Expired"), "orange"], 4: [t("Exhausted"), "red"]};
  for (const slot of $$("[data-base-url]")) slot.textContent = `${location.origin}/v1`;

  function keyCell(token) {
    const key = fullKey(token.key);
    return el("span", {class: "key-cell"}, el("code", {class: "token-key", "data-token-name": token.name}, key),
      actionButton(t("Copy"), (event) => copyText(key, event.currentTarget)));
  }

  const list = managedList({
    table: "tokens", search: "token-search", errorId: "token-list-error", base: "/api/token/",
    empty: t("No tokens yet. Create one to call the API."),
    render: (token) => [
      token.name, keyCell(token), badge(...(STATUS[token.status] || [t("Unknown"), "grey"])), money(token.used_quota),
      token.unlimited_quota ? t("Unlimited") : money(token.remain_quota), dateTime(token.created_time),
      token.expired_time === -1 ? t("Never") : dateTime(token.expired_time),
      el("span", {class: "row-actions"},
        actionButton(token.status === 1 ? t("Disable") : t("Enable"), () => list.act(() => api.put(
          `/api/token/${query({status_only: "true"})}`, {id: token.id, status: token.status === 1 ? 2 : 1}))),
        actionButton(t("Edit"), () => edit(token.id)),
        actionButton(t("Delete"), () => list.act(() => api.del(`/api/token/${token.id}`),
          t("Delete token \"{name}\"? Clients using it stop working.", {name: token.name})), "danger")),
    ],
  });

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
      $("h2", document.getElementById("token-dialog")).textContent = t("Edit token {name}", {name: token.name});
      openDialog("token-dialog");
    } catch (error) { showError("token-list-error", error); }
  }

  form.elements.unlimited_quota.addEventListener("change", syncUnlimited);
  bindForm("token", async (values) => {
    requireValid(values.name, t("Give the token a name."));
    const expires = fromLocalInput(values.expired_time);
    requireValid(!expires || expires > Date.now() / 1000, t("The expiry time is in the past."));
    const body = {name: values.name, expired_time: expires || -1, unlimited_quota: values.unlimited_quota,
      remain_quota: Number(values.remain_quota ?? form.elements.remain_quota.value ?? 0) || 0,
      models: splitList(values.models).join(","), subnet: splitList(values.subnet).join(",")};
    if (values.id) {
      await api.put("/api/token/", {...body, id: Number(values.id)});
      closeDialog(form);
      await list.load();
      return;
    }
    const created = await api.post("/api/token/", body);
    closeDialog(form);
    list.state.keyword = "";
    list.state.page = 0;
    const tokens = await list.load();
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
    $("h2", document.getElementById("token-dialog")).textContent = t("Create token");
    openDialog("token-dialog");
  });
  list.load();
};

const RATIOS = [["model_ratio", t("Model ratio")], ["completion_ratio", t("Completion ratio")],
  ["group_ratio", t("Group ratio")], ["cache_ratio", t("Cache read ratio")], ["create_cache_ratio", t("Cache write ratio")]];

/* The channels a request went through: "#3 → #5 (1 retried)". */
function retryPath(path) {
  const channels = path.map((id) => `#${id}`).join(" → ");
  return path.length > 1 ? t("{channels} ({count} retried)", {channels, count: path.length - 1}) : channels;
}

/* Everything one log row holds, in the detail dialog (a drawer in berry). An owner's row
   carries no channel facts, so those lines are left out for them. */
function showLogDetail(log) {
  const facts = logFacts(log);
  const path = Array.isArray(facts.channel_path) ? facts.channel_path : [];
  const lines = [
    [t("Time"), dateTime(log.created_at)],
    [t("Request ID"), log.request_id ? el("code", {}, log.request_id) : "–"],
    [t("Type"), logTypeBadge(log.type)],
    [t("Model"), log.model_name],
    [t("Upstream model"), facts.upstream_model],
    [t("Channel"), log.channel || null],
    [t("Channels tried"), path.length ? retryPath(path) : null],
    [t("Token"), log.token_name],
    [t("Stream"), log.type === 2 ? (log.is_stream ? t("Yes") : t("No")) : null],
    [t("Prompt tokens"), log.type === 2 ? log.prompt_tokens : null],
    [t("Completion tokens"), log.type === 2 ? log.completion_tokens : null],
    [t("Cache read tokens"), facts.cache_read_tokens],
    [t("Cache write tokens"), facts.cache_write_tokens],
    ...RATIOS.map(([key, label]) => [label, facts[key]]),
    [t("Cost"), money(log.quota)],
    [t("Elapsed time"), duration(log.elapsed_time)],
    [t("Detail"), detailText(log)],
  ].filter(([, value]) => value !== undefined && value !== null && value !== "");
  document.getElementById("log-detail").replaceChildren(...lines.flatMap(([label, value]) => [
    el("dt", {}, label), el("dd", {"data-detail": label}, typeof value === "number" ? String(value) : value)]));
  openDialog("log-detail-dialog");
}

export const log = () => {
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
    const cells = logRows(rows, ["time", "channel", "user", "token", "type", "model", "prompt", "completion", "cost", "duration", "detail"]);
    renderRows("logs", cells.map((row, index) => [...row, actionButton(t("Details"), () => showLogDetail(rows[index]))]),
      t("No logs match these filters."));
    if (rows.length) {  // the whole row opens too; the button is there for the keyboard
      $$("#logs tbody tr").forEach((line, index) => {
        line.classList.add("opens-detail");
        line.addEventListener("click", (event) => {
          if (!event.target.closest("button, a")) showLogDetail(rows[index]);
        });
      });
    }
  }

  bindForm("log-filter", async (values) => {
    state.page = 0;
    await load(values);
  });
  bindForm("log-purge", async (values, purgeForm) => {
    const before = fromLocalInput(values.target_timestamp);
    requireValid(before, t("Pick the date before which logs are deleted."));
    if (!confirm(t("Delete every log before {time}?", {time: dateTime(before)}))) return;
    const count = await api.del(`/api/log/${query({target_timestamp: before})}`);
    note(purgeForm, count === 1 ? t("Deleted 1 log.") : t("Deleted {count} logs.", {count}));
    await load(formValues(form));
  });
  load(formValues(form)).catch((error) => showError($("[data-error]", form), error));
};

export const user = () => {
  const form = $('form[data-form="user"]');
  const ROLES = {1: [t("Common"), "grey"], 10: [t("Admin"), "blue"], 100: [t("Root"), "purple"]};
  const STATUS = {1: [t("Enabled"), "green"], 2: [t("Disabled"), "red"], 3: [t("Deleted"), "grey"]};

  const QUESTIONS = {
    delete: (user) => t("Delete user \"{name}\"?", {name: user.username}),
    disable_2fa: (user) => t("Turn off two-factor sign-in for \"{name}\" (lost authenticator and recovery codes)?",
      {name: user.username}),
  };
  const manage = (user, action) => list.act(() => api.post("/api/user/manage", {username: user.username, action}),
    QUESTIONS[action] ? QUESTIONS[action](user) : null);
  const list = managedList({
    table: "users", search: "user-search", errorId: "user-list-error", base: "/api/user/", empty: t("No users."),
    render: (user) => [
      String(user.id), el("span", {}, user.username, user.display_name && user.display_name !== user.username
        ? el("small", {class: "muted"}, ` ${user.display_name}`) : null),
      user.group || "default", badge(...(ROLES[user.role] || [t("Guest"), "grey"])),
      badge(...(STATUS[user.status] || [t("Unknown"), "grey"])),
      money(user.quota), money(user.used_quota), String(user.request_count || 0),
      el("span", {class: "row-actions"},
        actionButton(t("Edit"), () => edit(user.id)),
        actionButton(user.status === 1 ? t("Disable") : t("Enable"), () => manage(user, user.status === 1 ? "disable" : "enable")),
        user.role < config.roles.admin ? actionButton(t("Promote"), () => manage(user, "promote")) : null,
        user.role === config.roles.admin ? actionButton(t("Demote"), () => manage(user, "demote")) : null,
        user.totp_enabled ? actionButton(t("Turn off 2FA"), () => manage(user, "disable_2fa")) : null,
        user.role < config.roles.root ? actionButton(t("Delete"), () => manage(user, "delete"), "danger") : null),
    ],
  });

  async function edit(id) {
    try {
      const user = await api.get(`/api/user/${id}`);
      resetForm(form);
      fillForm(form, {...user, password: ""});
      $("[data-edit-only]", form).hidden = false;
      $("h2", document.getElementById("user-dialog")).textContent = t("Edit user {name}", {name: user.username});
      openDialog("user-dialog");
    } catch (error) { showError("user-list-error", error); }
  }

  api.get("/api/group/").then((groups) => {
    document.getElementById("group-options").replaceChildren(...asList(groups).map((name) => el("option", {value: name})));
  }).catch(() => {});

  bindForm("user", async (values) => {
    requireValid(values.username, t("Enter a username."));
    requireValid(!values.password || (values.password.length >= 8 && values.password.length <= 20),
      t("The password must have 8 to 20 characters."));
    if (values.id) {
      const body = {id: Number(values.id), username: values.username, display_name: values.display_name,
        group: values.group || "default", quota: Number(values.quota || 0)};
      if (values.password) body.password = values.password;
      await api.put("/api/user/", body);
    } else {
      requireValid(values.password, t("Set a password for the new user."));
      await api.post("/api/user/", {username: values.username, display_name: values.display_name, password: values.password});
    }
    closeDialog(form);
    await list.load();
  });

  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-action='user-new']")) return;
    resetForm(form);
    form.elements.id.value = "";
    $("[data-edit-only]", form).hidden = true;
    $("h2", document.getElementById("user-dialog")).textContent = t("Add user");
    openDialog("user-dialog");
  });
  list.load();
};

export const redemption = () => {
  const form = $('form[data-form="redemption"]');
  const STATUS = {1: [t("Unused"), "green"], 2: [t("Disabled"), "grey"], 3: [t("Used"), "blue"]};

  const list = managedList({
    table: "redemptions", search: "redemption-search", errorId: "redemption-list-error", base: "/api/redemption/",
    empty: t("No redemption codes yet."),
    render: (code) => [
      String(code.id), code.name, badge(...(STATUS[code.status] || [t("Unknown"), "grey"])), money(code.quota),
      dateTime(code.created_time), dateTime(code.redeemed_time),
      el("span", {class: "row-actions"},
        actionButton(t("Copy"), (event) => copyText(code.key, event.currentTarget)),
        code.status !== 3 ? actionButton(code.status === 1 ? t("Disable") : t("Enable"), () => list.act(() => api.put(
          `/api/redemption/${query({status_only: "true"})}`, {id: code.id, status: code.status === 1 ? 2 : 1}))) : null,
        actionButton(t("Delete"), () => list.act(() => api.del(`/api/redemption/${code.id}`),
          t("Delete code \"{name}\"?", {name: code.name})), "danger")),
    ],
  });

  bindForm("redemption", async (values) => {
    requireValid(values.name, t("Name the batch of codes."));
    const count = Number(values.count);
    requireValid(count >= 1 && count <= 100, t("Create between 1 and 100 codes at a time."));
    requireValid(Number(values.quota) > 0, t("Each code must carry some quota."));
    const keys = asList(await api.post("/api/redemption/", {name: values.name, quota: Number(values.quota), count}));
    closeDialog(form);
    await list.load();
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
  list.load();
};

export const setting = async () => {
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
    note(form, changed.length === 1 ? t("Saved 1 setting.") : changed.length ? t("Saved {count} settings.", {count: changed.length}) : t("Nothing changed."));
    if (changed.some(([key]) => ["Theme", "DisplayInCurrencyEnabled", "QuotaPerUnit", "SystemName"].includes(key))) {
      setTimeout(() => location.reload(), 600);
    }
  });
};
