"""The web admin UI: server-rendered pages per theme, static assets, and their registration.

The app is built with :func:`template_config`; :func:`web_router` (the pages and ``/static``) is
registered by the first request for a page (:mod:`oneapi.console`), and imports the pages then.

Jinja (and polib, for the pages' catalogs) is loaded by the first page rendered, not when the
app is built: the app is built on the first request the relay's lanes do not answer
(:mod:`oneapi.console`), often an ``/api`` call, and Jinja was the largest part of what that
request paid for (``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router
from litestar.template import TemplateEngineProtocol
from litestar.template.config import TemplateConfig

from oneapi.api.ip_limits import web_rate_limit

__all__ = ("STATIC_DIR", "TEMPLATES_DIR", "template_config", "web_router")

_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"


class LazyJinja(TemplateEngineProtocol[Any, Mapping[str, Any]]):
    """Litestar's Jinja engine, one per language, each created (and Jinja and polib imported) when
    the first template in its language is wanted. A template name carries its language
    (:func:`oneapi.web.language.template_name`)."""

    def __init__(self, directory: Path | list[Path] | None, engine_instance: Any | None = None) -> None:
        self._directory = directory or TEMPLATES_DIR
        self._engines: dict[str, TemplateEngineProtocol[Any, Mapping[str, Any]]] = {}
        self._callables: dict[str, Any] = {}

    def _jinja(self, language: str) -> TemplateEngineProtocol[Any, Mapping[str, Any]]:
        engine = self._engines.get(language)
        if engine is None:
            from litestar.plugins.jinja import JinjaTemplateEngine

            from oneapi.web.language import jinja_environment

            engine = JinjaTemplateEngine(engine_instance=jinja_environment(self._directory, language))
            for key, template_callable in self._callables.items():
                engine.register_template_callable(key, template_callable)
            self._engines[language] = engine
        return engine

    def get_template(self, template_name: str) -> Any:
        from oneapi.web.language import split_template_name

        language, path = split_template_name(template_name)
        return self._jinja(language).get_template(path)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        return self._jinja(context["language"]).render_string(template_string, context)

    def register_template_callable(self, key: str, template_callable: Any) -> None:
        self._callables[key] = template_callable
        for engine in self._engines.values():
            engine.register_template_callable(key, template_callable)


def template_config() -> TemplateConfig[Any]:
    """The Jinja templates, each language's engine made when its first page renders."""
    return TemplateConfig(directory=TEMPLATES_DIR, engine=LazyJinja)


def web_router() -> Router:
    """The pages and ``/static`` (themes' CSS and the shared JS), all under the per-IP
    ``GLOBAL_WEB_RATE_LIMIT``."""
    from oneapi.web.pages import page_handlers

    static = create_static_files_router(path="/static", directories=[STATIC_DIR], name="web-static",
                                        include_in_schema=False)
    return Router("/", route_handlers=[*page_handlers, static], guards=[web_rate_limit],
                  include_in_schema=False)
