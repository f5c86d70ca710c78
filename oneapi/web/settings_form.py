"""The root settings page's form: which options it edits, grouped as one-api's UI groups them.

Kept as data so both themes render the same fields from one list. Secret options (the SMTP
password, the Turnstile and sign-in providers' secrets) are write-only ``password`` fields: the
options API never returns them, so an empty field leaves the stored secret as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

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


_KEEP = "Never shown; leave empty to keep it."
_DISCOVERED = "Empty: from the discovery URL."
OPTION_GROUPS: tuple[OptionGroup, ...] = (
    OptionGroup("features", "Feature toggles", (
        OptionField("PasswordLoginEnabled", "Password login", "toggle"),
        OptionField("RegisterEnabled", "New users may register", "toggle"),
        OptionField("PasswordRegisterEnabled", "Register with a password", "toggle"),
        OptionField("EmailVerificationEnabled", "Email verification on register", "toggle"),
        OptionField("EmailDomainRestrictionEnabled", "Only email addresses of the whitelisted domains",
                    "toggle", "The domains are set under Email."),
        OptionField("AutomaticDisableChannelEnabled", "Disable a channel when it fails", "toggle"),
        OptionField("AutomaticEnableChannelEnabled", "Re-enable a channel when its test passes", "toggle"),
        OptionField("ApproximateTokenEnabled", "Approximate token counting (faster)", "toggle"),
        OptionField("LogConsumeEnabled", "Log every request", "toggle"),
        OptionField("DisplayInCurrencyEnabled", "Show money in USD instead of quota", "toggle"),
        OptionField("DisplayTokenStatEnabled", "Show token usage to users", "toggle"),
    )),
    OptionGroup("site", "Site", (
        OptionField("SystemName", "System name"),
        OptionField("Theme", "Theme", "theme", "Overrides the THEME environment variable."),
        OptionField("ServerAddress", "Server address", help="Public URL users reach this gateway at."),
        OptionField("Logo", "Logo URL"),
        OptionField("TopUpLink", "Top-up link"),
        OptionField("ChatLink", "Chat link"),
        OptionField("Notice", "Notice", "textarea", "Shown at the top of the dashboard."),
        OptionField("Footer", "Footer", "textarea"),
        OptionField("About", "About", "textarea"),
    )),
    OptionGroup("email", "Email", (
        OptionField("SMTPServer", "SMTP server", help="Sends codes, reset links and quota reminders."),
        OptionField("SMTPPort", "SMTP port", "number", "465: TLS at once; others: STARTTLS if offered."),
        OptionField("SMTPAccount", "SMTP account"),
        OptionField("SMTPFrom", "Sender address", help="Empty: the SMTP account."),
        OptionField("SMTPToken", "SMTP password", "password", "Never shown; leave empty to keep it."),
        OptionField("EmailDomainWhitelist", "Allowed email domains", help="Comma-separated: example.com"),
    )),
    OptionGroup("turnstile", "Turnstile", (
        OptionField("TurnstileSiteKey", "Cloudflare Turnstile site key"),
        OptionField("TurnstileSecretKey", "Turnstile secret key", "password",
                    "Never shown; leave empty to keep it."),
        OptionField("TurnstileCheckEnabled", "Check Turnstile on register, codes and reset", "toggle"),
    )),
    OptionGroup("signin", "Sign-in", (
        OptionField("GitHubClientId", "GitHub client ID",
                    help="A GitHub OAuth app whose callback URL is <server address>/oauth/github."),
        OptionField("GitHubClientSecret", "GitHub client secret", "password", _KEEP),
        OptionField("GitHubOAuthEnabled", "Sign in and register with GitHub", "toggle"),
        OptionField("OidcClientId", "OIDC client ID", help="Redirect URI: <server address>/oauth/oidc."),
        OptionField("OidcClientSecret", "OIDC client secret", "password", _KEEP),
        OptionField("OidcWellKnown", "OIDC discovery URL",
                    help="…/.well-known/openid-configuration: endpoints, issuer and the keys ID tokens are "
                         "checked against."),
        OptionField("OidcAuthorizationEndpoint", "OIDC authorization endpoint", help=_DISCOVERED),
        OptionField("OidcTokenEndpoint", "OIDC token endpoint", help=_DISCOVERED),
        OptionField("OidcUserinfoEndpoint", "OIDC userinfo endpoint", help=_DISCOVERED),
        OptionField("OidcEnabled", "Sign in and register with OpenID Connect", "toggle"),
        OptionField("LarkClientId", "Lark (Feishu) app ID",
                    help="Lark sign-in is on while this is set; redirect URL: <server address>/oauth/lark."),
        OptionField("LarkClientSecret", "Lark app secret", "password", _KEEP),
        OptionField("TwoFactorRequiredForAdmins", "Admins must use two-factor sign-in", "toggle",
                    "An admin without it can only set it up after signing in. Turn on yours first."),
    )),
    OptionGroup("quota", "Quota", (
        OptionField("QuotaPerUnit", "Quota per US dollar", "number", "500000 quota = $1 by default."),
        OptionField("QuotaForNewUser", "Quota for a new user", "number"),
        OptionField("QuotaForInviter", "Quota for the inviter", "number"),
        OptionField("QuotaForInvitee", "Quota for the invitee", "number"),
        OptionField("PreConsumedQuota", "Quota held before a request", "number"),
        OptionField("QuotaRemindThreshold", "Low-quota reminder threshold", "number"),
    )),
    OptionGroup("relay", "Relay", (
        OptionField("RetryTimes", "Retries on another channel", "number"),
        OptionField("ChannelDisableThreshold", "Slowest test before disabling (seconds)", "number"),
        OptionField("LogRetentionDays", "Keep logs for days (0: forever)", "number"),
        OptionField("ResponseRetentionDays", "Keep stored /v1/responses answers for days (0: forever)",
                    "number", "Answers made through non-OpenAI channels, for previous_response_id."),
        OptionField("ResponseStoreUserLimitMB", "Stored /v1/responses answers per user (MB)", "number",
                    "The oldest go first when a user's answers pass this size."),
    )),
    OptionGroup("ratios", "Ratios", (
        OptionField("ModelRatio", "Model ratios (JSON)", "json",
                    "The built-in table with your overrides laid over it; edit any entry. "
                    "Ratio 1 = $2 per 1M tokens."),
        OptionField("CompletionRatio", "Completion ratios (JSON)", "json", 'e.g. {"gpt-4o": 4}'),
        OptionField("CacheRatio", "Cache read ratios (JSON)", "json",
                    'Cached prompt tokens, of the input price, e.g. {"claude": 0.1, "gpt-4o": 0.5}'),
        OptionField("CreateCacheRatio", "Cache write ratios (JSON)", "json",
                    'Prompt tokens written to the cache, of the input price, e.g. {"claude": 1.25}'),
        OptionField("GroupRatio", "Group ratios (JSON)", "json", 'e.g. {"default": 1, "vip": 1}'),
    )),
)
