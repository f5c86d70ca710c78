"""What a signed-in user learns about their own prices and usage: the models their group can
call at their group's price, the cost of a usage, and the dashboard's period and top tokens."""

from __future__ import annotations

import time

from tests.api.conftest import Api

DAY = 86400


def _channel(api: Api, name: str, channel_type: int, models: str, group: str) -> None:
    api.ok("POST", "/api/channel/", json={"type": channel_type, "name": name, "key": "sk-upstream",
                                          "base_url": "http://127.0.0.1:9", "models": models, "group": group})


def test_models_and_prices_of_the_callers_group(api: Api) -> None:
    api.ok("PUT", "/api/pricing/", json={"GroupRatio": {"default": 1, "vip": 0.5},
                                         "ModelRatio": {"house-model": 2}})
    api.ok("PUT", "/api/user/", json={"id": api.ids["bob"], "username": "bob", "group": "vip"})
    _channel(api, "openai", 1, "gpt-4o,house-model", "default,vip")
    _channel(api, "claude", 14, "claude-sonnet-4-5", "vip")
    _channel(api, "deepseek", 36, "gpt-4o", "default")

    alice = api.ok("GET", "/api/pricing/self", "alice")
    assert alice["group"] == "default" and alice["group_ratio"] == 1
    assert [m["model"] for m in alice["models"]] == ["gpt-4o", "house-model"]  # not the vip-only claude
    gpt = alice["models"][0]
    assert gpt["channel_types"] == ["DeepSeek", "OpenAI"]
    # gpt-4o: $2.50 / $10 / $1.25 per 1M tokens = 1.25M / 5M / 625k quota (500k quota = $1)
    assert gpt["per_million"] == {"input": 1_250_000, "output": 5_000_000, "cache_read": 625_000,
                                  "cache_write": 1_250_000}
    assert alice["models"][1]["per_million"]["input"] == 2_000_000  # the ModelRatio option

    bob = api.ok("GET", "/api/pricing/self", "bob")
    assert bob["group"] == "vip" and bob["group_ratio"] == 0.5
    assert [m["model"] for m in bob["models"]] == ["claude-sonnet-4-5", "gpt-4o", "house-model"]
    claude, gpt_vip = bob["models"][0], bob["models"][1]
    assert claude["channel_types"] == ["Anthropic Claude"]
    assert gpt_vip["channel_types"] == ["OpenAI"]  # the deepseek channel serves only default
    assert gpt_vip["per_million"]["input"] == 625_000  # half price
    # claude-sonnet-4-5: $3 in, 5x out, reads 0.1x, writes 1.25x; then the vip half
    assert claude["per_million"] == {"input": 750_000, "output": 3_750_000, "cache_read": 75_000,
                                     "cache_write": 937_500}
    assert api.call("GET", "/api/pricing/self", "anonymous").json()["success"] is False


def test_quote_prices_a_usage_for_the_callers_group(api: Api) -> None:
    api.ok("PUT", "/api/pricing/", json={"GroupRatio": {"default": 1, "vip": 2}})
    api.ok("PUT", "/api/user/", json={"id": api.ids["bob"], "username": "bob", "group": "vip"})
    usage = {"model": "gpt-4o", "prompt_tokens": 1000, "completion_tokens": 100}
    alice = api.ok("POST", "/api/pricing/quote", "alice", json=usage)
    # (1000 + 100 * 4) * 1.25 = 1750
    assert alice["quota"] == 1750 and alice["model_ratio"] == 1.25 and alice["group_ratio"] == 1
    assert api.ok("POST", "/api/pricing/quote", "bob", json=usage)["quota"] == 3500
    cached = api.ok("POST", "/api/pricing/quote", "alice", json={**usage, "cached_tokens": 800})
    assert cached["quota"] == 1250  # (200 + 800 * 0.5 + 400) * 1.25
    assert "negative" in api.fails("POST", "/api/pricing/quote", "alice",
                                   json={**usage, "completion_tokens": -1})


def test_dashboard_period_and_top_tokens(api: Api) -> None:
    today = int(time.time()) // DAY * DAY
    api.add_log("alice", created_at=today + 10, quota=300, token_name="ci", token_id=7)
    api.add_log("alice", created_at=today + 20, quota=100, token_name="laptop", token_id=8)
    api.add_log("alice", created_at=today - 20 * DAY, model_name="gpt-4o-mini", quota=900, token_name="old",
                token_id=9)
    api.add_log("alice", created_at=today + 30, type=1, quota=5000, token_name="", model_name="")  # a top-up
    api.add_log("bob", created_at=today + 10, quota=10_000, token_name="bobs", token_id=3)

    week = api.ok("GET", "/api/user/dashboard", "alice")  # the last 7 days by default
    assert [(row["ModelName"], row["Quota"]) for row in week] == [("gpt-4o", 400)]
    month = api.ok("GET", f"/api/user/dashboard?start_timestamp={today - 30 * DAY}"
                          f"&end_timestamp={today + DAY}", "alice")
    assert [(row["ModelName"], row["Quota"], row["RequestCount"]) for row in month] == [
        ("gpt-4o-mini", 900, 1), ("gpt-4o", 400, 2)]
    assert set(month[0]) == {"Day", "ModelName", "RequestCount", "Quota", "PromptTokens", "CompletionTokens"}
    old_day = api.ok("GET", f"/api/user/dashboard?start_timestamp={today - 21 * DAY}"
                            f"&end_timestamp={today - 19 * DAY}", "alice")
    assert [row["ModelName"] for row in old_day] == ["gpt-4o-mini"]

    top = api.ok("GET", f"/api/user/dashboard/tokens?start_timestamp={today - 30 * DAY}", "alice")
    assert [(t["token_name"], t["token_id"], t["quota"], t["requests"]) for t in top] == [
        ("old", 9, 900, 1), ("ci", 7, 300, 1), ("laptop", 8, 100, 1)]
    assert top[0]["tokens"] == 15
    assert [t["token_name"] for t in api.ok("GET", "/api/user/dashboard/tokens", "alice")] == ["ci", "laptop"]

    assert "after end_timestamp" in api.fails(
        "GET", f"/api/user/dashboard?start_timestamp={today}&end_timestamp={today - DAY}", "alice")
    assert "366 days" in api.fails("GET", f"/api/user/dashboard/tokens?start_timestamp={today - 400 * DAY}"
                                          f"&end_timestamp={today}", "alice")
