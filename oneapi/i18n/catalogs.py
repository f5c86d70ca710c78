"""The gettext catalogs (``oneapi/locale/<locale>/LC_MESSAGES/messages.po``) and which one a
request reads.

The ``.po`` files are the only copy: each is compiled in memory on first use, so no
compiled ``.mo`` can drift from them. A request's language is the visitor's choice (the
``lang`` cookie the header's switch sets), else the best match of ``Accept-Language``
(Babel's ``negotiate_locale``), else ``DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import negotiate_locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from oneapi.config import Settings
from oneapi.i18n import COOKIE, LANGUAGES, Text, normalise_language

if TYPE_CHECKING:
    from litestar import Request

__all__ = ("LOCALE_DIR", "accepted", "js_messages", "negotiate", "read_catalog",
           "request_language", "translate", "translations")

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
# language-only and script tags browsers send for Simplified Chinese (Babel's own aliases have no "zh")
_ALIASES = {"zh": "zh_CN", "zh-hans": "zh_CN", "zh-hans-cn": "zh_CN", "zh-sg": "zh_CN", "zh-hans-sg": "zh_CN"}


def read_catalog(tag: str) -> Catalog:
    """The ``.po`` catalog of ``tag`` as Babel reads it."""
    locale = LANGUAGES[tag]
    with (LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=locale, domain=DOMAIN)


@functools.cache
def translations(tag: str) -> Translations:
    """The catalog of ``tag`` compiled in memory (fuzzy entries left out, as ``msgfmt`` does)."""
    compiled = BytesIO()
    write_mo(compiled, read_catalog(tag))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def js_messages(tag: str) -> dict[str, str]:
    """The translated strings the scripts under ``static/`` use, for ``t()`` in ``core.js``."""
    return {message.id: message.string for message in read_catalog(tag)
            if isinstance(message.id, str) and isinstance(message.string, str) and message.string
            and any(path.endswith(".js") for path, _line in message.locations)}


def accepted(header: str) -> list[str]:
    """``Accept-Language``'s tags, most wanted first (``q=0`` ones left out)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            ranked.append((-quality, index, tag.strip()))
    return [tag for _quality, _index, tag in sorted(ranked)]


def negotiate(choice: str | None, accept_language: str, default: str) -> str:
    """The visitor's ``choice`` when supported, else the best ``Accept-Language`` match, else ``default``."""
    chosen = normalise_language(choice or "")
    if chosen:
        return chosen
    matched = negotiate_locale(accepted(accept_language), list(LANGUAGES), sep="-", aliases=_ALIASES)
    return normalise_language(matched or "") or default


def request_language(request: Request[Any, Any, Any]) -> str:
    """The language ``request`` reads, worked out once per request."""
    cached = request.scope.get("oneapi_language")
    if isinstance(cached, str):
        return cached
    runtime = getattr(request.app.state, "runtime", None)  # absent only in an app a test builds bare
    default: str = (runtime.settings.default_language if runtime is not None
                    else Settings.model_fields["default_language"].default)
    language = negotiate(request.cookies.get(COOKIE), request.headers.get("accept-language", ""), default)
    request.scope["oneapi_language"] = language  # type: ignore[typeddict-unknown-key]
    return language


def translate(text: str, tag: str) -> str:
    """``text`` in ``tag``'s language when it is a :class:`~oneapi.i18n.Text`; other text as it is."""
    return text.translated(translations(tag).gettext) if isinstance(text, Text) else str(text)
