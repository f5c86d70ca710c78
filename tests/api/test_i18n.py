"""The management API's messages and emails in the caller's language: the ``lang`` cookie (the
UI's switch), else ``Accept-Language``, else ``DEFAULT_LANGUAGE``; ``/v1`` errors stay English.

The API fixtures set ``DEFAULT_LANGUAGE=en`` (their tests compare English messages); here each
call says which language it wants, and one app runs with the shipped default, Chinese.
"""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import TestClient

from oneapi.server import create_app
from tests.api.conftest import Api
from tests.support.mailbox import mailbox


def _message(api: Api, method: str, path: str, who: str = "root", **kwargs: object) -> str:
    response = api.call(method, path, who, **kwargs)
    assert response.json()["success"] is False
    return str(response.json()["message"])


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "用户不存在"),
    ({"Accept-Language": "zh"}, "用户不存在"),
    ({"Accept-Language": "en-US,en;q=0.9"}, "user not found"),
    ({}, "user not found"),  # the fixture's DEFAULT_LANGUAGE
])
def test_an_error_message_in_the_accept_language(api_lite: Api, headers: dict[str, str],
                                                 expected: str) -> None:
    assert _message(api_lite, "GET", "/api/user/9999", headers=headers) == expected


def test_the_cookie_wins_over_accept_language(api_lite: Api) -> None:
    root = f"Bearer {api_lite.tokens['root']}"
    api_lite.client.cookies.set("lang", "zh-CN")
    response = api_lite.client.get("/api/user/9999", headers={"Authorization": root, "Accept-Language": "en"})
    assert response.json()["message"] == "用户不存在"
    api_lite.client.cookies.set("lang", "en")
    response = api_lite.client.get("/api/user/9999",
                                   headers={"Authorization": root, "Accept-Language": "zh-CN"})
    assert response.json()["message"] == "user not found"


def test_messages_with_values_keep_them_in_either_language(api_lite: Api) -> None:
    chinese = _message(api_lite, "PUT", "/api/option/", json={"key": "QuotaPerUnit", "value": "lots"},
                       headers={"Accept-Language": "zh-CN"})
    assert chinese == "QuotaPerUnit 必须是数字"
    english = _message(api_lite, "PUT", "/api/option/", json={"key": "QuotaPerUnit", "value": "lots"})
    assert english == "QuotaPerUnit must be a number"
    refused = api_lite.call("GET", "/api/channel/", "alice", headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 403 and refused.json()["message"] == "无权访问：需要更高的权限"
    anonymous = api_lite.call("GET", "/api/user/self", "anonymous", headers={"Accept-Language": "zh-CN"})
    assert anonymous.status_code == 401 and anonymous.json()["message"] == "未登录，且未提供访问令牌"


def test_a_success_message_in_the_callers_language(api_lite: Api) -> None:
    api_lite.ok("PUT", "/api/option/", json={"key": "SMTPServer", "value": "127.0.0.1"})
    for language, expected in (("zh-CN", "如果有账户绑定了该邮箱，重置链接已发送至该邮箱"),
                               ("en", "if an account has this address, a reset link was sent to it")):
        response = api_lite.call("GET", "/api/reset_password?email=nobody@example.org", "anonymous",
                                 headers={"Accept-Language": language})
        assert response.json() == {"success": True, "message": expected, "data": None}


def test_the_relay_answers_in_english_whatever_the_browser_says(api_lite: Api) -> None:
    response = api_lite.client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": []},
                                    headers={"Authorization": "Bearer sk-nonexistent",
                                             "Accept-Language": "zh-CN"})
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert message.isascii(), message


def test_the_verification_mail_is_in_the_callers_language(api_lite: Api) -> None:
    with mailbox() as (inbox, port):
        for key, value in {"SMTPServer": "127.0.0.1", "SMTPPort": port, "SMTPFrom": "gw@example.org",
                           "SystemName": "Gate"}.items():
            api_lite.ok("PUT", "/api/option/", json={"key": key, "value": value})
        api_lite.ok("GET", "/api/verification?email=li@example.org", "anonymous",
                    headers={"Accept-Language": "zh-CN"})
        chinese = inbox.wait(1)
        assert chinese["Subject"] == "Gate 邮箱验证"
        assert "您的验证码为：" in inbox.body(chinese) and inbox.code(1) in inbox.body(chinese)
        api_lite.ok("GET", "/api/verification?email=lee@example.org", "anonymous",
                    headers={"Accept-Language": "en"})
        english = inbox.wait(2)
        assert english["Subject"] == "Gate email verification"
        assert "Your verification code is:" in inbox.body(english)


def test_the_shipped_default_is_chinese(clean_env: pytest.MonkeyPatch) -> None:
    with TestClient(create_app()) as client:
        answer = client.post("/api/user/login", json={"username": "root", "password": "wrong"}).json()
        assert answer == {"success": False, "message": "用户名或密码错误", "data": None}
        english = client.post("/api/user/login", json={"username": "root", "password": "wrong"},
                              headers={"Accept-Language": "en"}).json()
        assert english["message"] == "wrong username or password"


async def test_the_quota_reminder_is_in_the_default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """No request asks for a reminder, so it is written in DEFAULT_LANGUAGE."""
    from types import SimpleNamespace

    from oneapi.billing import reminder as module
    from oneapi.config import Settings

    sent: list[tuple[str, str, str]] = []

    async def send_mail(subject: str, to: str, html: str) -> None:
        sent.append((subject, to, html))

    monkeypatch.setattr(module, "send_mail", send_mail)
    monkeypatch.setattr(module, "_address", lambda database, user_id: "li@example.org")
    for language, words in (("zh-CN", "您的额度已用尽"), ("en", "Your quota is used up")):
        reminder = module.QuotaReminder(None)  # type: ignore[arg-type]  # _address is replaced
        await reminder.start(SimpleNamespace(settings=Settings(default_language=language)))  # type: ignore[arg-type]
        reminder.settled(1, 100, 0)
        for _ in range(100):
            if len(sent) and words in sent[-1][0]:
                break
            await asyncio.sleep(0.01)
        await reminder.stop()
        assert words in sent[-1][0] and words in sent[-1][2]
