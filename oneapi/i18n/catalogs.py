"""The gettext catalogs (``oneapi/locale/<locale>/LC_MESSAGES/messages.po``) and which one a
request reads.

The ``.po`` files are the only copy: each is compiled in memory on first use, so no
compiled ``.mo`` can drift from them. polib reads them and writes the ``.mo`` bytes the
standard library's :class:`gettext.GNUTranslations` loads; Babel did the same but brought
34 MB of CLDR locale data the gateway never read (polib is 0.1 MB), so it is now only the
developers' extractor (``pybabel extract``, the ``test`` extra). A request's language is the
visitor's choice (the ``lang`` cookie the header's switch sets), else the first
``Accept-Language`` tag that names a supported language (:func:`negotiate`), else
``DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from gettext import GNUTranslations
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polib

from oneapi.config import Settings
from oneapi.i18n import COOKIE, LANGUAGES, Text, normalise_language

if TYPE_CHECKING:
    from litestar import Request

__all__ = ("LOCALE_DIR", "CompiledCatalog", "accepted", "compile_catalog", "js_messages", "negotiate",
           "read_catalog", "request_language", "translate", "translations")

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
# Accept-Language tags (lowercased) for Simplified Chinese that name no supported language by
# themselves or by their first subtag: the bare language, the script subtag, Singapore's
# (zh-TW and zh-HK, Traditional, match nothing: the next tag decides)
_ALIASES = {"zh": "zh-CN", "zh-hans": "zh-CN", "zh-hans-cn": "zh-CN", "zh-sg": "zh-CN", "zh-hans-sg": "zh-CN"}


def read_catalog(tag: str) -> polib.POFile:
    """The ``.po`` catalog of ``tag``: its entries (``msgid``, ``msgstr``, ``fuzzy``, ``occurrences``)."""
    return polib.pofile(str(LOCALE_DIR / LANGUAGES[tag] / "LC_MESSAGES" / f"{DOMAIN}.po"))


@dataclass(frozen=True)
class CompiledCatalog:
    """What the gateway uses of one language's catalog, from one read of its ``.po`` file."""

    translations: GNUTranslations
    js_messages: dict[str, str]


@functools.cache
def compile_catalog(tag: str) -> CompiledCatalog:
    """The catalog of ``tag`` compiled in memory (fuzzy, obsolete and untranslated entries left
    out, as ``msgfmt`` does; plural forms from its ``Plural-Forms`` header), and the translated
    strings the scripts under ``static/`` use (the same entries but for plural ones)."""
    catalog = read_catalog(tag)
    scripts = {entry.msgid: entry.msgstr for entry in catalog
               if entry.translated() and not entry.msgid_plural
               and any(path.endswith(".js") for path, _line in entry.occurrences)}
    return CompiledCatalog(GNUTranslations(BytesIO(catalog.to_binary())), scripts)


def translations(tag: str) -> GNUTranslations:
    """``tag``'s compiled catalog: Jinja's i18n extension calls its ``gettext``, ``ngettext``,
    ``pgettext`` and ``npgettext``."""
    return compile_catalog(tag).translations


def js_messages(tag: str) -> dict[str, str]:
    """The translated strings the scripts under ``static/`` use, for ``t()`` in ``core.js``."""
    return compile_catalog(tag).js_messages


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


def _supported(tag: str) -> str | None:
    """The supported language an ``Accept-Language`` tag names: itself (``zh-cn``), an alias
    (``zh-Hans``), or its primary language (``en-US``: en), else None."""
    key = tag.lower()
    return normalise_language(key) or _ALIASES.get(key) or normalise_language(key.partition("-")[0])


def negotiate(choice: str | None, accept_language: str, default: str) -> str:
    """The visitor's ``choice`` when supported, else the most wanted ``Accept-Language`` tag that
    names a supported language, else ``default``."""
    chosen = normalise_language(choice or "")
    if chosen:
        return chosen
    matches = (_supported(tag) for tag in accepted(accept_language))
    return next((language for language in matches if language), default)


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
