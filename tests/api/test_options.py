"""Options (root only), groups and the price table."""

from __future__ import annotations

import json

import pytest

from oneapi.billing.ratios import DEFAULT_MODEL_RATIO, model_ratio
from oneapi.options import options
from tests.api.conftest import Api


def test_options_hide_secrets_and_apply_at_once(api_sp: Api) -> None:
    kinds: list[tuple[str, ...]] = []

    async def listener(changed: tuple[str, ...]) -> None:
        kinds.append(changed)

    api_sp.runtime.on_data_changed(listener)
    api_sp.ok("PUT", "/api/option/", json={"key": "SMTPToken", "value": "smtp-password"})
    api_sp.ok("PUT", "/api/option/", json={"key": "Notice", "value": "maintenance at noon"})
    api_sp.ok("PUT", "/api/option/", json={"key": "RetryTimes", "value": 3})
    listed = {item["key"]: item["value"] for item in api_sp.ok("GET", "/api/option/")}
    assert listed["Notice"] == "maintenance at noon" and listed["RetryTimes"] == "3"
    assert "SMTPToken" not in listed and "SessionSecret" not in listed
    assert "smtp-password" not in str(listed)
    assert kinds == [("options",)] * 3
    status = api_sp.client.get("/api/status").json()["data"]
    assert status["system_name"] == "One API"
    assert api_sp.ok("GET", "/api/notice", "anonymous") == "maintenance at noon"
    api_sp.ok("PUT", "/api/option/", json={"key": "About", "value": "# About us"})
    assert api_sp.ok("GET", "/api/about", "anonymous") == "# About us"
    assert api_sp.ok("GET", "/api/home_page_content", "anonymous") == ""
    api_sp.ok("PUT", "/api/option/", json={"key": "SystemName", "value": "Gateway"})
    assert api_sp.client.get("/api/status").json()["data"]["system_name"] == "Gateway"


@pytest.mark.parametrize(("body", "message"), [
    ({"key": "SessionSecret", "value": "x"}, "cannot be set"),
    ({"key": "bad key", "value": "x"}, "cannot be set"),
    ({"key": "Theme", "value": "neon"}, "Theme must be one of"),
    ({"key": "RegisterEnabled", "value": "maybe"}, "must be true or false"),
    ({"key": "GitHubOAuthEnabled", "value": True},
     "set GitHubClientId, GitHubClientSecret before turning GitHubOAuthEnabled on"),
    ({"key": "OidcEnabled", "value": True}, "set OidcClientId, OidcClientSecret, OidcWellKnown (or"),
    ({"key": "TwoFactorRequiredForAdmins", "value": "sometimes"}, "must be true or false"),
    ({"key": "QuotaForNewUser", "value": "lots"}, "QuotaForNewUser must be a number"),
    ({"key": "ModelRatio", "value": "{bad"}, "ModelRatio is not valid JSON"),
    ({"key": "GroupRatio", "value": '{"vip": -1}'}, "must be a number of 0 or more"),
    ({"key": "GroupRatio", "value": "{}"}, "GroupRatio needs at least one group"),
    ({"value": "x"}, "missing required field `key`"),
])
def test_option_validation(api_lite: Api, body: dict[str, object], message: str) -> None:
    assert message in api_lite.fails("PUT", "/api/option/", json=body)


def test_groups_follow_group_ratio(api_lite: Api) -> None:
    assert api_lite.ok("GET", "/api/group/", "admin") == ["default", "vip", "svip"]
    api_lite.ok("PUT", "/api/option/", json={"key": "GroupRatio", "value": '{"default": 1, "pro": 0.5}'})
    assert api_lite.ok("GET", "/api/group/", "admin") == ["default", "pro"]


def test_price_table_view_edit_reset(api_sp: Api) -> None:
    table = api_sp.ok("GET", "/api/pricing/", "alice")
    assert table["ModelRatio"]["gpt-4o"] == DEFAULT_MODEL_RATIO["gpt-4o"]
    assert table["GroupRatio"] == {"default": 1.0, "vip": 1.0, "svip": 1.0}
    edited = api_sp.ok("PUT", "/api/pricing/", json={"ModelRatio": {"gpt-4o": 9, "my-model": 0.5},
                                                      "GroupRatio": {"default": 1, "vip": 0.8}})
    assert edited["ModelRatio"]["gpt-4o"] == 9 and edited["ModelRatio"]["my-model"] == 0.5
    assert edited["ModelRatio"]["gpt-4o-mini"] == DEFAULT_MODEL_RATIO["gpt-4o-mini"]
    assert model_ratio("my-model") == 0.5  # the billing code sees it at once
    shown = {item["key"]: item["value"] for item in api_sp.ok("GET", "/api/option/")}
    assert json.loads(shown["ModelRatio"]) == edited["ModelRatio"]  # the effective table, as JSON text
    assert options.get("ModelRatio") == '{"gpt-4o": 9.0, "my-model": 0.5}'  # only the overrides stored
    assert "must be a number of 0 or more" in api_sp.fails("PUT", "/api/pricing/",
                                                           json={"CompletionRatio": {"x": -2}})
    assert "give at least one" in api_sp.fails("PUT", "/api/pricing/", json={})
    reset = api_sp.ok("POST", "/api/pricing/reset")
    assert reset["ModelRatio"]["gpt-4o"] == DEFAULT_MODEL_RATIO["gpt-4o"]
    assert "my-model" not in reset["ModelRatio"]
    assert reset["GroupRatio"] == {"default": 1.0, "vip": 1.0, "svip": 1.0}


def test_openapi_lists_the_management_routes(api_lite: Api) -> None:
    schema = api_lite.client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/user/login", "/api/user/self", "/api/token", "/api/channel",
                 "/api/channel/{channel_id}", "/api/redemption", "/api/log", "/api/log/self/stat",
                 "/api/option", "/api/pricing", "/api/group", "/api/topup", "/api/user/topup"):
        assert path in paths, path
    assert "p" in {param["name"] for param in paths["/api/token"]["get"]["parameters"]}
