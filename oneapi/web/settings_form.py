"""The root settings page's form: which options it edits, grouped as one-api's UI groups them.

Kept as data so both themes render the same fields from one list. Secret options (the SMTP
password, the Turnstile and sign-in providers' secrets) are write-only ``password`` fields: the
options API never returns them, so an empty field leaves the stored secret as it is. Labels
and help are English marked for the catalogs (``N_``); the template shows them in the reader's
language.
"""

from __future__ import annotations

from dataclasses import dataclass

from oneapi.i18n import N_

__all__ = ("OPTION_GROUPS", "OptionField", "OptionGroup")


@dataclass(frozen=True)
class OptionField:
    key: str
    label: str
    kind: str = "text"  # toggle | text | number | password | textarea | json | theme
    help: str = ""


@dataclass(frozen=True)
class OptionGroup:
    name: str
    title: str
    fields: tuple[OptionField, ...]


_KEEP = N_("Never shown; leave empty to keep it.")
_DISCOVERED = N_("Empty: from the discovery URL.")
OPTION_GROUPS: tuple[OptionGroup, ...] = (
    OptionGroup("features", N_("Feature toggles"), (
        OptionField("PasswordLoginEnabled", N_("Password login"), "toggle"),
        OptionField("RegisterEnabled", N_("New users may register"), "toggle"),
        OptionField("PasswordRegisterEnabled", N_("Register with a password"), "toggle"),
        OptionField("EmailVerificationEnabled", N_("Email verification on register"), "toggle"),
        OptionField("EmailDomainRestrictionEnabled", N_("Only email addresses of the whitelisted domains"),
                    "toggle", N_("The domains are set under Email.")),
        OptionField("AutomaticDisableChannelEnabled", N_("Disable a channel when it fails"), "toggle"),
        OptionField("AutomaticEnableChannelEnabled",
                    N_("Re-enable a channel when its test passes"), "toggle"),
        OptionField("ApproximateTokenEnabled", N_("Approximate token counting (faster)"), "toggle"),
        OptionField("LogConsumeEnabled", N_("Log every request"), "toggle"),
        OptionField("DisplayInCurrencyEnabled", N_("Show money in USD instead of quota"), "toggle"),
        OptionField("DisplayTokenStatEnabled", N_("Show token usage to users"), "toggle"),
    )),
    OptionGroup("site", N_("Site"), (
        OptionField("SystemName", N_("System name")),
        OptionField("Theme", N_("Theme"), "theme", N_("Overrides the THEME environment variable.")),
        OptionField("ServerAddress", N_("Server address"),
                    help=N_("Public URL users reach this gateway at.")),
        OptionField("Logo", N_("Logo URL")),
        OptionField("TopUpLink", N_("Top-up link")),
        OptionField("ChatLink", N_("Chat link")),
        OptionField("Notice", N_("Notice"), "textarea", N_("Shown at the top of the dashboard.")),
        OptionField("Footer", N_("Footer"), "textarea"),
        OptionField("About", N_("About"), "textarea"),
    )),
    OptionGroup("email", N_("Email"), (
        OptionField("SMTPServer", N_("SMTP server"),
                    help=N_("Sends codes, reset links and quota reminders.")),
        OptionField("SMTPPort", N_("SMTP port"), "number",
                                   N_("465: TLS at once; others: STARTTLS if offered.")),
        OptionField("SMTPAccount", N_("SMTP account")),
        OptionField("SMTPFrom", N_("Sender address"), help=N_("Empty: the SMTP account.")),
        OptionField("SMTPToken", N_("SMTP password"), "password", N_("Never shown; leave empty to keep it.")),
        OptionField("EmailDomainWhitelist", N_("Allowed email domains"),
                    help=N_("Comma-separated: example.com")),
    )),
    OptionGroup("turnstile", N_("Turnstile"), (
        OptionField("TurnstileSiteKey", N_("Cloudflare Turnstile site key")),
        OptionField("TurnstileSecretKey", N_("Turnstile secret key"), "password",
                    N_("Never shown; leave empty to keep it.")),
        OptionField("TurnstileCheckEnabled", N_("Check Turnstile on register, codes and reset"), "toggle"),
    )),
    OptionGroup("signin", N_("Sign-in"), (
        OptionField("GitHubClientId", N_("GitHub client ID"),
                    help=N_("A GitHub OAuth app whose callback URL is <server address>/oauth/github.")),
        OptionField("GitHubClientSecret", N_("GitHub client secret"), "password", _KEEP),
        OptionField("GitHubOAuthEnabled", N_("Sign in and register with GitHub"), "toggle"),
        OptionField("OidcClientId", N_("OIDC client ID"),
                    help=N_("Redirect URI: <server address>/oauth/oidc.")),
        OptionField("OidcClientSecret", N_("OIDC client secret"), "password", _KEEP),
        OptionField("OidcWellKnown", N_("OIDC discovery URL"),
                    help=N_("…/.well-known/openid-configuration: endpoints, issuer and the keys ID tokens "
                            "are checked against.")),
        OptionField("OidcAuthorizationEndpoint", N_("OIDC authorization endpoint"), help=_DISCOVERED),
        OptionField("OidcTokenEndpoint", N_("OIDC token endpoint"), help=_DISCOVERED),
        OptionField("OidcUserinfoEndpoint", N_("OIDC userinfo endpoint"), help=_DISCOVERED),
        OptionField("OidcEnabled", N_("Sign in and register with OpenID Connect"), "toggle"),
        OptionField("LarkClientId", N_("Lark (Feishu) app ID"),
                    help=N_("Lark sign-in is on while this is set; redirect URL: "
                            "<server address>/oauth/lark.")),
        OptionField("LarkClientSecret", N_("Lark app secret"), "password", _KEEP),
        OptionField("TwoFactorRequiredForAdmins", N_("Admins must use two-factor sign-in"), "toggle",
                    N_("An admin without it can only set it up after signing in. Turn on yours first.")),
    )),
    OptionGroup("quota", N_("Quota"), (
        OptionField("QuotaPerUnit", N_("Quota per US dollar"), "number", N_("500000 quota = $1 by default.")),
        OptionField("QuotaForNewUser", N_("Quota for a new user"), "number"),
        OptionField("QuotaForInviter", N_("Quota for the inviter"), "number"),
        OptionField("QuotaForInvitee", N_("Quota for the invitee"), "number"),
        OptionField("PreConsumedQuota", N_("Quota held before a request"), "number"),
        OptionField("QuotaRemindThreshold", N_("Low-quota reminder threshold"), "number"),
    )),
    OptionGroup("relay", N_("Relay"), (
        OptionField("RetryTimes", N_("Retries on another channel"), "number"),
        OptionField("ChannelDisableThreshold", N_("Slowest test before disabling (seconds)"), "number"),
        OptionField("LogRetentionDays", N_("Keep logs for days (0: forever)"), "number"),
        OptionField("ResponseRetentionDays", N_("Keep stored /v1/responses answers for days (0: forever)"),
                    "number", N_("Answers made through non-OpenAI channels, for previous_response_id.")),
        OptionField("ResponseStoreUserLimitMB", N_("Stored /v1/responses answers per user (MB)"), "number",
                    N_("The oldest go first when a user's answers pass this size.")),
    )),
    OptionGroup("ratios", N_("Ratios"), (
        OptionField("ModelRatio", N_("Model ratios (JSON)"), "json",
                    N_("The built-in table with your overrides laid over it; edit any entry. "
                    "Ratio 1 = $2 per 1M tokens.")),
        OptionField("CompletionRatio", N_("Completion ratios (JSON)"), "json", N_('e.g. {"gpt-4o": 4}')),
        OptionField("CacheRatio", N_("Cache read ratios (JSON)"), "json",
                    N_('Cached prompt tokens, of the input price, e.g. {"claude": 0.1, "gpt-4o": 0.5}')),
        OptionField("CreateCacheRatio", N_("Cache write ratios (JSON)"), "json",
                    N_('Prompt tokens written to the cache, of the input price, e.g. {"claude": 1.25}')),
        OptionField("GroupRatio", N_("Group ratios (JSON)"), "json", N_('e.g. {"default": 1, "vip": 1}')),
    )),
)
