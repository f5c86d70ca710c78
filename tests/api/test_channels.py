"""Channels: CRUD, batch add, masked keys, the abilities index and cache notification."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from oneapi.db.models import Ability, Channel
from tests.api.conftest import Api
from tests.support.db import get_engine

SECRET = "sk-upstream-secret-0123456789"


def _abilities() -> set[tuple[str, str, int, bool, int]]:
    with Session(get_engine()) as session:
        return {(a.group, a.model, a.channel_id, bool(a.enabled), a.priority or 0)
                for a in session.exec(select(Ability)).all()}


def _stored_key(channel_id: int) -> str:
    with Session(get_engine()) as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None
        return channel.key


def test_channel_lifecycle(api_sp: Api) -> None:
    kinds: list[tuple[str, ...]] = []

    async def listener(changed: tuple[str, ...]) -> None:
        kinds.append(changed)

    api_sp.runtime.on_data_changed(listener)
    created = api_sp.ok("POST", "/api/channel/", "admin", json={
        "name": "openai", "type": 1, "key": SECRET, "models": "gpt-4o,gpt-4o-mini", "group": "default,vip",
        "priority": 5, "model_mapping": '{"gpt-4": "gpt-4o"}', "base_url": "http://127.0.0.1:9/"})
    cid = created["id"]
    assert kinds == [("channels", "abilities")]
    assert SECRET not in str(created) and created["key"] == ""  # one-api never returns the key
    assert created["base_url"] == "http://127.0.0.1:9"
    assert _abilities() == {(group, model, cid, True, 5) for group in ("default", "vip")
                            for model in ("gpt-4o", "gpt-4o-mini")}

    listed = api_sp.ok("GET", "/api/channel/", "admin")
    assert [c["id"] for c in listed] == [cid] and SECRET not in str(listed)
    assert SECRET not in str(api_sp.ok("GET", f"/api/channel/{cid}", "admin"))
    assert [c["id"] for c in api_sp.ok("GET", "/api/channel/search?keyword=open", "admin")] == [cid]
    assert api_sp.ok("GET", "/api/channel/search?keyword=nothing", "admin") == []

    # An update with an empty key keeps the stored key and rebuilds the abilities.
    updated = api_sp.ok("PUT", "/api/channel/", "admin", json={
        "id": cid, "name": "renamed", "type": 1, "key": "", "models": "gpt-4o", "group": "default",
        "priority": 2, "status": 2, "base_url": "http://127.0.0.1:9"})
    assert updated["name"] == "renamed" and _stored_key(cid) == SECRET
    assert _abilities() == {("default", "gpt-4o", cid, False, 2)}
    api_sp.ok("PUT", "/api/channel/", "admin", json={
        "id": cid, "name": "renamed", "type": 1, "key": "sk-new-key-000000", "models": "gpt-4o",
        "status": 1, "base_url": "http://127.0.0.1:9"})
    assert _stored_key(cid) == "sk-new-key-000000"
    assert _abilities() == {("default", "gpt-4o", cid, True, 2)}  # priority left out: kept
    # Abilities are rebuilt only when models, group, status or priority change.
    del kinds[:]
    api_sp.ok("PUT", "/api/channel/", "admin", json={"id": cid, "weight": 3, "name": "again"})
    api_sp.ok("PUT", "/api/channel/", "admin", json={"id": cid, "priority": 2, "models": "gpt-4o"})
    api_sp.ok("PUT", "/api/channel/", "admin", json={"id": cid, "priority": 4})
    assert kinds == [("channels",), ("channels",), ("channels", "abilities")]
    assert _abilities() == {("default", "gpt-4o", cid, True, 4)}

    api_sp.ok("DELETE", f"/api/channel/{cid}", "admin")
    assert _abilities() == set()
    assert "not found" in api_sp.fails("GET", f"/api/channel/{cid}", "admin")
    assert kinds[-1] == ("channels", "abilities")


def test_batch_add_and_delete_disabled(api_sp: Api) -> None:
    created = api_sp.ok("POST", "/api/channel/", json={
        "name": "batch", "type": 1, "key": "key-one-111\n\nkey-two-222\nkey-three-333\n", "models": "m"})
    assert [c["name"] for c in created] == ["batch"] * 3
    ids = [c["id"] for c in created]
    assert [_stored_key(i) for i in ids] == ["key-one-111", "key-two-222", "key-three-333"]
    assert {a[2] for a in _abilities()} == set(ids)
    api_sp.ok("PUT", "/api/channel/", json={"id": ids[0], "name": "b", "type": 1, "models": "m", "status": 2})
    api_sp.ok("PUT", "/api/channel/", json={"id": ids[1], "name": "b", "type": 1, "models": "m", "status": 3})
    assert api_sp.ok("DELETE", "/api/channel/disabled") == 2
    assert [c["id"] for c in api_sp.ok("GET", "/api/channel/")] == [ids[2]]
    assert {a[2] for a in _abilities()} == {ids[2]}


def test_model_lists(api_lite: Api) -> None:
    models = api_lite.ok("GET", "/api/channel/models", "admin")
    names = [m["id"] for m in models]
    assert "gpt-4o" in names and len(names) == len(set(names)) and models[0]["object"] == "model"
    per_type = api_lite.ok("GET", "/api/models", "alice")
    assert "gpt-4o" in per_type["1"] and "claude-sonnet-4-5" in per_type["14"]
    types = {t["id"]: t for t in api_lite.ok("GET", "/api/channel/types", "admin")}
    assert types[14]["base_url"] == "https://api.anthropic.com"
    created = api_lite.ok("POST", "/api/channel/", json={"name": "defaults", "type": 36, "key": "k"})
    assert created["models"] == "deepseek-chat,deepseek-reasoner"


BASE = {"name": "x", "type": 1, "key": "k", "models": "m"}


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "x", "type": 999, "key": "k", "models": "m"}, "unknown channel type 999"),
    ({"name": "x", "type": 1, "key": "", "models": "m"}, "key is required"),
    ({"name": "x", "type": 8, "key": "k", "models": "m"}, "base_url is required"),
    ({**BASE, "base_url": "ftp://x"}, "base_url must be an http(s) URL"),
    ({**BASE, "model_mapping": "[1]"}, "model_mapping must be a JSON"),
    ({**BASE, "model_mapping": "{bad"}, "model_mapping must be a JSON"),
    ({**BASE, "config": "nope"}, "config must be a JSON object"),
    ({**BASE, "group": "g" * 33}, "group must be at most 32"),
    ({**BASE, "status": 9}, "status must be 1"),
    ({"name": "x", "type": "openai", "key": "k"}, "Expected `int`"),
])
def test_channel_validation(api_lite: Api, body: dict[str, object], message: str) -> None:
    assert message in api_lite.fails("POST", "/api/channel/", json=body)
    assert api_lite.ok("GET", "/api/channel/") == []
