"""The web admin UI: server-rendered pages per theme, static assets, and their registration."""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from oneapi.web.pages import page_handlers

__all__ = ("STATIC_DIR", "TEMPLATES_DIR", "template_config", "web_route_handlers")

_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine)


def web_route_handlers() -> list[ControllerRouterHandler]:
    """The pages and ``/static``, which serves the themes' CSS and the shared JS."""
    static = create_static_files_router(path="/static", directories=[STATIC_DIR], name="web-static",
                                        include_in_schema=False)
    return [*page_handlers, static]
