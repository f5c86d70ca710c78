"""The web admin UI: server-rendered pages per theme, static assets, and their registration.

``WebUI`` is a Litestar init plugin so the app factory adds the whole UI with one entry in
``plugins`` and the route list stays the management API's and the relay's.
"""

from __future__ import annotations

from pathlib import Path

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from oneapi.web.pages import page_handlers

__all__ = ("STATIC_DIR", "TEMPLATES_DIR", "WebUI")

_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"


class WebUI(InitPluginProtocol):
    """Adds the pages, ``/static`` (themes' CSS and the shared JS) and the Jinja templates."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        static = create_static_files_router(path="/static", directories=[STATIC_DIR], name="web-static",
                                            include_in_schema=False)
        app_config.route_handlers.extend([*page_handlers, static])
        app_config.template_config = TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine)
        return app_config
