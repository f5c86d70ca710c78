"""A script written against one-api's documented management API, run against ``python app.py``.

It uses plain httpx the way existing One API automation does: log in for a cookie, fetch
an access token, then create a channel and a token, relay one request with the token and
read the logs, with one-api's routes, trailing slashes and ``?p=`` pages.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.support.gateway import run_gateway
from tests.support.upstreams import OpenAIUpstream


def _data(response: httpx.Response) -> object:
    body = response.json()
    assert response.status_code == 200 and body["success"] is True, body
    return body["data"]


def test_one_api_script(tmp_path: Path) -> None:
    env = {"INITIAL_ROOT_PASSWORD": "s3cret-root"}
    with OpenAIUpstream() as upstream, run_gateway(tmp_path, env) as gateway:
        with httpx.Client(base_url=gateway.base_url, timeout=10) as browser:
            login = browser.post("/api/user/login", json={"username": "root", "password": "s3cret-root"})
            assert _data(login)["role"] == 100  # type: ignore[index]
            assert "session" in login.cookies
            access_token = _data(browser.get("/api/user/token"))
            assert _data(browser.get("/api/user/self"))["username"] == "root"  # type: ignore[index]

        with httpx.Client(base_url=gateway.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {access_token}"}) as api:
            _data(api.post("/api/channel/", json={
                "type": 1, "key": "sk-upstream", "name": "mock", "base_url": upstream.url, "other": "",
                "models": "gpt-4o-mini", "group": "default", "model_mapping": "", "priority": 0}))
            channels = _data(api.get("/api/channel/?p=0"))
            assert [c["name"] for c in channels] == ["mock"]  # type: ignore[union-attr,index]
            _data(api.post("/api/token/", json={"name": "script", "remain_quota": 500000, "expired_time": -1,
                                                 "unlimited_quota": False, "models": ""}))
            tokens = _data(api.get("/api/token/?p=0"))
            key = "sk-" + tokens[0]["key"]  # type: ignore[index]

            reply = httpx.post(f"{gateway.base_url}/v1/chat/completions", timeout=10,
                               headers={"Authorization": f"Bearer {key}"},
                               json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            assert reply.status_code == 200, reply.text

            deadline = time.monotonic() + 15
            logs: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                logs = _data(api.get("/api/log/?p=0&type=2"))  # type: ignore[assignment]
                if logs:
                    break
                time.sleep(0.1)
            assert logs and logs[0]["model_name"] == "gpt-4o-mini" and logs[0]["token_name"] == "script"
            own = _data(api.get("/api/log/self/?p=0&type=2"))
            assert len(own) == 1
            own_other = json.loads(own[0].pop("other"))  # type: ignore[index]
            assert own == [{k: v for k, v in logs[0].items() if k not in ("channel", "other")}]
            # the owner sees the ratios their charge came from, never the channels behind it
            admin_other = json.loads(str(logs[0]["other"]))
            assert own_other and own_other == {k: admin_other[k] for k in own_other}
            assert "channel_path" not in own_other and "upstream_model" not in own_other
            stat = _data(api.get("/api/log/stat?type=2"))
            assert stat["quota"] == logs[0]["quota"]  # type: ignore[index]
