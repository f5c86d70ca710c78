/* The channels page: list, edit with type defaults, test one or all, balance, fetch models. */
import {
  $, actionButton, api, asList, badge, bindForm, closeDialog, duration, el, fillForm, formValues,
  managedList, money, openDialog, PAGE_SIZE, parseJsonField, query, requireValid, resetForm, showError,
  splitList, t,
} from "./core.js";

export const channel = () => {
  const types = JSON.parse(document.getElementById("channel-types").textContent);
  const typeById = new Map(types.map((type) => [type.id, type]));
  const form = $('form[data-form="channel"]');
  const STATUS = {1: [t("Enabled"), "green"], 2: [t("Disabled"), "grey"], 3: [t("Auto-disabled"), "red"]};
  let previousType = null;

  function responseCell(channel) {
    const cell = el("span", {class: "response-time", "data-channel-time": channel.id});
    if (!channel.test_time) cell.append(badge(t("Not tested"), "grey"));
    else {
      const ms = channel.response_time || 0;
      cell.append(badge(duration(ms), ms < 1000 ? "green" : ms < 3000 ? "blue" : ms < 5000 ? "orange" : "red"));
    }
    return cell;
  }

  function typeCell(channel) {
    const type = typeById.get(channel.type) || {name: t("Type {number}", {number: channel.type})};
    if (!type.replaced_by) return type.name;
    // a type one-api retired: its channels answer every request with an error naming the replacement
    return el("span", {}, `${type.name} `, badge(t("Deprecated"), "orange"));
  }

  function balanceCell(channel) {
    const type = typeById.get(channel.type);
    if (!type || !type.balance) return "–";
    const cell = el("span", {class: "balance-cell"},
      channel.balance_updated_time ? `$${Number(channel.balance).toFixed(2)} ` : "");
    cell.append(actionButton(t("Update"), async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        await api.raw("GET", `/api/channel/update_balance/${channel.id}`);
        await list.load();
      } catch (error) {
        showError("channel-list-error", error);
        button.disabled = false;
      }
    }));
    return cell;
  }

  const list = managedList({
    table: "channels", search: "channel-search", errorId: "channel-list-error", base: "/api/channel/",
    empty: t("No channels yet. Add one to start relaying."),
    render: (channel) => [
      String(channel.id), channel.name, typeCell(channel),
      badge(...(STATUS[channel.status] || [t("Unknown"), "grey"])), channel.group || "default",
      String(channel.priority ?? 0), String(channel.weight ?? 0), responseCell(channel), balanceCell(channel),
      money(channel.used_quota),
      el("span", {class: "row-actions"},
        actionButton(t("Test"), (event) => testOne(channel, event.currentTarget), "secondary"),
        actionButton(channel.status === 1 ? t("Disable") : t("Enable"),
          () => list.act(() => api.put("/api/channel/", {id: channel.id, status: channel.status === 1 ? 2 : 1}))),
        actionButton(t("Edit"), () => edit(channel.id)),
        actionButton(t("Delete"), () => list.act(() => api.del(`/api/channel/${channel.id}`),
          t("Delete channel \"{name}\"?", {name: channel.name})), "danger")),
    ],
  });

  async function testOne(channel, button) {
    const slot = $(`[data-channel-time="${channel.id}"]`);
    if (button) { button.disabled = true; button.textContent = t("Testing…"); }
    try {
      const payload = await api.raw("GET", `/api/channel/test/${channel.id}`);
      const seconds = Number(payload.time ?? 0);
      const result = badge(duration(seconds * 1000), seconds < 1 ? "green" : seconds < 5 ? "blue" : "orange");
      if (payload.modelName) result.title = t("Answered {model} in {time}", {model: payload.modelName, time: duration(seconds * 1000)});
      if (slot) slot.replaceChildren(result);
      return {ok: true, seconds};
    } catch (error) {
      if (slot) slot.replaceChildren(badge(t("Failed"), "red"), el("small", {class: "test-error"}, error.message));
      return {ok: false, error};
    } finally {
      if (button) { button.disabled = false; button.textContent = t("Test"); }
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
    text.textContent = t("listing channels…");
    try {
      const channels = (await allChannels()).filter((channel) => channel.status !== 2);
      let passed = 0;
      for (const [index, channel] of channels.entries()) {
        text.textContent = t("{done} of {total} done; testing {name}…", {done: index, total: channels.length, name: channel.name});
        const result = await testOne(channel, null);
        if (result.ok) passed += 1;
        bar.value = (100 * (index + 1)) / channels.length;
      }
      bar.value = 100;
      text.textContent = t("{total} tested: {passed} passed, {failed} failed.", {total: channels.length, passed, failed: channels.length - passed});
      await list.load();
    } catch (error) {
      text.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  function applyType(typeId, fillModels) {
    const type = typeById.get(Number(typeId));
    const base = form.elements.base_url;
    const old = previousType && typeById.get(previousType);
    if (type && (!base.value || (old && base.value === old.base_url))) base.value = type.base_url;
    base.placeholder = type && type.base_url ? type.base_url : t("Base URL of the OpenAI-compatible upstream");
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
    $("h2", document.getElementById("channel-dialog")).textContent = t("Add channel");
    openDialog("channel-dialog");
  }

  async function edit(id) {
    try {
      const channel = await api.get(`/api/channel/${id}`);
      resetForm(form);
      previousType = channel.type;
      fillForm(form, {...channel, key: ""});
      applyType(channel.type, false);
      $("h2", document.getElementById("channel-dialog")).textContent = t("Edit channel #{id}", {id});
      openDialog("channel-dialog");
    } catch (error) { showError("channel-list-error", error); }
  }

  form.elements.type.addEventListener("change", () => applyType(form.elements.type.value, true));
  bindForm("channel", async (values) => {
    requireValid(values.name, t("Give the channel a name."));
    parseJsonField(values.model_mapping, t("Model mapping"));
    const body = {...values, type: Number(values.type), priority: Number(values.priority || 0),
      weight: Number(values.weight || 0), models: splitList(values.models).join(",")};
    requireValid(body.models, t("List at least one model."));
    if (values.id) {
      body.id = Number(values.id);
      if (!body.key) delete body.key;
      await api.put("/api/channel/", body);
    } else {
      delete body.id;
      requireValid(body.key, t("Enter the upstream key (one per line to add several channels)."));
      await api.post("/api/channel/", body);
    }
    closeDialog(form);
    await list.load();
  });

  document.addEventListener("click", async (event) => {
    const action = event.target.closest("[data-action]");
    if (!action) return;
    const name = action.dataset.action;
    if (name === "channel-new") create();
    else if (name === "channel-test-all") testAll(action);
    else if (name === "channel-delete-disabled") {
      list.act(() => api.del("/api/channel/disabled"), t("Delete every disabled channel?"));
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
        requireValid(values.id, t("Save the channel first; its models can then be fetched with its stored key."));
        const data = await api.get(`/api/channel/fetch_models/${values.id}`);
        const models = asList(data).map((item) => (typeof item === "string" ? item : item.id)).filter(Boolean);
        requireValid(models.length, t("The upstream listed no models."));
        form.elements.models.value = splitList(models.join(",")).join(",");
      } catch (error) {
        showError(errorBox, error);
      } finally { action.disabled = false; }
    }
  });
  list.load();
};
