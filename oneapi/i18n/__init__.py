"""The languages the UI, the management API and the emails speak, and the marker for text
that is written once in English and translated where it reaches a person.

:class:`Text` is a ``str`` holding the English text, so code that logs or compares it sees
English; it also keeps its template and parameters, so :func:`oneapi.i18n.catalogs.translate`
can render it again in the reader's language. ``N_`` is the name ``pybabel extract`` looks
for (``babel.cfg``). This module imports nothing: the relay's process loads it with the
error types, and polib comes only with :mod:`oneapi.i18n.catalogs`, on the first page or
translated message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ("COOKIE", "LANGUAGES", "N_", "Text", "localized", "normalise_language")

# BCP 47 tag (the cookie, <html lang>, Intl) -> the gettext catalog's directory under oneapi/locale
LANGUAGES: dict[str, str] = {"zh-CN": "zh_CN", "en": "en"}
COOKIE = "lang"  # the visitor's choice from the header's switch; core.js keeps it in localStorage too


class Text(str):
    """English text that can be rendered again in another language."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        self = super().__new__(cls, template.format(**params) if params else template)
        self.template = template
        self.params = params
        return self

    def translated(self, gettext: Callable[[str], str]) -> str:
        text = gettext(self.template)
        return text.format(**self.params) if self.params else text


N_ = Text


def normalise_language(value: str) -> str | None:
    """The supported tag ``value`` spells (``zh_CN``, ``ZH-cn``, ``EN``), else None."""
    key = value.strip().replace("_", "-").lower()
    return next((tag for tag in LANGUAGES if tag.lower() == key), None)


def localized(request: Any, text: str) -> str:
    """``text`` in the language ``request`` reads, when it is a :class:`Text` (the first one loads
    polib and the catalogs); other text as it is. Always a plain ``str``, which encoders take."""
    if not isinstance(text, Text):
        return str(text)
    from oneapi.i18n.catalogs import request_language, translate

    return translate(text, request_language(request))
