"""Every variable in the README's Configure table is a ``Settings`` field, and each changes what
the gateway does: booted with the variable set, something observable differs from the default."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from oneapi import cli, connections
from oneapi.config import Settings, load_settings
from oneapi.edge import Edge
from oneapi.server import create_app

README = Path(__file__).resolve().parents[1] / "README.md"
ACCESS_TOKEN = "env-var-test-access-token"


def _documented() -> list[str]:
    """The variables named in the first column of the README's Configure table."""
    section = README.read_text().split("## Configure", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([A-Z_]+)`", line.split(" | ")[0])
    return names


def test_the_readme_documents_exactly_the_settings() -> None:
    assert sorted(_documented()) == sorted(name.upper() for name in Settings.model_fields)


def test_workers_is_gone() -> None:
    assert "WORKERS" not in README.read_text() and "workers" not in Settings.model_fields


# -- probes: boot with the environment as it is, return what the variable should change ------
def _app() -> Edge:
    return create_app(load_settings())


def _served(_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``oneapi serve`` hands uvicorn and the connection rules."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(connections, "http_protocol",
                        lambda header_timeout, cap: seen.update(header_timeout=header_timeout, cap=cap))
    monkeypatch.setattr(connections, "connection_cap", lambda configured: configured)
    cli.serve()
    return seen


def _started(probe: Callable[[Edge, TestClient[Any]], Any]) -> Callable[[Path, pytest.MonkeyPatch], Any]:
    def run(_tmp: Path, _monkeypatch: pytest.MonkeyPatch) -> Any:
        app = _app()
        with TestClient(app) as client:
            return probe(app, client)

    return run


def _built(probe: Callable[[Any], Any]) -> Callable[[Path, pytest.MonkeyPatch], Any]:
    """``probe`` of the services an app is built on (nothing started)."""
    return lambda _tmp, _monkeypatch: probe(_app().state.runtime.services)


def _upstream(probe: Callable[[Any], Any]) -> Callable[[Path, pytest.MonkeyPatch], Any]:
    """``probe`` of the app's upstream client, opened as the runtime opens it."""

    async def opened() -> Any:
        app = _app()
        client = app.state.runtime.services.upstream
        await client.start(app.state.runtime)
        try:
            return probe(client)
        finally:
            await client.stop()

    return lambda _tmp, _monkeypatch: asyncio.run(opened())


def _pool(_tmp: Path, _monkeypatch: pytest.MonkeyPatch) -> Any:
    pool = _app().state.runtime.services.database.engine.pool
    return pool.size(), pool._max_overflow, pool._recycle, pool._timeout  # type: ignore[attr-defined]


def _statuses(*paths: str) -> Callable[[Edge, TestClient[Any]], list[int]]:
    return lambda _app, client: [client.get(path).status_code for path in paths]


def _root_login(_app: Edge, client: TestClient[Any]) -> bool:
    answer = client.post("/api/user/login", json={"username": "root", "password": "another-password"})
    return bool(answer.json()["success"])


def _tokens(app: Edge, _client: TestClient[Any]) -> list[str]:
    return sorted(app.state.runtime.services.cache.tokens)


def _self(_app: Edge, client: TestClient[Any]) -> int:
    return client.get("/api/user/self", headers={"Authorization": ACCESS_TOKEN}).status_code


def _metrics(_app: Edge, client: TestClient[Any]) -> int:
    return client.get("/metrics").status_code


def _theme(_app: Edge, client: TestClient[Any]) -> bool:
    return "berry" in client.get("/login").text


def _journals(tmp: Path, _monkeypatch: pytest.MonkeyPatch) -> list[str]:
    with TestClient(_app()):
        return sorted(path.name for path in (tmp / "journals").glob("*"))


def _sqlite_file(tmp: Path, _monkeypatch: pytest.MonkeyPatch) -> bool:
    with TestClient(_app()):
        return (tmp / "other.db").exists()  # the run's own directory


def _busy_timeout(_tmp: Path, _monkeypatch: pytest.MonkeyPatch) -> int:
    engine = _app().state.runtime.services.database.engine
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def _log_level(_tmp: Path, _monkeypatch: pytest.MonkeyPatch) -> int:
    _app()
    return logging.getLogger().level


POSTGRES = os.environ.get("TEST_PG_DSN", "")
REDIS = os.environ.get("TEST_REDIS_URL", "")

# variable -> (value to set, probe, extra environment for both runs)
CASES: dict[str, tuple[str, Callable[[Path, pytest.MonkeyPatch], Any], dict[str, str]]] = {
    "PORT": ("3999", _served, {}),
    "HOST": ("127.0.0.1", _served, {}),
    "FORWARDED_ALLOW_IPS": ("*", _served, {}),
    "KEEP_ALIVE_TIMEOUT": ("5", _served, {}),
    "SHUTDOWN_GRACE_PERIOD": ("3", _served, {}),
    "HEADER_TIMEOUT": ("2.5", _served, {}),
    "MAX_CONNECTIONS": ("50", _served, {}),
    "SQL_DSN": (POSTGRES, _built(lambda s: s.database.target.backend), {}),
    "SQLITE_PATH": ("{tmp}/other.db", _sqlite_file, {}),
    "SQLITE_BUSY_TIMEOUT": ("1234", _busy_timeout, {}),
    "SQL_MAX_OPEN_CONNS": ("3", _pool, {"SQL_DSN": POSTGRES}),
    "SQL_MAX_IDLE_CONNS": ("2", _pool, {"SQL_DSN": POSTGRES}),
    "SQL_MAX_LIFETIME": ("7", _pool, {"SQL_DSN": POSTGRES}),
    "DB_CONNECT_TIMEOUT": ("4", _pool, {"SQL_DSN": POSTGRES}),
    "SESSION_SECRET": ("a-secret-of-the-test", _started(lambda app, _c: app.state.runtime.session_secret),
                       {}),
    "INITIAL_ROOT_PASSWORD": ("another-password", _started(_root_login), {}),
    "INITIAL_ROOT_TOKEN": ("sk-" + "r" * 48, _started(_tokens), {}),
    "INITIAL_ROOT_ACCESS_TOKEN": (ACCESS_TOKEN, _started(_self), {}),
    "THEME": ("berry", _started(_theme), {}),
    "REDIS_CONN_STRING": (REDIS, _built(lambda s: s.shared is not None), {}),
    "REDIS_KEY_PREFIX": ("other:", _built(lambda s: s.shared.key("x")), {"REDIS_CONN_STRING": REDIS}),
    "REDIS_TIMEOUT": ("1.5", _built(lambda s: s.shared.timeout), {"REDIS_CONN_STRING": REDIS}),
    "METRICS_TOKEN": ("a-metrics-token", _started(_metrics), {}),
    "SYNC_FREQUENCY": ("5", _started(lambda app, _c: app.state.runtime.services.cache._interval), {}),
    "BATCH_UPDATE_INTERVAL": ("0.5", _built(lambda s: s.writer.interval), {}),
    "JOURNAL_DIR": ("{tmp}/journals", _journals, {}),
    "RELAY_TIMEOUT": ("30", _upstream(lambda c: c._session.timeout.total), {}),
    "RELAY_CONNECT_TIMEOUT": ("3", _upstream(lambda c: c.limits.connect), {}),
    "RELAY_FIRST_BYTE_TIMEOUT": ("60", _upstream(lambda c: c.limits.first_byte), {}),
    "RELAY_IDLE_TIMEOUT": ("20", _upstream(lambda c: c.limits.idle), {}),
    "RELAY_MAX_CONNECTIONS": ("7", _upstream(lambda c: c._session.connector.limit), {}),
    "CHANNEL_TEST_FREQUENCY": ("5", lambda _t, _m: _app()._litestar is not None, {}),
    "GLOBAL_API_RATE_LIMIT": ("2", _started(_statuses("/api/status", "/api/status", "/api/status")), {}),
    "GLOBAL_WEB_RATE_LIMIT": ("2", _started(_statuses("/login", "/static/js/core.js", "/login")), {}),
    "ALLOW_PRIVATE_IMAGE_URLS": ("true", _built(lambda s: s.relay.allow_private_images), {}),
    "MAX_REQUEST_BODY_MB": ("1", _built(lambda s: s.relay.max_body_bytes), {}),
    "DEBUG": ("true", _log_level, {}),
    "LOG_LEVEL": ("WARNING", _log_level, {}),
    "DEFAULT_LANGUAGE": ("en", _started(lambda _app, client: client.post(
        "/api/user/login", json={"username": "nobody", "password": "wrong"}).json()["message"]), {}),
    "OAUTH_TEST_ORIGIN": ("http://127.0.0.1:9", _started(
        lambda _app, client: client.get("/api/status").json()["data"]["github_authorize_endpoint"]), {}),
}


def test_every_documented_variable_has_a_case() -> None:
    assert sorted(CASES) == sorted(_documented())


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_variable_changes_behaviour(name: str, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    value, probe, base = CASES[name]
    if "" in (value, *base.values()):
        pytest.skip("needs TEST_PG_DSN / TEST_REDIS_URL")
    for field in Settings.model_fields:
        clean_env.delenv(field.upper(), raising=False)
    for variable, setting in base.items():
        clean_env.setenv(variable, setting)
    seen = []
    for run in ("default", "set"):  # each on a fresh database (root and secrets are made on a first boot)
        directory = tmp_path / run
        directory.mkdir()
        clean_env.setenv("SQLITE_PATH", str(directory / "one-api.db"))
        if run == "set":
            clean_env.setenv(name, value.format(tmp=directory))
        seen.append(probe(directory, clean_env))
    assert seen[1] != seen[0], (name, seen[0])
