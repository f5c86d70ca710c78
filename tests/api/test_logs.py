"""Logs on every database: filters, statistics, search, pagination and retention."""

from __future__ import annotations

from tests.api.conftest import Api

T0 = 1_700_000_000


def _seed(api: Api) -> None:
    api.add_log("alice", created_at=T0, model_name="gpt-4o", token_name="ci", quota=100, channel_id=1,
                content="first call")
    api.add_log("alice", created_at=T0 + 60, model_name="gpt-4o-mini", token_name="ci", quota=20,
                channel_id=2, prompt_tokens=3, completion_tokens=4)
    api.add_log("bob", created_at=T0 + 120, model_name="gpt-4o", token_name="bot", quota=7, channel_id=1)
    api.add_log("bob", created_at=T0 + 180, type=1, model_name="", token_name="", quota=0, channel_id=0,
                content="redeemed code 9")


def test_admin_filters_and_stats(api: Api) -> None:
    _seed(api)
    assert len(api.ok("GET", "/api/log/")) == 4
    first = api.ok("GET", "/api/log/")[0]
    assert first["content"] == "redeemed code 9" and "channel" in first  # newest first
    cases = {
        "type=2": 3, "type=1": 1, "username=alice": 2, "token_name=bot": 1, "model_name=gpt-4o": 2,
        "channel=1": 2, f"start_timestamp={T0 + 60}": 3, f"end_timestamp={T0 + 60}": 2,
        f"start_timestamp={T0 + 60}&end_timestamp={T0 + 120}&model_name=gpt-4o": 1,
    }
    for query, expected in cases.items():
        assert len(api.ok("GET", f"/api/log/?{query}")) == expected, query
    assert api.ok("GET", "/api/log/stat") == {"quota": 127, "token": 37, "count": 3}
    assert api.ok("GET", "/api/log/stat?username=alice&model_name=gpt-4o-mini") == {
        "quota": 20, "token": 7, "count": 1}
    assert api.ok("GET", "/api/log/stat?username=nobody") == {"quota": 0, "token": 0, "count": 0}


def test_owner_views(api: Api) -> None:
    _seed(api)
    mine = api.ok("GET", "/api/log/self", "alice")
    assert [row["model_name"] for row in mine] == ["gpt-4o-mini", "gpt-4o"]
    assert all("channel" not in row and "other" not in row for row in mine)
    assert api.ok("GET", "/api/log/self?username=bob", "alice") == mine  # cannot widen to others
    assert len(api.ok("GET", "/api/log/self?model_name=gpt-4o", "alice")) == 1
    stat = api.ok("GET", "/api/log/self/stat", "alice")
    assert stat == {"quota": 120, "token": 15 + 7, "count": 2}
    assert [row["content"] for row in api.ok("GET", "/api/log/self/search?keyword=first", "alice")] == \
        ["first call"]
    assert api.ok("GET", "/api/log/self/search?keyword=redeemed", "alice") == []


def test_search_pagination_and_purge(api: Api) -> None:
    _seed(api)
    assert [row["username"] for row in api.ok("GET", "/api/log/search?keyword=redeemed")] == ["bob"]
    assert len(api.ok("GET", "/api/log/search?keyword=gpt-4o")) == 3
    assert len(api.ok("GET", "/api/log/search?keyword=2")) == 3  # a number also matches the type
    assert len(api.ok("GET", "/api/log/search?keyword=%25")) == 0  # LIKE wildcards are literal
    for index in range(11):
        api.add_log("alice", created_at=T0 + 1000 + index)
    assert len(api.ok("GET", "/api/log/?p=0")) == 10
    assert len(api.ok("GET", "/api/log/?p=1")) == 5
    assert len(api.ok("GET", "/api/log/?p=1&page_size=4")) == 4
    assert "target_timestamp is required" in api.fails("DELETE", "/api/log/")
    assert api.ok("DELETE", f"/api/log/?target_timestamp={T0 + 1000}") == 4
    assert len(api.ok("GET", "/api/log/?page_size=100")) == 11


def test_owner_sees_ratios_cache_tokens_and_omitted_tools_but_not_the_channel_path(api: Api) -> None:
    other = ('{"channel_path": [3, 1], "upstream_model": "claude-x", "model_ratio": 1.5, '
             '"cache_read_tokens": 900, "cache_write_tokens": 50, '
             '"omitted-tools": "code_execution_20250522"}')
    api.add_log("alice", created_at=T0, model_name="claude-opus-4-8", prompt_tokens=1000, other=other)
    (mine,) = api.ok("GET", "/api/log/self", "alice")
    assert mine["other"] == ('{"model_ratio": 1.5, "cache_read_tokens": 900, "cache_write_tokens": 50, '
                             '"omitted-tools": "code_execution_20250522"}')
    assert api.ok("GET", "/api/log/")[0]["other"] == other
