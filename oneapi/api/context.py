"""What a management request runs with: its app's database and the API's own state.

The management API is built per app (:func:`oneapi.console.build_console`), so its state is
one :class:`Management` per app, reached as ``connection.app.state.management`` through
:func:`management`. The database work of a route runs in a worker thread through
:func:`oneapi.api.common.run_db` and opens :func:`db_session` or :func:`session_scope`: the
database of the app answering the request, which :func:`run_bound` (a middleware of the
console's) binds in a context variable that ``asyncio.to_thread`` carries into the thread,
so two apps in one process each read their own. Work outside a request binds it with
:func:`using` or runs in a :func:`bound_to` context (the channel test runs).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oneapi.db.engine import Database

if TYPE_CHECKING:
    from limits.strategies import MovingWindowRateLimiter
    from litestar.connection import ASGIConnection
    from litestar.types import ASGIApp, Receive, Scope, Send
    from sqlmodel import Session

    from oneapi.api.channel_test import ChannelTestScheduler
    from oneapi.api.codes import CodeBook
    from oneapi.api.login_backoff import LoginBackoff
    from oneapi.api.oauth_clients import OidcDiscovery

__all__ = ("Management", "bound_to", "db_session", "management", "run_bound", "session_scope", "using")

_database: contextvars.ContextVar[Database] = contextvars.ContextVar("management_database")


@dataclass(eq=False)
class Management:
    """The management API's state for one app (made by ``oneapi.api.routes.install_management``)."""

    login_backoff: LoginBackoff  # in Redis, shared by replicas, when configured
    email_codes: CodeBook  # likewise
    ip_limits: MovingWindowRateLimiter  # the per-IP windows of oneapi.api.ip_limits
    channel_tests: ChannelTestScheduler
    oidc_discovery: OidcDiscovery  # the sign-in provider's discovery document and keys, cached
    turnstile_verify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"  # tests: a mock
    mail_tasks: set[asyncio.Task[None]] = field(default_factory=set)  # held until sent


def management(connection: ASGIConnection[Any, Any, Any, Any]) -> Management:
    """The management state of the app answering ``connection``."""
    state: Management = connection.app.state.management
    return state


def bound_to(database: Database) -> contextvars.Context:
    """A copy of the current context in which :func:`db_session` opens ``database``."""
    context = contextvars.copy_context()
    context.run(_database.set, database)
    return context


@contextmanager
def using(database: Database) -> Iterator[None]:
    """Bind ``database`` for work done outside a request (a caller holding the runtime)."""
    token = _database.set(database)
    try:
        yield
    finally:
        _database.reset(token)


def run_bound(database: Database) -> Any:
    """Litestar middleware: the app's requests are answered with ``database`` bound."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def bound(scope: Scope, receive: Receive, send: Send) -> None:
            with using(database):
                await app(scope, receive, send)

        return bound

    return middleware


def db_session(*, expire_on_commit: bool = True) -> Session:
    """A session on the database of the app answering the current request."""
    return _database.get().session(expire_on_commit=expire_on_commit)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session on the current app's database that commits on success and rolls back on error."""
    with _database.get().scope() as session:
        yield session
