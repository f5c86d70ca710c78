"""The pages in the reader's language: one Jinja environment per language, with gettext
installed (``jinja2.ext.i18n``), the number format zh-CN and en share and the strings the scripts use.

An environment per language, rather than one whose ``_`` looks up the current request,
keeps ``{% import %}``-ed macros (which see only globals) translated without any
request-scoped state; the template name carries the language (:func:`template_name`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from oneapi.i18n.catalogs import js_messages, translations

__all__ = ("SWITCH", "format_number", "jinja_environment", "language_context", "split_template_name",
           "template_name")

# the header's switch: each language named in itself
SWITCH: tuple[tuple[str, str], ...] = (("zh-CN", "简体中文"), ("en", "English"))
_SEPARATOR = ":"


def template_name(language: str, name: str) -> str:
    return f"{language}{_SEPARATOR}{name}"


def split_template_name(name: str) -> tuple[str, str]:
    """``(language, template path)`` of a name :func:`template_name` made."""
    language, _, path = name.partition(_SEPARATOR)
    return language, path


def jinja_environment(directory: Path | list[Path], language: str, gettext: Any = None) -> Environment:
    """The templates of ``directory`` rendered in ``language`` (``gettext``: another translations
    object, as the tests' marker language)."""
    environment = Environment(loader=FileSystemLoader(directory), autoescape=True,
                              extensions=["jinja2.ext.i18n"])
    environment.install_gettext_translations(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext or translations(language), newstyle=False)
    environment.filters["decimal"] = format_number
    return environment


def format_number(number: float) -> str:
    """``number`` with its thousands grouped and at most six decimals, trailing zeros dropped
    (1234567.25 -> ``1,234,567.25``, 2.0 -> ``2``). One format serves every page: both languages,
    zh-CN and en, group thousands with "," and write decimals after "." (CLDR), so a per-locale
    formatting library is not needed; a new language that writes numbers otherwise would be."""
    return f"{number:,.6f}".rstrip("0").rstrip(".")


def language_context(language: str) -> dict[str, Any]:
    """What every page needs about its language: the tag, the switch and the scripts' strings."""
    return {"language": language, "languages": SWITCH, "js_messages": js_messages(language)}
