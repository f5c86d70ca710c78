"""Lenient but bounded input, refused text, quota overflow, the key reveal, and bugs as 500s."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlmodel import Session

from oneapi.api import channels
from oneapi.api.common import INT64_MAX, query_int
from oneapi.db.models import Channel, Log, LogType, User
from oneapi.edge import REQUEST_ID_HEADER
from oneapi.errors import InvalidRequest
from tests.api.conftest import Api
from tests.support.db import get_engine


@pytest.mark.parametrize(("raw", "expected"), [
    ("", 0), ("abc", 0), ("NaN", 0), ("12", 12), (" 7 ", 7), ("1796115923.856", 1796115923), ("-0.5", 0),
    ("1e3", 1000), ("9223372036854775807", INT64_MAX),
])
def test_query_int_is_lenient_as_one_api(raw: str, expected: int) -> None:
    assert query_int(raw, "x") == expected


@pytest.mark.parametrize("raw", ["9223372036854775808", "9" * 5000, "1e400", "-1e400", "inf", "-" + "9" * 30])
def test_query_int_refuses_numbers_past_the_column(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="x must be between"):
        query_int(raw, "x")


def test_pages_and_ids_are_bounded(api_sp: Api) -> None:
    assert "p must be between 0" in api_sp.fails("GET", "/api/channel/?p=-1")
    assert "page_size must be between 1 and 100" in api_sp.fails("GET", "/api/user/?page_size=100000")
    assert "p must be between" in api_sp.fails("GET", "/api/log/?p=99999999999999999999")
    assert "channel_id" in api_sp.fails("GET", "/api/channel/99999999999999")
    assert "priority" in api_sp.fails("PUT", "/api/channel/", json={"id": 1, "priority": 2**64})
    assert "end_timestamp" in api_sp.fails("GET", "/api/log/stat?end_timestamp=1e400")
    for path in ("/api/user/search", "/api/channel/search", "/api/redemption/search", "/api/log/search",
                 "/api/token/search"):
        assert api_sp.ok("GET", f"{path}?keyword=³") == []  # a digit to str.isdigit, not to int()


def test_nul_characters_are_refused_on_every_database(api_sp: Api) -> None:
    assert "'keyword' contains a NUL" in api_sp.fails("GET", "/api/user/search?keyword=a%00b")
    message = api_sp.fails("POST", "/api/channel/", json={"name": "a\x00b", "key": "k", "type": 1})
    assert "$.name contains a NUL" in message
    with Session(get_engine()) as session:
        assert session.execute(select(Channel)).first() is None


def test_quota_cannot_pass_the_bigint_column(api_sp: Api) -> None:
    alice = api_sp.ids["alice"]
    api_sp.ok("POST", "/api/topup", json={"user_id": alice, "quota": INT64_MAX - 1000})
    assert "largest number" in api_sp.fails("POST", "/api/topup", json={"user_id": alice, "quota": 1})
    codes = api_sp.ok("POST", "/api/redemption/", json={"name": "big", "quota": 5})
    assert "largest number" in api_sp.fails("POST", "/api/user/topup", "alice", json={"key": codes[0]})
    with Session(get_engine()) as session:
        user = session.get(User, alice)
        assert user is not None and user.quota == INT64_MAX and isinstance(user.quota, int)
    api_sp.ok("POST", "/api/user/topup", "bob", json={"key": codes[0]})  # the code was not spent


def test_root_alone_reveals_a_channel_key_and_it_is_logged(api_sp: Api) -> None:
    cid = api_sp.ok("POST", "/api/channel/", json={"name": "c", "type": 1, "key": "sk-hidden-1234567"})["id"]
    assert api_sp.ok("GET", f"/api/channel/{cid}")["key"] == ""
    assert api_sp.call("POST", f"/api/channel/{cid}/reveal_key", "admin").status_code == 403
    assert api_sp.ok("POST", f"/api/channel/{cid}/reveal_key") == {"key": "sk-hidden-1234567"}
    with Session(get_engine()) as session:
        logs = session.execute(select(Log).where(Log.type == LogType.MANAGE)).scalars().all()
        assert [(log.user_id, log.channel_id) for log in logs] == [(1, cid)]
        assert "sk-hidden" not in (logs[0].content or "")


def test_a_bug_answers_500_with_the_request_id_and_is_logged_once(
        api_lite: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(channels, "_list", broken)
    with caplog.at_level(logging.ERROR):
        response = api_lite.call("GET", "/api/channel/?p=0")
    request_id = response.headers[REQUEST_ID_HEADER]
    assert response.status_code == 500
    assert response.json() == {"success": False, "data": None, "message": (
        f"internal error (request id {request_id}); see the server log for this request id")}
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None and "a bug" in str(errors[0].exc_info[1])
