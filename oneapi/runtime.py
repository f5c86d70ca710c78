"""The process's long-lived state and its start/stop order.

One :class:`Runtime` per app. ``start()`` is idempotent so that every way of running the
app (``python app.py``, ``uvicorn app:app``, Mangum on Lambda, tests) can call it without
repeating work: Mangum, for one, runs the ASGI lifespan on every event.

Components are objects with ``async start(runtime)`` and ``async stop()``. Each starts
after the components it holds as attributes (what it was built with, see
:mod:`oneapi.services`) and stops before them, so the batch writer is flushed after
everything that feeds it has stopped and the database closes last; components that hold
none of each other keep the order they were given in (:func:`start_order`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from oneapi.bootstrap import ensure_root, ensure_session_secret, root_missing, root_password_hash
from oneapi.db.background import submit_in_background
from oneapi.db.engine import DatabaseUnavailable
from oneapi.db.migrate import upgrade
from oneapi.options import options

if TYPE_CHECKING:
    from oneapi.services import Services

__all__ = ("Component", "Runtime", "start_order", "stop_tasks")

log = logging.getLogger("oneapi.runtime")
_YOUNG_GENERATION_THRESHOLD = 5_000

ChangeListener = Callable[[tuple[str, ...]], Awaitable[None]]
QuotaListener = Callable[[Mapping[int, int], Mapping[int, int]], Awaitable[None]]


class Component(Protocol):
    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...


class Runtime:
    """The app's services and settings, the session secret, started components and change listeners."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.components: list[Component] = services.components
        self.session_secret = ""
        self.started_at = int(time.time())
        self._started = False
        self._start_lock = asyncio.Lock()
        self._listeners: list[ChangeListener] = []
        self._quota_listeners: list[QuotaListener] = []
        self._root_created: Future[None] | None = None

    # -- database -------------------------------------------------------------------
    def prepare_database(self) -> None:
        """Migrate, create root on first boot, load options (blocking; call in a thread).

        On a first boot root is created on the low-priority background thread, while the server
        starts and answers: its password, unless it is the default (whose hash is kept), is hashed
        there first (bcrypt, cost 10: 0.06 s of CPU, half a second on a 0.1-CPU host; see
        :mod:`oneapi.bootstrap`). Only the management API and the web UI can log anyone in, and
        :meth:`wait_for_root` holds them until then. An ``INITIAL_ROOT_TOKEN`` (a relay key of
        root's) or a Lambda sandbox, which may freeze the thread, keeps the hash on the boot path.
        """
        database = self.services.database
        engine = database.engine
        try:
            upgrade(engine)
            with Session(engine, expire_on_commit=False) as session:
                settings = self.settings
                if settings.initial_root_token or settings.on_lambda or not root_missing(session):
                    ensure_root(session, settings)
                else:
                    self._root_created = submit_in_background(self._create_root)
                self.session_secret = ensure_session_secret(session, settings)
                options.load(session)
        except OperationalError as exc:
            raise DatabaseUnavailable(database.describe_unreachable(exc)) from None

    def _create_root(self) -> None:
        password_hash = root_password_hash(self.settings)
        with self.services.database.session(expire_on_commit=False) as session:
            ensure_root(session, self.settings, password_hash)

    def wait_for_root(self) -> None:
        """Block until a first boot's root account exists (at once on any later boot)."""
        if self._root_created is not None:
            error = self._root_created.exception()
            if error is not None:
                log.error("creating the root account failed (the next boot tries again): %s", error)
            self._root_created = None

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            if not self.session_secret:
                await asyncio.to_thread(self.prepare_database)
            self.components = start_order(self.components)
            for component in self.components:
                await component.start(self)
            self._started = True
            _settle_garbage_collector()
            log.info("started: %d component(s)", len(self.components))

    async def stop(self) -> None:
        async with self._start_lock:
            await asyncio.to_thread(self.wait_for_root)
            if not self._started:
                return
            for component in reversed(self.components):
                try:
                    await component.stop()
                except Exception:
                    log.exception("error while stopping %s", type(component).__name__)
            self._started = False

    async def attach(self, component: Component) -> None:
        """Add a component after boot (one that came with a lazily built part); started at once if
        the runtime already runs, else with the others."""
        self.components.append(component)
        if self._started:
            await component.start(self)

    @property
    def started(self) -> bool:
        return self._started

    # -- change notification ------------------------------------------------------------
    def on_data_changed(self, listener: ChangeListener) -> None:
        """Register a coroutine called after admin writes (cache reload, pub/sub)."""
        self._listeners.append(listener)

    async def data_changed(self, *kinds: str) -> None:
        """Tell every listener that rows of ``kinds`` (e.g. "channels") changed."""
        for listener in self._listeners:
            await listener(kinds)

    def on_quota_changed(self, listener: QuotaListener) -> None:
        """Register a coroutine told of committed admin quota changes (the shared counters)."""
        self._quota_listeners.append(listener)

    async def quota_changed(self, tokens: Mapping[int, int], users: Mapping[int, int]) -> None:
        """Tell listeners that tokens' and users' quotas changed by these deltas (id -> amount added).

        Unlike :meth:`data_changed` this is not replayed on other replicas: its listener
        changes state they all share.
        """
        for listener in self._quota_listeners:
            await listener(tokens, users)


def start_order(components: Sequence[Component]) -> list[Component]:
    """``components`` ordered so that each comes after those of them it holds as attributes.

    Otherwise the given order is kept. Raises ValueError when two hold each other (directly
    or through others), as neither could start first.
    """
    pending = list(components)
    needs = {id(component): {id(held) for held in _held(component, pending)} for component in pending}
    ordered: list[Component] = []
    placed: set[int] = set()
    while pending:
        ready = next((component for component in pending if needs[id(component)] <= placed), None)
        if ready is None:
            names = ", ".join(type(component).__name__ for component in pending)
            raise ValueError(f"components that need each other cannot start: {names}")
        pending.remove(ready)
        ordered.append(ready)
        placed.add(id(ready))
    return ordered


def _held(component: Component, among: Sequence[Component]) -> Iterator[Component]:
    """Those of ``among`` that ``component`` holds as an attribute."""
    names = getattr(component, "__dict__", {}).values()
    slots = (getattr(component, slot, None) for slot in getattr(type(component), "__slots__", ()))
    for value in (*names, *slots):
        if value is not component and any(value is other for other in among):
            yield value


def _settle_garbage_collector() -> None:
    """Keep the collector off the relay's latency.

    What exists once the app has started (modules, routes, caches: over 100,000 objects)
    lives as long as the process; frozen, it is no longer rescanned by every full
    collection, which took tens of milliseconds on each run. A relayed request allocates
    a few hundred short-lived containers, so the youngest generation is collected every
    few thousand allocations rather than every 700.

    No full collection first: at start it scanned 80,000-130,000 objects for 75 ms or more
    and found about five unreachable ones, which frozen cost nothing worth that wait.
    """
    gc.freeze()
    gc.set_threshold(_YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


async def stop_tasks(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel a component's background tasks and wait until each has ended (None is skipped)."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
