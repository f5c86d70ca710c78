"""``app.handler`` on AWS Lambda: real-shaped events, one startup per cold start, nothing lost.

Each test is one cold start: ``app.py`` is imported afresh with the sandbox's environment
(``AWS_LAMBDA_FUNCTION_NAME`` and a PostgreSQL ``SQL_DSN``), then events are invoked one
after another the way Lambda reuses a warm sandbox.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar import Request, get
from sqlalchemy import event
from sqlmodel import select

from oneapi.db.migrate import upgrade
from oneapi.db.models import LogType, Option, Role, User
from tests.deploy.lambda_events import EVENT_SOURCES, LambdaContext
from tests.support.databases import temporary_database
from tests.support.db import dispose_engine, get_engine, session_scope
from tests.support.gateway import ROOT
from tests.support.seed import Seed
from tests.support.upstreams import OpenAIUpstream

pytestmark = pytest.mark.postgres


class StartupCounter:
    """Wraps ``Runtime.prepare_database`` (migrations, root, options) to count cold starts."""

    def __init__(self, runtime: Any) -> None:
        self.calls = 0
        self._prepare = runtime.prepare_database
        runtime.prepare_database = self

    def __call__(self) -> None:
        self.calls += 1
        self._prepare()


class BufferingComponent:
    """A component that holds rows until flushed, as the batch writer does."""

    def __init__(self) -> None:
        self.buffered: list[str] = []
        self.stops = 0

    async def start(self, runtime: Any) -> None:
        return None

    async def stop(self) -> None:
        self.stops += 1

    def add(self, key: str) -> None:
        self.buffered.append(key)

    async def flush(self) -> None:
        rows, self.buffered = self.buffered, []
        if rows:
            await asyncio.to_thread(_store_options, rows)


def _store_options(keys: list[str]) -> None:
    with session_scope() as session:
        for key in keys:
            session.add(Option(key=key, value="written"))


def _option(key: str) -> str | None:
    with session_scope() as session:
        row = session.get(Option, key)
        return row.value if row else None


def invoke(
    module: ModuleType, source: str, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, str], Any]:
    """Call ``module.handler`` with an event from ``source``; return status, headers, JSON body."""
    result = module.handler(EVENT_SOURCES[source](method, path, **kwargs), LambdaContext())
    body = result["body"]
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {name.lower(): value for name, value in result["headers"].items()}
    return result["statusCode"], headers, json.loads(body) if body else None


@pytest.fixture
def cold_start(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    """``app.py`` imported inside a fresh Lambda sandbox backed by a new PostgreSQL database."""
    with temporary_database("postgresql", tmp_path) as dsn:
        clean_env.setenv("SQL_DSN", dsn)
        clean_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "one-api")
        clean_env.setenv("INITIAL_ROOT_PASSWORD", "lambda-root-pw")
        dispose_engine()
        sys.modules.pop("app", None)
        module = importlib.import_module("app")
        try:
            yield module
        finally:
            loop = module.handler._loop
            if loop is not None:
                loop.run_until_complete(module.app.state.runtime.stop())
                loop.close()
            sys.modules.pop("app", None)
            dispose_engine()


@pytest.mark.parametrize("source", sorted(EVENT_SOURCES))
def test_status_answers_every_event_source_and_starts_once(cold_start: ModuleType, source: str) -> None:
    runtime = cold_start.app.state.runtime
    startups = StartupCounter(runtime)
    component = BufferingComponent()
    runtime.components.append(component)

    first = invoke(cold_start, source, "GET", "/api/status")
    second = invoke(cold_start, source, "GET", "/api/status?probe=2")

    for status, headers, body in (first, second):
        assert status == 200
        assert headers["content-type"].startswith("application/json")
        assert headers["x-oneapi-request-id"]
        assert body["success"] is True
        assert body["data"]["system_name"] == "One API"
    assert first[2]["data"]["start_time"] == second[2]["data"]["start_time"]
    assert first[1]["x-oneapi-request-id"] != second[1]["x-oneapi-request-id"]
    assert startups.calls == 1, "startup work must run once per cold start, not per event"
    assert runtime.started and component.stops == 0, "the runtime must survive between events"
    with session_scope() as session:  # the cold start migrated PostgreSQL and created root
        root = session.exec(select(User).where(User.role == Role.ROOT)).one()
        assert root.username == "root"


def test_an_invocation_opens_one_connection_and_the_frozen_sandbox_keeps_none(cold_start: ModuleType) -> None:
    """A cold start on a migrated database (schema check, root, options, journal, relay cache) and
    its request share one connection, closed before the handler returns; the next invocation
    opens its own. (A first boot's migration holds a second one: the lock's.)"""
    upgrade(get_engine())
    engine = cold_start.app.state.runtime.services.database.engine
    opened: list[Any] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))

    login = {"username": "root", "password": "wrong-password"}  # a warm invocation that reads a user
    for number, (method, path, body) in enumerate(
            (("GET", "/api/status", None), ("POST", "/api/user/login", login)), start=1):
        status, _headers, _body = invoke(cold_start, "http-api-v2", method, path, json_body=body)
        assert status == 200
        assert len(opened) == number, "each invocation opens one connection"
        assert all(connection.closed for connection in opened), "a connection outlived its invocation"
        assert engine.pool.checkedin() == 0


def test_buffered_writes_are_flushed_before_the_handler_returns(cold_start: ModuleType) -> None:
    component = BufferingComponent()
    cold_start.app.state.runtime.components.append(component)

    @get("/_test/buffer", sync_to_thread=False)
    def buffer(request: Request) -> dict[str, str]:
        key = request.query_params["key"]
        component.add(key)
        return {"queued": key}

    cold_start.app.litestar.register(buffer)

    for number, source in enumerate(sorted(EVENT_SOURCES)):
        key = f"LambdaFlush{number}"
        status, _headers, body = invoke(cold_start, source, "GET", f"/_test/buffer?key={key}")
        assert (status, body) == (200, {"queued": key})
        assert component.buffered == []
        assert _option(key) == "written", "a buffered row was left in a sandbox that may never thaw"


def test_tasks_spawned_by_a_request_finish_before_the_handler_returns(cold_start: ModuleType) -> None:
    background: set[asyncio.Task[None]] = set()

    async def write_later(key: str) -> None:
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_store_options, [key])

    @get("/_test/spawn", sync_to_thread=False)
    def spawn(request: Request) -> dict[str, str]:
        key = request.query_params["key"]
        task = asyncio.get_running_loop().create_task(write_later(key))
        background.add(task)
        return {"spawned": key}

    cold_start.app.litestar.register(spawn)

    status, _headers, _body = invoke(cold_start, "function-url", "GET", "/_test/spawn?key=LambdaTask")
    assert status == 200
    assert _option("LambdaTask") == "written"


def test_missing_sql_dsn_on_lambda_stops_the_cold_start_with_a_clear_message(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_FUNCTION_NAME": "one-api",
        "SQLITE_PATH": str(tmp_path / "x.db"),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "SQL_DSN is required on AWS Lambda" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


# -- the management API through Lambda events -------------------------------------------------
def test_login_then_session_cookie_across_invocations(cold_start: ModuleType) -> None:
    status, headers, body = invoke(
        cold_start,
        "rest-api-v1",
        "POST",
        "/api/user/login",
        json_body={"username": "root", "password": "lambda-root-pw"},
    )
    assert status == 200 and body["success"] is True and body["data"]["username"] == "root"
    cookie = headers["set-cookie"].split(";", 1)[0]
    assert cookie.startswith("session=")

    for source in ("http-api-v2", "function-url"):
        status, _headers, body = invoke(
            cold_start, source, "GET", "/api/user/self", headers={"Cookie": cookie}
        )
        assert status == 200 and body["data"]["username"] == "root"
    _status, _headers, body = invoke(
        cold_start,
        "function-url",
        "POST",
        "/api/user/login",
        json_body={"username": "root", "password": "wrong-password"},
    )
    assert body["success"] is False


# -- the relay through Lambda events ---------------------------------------------------------
class DatabaseSeed(Seed):
    """The relay tests' seeding, pointed at the sandbox's own engine (PostgreSQL here)."""

    def __init__(self) -> None:
        self.engine = get_engine()
        upgrade(self.engine)


def test_relayed_chat_is_logged_and_charged_before_the_handler_returns(cold_start: ModuleType) -> None:
    runtime = cold_start.app.state.runtime
    startups = StartupCounter(runtime)
    seed = DatabaseSeed()  # an existing deployment's database: a channel, a user and a token
    with OpenAIUpstream(name="lambda-upstream") as upstream:
        seed.channel(upstream.url, ["gpt-4o-mini"], key="sk-upstream-secret")
        key = seed.token(seed.user(), remain_quota=10**8)
        auth = {"Authorization": f"Bearer {key}"}
        question = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}

        status, _headers, body = invoke(
            cold_start, "http-api-v2", "POST", "/v1/chat/completions", headers=auth, json_body=question
        )
        assert status == 200
        assert body["choices"][0]["message"]["content"] == "Hello from the mock upstream."
        logs = seed.logs(seed.token_row(key).id)
        assert len(logs) == 1, "the consume log row must be written before the handler returns"
        assert (logs[0].type, logs[0].model_name, logs[0].prompt_tokens) == (
            LogType.CONSUME,
            "gpt-4o-mini",
            11,
        )
        assert logs[0].quota > 0 and seed.token_row(key).remain_quota == 10**8 - logs[0].quota

        event = EVENT_SOURCES["rest-api-v1"](
            "POST", "/v1/chat/completions", headers=auth, json_body={**question, "stream": True}
        )
        result = cold_start.handler(event, LambdaContext())
        assert result["statusCode"] == 200
        assert result["headers"]["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in result["body"].splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]", "Mangum buffers the stream: the whole transcript arrives at once"
        text = "".join(
            json.loads(data)["choices"][0]["delta"].get("content") or ""
            for data in events[:-1]
            if json.loads(data)["choices"]
        )
        assert text == "Hello from the mock upstream."
        assert len(seed.logs(seed.token_row(key).id)) == 2
        assert upstream.received[0].headers["Authorization"] == "Bearer sk-upstream-secret"
    assert startups.calls == 1, "startup work must run once per cold start, not per event"
    assert runtime.started
