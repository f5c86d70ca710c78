"""The ``oneapi`` command: ``serve`` (default), ``migrate`` and ``reset-root-password``."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import TYPE_CHECKING, cast

from oneapi.config import ConfigError, load_settings

if TYPE_CHECKING:
    import asyncio

    from oneapi.edge import Edge

__all__ = ("main", "serve")

log = logging.getLogger("oneapi.cli")


def _fail(message: str) -> int:
    print(f"one-api: {message}", file=sys.stderr, flush=True)
    return 1


def serve(app: Edge | None = None) -> int:
    """Check the database first, so a bad SQL_DSN fails fast with a clear message; then serve,
    shedding slow, idle and surplus connections (``oneapi.connections``)."""
    from oneapi.loading import collector_paused

    with collector_paused():  # app.py loads this way too
        import uvicorn

        from oneapi.connections import MAX_HEADER_BYTES, connection_cap, http_protocol, websocket_protocol
        from oneapi.db.dsn import DSNError
        from oneapi.db.engine import DatabaseUnavailable
        from oneapi.server import create_app

        app = app or create_app(load_settings())
    runtime = app.state.runtime
    settings = runtime.settings
    try:
        runtime.prepare_database()
    except (DatabaseUnavailable, DSNError) as exc:
        return _fail(str(exc))
    http = http_protocol(settings.header_timeout, connection_cap(settings.max_connections))
    uvicorn.run(app, host=settings.host, port=settings.port, loop="auto", http=http,
                ws=cast("type[asyncio.Protocol]", websocket_protocol), lifespan="on",
                log_config=None, access_log=False, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips,
                timeout_keep_alive=settings.keep_alive_timeout,
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                timeout_graceful_shutdown=int(settings.shutdown_grace_period) or None)
    return 0


def migrate() -> int:
    from oneapi.db.engine import Database
    from oneapi.db.migrate import upgrade
    from oneapi.log import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    revision = upgrade(Database(settings).engine)
    print(f"database schema at revision {revision}")
    return 0


def reset_root_password(password: str | None) -> int:
    from sqlmodel import Session

    from oneapi.bootstrap import reset_root_password as reset
    from oneapi.db.engine import Database
    from oneapi.db.migrate import upgrade

    if password is None:
        password = getpass.getpass("new root password: ")
    if len(password) < 8:
        return _fail("the password must be at least 8 characters")
    engine = Database(load_settings()).engine
    upgrade(engine)
    with Session(engine) as session:
        try:
            reset(session, password)
        except LookupError as exc:
            return _fail(str(exc))
    print("root password changed; root's sessions and access token were revoked")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oneapi", description="One API for Python")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gateway on $PORT (default)")
    commands.add_parser("migrate", help="bring the database schema to the latest revision")
    reset = commands.add_parser("reset-root-password", help="set a new password for the root user")
    reset.add_argument("--password", help="the new password (prompted for when omitted)")
    args = parser.parse_args(argv)
    try:
        if args.command == "migrate":
            return migrate()
        if args.command == "reset-root-password":
            return reset_root_password(args.password)
        return serve()
    except ConfigError as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
