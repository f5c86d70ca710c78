"""Channel tests through the adapter, automatic disable/enable, scheduling, models, balance."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp import web
from sqlmodel import Session, select

from oneapi.api.channel_test import ChannelTestScheduler, run_channel_test, should_disable
from oneapi.db.models import Ability, Channel
from tests.api.conftest import Api
from tests.support.db import get_engine
from tests.support.upstreams import OpenAIUpstream


def _channel(api: Api, base_url: str, **fields: Any) -> int:
    body = {"name": "up", "type": 1, "key": "sk-upstream", "models": "gpt-4o-mini,gpt-4o",
            "base_url": base_url, **fields}
    return int(api.ok("POST", "/api/channel/", json=body)["id"])


def _row(channel_id: int) -> Channel:
    with Session(get_engine()) as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None
        return channel


def _enabled_abilities(channel_id: int) -> set[bool]:
    with Session(get_engine()) as session:
        rows = session.exec(select(Ability).where(Ability.channel_id == channel_id)).all()
        return {bool(row.enabled) for row in rows}


def _wait(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_passing_test_stores_time_and_logs(api_sp: Api) -> None:
    with OpenAIUpstream() as upstream:
        cid = _channel(api_sp, upstream.url)
        response = api_sp.call("GET", f"/api/channel/test/{cid}", "admin").json()
        assert response["success"] is True and response["modelName"] == "gpt-4o-mini"
        assert response["time"] >= 0 and response["message"] == "Hello from the mock upstream."  # the reply
        assert upstream.received[-1].json()["model"] == "gpt-4o-mini"
        assert upstream.received[-1].headers["Authorization"] == "Bearer sk-upstream"
        api_sp.call("GET", f"/api/channel/test/{cid}?model=gpt-4o", "admin")
        assert upstream.received[-1].json()["model"] == "gpt-4o"
    channel = _row(cid)
    assert channel.test_time > 0 and channel.status == 1
    logs = api_sp.ok("GET", "/api/log/?type=5")
    assert len(logs) == 2 and logs[0]["channel"] == cid and logs[0]["username"] == "admin"
    assert logs[0]["prompt_tokens"] == 11 and "test passed" in logs[0]["content"]
    assert "not found" in api_sp.fails("GET", "/api/channel/test/99999", "admin")


def test_auth_failures_disable_the_channel_only_when_enabled_by_option(api_lite: Api) -> None:
    with OpenAIUpstream(mode="401", name="vendor") as upstream:
        cid = _channel(api_lite, upstream.url)
        first = api_lite.call("GET", f"/api/channel/test/{cid}").json()
        assert first["success"] is False and first["message"] == "vendor says 401"
        assert _row(cid).status == 1
        api_lite.ok("PUT", "/api/option/", json={"key": "AutomaticDisableChannelEnabled", "value": "true"})
        second = api_lite.call("GET", f"/api/channel/test/{cid}").json()
        assert second["success"] is False and "disabled automatically" in second["message"]
    assert _row(cid).status == 3 and _enabled_abilities(cid) == {False}
    assert "failed: vendor says 401" in api_lite.ok("GET", "/api/log/?type=5")[0]["content"]


def test_transient_failures_never_disable(api_lite: Api) -> None:
    api_lite.ok("PUT", "/api/option/", json={"key": "AutomaticDisableChannelEnabled", "value": "true"})
    with OpenAIUpstream(mode="500") as upstream:
        cid = _channel(api_lite, upstream.url)
        assert api_lite.call("GET", f"/api/channel/test/{cid}").json()["success"] is False
    assert _row(cid).status == 1


def test_a_passing_test_re_enables_only_auto_disabled_channels(api_lite: Api) -> None:
    with OpenAIUpstream() as upstream:
        auto = _channel(api_lite, upstream.url, status=3)
        manual = _channel(api_lite, upstream.url, status=2)
        assert _enabled_abilities(auto) == {False}
        kept = api_lite.call("GET", f"/api/channel/test/{auto}").json()
        assert kept["success"] is True and kept["data"]["status"] == 3  # the option is off
        api_lite.ok("PUT", "/api/option/", json={"key": "AutomaticEnableChannelEnabled", "value": "true"})
        result = api_lite.call("GET", f"/api/channel/test/{auto}").json()
        assert result["success"] is True and result["data"]["status"] == 1
        assert api_lite.call("GET", f"/api/channel/test/{manual}").json()["success"] is True
    assert _row(auto).status == 1 and _enabled_abilities(auto) == {True}
    assert _row(manual).status == 2


def test_test_all_runs_in_the_background(api_lite: Api) -> None:
    with OpenAIUpstream() as upstream:
        ids = [_channel(api_lite, upstream.url) for _ in range(3)]
        manual = _channel(api_lite, upstream.url, status=2)
        assert api_lite.ok("GET", "/api/channel/test?scope=all") is None
        _wait(lambda: all(_row(cid).test_time > 0 for cid in ids))
    assert _row(manual).test_time == 0
    assert "scope must be" in api_lite.fails("GET", "/api/channel/test?scope=some")


def test_scheduled_tests_run_on_their_own(api_lite: Api) -> None:
    portal = api_lite.client.blocking_portal
    runtime = api_lite.runtime
    scheduler = ChannelTestScheduler(runtime, interval=0.05)
    with OpenAIUpstream() as upstream:
        cid = _channel(api_lite, upstream.url)
        portal.call(scheduler.start, runtime)
        try:
            _wait(lambda: len(upstream.received) >= 2)
        finally:
            portal.call(scheduler.stop)
    assert _row(cid).test_time > 0


def test_slow_channels_are_disabled_by_batch_tests(api_lite: Api) -> None:
    api_lite.ok("PUT", "/api/option/", json={"key": "AutomaticDisableChannelEnabled", "value": "true"})
    api_lite.ok("PUT", "/api/option/", json={"key": "ChannelDisableThreshold", "value": "0.000001"})
    portal = api_lite.client.blocking_portal
    runtime = api_lite.runtime
    with OpenAIUpstream() as upstream:
        cid = _channel(api_lite, upstream.url)
        single = portal.call(run_channel_test, runtime, cid)
        assert single.success and _row(cid).status == 1  # one-off tests ignore the threshold
        batch = portal.call(lambda: run_channel_test(runtime, cid, batch=True))
    assert not batch.success and "over the threshold" in batch.message
    assert _row(cid).status == 3


@pytest.mark.parametrize(("status", "message", "expected"), [
    (401, "anything", True),
    (403, "anything", True),
    (429, "You exceeded your current quota, please check your plan and billing details.", True),
    (400, "Incorrect API key provided: sk-abc", True),
    (400, "This organization has been restricted", True),
    (402, "Insufficient credit balance", True),
    (0, "账户已欠费", True),
    (429, "Rate limit reached for requests", False),
    (500, "The server had an error", False),
    (0, "cannot reach the upstream: ClientConnectorError", False),
])
def test_should_disable(status: int, message: str, expected: bool) -> None:
    assert should_disable(status, message) is expected


class BillingUpstream(OpenAIUpstream):
    """OpenAI's dashboard balance, and the balance endpoints of DeepSeek, OpenRouter and SiliconFlow."""

    def routes(self) -> list[web.RouteDef]:
        def route(path: str, payload: Any) -> web.RouteDef:
            async def answer(_request: web.Request) -> web.Response:
                return web.json_response(payload)

            return web.get(path, answer)

        return [
            *super().routes(),
            route("/user/balance", {"is_available": True, "balance_infos": [
                {"currency": "CNY", "total_balance": "70.00"},
                {"currency": "USD", "total_balance": "9.50"}]}),
            route("/v1/credits", {"data": {"total_credits": 25, "total_usage": 5.5}}),
            route("/v1/user/info", {"code": 20000, "data": {"totalBalance": "3.25"}}),
        ]


def test_balances(api_lite: Api) -> None:
    with BillingUpstream() as upstream:
        expected = {1: 99.5, 36: 9.5, 20: 19.5, 44: 3.25}
        ids = {kind: _channel(api_lite, upstream.url, type=kind, models="m") for kind in expected}
        for kind, balance in expected.items():
            answer = api_lite.call("GET", f"/api/channel/update_balance/{ids[kind]}").json()
            assert answer["success"] is True and answer["balance"] == pytest.approx(balance), kind
            stored = _row(ids[kind])
            assert stored.balance == pytest.approx(balance) and stored.balance_updated_time > 0
        assert upstream.received[0].headers["Authorization"] == "Bearer sk-upstream"
        assert api_lite.ok("GET", "/api/channel/update_balance") == {"updated": 4, "failed": 0}
        other = _channel(api_lite, upstream.url, type=25, models="m")
        assert "does not report a balance" in api_lite.fails("GET", f"/api/channel/update_balance/{other}")


def test_fetch_models(api_lite: Api) -> None:
    with OpenAIUpstream() as upstream:
        cid = _channel(api_lite, upstream.url)
        assert api_lite.ok("GET", f"/api/channel/fetch_models/{cid}") == ["gpt-4o-mini"]
        assert upstream.received[-1].path == "/v1/models"
    azure = _channel(api_lite, "http://127.0.0.1:9", type=3)
    assert "has no model list" in api_lite.fails("GET", f"/api/channel/fetch_models/{azure}")
    with OpenAIUpstream(mode="401") as upstream:
        broken = _channel(api_lite, upstream.url)
        assert "HTTP 401" in api_lite.fails("GET", f"/api/channel/fetch_models/{broken}")
