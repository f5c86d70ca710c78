"""The AWS Lambda entry point: one app per sandbox, started once, flushed after every event.

Mangum turns API Gateway (REST v1, HTTP API v2) and Function URL events into ASGI calls,
but with its lifespan enabled it starts *and stops* the app on every event. So Mangum runs
with ``lifespan="off"`` and this handler starts the runtime itself on the first event of a
cold start (``Runtime.start`` is idempotent), on one event loop kept for the sandbox's life.

Lambda freezes the sandbox as soon as the handler returns, and may never thaw it: work a
request left behind (tasks it spawned, rows a batch writer holds) is finished before
returning, or log rows and quota would be lost. That flush also empties the settlement
journal (:mod:`oneapi.db.journal`, in /tmp here), so the journal holds at most the
invocation in progress: if the process crashes mid-invocation and Lambda starts it again
in the same sandbox, the first event's start writes it; a sandbox that is discarded takes
it along (/tmp is the only disk a sandbox has). Then the database's connection is closed
(:meth:`oneapi.db.engine.Database.close_idle`): a frozen sandbox holds none, and the next
invocation opens one.

Mangum buffers responses: a ``stream: true`` completion arrives as one complete SSE body.
``deploy/lambda/README.md`` shows the Function URL + Lambda Web Adapter route for real
streaming.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from oneapi.config import ConfigError, Settings

if TYPE_CHECKING:
    from mangum import Mangum

    from oneapi.edge import Edge
    from oneapi.runtime import Runtime

__all__ = ("LambdaHandler", "flush_components", "require_external_database")

log = logging.getLogger("oneapi.serverless")


def require_external_database(settings: Settings) -> None:
    """On Lambda, refuse to run on SQLite: /tmp is per sandbox and vanishes with it.

    Raises:
        ConfigError: running on Lambda with ``SQL_DSN`` unset.
    """
    if settings.on_lambda and not settings.sql_dsn.strip():
        raise ConfigError(
            "SQL_DSN is required on AWS Lambda: each sandbox has its own /tmp, so a SQLite "
            "database there would split and vanish; set SQL_DSN to a PostgreSQL or MySQL database "
            "(e.g. postgres://user:password@host:5432/oneapi)"
        )


async def flush_components(runtime: Runtime) -> None:
    """Ask every component that buffers writes (the batch writer) to write them now."""
    for component in runtime.components:
        flush = getattr(component, "flush", None)
        if callable(flush):
            await flush()


class LambdaHandler:
    """``handler(event, context)`` for AWS Lambda's Python runtime."""

    def __init__(self, app: Edge) -> None:
        self.app = app
        self.runtime: Runtime = app.state.runtime
        require_external_database(self.runtime.settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._adapter: Mangum | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        loop = self._event_loop()
        try:
            loop.run_until_complete(self.runtime.start())
            before = asyncio.all_tasks(loop)
            try:
                return self._mangum()(event, context)
            finally:
                loop.run_until_complete(self._settle(asyncio.all_tasks(loop) - before))
        finally:
            self.runtime.services.database.close_idle()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """The sandbox's loop; set as current because Mangum looks it up on every event."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        return self._loop

    def _mangum(self) -> Mangum:
        if self._adapter is None:
            from mangum import Mangum  # on the first event: app.py builds this handler on every host

            # Edge is an ASGI app; Mangum types the scope as a mutable mapping, Edge as litestar's TypedDicts
            self._adapter = Mangum(self.app, lifespan="off")  # type: ignore[arg-type]  # TypedDict scope
        return self._adapter

    async def _settle(self, spawned: set[asyncio.Task[Any]]) -> None:
        """Let tasks this event spawned finish, then flush buffered writes."""
        if spawned:
            grace = self.runtime.settings.shutdown_grace_period
            _done, pending = await asyncio.wait(spawned, timeout=grace)
            for task in pending:
                log.warning("task %s still running when the invocation ended", task.get_name())
        await flush_components(self.runtime)
