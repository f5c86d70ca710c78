/* Signing in through GitHub, OIDC and Lark (and binding them), the two-factor code step of a
   sign-in, and two-factor set-up on the personal page. The provider buttons get a state from
   /api/oauth/state and send the browser to the provider, which sends it back to
   /oauth/<provider>; that page hands code and state to /api/oauth/<provider>, as one-api's
   pages do. */
import {
  $, $$, api, bindForm, config, query, setText, showError, t,
} from "./core.js";

/* Every text this file shows, in one place. */
const TEXT = {
  bound: t("bound"),
  notBound: t("not bound"),
  boundNote: {github: t("GitHub is now bound to your account."), oidc: t("OIDC is now bound to your account."),
              lark: t("Lark is now bound to your account.")},
  signingIn: t("Finishing the sign-in…"),
  failed: t("The sign-in did not work. Go back and try again."),
  noProvider: t("This sign-in method is not configured."),
  enterCode: t("Enter the code from your app, or a recovery code."),
  enterDisable: t("Enter a code, a recovery code or your password."),
  on: t("Two-factor sign-in is on."),
  off: t("Two-factor sign-in is off."),
  required: t("Your administrator requires two-factor sign-in for admins: set it up to continue."),
  turnedOn: t("Two-factor sign-in is on: save your recovery codes now."),
  turnedOff: t("Two-factor sign-in is off."),
};

/* The provider's authorization page, with this browser's state (also the OIDC nonce). */
async function authorizeUrl(provider) {
  const status = await api.get("/api/status");
  const state = await api.get("/api/oauth/state");
  const redirect_uri = `${(status.server_address || location.origin).replace(/\/$/, "")}/oauth/${provider}`;
  if (provider === "github" && status.github_oauth) {
    return status.github_authorize_endpoint + query({client_id: status.github_client_id, redirect_uri, scope: "user:email", state});
  }
  if (provider === "oidc" && status.oidc && status.oidc_authorization_endpoint) {
    return status.oidc_authorization_endpoint + query({client_id: status.oidc_client_id, redirect_uri,
      response_type: "code", scope: "openid profile email", state, nonce: state});
  }
  if (provider === "lark" && status.lark_client_id) {
    return status.lark_authorize_endpoint + query({client_id: status.lark_client_id, redirect_uri, state});
  }
  throw new Error(TEXT.noProvider);
}

/* Buttons marked data-oauth="<provider>" start a sign-in (or, when signed in, a binding). */
export function wireProviderButtons() {
  for (const button of $$("[data-oauth]")) {
    button.addEventListener("click", async () => {
      showError("oauth-error", null);
      button.disabled = true;
      try {
        location.assign(await authorizeUrl(button.dataset.oauth));
      } catch (error) {
        showError("oauth-error", error);
        button.disabled = false;
      }
    });
  }
}

/* After a sign-in answered {require_2fa: true}: hide ``hide`` and ask for the code. */
export function askSecondFactor(hide, done) {
  if (hide) hide.hidden = true;
  const form = $('form[data-form="login-2fa"]');
  form.hidden = false;
  form.elements.code.focus();
  bindForm("login-2fa", async (values) => {
    if (!values.code) throw new Error(TEXT.enterCode);
    await api.post("/api/user/login/2fa", {code: values.code});
    done();
  });
}

/* The page a provider sends the browser back to (/oauth/github, /oauth/oidc, /oauth/lark). */
async function finishProvider(provider) {
  const params = new URLSearchParams(location.search);
  const status = document.getElementById("oauth-status");
  status.textContent = TEXT.signingIn;
  try {
    const payload = await api.raw("GET", `/api/oauth/${provider}${query({code: params.get("code"), state: params.get("state")})}`);
    location.replace(payload.message === "bind" ? `/profile${query({bound: provider})}` : "/dashboard");
  } catch (error) {
    if (error.data && error.data.require_2fa) {
      askSecondFactor(status, () => location.replace("/dashboard"));
      return;
    }
    status.textContent = TEXT.failed;
    showError("oauth-return-error", error);
  }
}

export const oauth_github = () => finishProvider("github");
export const oauth_oidc = () => finishProvider("oidc");
export const oauth_lark = () => finishProvider("lark");

/* An admin the TwoFactorRequiredForAdmins option holds back: only the personal page works. */
export function holdForTwoFactor(user) {
  if (!config.twoFactorForAdmins || user.role < config.roles.admin || user.totp_enabled) return false;
  if (config.page !== "profile") {
    location.replace("/profile#two-factor");
    return true;
  }
  return false;
}

/* The personal page's sign-in methods and two-factor panels. */
export function signInPanels(user) {
  for (const provider of ["github", "oidc", "lark"]) {
    const id = user && user[`${provider}_id`];
    setText(`binding-${provider}`, id ? `${TEXT.bound} (${id})` : TEXT.notBound);
    const button = $(`[data-bind="${provider}"]`);
    if (button) button.hidden = Boolean(id);
  }
  const bound = new URLSearchParams(location.search).get("bound");
  if (TEXT.boundNote[bound]) setText("binding-note", TEXT.boundNote[bound]);
  wireProviderButtons();
  twoFactorPanel(user);
}

function showStep(step) {
  for (const part of $$("[data-2fa-step]")) part.hidden = part.getAttribute("data-2fa-step") !== step;
}

function twoFactorPanel(user) {
  const enabled = Boolean(user && user.totp_enabled);
  const held = config.twoFactorForAdmins && user && user.role >= config.roles.admin && !enabled;
  setText("two-factor-status", enabled ? TEXT.on : (held ? TEXT.required : TEXT.off));
  showStep(enabled ? "on" : "off");
  if (location.hash === "#two-factor") document.getElementById("two-factor").scrollIntoView({block: "center"});

  const setup = $("[data-action='2fa-setup']");
  setup.addEventListener("click", async () => {
    showError("two-factor-error", null);
    try {
      const fresh = await api.get("/api/user/2fa/setup");
      document.getElementById("two-factor-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(fresh.qr_svg)}`;
      document.getElementById("two-factor-secret").value = fresh.secret;
      showStep("setup");
      document.getElementById("two-factor-code").focus();
    } catch (error) { showError("two-factor-error", error); }
  });

  bindForm("2fa-enable", async (values, form) => {
    if (!values.code) throw new Error(TEXT.enterCode);
    const answer = await api.post("/api/user/2fa/enable", {code: values.code});
    form.reset();
    document.getElementById("two-factor-recovery-codes").value = answer.recovery_codes.join("\n");
    showStep("codes");
    setText("two-factor-status", TEXT.turnedOn);
    if (user) user.totp_enabled = true;
  });

  bindForm("2fa-disable", async (values, form) => {
    if (!values.code && !values.password) throw new Error(TEXT.enterDisable);
    await api.post("/api/user/2fa/disable", {code: values.code, password: values.password});
    form.reset();
    showStep("off");
    setText("two-factor-status", TEXT.turnedOff);
    if (user) user.totp_enabled = false;
  });
}
