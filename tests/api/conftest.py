"""A management API on a fresh database, with one caller of each kind.

Users are written straight into the database with one bcrypt hash computed per test
session, and each gets an access token, so a test can call any route as anyone
without paying for logins (the login route has its own tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session

from oneapi.api.context import Management
from oneapi.db.models import Log, LogType, Role, Status, User
from oneapi.edge import Edge
from oneapi.runtime import Runtime
from oneapi.security import generate_access_token, generate_aff_code, hash_password
from oneapi.server import create_app
from tests.support.db import dispose_engine, get_engine

PASSWORD = "password123"
CALLERS = ("anonymous", "alice", "bob", "admin", "root")


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class Api:
    """A running app and the access tokens of root, an admin and two common users."""

    client: TestClient[Any]
    app: Edge
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def management(self) -> Management:
        """The management API's state (the API is built now if no call has built it yet)."""
        state: Management = self.app.litestar.state.management
        return state

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime

    def call(self, method: str, path: str, who: str = "root", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if who != "anonymous":
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        self.client.cookies.clear()
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, who: str = "root", **kwargs: Any) -> Any:
        """Call and assert success; return ``data``."""
        response = self.call(method, path, who, **kwargs)
        body = response.json()
        assert response.status_code == 200 and body["success"] is True, (response.status_code, body)
        return body["data"]

    def fails(self, method: str, path: str, who: str = "root", **kwargs: Any) -> str:
        """Call and assert an envelope error; return its message."""
        response = self.call(method, path, who, **kwargs)
        body = response.json()
        assert body["success"] is False and body["data"] is None, body
        assert "Traceback" not in body["message"]
        return str(body["message"])

    def add_user(self, name: str, role: int, password_hash: str, **fields: Any) -> int:
        with Session(get_engine(), expire_on_commit=False) as session:
            user = User(username=name, password=password_hash, display_name=name, role=role,
                        status=Status.ENABLED, access_token=generate_access_token(),
                        aff_code=generate_aff_code(), **fields)
            session.add(user)
            session.commit()
            self.tokens[name] = user.access_token or ""
            self.ids[name] = user.id or 0
            return user.id or 0

    def add_log(self, user: str, **fields: Any) -> None:
        """A consume row as the relay writes it."""
        values: dict[str, Any] = {"type": LogType.CONSUME, "model_name": "gpt-4o", "quota": 100,
                                  "prompt_tokens": 10, "completion_tokens": 5, "token_name": "t",
                                  "created_at": 1_700_000_000, "channel_id": 1}
        values.update(fields)
        with Session(get_engine()) as session:
            session.add(Log(user_id=self.ids[user], username=user, **values))
            session.commit()


def _build(monkeypatch: pytest.MonkeyPatch, password_hash: str) -> Iterator[Api]:
    root_token = generate_access_token()
    monkeypatch.setenv("INITIAL_ROOT_ACCESS_TOKEN", root_token)
    monkeypatch.setenv("GLOBAL_API_RATE_LIMIT", "0")
    dispose_engine()
    app = create_app()
    with TestClient(app) as client:
        api = Api(client, app, tokens={"root": root_token}, ids={"root": 1})
        api.add_user("admin", Role.ADMIN, password_hash)
        api.add_user("alice", Role.COMMON, password_hash, quota=1000)
        api.add_user("bob", Role.COMMON, password_hash, quota=1000)
        yield api
    dispose_engine()


@pytest.fixture
def api(db_env: pytest.MonkeyPatch, password_hash: str) -> Iterator[Api]:
    """The API on SQLite, PostgreSQL and MySQL."""
    yield from _build(db_env, password_hash)


@pytest.fixture(params=["sqlite", "postgresql"])
def api_sp(request: pytest.FixtureRequest, clean_env: pytest.MonkeyPatch, tmp_path: Any,
           password_hash: str) -> Iterator[Api]:
    """The API on SQLite and PostgreSQL (routes whose SQL is not storage-sensitive)."""
    from tests.support.databases import temporary_database

    with temporary_database(request.param, tmp_path) as dsn:
        if dsn:
            clean_env.setenv("SQL_DSN", dsn)
        yield from _build(clean_env, password_hash)


@pytest.fixture
def api_lite(clean_env: pytest.MonkeyPatch, password_hash: str) -> Iterator[Api]:
    """The API on SQLite only (behaviour that does not depend on the database)."""
    yield from _build(clean_env, password_hash)
