"""The gateway as an OAuth client of GitHub, an OpenID Connect provider and Lark.

Each provider turns the ``code`` its authorization page sent back into an :class:`Identity`
(the provider's stable id for the person, and the name and address it knows): the code is
exchanged at the token endpoint with the client secret through Authlib's HTTP client, then
the provider says who the token belongs to.

- **GitHub**: ``/user`` (and ``/user/emails`` for a private address); the id kept is the
  numeric user id, which survives a renamed login (one-api kept the login; such a binding
  still signs in and is moved to the id).
- **OpenID Connect**: the discovery document at ``OidcWellKnown`` gives the issuer, the
  endpoints and the keys (``jwks_uri``); the explicit ``Oidc*Endpoint`` options override its
  endpoints. The ID token is verified against those keys (signature, ``iss``, ``aud``,
  ``exp``, ``iat``, ``azp``) and, when it carries a ``nonce``, that must be the one this
  browser's sign-in asked for: this gateway's pages send the state as the nonce; one-api's
  pages send none, and the code flow with a client secret makes it optional. Without a
  discovery document (explicit endpoints only) there are no keys to check an ID token
  against, and the subject comes from the userinfo endpoint, over TLS, as one-api does.
- **Lark**: its v2 token endpoint takes a JSON body; the userinfo's ``open_id`` is the id.

Authlib, joserfc and the HTTP clients are imported on a sign-in's first use, so neither the relay
nor the rest of the management API loads them.
The fixed GitHub and Lark URLs may be pointed at a local mock only through the test-only
``OAUTH_TEST_ORIGIN`` setting (:func:`endpoint`).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from oneapi.errors import Forbidden, InvalidRequest, ServiceUnavailable
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.security import constant_time_equal

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ("GITHUB_AUTHORIZE", "LARK_AUTHORIZE", "Identity", "OidcProvider", "endpoint", "github_identity",
           "lark_identity", "oidc_identity")

GITHUB_AUTHORIZE = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN = "https://github.com/login/oauth/access_token"
GITHUB_USER = "https://api.github.com/user"
GITHUB_EMAILS = "https://api.github.com/user/emails"
LARK_AUTHORIZE = "https://accounts.feishu.cn/open-apis/authen/v1/authorize"
LARK_TOKEN = "https://open.feishu.cn/open-apis/authen/v2/oauth/token"
LARK_USERINFO = "https://passport.feishu.cn/suite/passport/oauth/userinfo"
TIMEOUT_SECONDS = 10.0
DISCOVERY_TTL_SECONDS = 600.0
RETRY_AFTER_FAILURE_SECONDS = 30.0
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Identity:
    """Who a provider says signed in: ``subject`` is what the users table keeps."""

    provider: str  # "github", "oidc" or "lark"
    subject: str
    login: str = ""  # the provider's user name, a hint for a new account's username
    display_name: str = ""
    email: str = ""
    legacy_subject: str = ""  # what one-api kept for the same person (GitHub: the login)


def endpoint(test_origin: str, url: str) -> str:
    """``url``, or under a test's mock origin as ``<origin>/<host><path>`` when one is set."""
    if not test_origin:
        return url
    parts = urlsplit(url)
    return f"{test_origin.rstrip('/')}/{parts.netloc}{parts.path}"


def _client(client_id: str, client_secret: str, auth_method: str | Callable[..., Any] = "client_secret_post"
            ) -> AsyncOAuth2Client:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    return AsyncOAuth2Client(client_id=client_id, client_secret=client_secret,
                             token_endpoint_auth_method=auth_method, timeout=TIMEOUT_SECONDS)


async def _exchange(client: AsyncOAuth2Client, provider: str, url: str, code: str,
                    redirect_uri: str | None) -> dict[str, Any]:
    """The token endpoint's answer for ``code``; a refused or unreachable exchange is an envelope error."""
    import httpx2
    from authlib.integrations.base_client import OAuthError

    if not code:
        raise InvalidRequest(N_("the sign-in answer has no code"), param="code")
    extra = {"redirect_uri": redirect_uri} if redirect_uri else {}
    try:
        token = await client.fetch_token(url, code=code, grant_type="authorization_code", **extra)
    except OAuthError as exc:
        error = exc.error or "error"
        raise Forbidden(N_("{provider} refused the sign-in: {error}", provider=provider,
                           error=f"{error}: {exc.description}" if exc.description else error),
                        code="oauth_refused") from None
    except (httpx2.HTTPError, ValueError) as exc:
        raise ServiceUnavailable(N_("{provider} could not be reached to finish the sign-in: {error}",
                                    provider=provider, error=type(exc).__name__)) from None
    if not token.get("access_token"):
        raise Forbidden(N_("{provider} answered without an access token",
                           provider=provider), code="oauth_refused")
    return dict(token)


async def _get_json(client: AsyncOAuth2Client, provider: str, url: str) -> Any:
    import httpx2

    try:
        reply = await client.get(url, headers={"Accept": "application/json"})
        reply.raise_for_status()
        return reply.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise ServiceUnavailable(N_("{provider} did not say who signed in: {error}", provider=provider,
                                    error=type(exc).__name__)) from None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


# -- GitHub -----------------------------------------------------------------------------------
async def github_identity(code: str, test_origin: str) -> Identity:
    async with _client(options.get("GitHubClientId"), options.get("GitHubClientSecret")) as client:
        await _exchange(client, "GitHub", endpoint(test_origin, GITHUB_TOKEN), code, None)
        user = await _get_json(client, "GitHub", endpoint(test_origin, GITHUB_USER))
        if not isinstance(user, dict) or not isinstance(user.get("id"), int) or not _text(user.get("login")):
            raise ServiceUnavailable(N_("GitHub's user answer has no id or login"))
        email = _text(user.get("email")) or await _github_primary_email(client, test_origin)
    login = _text(user.get("login"))
    return Identity("github", str(user["id"]), login, _text(user.get("name")) or "GitHub User", email,
                    legacy_subject=login)


async def _github_primary_email(client: AsyncOAuth2Client, test_origin: str) -> str:
    """The primary, verified address of a user who keeps theirs private ("" when not allowed to see it)."""
    try:
        addresses = await _get_json(client, "GitHub", endpoint(test_origin, GITHUB_EMAILS))
    except ServiceUnavailable:  # the app was not granted user:email: sign in without an address
        return ""
    if not isinstance(addresses, list):
        return ""
    return next((_text(item.get("email")) for item in addresses
                 if isinstance(item, dict) and item.get("primary") and item.get("verified")), "")


# -- Lark -------------------------------------------------------------------------------------
def _lark_client_auth(client: Any, _method: str, uri: str, headers: Any,
                      body: bytes | str) -> tuple[str, Any, bytes]:
    """Authlib client authentication for Lark's v2 token endpoint: the form's fields and the
    client's id and secret, as one JSON object (it takes no form)."""
    from urllib.parse import parse_qsl

    text = body.decode() if isinstance(body, bytes) else body
    fields = {**dict(parse_qsl(text)), "client_id": client.client_id, "client_secret": client.client_secret}
    headers["Content-Type"] = "application/json; charset=utf-8"
    return uri, headers, json.dumps(fields).encode()


async def lark_identity(code: str, redirect_uri: str, test_origin: str) -> Identity:
    client_id, secret = options.get("LarkClientId"), options.get("LarkClientSecret")
    async with _client(client_id, secret, _lark_client_auth) as client:
        await _exchange(client, "Lark", endpoint(test_origin, LARK_TOKEN), code, redirect_uri)
        user = await _get_json(client, "Lark", endpoint(test_origin, LARK_USERINFO))
    if not isinstance(user, dict) or not _text(user.get("open_id")):
        raise ServiceUnavailable(N_("Lark's user answer has no open_id"))
    return Identity("lark", _text(user["open_id"]), "", _text(user.get("name")) or "Lark User",
                    _text(user.get("email")))


# -- OpenID Connect ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OidcProvider:
    """The provider as configured: discovery merged with the explicit endpoint options."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    auth_methods: tuple[str, ...]


class OidcDiscovery:
    """The discovery document and key set, fetched on first use and kept for a while."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}
        self._failed: dict[str, float] = {}  # url -> when it last failed: not asked again for a while

    async def _fetch(self, cache: dict[str, tuple[float, dict[str, Any]]], url: str, what: str,
                     refresh: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        cached = cache.get(url)
        if cached is not None and not refresh and now - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
        if now - self._failed.get(url, -RETRY_AFTER_FAILURE_SECONDS) < RETRY_AFTER_FAILURE_SECONDS:
            raise ServiceUnavailable(N_("the OIDC provider's {what} could not be read a moment ago",
                                        what=what))
        import httpx

        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                reply = await client.get(url, headers={"Accept": "application/json"})
            reply.raise_for_status()
            document = reply.json()
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
        except (httpx.HTTPError, ValueError) as exc:
            self._failed[url] = now  # /api/status asks on every page load: a down provider must not slow it
            raise ServiceUnavailable(N_("the OIDC provider's {what} could not be read: {error}", what=what,
                                        error=type(exc).__name__)
                                     ) from None
        self._failed.pop(url, None)
        cache[url] = (now, document)
        return document

    async def provider(self) -> OidcProvider:
        well_known = options.get("OidcWellKnown").strip()
        found = await self._fetch(self._documents, well_known, "discovery document") if well_known else {}

        def pick(option: str, field: str) -> str:
            return options.get(option).strip() or _text(found.get(field))

        algorithms = found.get("id_token_signing_alg_values_supported")
        methods = found.get("token_endpoint_auth_methods_supported")
        return OidcProvider(
            issuer=_text(found.get("issuer")),
            authorization_endpoint=pick("OidcAuthorizationEndpoint", "authorization_endpoint"),
            token_endpoint=pick("OidcTokenEndpoint", "token_endpoint"),
            userinfo_endpoint=pick("OidcUserinfoEndpoint", "userinfo_endpoint"),
            jwks_uri=_text(found.get("jwks_uri")),
            algorithms=tuple(a for a in algorithms if isinstance(a, str) and a != "none")
            if isinstance(algorithms, list) else ("RS256",),
            auth_methods=tuple(m for m in methods if isinstance(m, str)) if isinstance(methods, list) else (),
        )

    async def authorization_endpoint(self) -> str:
        """For ``/api/status``: the endpoint sign-in pages send browsers to ("" when unknown)."""
        try:
            return (await self.provider()).authorization_endpoint
        except ServiceUnavailable:
            return options.get("OidcAuthorizationEndpoint")

    async def key_set(self, provider: OidcProvider, refresh: bool = False) -> dict[str, Any]:
        return await self._fetch(self._keys, provider.jwks_uri, "key set", refresh)


def _verify_id_token(id_token: str, keys: dict[str, Any], provider: OidcProvider, client_id: str,
                     nonce: str) -> dict[str, Any]:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet
    from joserfc.jwt import JWTClaimsRegistry

    try:
        token = jwt.decode(id_token, KeySet.import_key_set(keys),  # type: ignore[arg-type]
                           algorithms=list(provider.algorithms))
        registry = JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS, iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": client_id}, sub={"essential": True}, exp={"essential": True},
            iat={"essential": True})
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise Forbidden(N_("the OIDC provider's ID token is not valid: {error}",
                           error=exc), code="oauth_refused") from None
    claims = dict(token.claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if claims.get("azp", client_id if len(audiences) == 1 else None) != client_id:
        raise Forbidden(N_("the OIDC provider's ID token was issued to another client"), code="oauth_refused")
    if "nonce" in claims and not (isinstance(claims["nonce"], str) and nonce
                                  and constant_time_equal(claims["nonce"], nonce)):
        raise Forbidden(N_("the OIDC provider's ID token belongs to another sign-in (nonce)"),
                        code="oauth_refused")
    return claims


async def oidc_identity(discovery: OidcDiscovery, code: str, redirect_uri: str, nonce: str) -> Identity:
    provider = await discovery.provider()
    if not provider.token_endpoint:
        raise ServiceUnavailable(N_("the OIDC provider has no token endpoint configured"))
    client_id = options.get("OidcClientId")
    basic = not provider.auth_methods or "client_secret_basic" in provider.auth_methods
    method = "client_secret_basic" if basic else "client_secret_post"
    async with _client(client_id, options.get("OidcClientSecret"), method) as client:
        token = await _exchange(client, "the OIDC provider", provider.token_endpoint, code, redirect_uri)
        claims: dict[str, Any] = {}
        if provider.jwks_uri:
            id_token = token.get("id_token")
            if not isinstance(id_token, str) or not id_token:
                raise Forbidden(N_("the OIDC provider answered without an ID token"), code="oauth_refused")
            claims = await _checked_claims(discovery, provider, id_token, client_id, nonce)
        info: dict[str, Any] = {}
        if provider.userinfo_endpoint:
            answer = await _get_json(client, "the OIDC provider", provider.userinfo_endpoint)
            info = answer if isinstance(answer, dict) else {}
    subject = _text(claims.get("sub")) or (_text(info.get("sub")) if not provider.jwks_uri else "")
    if not subject:
        raise ServiceUnavailable(N_("the OIDC provider did not name the user (no sub)"))
    if info and _text(info.get("sub")) != subject:
        raise Forbidden(N_("the OIDC provider's userinfo is about another user"), code="oauth_refused")
    facts = {**claims, **info}
    email = _text(facts.get("email")) if facts.get("email_verified") is not False else ""
    return Identity("oidc", subject, _text(facts.get("preferred_username")),
                    _text(facts.get("name")) or "OIDC User", email)


async def _checked_claims(discovery: OidcDiscovery, provider: OidcProvider, id_token: str, client_id: str,
                          nonce: str) -> dict[str, Any]:
    """Verify with the cached keys; a key id they lack (the provider rotated keys) fetches them again."""
    keys = await discovery.key_set(provider)
    kid = _key_id(id_token)
    known = {key.get("kid") for key in keys.get("keys", []) if isinstance(key, dict)}
    if kid and kid not in known:
        keys = await discovery.key_set(provider, refresh=True)
    return _verify_id_token(id_token, keys, provider, client_id, nonce)


def _key_id(id_token: str) -> str:
    """The ``kid`` of a compact JWS's header ("" when it has none or cannot be read)."""
    head = id_token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return ""
    return _text(header.get("kid")) if isinstance(header, dict) else ""
