"""Which theme renders a page: the stored ``Theme`` option, else the ``THEME`` env value.

one-api reads the option once at startup; reading it per request means a theme saved in
the settings page shows on the next page load, without a restart.
"""

from __future__ import annotations

from oneapi.config import VALID_THEMES, Settings
from oneapi.options import OptionStore, options

__all__ = ("VALID_THEMES", "active_theme")


def active_theme(settings: Settings, store: OptionStore = options) -> str:
    """The stored option when it names a known theme, otherwise the env setting."""
    stored = store.get("Theme").strip().lower()
    return stored if stored in VALID_THEMES else settings.theme
