"""Loading the gateway's modules with the garbage collector paused, for the entry points.

Importing the app allocates about 130,000 objects that live as long as the process (classes,
functions, SQLAlchemy's and pydantic's structures), and the collector ran 174 times on the
way to scan them: 45-65 ms of a restart's 0.45 s of CPU on one core of the bench machine,
which on a 0.1-CPU free instance is half a second more for its first visitor. Nothing
allocated then is garbage worth finding, so the entry points (``app.py``, ``oneapi serve``)
load with the collector off and freeze what they loaded, as :mod:`oneapi.runtime` freezes what
its start adds.

:func:`imported_on_first_use` keeps a library's module-level import of a module it needs only
for a feature the gateway leaves off from loading that module: Litestar imports PyYAML for a YAML
document the console does not serve (86 M instructions of the first management call), limits
its asyncio half (17 M). aiohttp's import-time TLS contexts are the same kind of work, skipped
the same way by :func:`oneapi.relay.upstream.tls.importing_aiohttp`, which lives beside the
context the relay uses instead. This module imports only the standard library.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ("collector_paused", "imported_on_first_use")


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


class _OnFirstUse(ModuleType):
    """Stands for a module not imported yet: reading one of its attributes imports it.

    The standard library's ``importlib.util.LazyLoader`` does not serve here: on Python 3.11 the
    ``import`` statement itself reads the module's ``__spec__``, which loads it.
    """

    def __getattr__(self, name: str) -> Any:  # only attributes the stand-in lacks reach here
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        module = import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads find it without this hook
        return getattr(module, name)


@contextmanager
def imported_on_first_use(*names: str) -> Iterator[None]:
    """Inside, ``import name`` of each of ``names`` not loaded yet binds a stand-in that imports
    the module when one of its attributes is first read; afterwards ``import name`` is ordinary."""
    stand_ins = {name: _OnFirstUse(name) for name in names if name not in sys.modules}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
