/* The user's side of the gateway: the playground, which chats through this gateway's own
   /v1 with one of the user's tokens (so an answer is routed, limited and billed as any
   client's), and the models page, the price list of the user's group. Prices and costs come
   from the management API (/api/pricing/self, /api/pricing/quote); nothing here prices. */
import {
  $, $$, api, asList, bindForm, duration, el, fullKey, money, query, renderRows, requireValid, showError,
  unitPrice,
} from "./core.js";

/* Calls onData(text) for each server-sent event's data in a fetch response body, as it arrives. */
async function readEvents(response, onData) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    const events = buffer.split(/\r?\n\r?\n/);
    buffer = events.pop();
    for (const event of events) {
      const data = event.split(/\r?\n/).filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
      if (data) onData(data);
    }
  }
}

/* The error message of a /v1 answer that is not a stream (OpenAI's {error: {message}}). */
async function relayError(response) {
  let message = "";
  try {
    const body = await response.json();
    message = (body && body.error && body.error.message) || "";
  } catch (error) { /* not JSON */ }
  return new Error(message || `The gateway answered HTTP ${response.status}.`);
}

function usageLine(usage, quote, elapsed) {
  const cached = (usage.prompt_tokens_details && usage.prompt_tokens_details.cached_tokens) || 0;
  const parts = [`${usage.prompt_tokens} prompt tokens`, `${usage.completion_tokens} completion tokens`];
  if (cached) parts.push(`${cached} cached`);
  parts.push(`cost ${quote ? money(quote.quota) : "–"}`, duration(elapsed));
  return parts.join(" · ");
}

export const playground = async () => {
  const settings = $('form[data-form="playground-settings"]');
  const chatForm = $('form[data-form="playground"]');
  const log = document.getElementById("pg-messages");
  const stop = $("[data-action='pg-stop']");
  const history = [];
  let running = null;

  const [models, tokens] = await Promise.all([
    api.get("/api/user/available_models").then(asList),
    api.get(`/api/token/${query({p: 0, page_size: 100})}`).then(asList),
  ]).catch((error) => {
    showError($("[data-error]", chatForm), error);
    return [[], []];
  });
  const wanted = new URLSearchParams(location.search).get("model");
  settings.elements.model.replaceChildren(...models.map((model) => el("option", {value: model, selected: model === wanted}, model)));
  const usable = tokens.filter((token) => token.status === 1);
  settings.elements.token.replaceChildren(...usable.map((token) => el("option", {value: token.id}, token.name)));
  document.getElementById("pg-setup").hidden = usable.length > 0;

  function bubble(role, text) {
    $(".chat-empty", log)?.remove();
    const body = el("div", {class: "chat-text"}, text);
    const item = el("div", {class: `chat-message chat-${role}`, "data-role": role},
      el("div", {class: "chat-role"}, role === "user" ? "You" : "Assistant"), body);
    log.append(item);
    return {item, body};
  }

  $("[data-action='pg-clear']").addEventListener("click", () => {
    if (running) running.abort();
    history.length = 0;
    log.replaceChildren(el("p", {class: "muted chat-empty"}, "Send a message to start."));
  });
  stop.addEventListener("click", () => { if (running) running.abort(); });

  bindForm("playground", async (values) => {
    const prompt = values.prompt;
    const model = settings.elements.model.value;
    const token = usable.find((candidate) => String(candidate.id) === settings.elements.token.value);
    requireValid(model, "Pick a model.");
    requireValid(token, "Pick a token (create one on the Tokens page first).");
    requireValid(prompt, "Write a message.");
    const body = {model, stream: true, stream_options: {include_usage: true},
      temperature: Number(settings.elements.temperature.value || 1),
      messages: [...(settings.elements.system.value.trim() ? [{role: "system", content: settings.elements.system.value.trim()}] : []),
        ...history, {role: "user", content: prompt}]};
    const maxTokens = Number(settings.elements.max_tokens.value);
    if (maxTokens > 0) body.max_tokens = maxTokens;

    history.push({role: "user", content: prompt});
    bubble("user", prompt);
    chatForm.elements.prompt.value = "";
    const answer = bubble("assistant", "");
    answer.item.setAttribute("aria-busy", "true");
    const footer = el("div", {class: "chat-usage", "data-usage": ""}, "Answering…");
    answer.item.append(footer);
    running = new AbortController();
    stop.disabled = false;
    const started = performance.now();
    let text = "";
    let usage = null;
    try {
      const response = await fetch("/v1/chat/completions", {
        method: "POST", signal: running.signal, credentials: "omit",
        headers: {"Content-Type": "application/json", Authorization: `Bearer ${fullKey(token.key)}`},
        body: JSON.stringify(body),
      });
      if (!response.ok) throw await relayError(response);
      await readEvents(response, (data) => {
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message || "The upstream failed.");
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && delta.content) {
          text += delta.content;
          answer.body.textContent = text;
          log.scrollTop = log.scrollHeight;
        }
        if (chunk.usage) usage = chunk.usage;
      });
      footer.textContent = usage ? usageLine(usage, null, performance.now() - started) : "No usage reported.";
      if (usage) {
        const quote = await api.post("/api/pricing/quote", {model, prompt_tokens: usage.prompt_tokens,
          completion_tokens: usage.completion_tokens,
          cached_tokens: (usage.prompt_tokens_details && usage.prompt_tokens_details.cached_tokens) || 0});
        footer.textContent = usageLine(usage, quote, performance.now() - started);
      }
    } catch (error) {
      if (error.name !== "AbortError") {
        answer.item.classList.add("chat-failed");
        footer.textContent = error.message;
        throw error;
      }
      footer.textContent = "Stopped.";
    } finally {
      if (text) history.push({role: "assistant", content: text});
      answer.item.removeAttribute("aria-busy");
      running = null;
      stop.disabled = true;
    }
  });

  chatForm.elements.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) chatForm.requestSubmit();
  });
};

export const models = async () => {
  const search = document.getElementById("models-search");
  const vendor = document.getElementById("models-vendor");
  let priced = {models: []};
  try {
    priced = await api.get("/api/pricing/self");
  } catch (error) {
    showError("models-error", error);
  }
  document.getElementById("models-group").textContent = priced.group || "–";
  document.getElementById("models-group-ratio").textContent = priced.group_ratio ?? "–";
  const vendors = [...new Set(priced.models.flatMap((model) => model.channel_types))].sort();
  vendor.append(...vendors.map((name) => el("option", {value: name}, name)));

  function show() {
    const words = search.value.trim().toLowerCase();
    const shown = priced.models.filter((model) => (!words || model.model.toLowerCase().includes(words))
      && (!vendor.value || model.channel_types.includes(vendor.value)));
    document.getElementById("models-count").textContent = `${shown.length} of ${priced.models.length} models`;
    renderRows("models", shown.map((model) => [
      el("code", {class: "model-id"}, model.model), model.channel_types.join(", "),
      unitPrice(model.per_million.input), unitPrice(model.per_million.output),
      unitPrice(model.per_million.cache_read), unitPrice(model.per_million.cache_write),
      el("a", {href: `/playground${query({model: model.model})}`, "aria-label": `Try ${model.model}`}, "Try"),
    ]), priced.models.length ? "No model matches." : "Your group cannot call any model yet.");
  }
  search.addEventListener("input", show);
  vendor.addEventListener("change", show);
  $$('form[data-form="models-filter"]').forEach((form) => form.addEventListener("submit", (event) => event.preventDefault()));
  show();
};
