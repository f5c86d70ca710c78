"""Settings flow from the app factory: each app runs on what its own settings say, and its
components start after what they hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from oneapi.config import Settings
from oneapi.runtime import Runtime, start_order
from oneapi.server import create_app
from oneapi.services import build_services

ROOT_ACCESS_TOKEN = "root-access-token-for-the-services-test"


def _settings(path: Path) -> Settings:
    return Settings(sqlite_path=str(path), initial_root_access_token=ROOT_ACCESS_TOKEN,
                    global_api_rate_limit=0)


def _token_names(client: TestClient[Any]) -> list[str]:
    answer = client.get("/api/token/", headers={"Authorization": ROOT_ACCESS_TOKEN}).json()
    assert answer["success"], answer
    return [token["name"] for token in answer["data"]]


def test_two_apps_in_one_process_use_their_own_databases(clean_env: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    clean_env.setenv("SQLITE_PATH", str(tmp_path / "environment.db"))
    first, second = create_app(_settings(tmp_path / "a.db")), create_app(_settings(tmp_path / "b.db"))
    with TestClient(first) as one, TestClient(second) as other:
        created = one.post("/api/token/", json={"name": "only-in-a"},
                           headers={"Authorization": ROOT_ACCESS_TOKEN}).json()
        assert created["success"], created
        assert _token_names(one) == ["only-in-a"]
        assert _token_names(other) == []
        key = "sk-" + created["data"]["key"]
        assert first.state.runtime.services.cache.tokens.keys() == {key[3:]}
        assert second.state.runtime.services.cache.tokens == {}
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()
    assert not (tmp_path / "environment.db").exists()


def test_given_settings_win_over_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("SQLITE_PATH", str(tmp_path / "b.db"))
    app = create_app(Settings(sqlite_path=str(tmp_path / "a.db")))
    with TestClient(app):
        assert app.state.runtime.services.database.engine.url.database == str(tmp_path / "a.db")
    assert (tmp_path / "a.db").exists() and not (tmp_path / "b.db").exists()


class _Part:
    def __init__(self, name: str, *held: object) -> None:
        self.name = name
        self.held = held[0] if held else None
        self.more = held[1] if len(held) > 1 else None

    async def start(self, runtime: Runtime) -> None:
        return None

    async def stop(self) -> None:
        return None


def test_components_start_after_what_they_hold_and_keep_their_order_otherwise() -> None:
    database = _Part("database")
    writer = _Part("writer", database)
    cache = _Part("cache", database, writer)
    upstream = _Part("upstream")
    ordered = start_order([cache, upstream, writer, database])
    assert [part.name for part in ordered] == ["upstream", "database", "writer", "cache"]


def test_components_that_hold_each_other_are_refused() -> None:
    first = _Part("first")
    second = _Part("second", first)
    first.held = second
    with pytest.raises(ValueError, match="need each other cannot start: _Part, _Part"):
        start_order([first, second])


def test_the_app_starts_the_database_first_and_stops_it_last(clean_env: pytest.MonkeyPatch) -> None:
    services = build_services(Settings())
    ordered = start_order(Runtime(services).components)
    assert ordered[0] is services.database and ordered[1] is services.writer
    assert ordered.index(services.cache) > ordered.index(services.writer)
