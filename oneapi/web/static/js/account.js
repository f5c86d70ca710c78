/* Signing in, registering, password reset, the dashboard and the personal page. */
import {
  $, $$, api, applyUser, asList, bindForm, dateTime, DEFAULT_PASSWORD_FLAG, duration, el, fillForm,
  formValues, fullKey, locale, logRows, money, note, query, refreshSelf, renderRows, requireValid, session,
  setText, showDefaultPasswordNotice, showError, t,
} from "./core.js";
import {askSecondFactor, signInPanels, wireProviderButtons} from "./signin.js";

/* The Turnstile widget's answer in ``form`` ("" when the check is off); each answer is good once,
   so the widget is reset for the next request. */
const turnstile = (form) => {
  const answer = form.elements["cf-turnstile-response"]?.value || "";
  if (answer && window.turnstile) window.turnstile.reset();
  return answer;
};

/* A "Send code" button in ``form``: mails a verification code to the form's email field. */
const bindSendCode = (form) => {
  const button = form && $("[data-action='send-code']", form);
  if (!button) return;
  button.addEventListener("click", async () => {
    const errorBox = $("[data-error]", form);
    showError(errorBox, null);
    button.disabled = true;
    try {
      const {email} = formValues(form);
      requireValid(email, t("Enter your email address first."));
      await api.get(`/api/verification${query({email, turnstile: turnstile(form)})}`);
      note(form, t("Code sent: check your mailbox."));
    } catch (error) {
      showError(errorBox, error);
    } finally {
      button.disabled = false;
    }
  });
};

export const login = () => {
  const next = new URLSearchParams(location.search).get("next");
  api.get("/api/user/self").then(() => location.replace("/dashboard")).catch(() => {});  // signed in already
  wireProviderButtons();
  bindForm("login", async (values, form) => {
    requireValid(values.username && values.password, t("Enter your username and password."));
    const signedIn = () => {
      if (values.username === "root" && values.password === "123456") {
        localStorage.setItem(DEFAULT_PASSWORD_FLAG, "1");
        location.assign("/profile#password");
        return;
      }
      localStorage.removeItem(DEFAULT_PASSWORD_FLAG);
      location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard");
    };
    try {
      await api.post("/api/user/login", {username: values.username, password: values.password});
    } catch (error) {
      if (!(error.data && error.data.require_2fa)) throw error;
      askSecondFactor(form, signedIn);  // two-factor sign-in: a code finishes it
      return;
    }
    signedIn();
  });
};

export const register = () => {
  bindSendCode($('form[data-form="register"]'));
  bindForm("register", async (values, form) => {
    requireValid(values.username, t("Choose a username."));
    requireValid(values.password.length >= 8 && values.password.length <= 20, t("The password must have 8 to 20 characters."));
    requireValid(values.password === values.password2, t("The two passwords differ."));
    await api.post(`/api/user/register${query({turnstile: turnstile(form)})}`,
      {username: values.username, password: values.password, aff_code: values.aff_code,
       email: values.email || "", verification_code: values.verification_code || ""});
    location.assign("/login");
  });
};

export const reset = () => {
  bindForm("reset", async (values, form) => {
    requireValid(values.email, t("Enter the email address of your account."));
    await api.get(`/api/reset_password${query({email: values.email, turnstile: turnstile(form)})}`);
    note(form, t("If an account has this address, a reset link is on its way to it."));
  });
};

export const reset_confirm = () => {
  const params = new URLSearchParams(location.search);
  const form = $('form[data-form="reset-confirm"]');
  form.elements.email.value = params.get("email") || "";
  bindForm("reset-confirm", async () => {
    requireValid(params.get("email") && params.get("token"), t("This link is incomplete; ask for a new one."));
    const password = await api.post("/api/user/reset", {email: params.get("email"), token: params.get("token")});
    form.hidden = true;
    document.getElementById("reset-password").value = password;
    document.getElementById("reset-result").hidden = false;
  });
};

const DAY_MS = 86400000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const dayStart = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;

/* Every UTC day from ``first`` to ``last`` (YYYY-MM-DD), the days the dashboard API reports. */
function periodDays(first, last) {
  const days = [];
  for (let ms = dayStart(first) * 1000; ms <= dayStart(last) * 1000; ms += DAY_MS) days.push(isoDay(ms));
  return days;
}

export const dashboard = async () => {
  refreshSelf().catch((error) => setText("stat-quota", error.message));
  const form = $('form[data-form="dashboard-range"]');
  const setRange = (days) => {
    form.elements.end.value = isoDay(Date.now());
    form.elements.start.value = isoDay(Date.now() - (days - 1) * DAY_MS);
  };

  async function load({start, end}) {
    requireValid(start && end, t("Pick the first and the last day."));
    requireValid(start <= end, t("The first day is after the last one."));
    const period = {start_timestamp: dayStart(start), end_timestamp: dayStart(end) + 86399};
    const [usage, top] = await Promise.all([api.get(`/api/user/dashboard${query(period)}`),
      api.get(`/api/user/dashboard/tokens${query(period)}`)]);
    const rows = asList(usage).map((row) => ({
      day: row.Day, model: row.ModelName || t("unknown"), quota: Number(row.Quota || 0),
      requests: Number(row.RequestCount || 0),
      tokens: Number(row.PromptTokens || 0) + Number(row.CompletionTokens || 0),
    }));
    setText("stat-tokens", rows.reduce((sum, row) => sum + row.tokens, 0).toLocaleString(locale));
    window.OneApiChart.daily(document.getElementById("chart-daily"), rows, money, periodDays(start, end));
    window.OneApiChart.perModel(document.getElementById("chart-models"), rows, money);
    const spent = rows.reduce((sum, row) => sum + row.quota, 0) || 1;
    renderRows("top-tokens", asList(top).map((token) => [
      token.token_name || "–", token.requests.toLocaleString(locale), token.tokens.toLocaleString(locale),
      money(token.quota), `${((100 * token.quota) / spent).toFixed(1)}%`,
    ]), t("No token spent anything in this period."));
  }

  bindForm("dashboard-range", load);
  for (const button of $$("[data-range-days]", form)) {
    button.addEventListener("click", () => {
      setRange(Number(button.dataset.rangeDays));
      form.requestSubmit();
    });
  }
  setRange(7);
  try {
    await load(formValues(form));
  } catch (error) {
    showError($("[data-error]", form), error);
  }
  try {
    const logs = asList(await api.get(`/api/log/self${query({p: 0, type: 2})}`));
    renderRows("recent-logs", logRows(logs, ["time", "model", "token", "prompt", "completion", "cost", "duration"]),
      t("No requests yet. Create a token and point an OpenAI client at /v1."));
  } catch (error) {
    renderRows("recent-logs", [], error.message);
  }
};

export const profile = async () => {
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
    requireValid(values.password.length >= 8 && values.password.length <= 20, t("The new password must have 8 to 20 characters."));
    requireValid(values.password === values.password2, t("The two passwords differ."));
    requireValid(values.password !== "123456", t("Choose a password other than the default one."));
    await api.put("/api/user/self", {username: session.user.username, display_name: session.user.display_name, password: values.password});
    localStorage.removeItem(DEFAULT_PASSWORD_FLAG);
    showDefaultPasswordNotice();
    form.reset();
    form.elements.username.value = session.user.username;
    note(form, t("Password changed."));
  });

  bindForm("profile", async (values, form) => {
    requireValid(values.username, t("The username cannot be empty."));
    await api.put("/api/user/self", {username: values.username, display_name: values.display_name});
    applyUser(await refreshSelf());
    note(form, t("Profile saved."));
  });

  signInPanels(user);
  setText("profile-email", user && user.email ? user.email : t("none"));
  bindSendCode($('form[data-form="bind-email"]'));
  bindForm("bind-email", async (values, form) => {
    requireValid(values.email && values.code, t("Enter the address and the code mailed to it."));
    await api.get(`/api/oauth/email/bind${query({email: values.email, code: values.code})}`);
    setText("profile-email", values.email);
    form.reset();
    note(form, t("Email bound."));
  });

  bindForm("redeem", async (values, form) => {
    requireValid(values.key, t("Enter a redemption code."));
    const added = await api.post("/api/user/topup", {key: values.key});
    await refreshSelf();
    form.reset();
    note(form, t("Redeemed: {amount} added to your balance.", {amount: money(added)}));
  });

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action='profile-access-token']");
    if (!button) return;
    showError("profile-access-error", null);
    try {
      document.getElementById("profile-access-token").value = await api.get("/api/user/token");
    } catch (error) { showError("profile-access-error", error); }
  });

  const STATUS = {1: t("Enabled"), 2: t("Disabled"), 3: t("Expired"), 4: t("Exhausted")};
  api.get(`/api/token/${query({p: 0})}`).then((tokens) => renderRows("profile-tokens", asList(tokens).map((token) => [
    token.name, el("code", {class: "token-key"}, fullKey(token.key)), STATUS[token.status] || t("Unknown"),
    money(token.used_quota), token.unlimited_quota ? t("Unlimited") : money(token.remain_quota),
    token.expired_time === -1 ? t("Never") : dateTime(token.expired_time),
  ]), t("No tokens yet."))).catch((error) => renderRows("profile-tokens", [], error.message));
  api.get(`/api/log/self${query({p: 0, type: 2})}`).then((logs) => renderRows("profile-logs",
    logRows(asList(logs), ["time", "model", "token", "prompt", "completion", "cost", "duration"]), t("No requests yet.")))
    .catch((error) => renderRows("profile-logs", [], error.message));
  api.get("/api/log/self/stat").then((stat) => setText("profile-log-total", money(stat.quota))).catch(() => {});
};
