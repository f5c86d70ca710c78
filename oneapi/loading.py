"""Loading the gateway's modules with the garbage collector paused, for the entry points.

Importing the app allocates about 130,000 objects that live as long as the process (classes,
functions, SQLAlchemy's and pydantic's structures), and the collector ran 174 times on the
way to scan them: 45-65 ms of a restart's 0.45 s of CPU on one core of the bench machine,
which on a 0.1-CPU free instance is half a second more for its first visitor. Nothing
allocated then is garbage worth finding, so the entry points (``app.py``, ``oneapi serve``)
load with the collector off and freeze what they loaded, as :mod:`oneapi.runtime` freezes what
its start adds. This module imports only the standard library.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ("collector_paused",)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No collection inside; then what exists is frozen (never rescanned) and collection resumes.

    The previous state is restored, so a caller that had the collector off keeps it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
