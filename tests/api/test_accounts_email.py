"""Email on accounts against a real SMTP server on 127.0.0.1: verification codes, registration
with verification, binding an address, password reset, the domain whitelist and Turnstile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session

from oneapi.api.codes import CodeBook
from oneapi.db.models import Token, TokenStatus
from oneapi.security import generate_token_key
from tests.api.conftest import PASSWORD, Api
from tests.support.db import get_engine
from tests.support.mailbox import Mailbox, mailbox, turnstile_mock
from tests.support.upstreams import OpenAIUpstream


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def set_options(api: Api, **values: Any) -> None:
    for key, value in values.items():
        api.ok("PUT", "/api/option/", json={"key": key, "value": value})


@pytest.fixture
def box(api_sp: Api) -> Iterator[tuple[Api, Mailbox, Clock]]:
    """The API with SMTP pointed at a local server and a code book on a clock the test moves."""
    clock = Clock()
    with mailbox() as (inbox, port):
        set_options(api_sp, SMTPServer="127.0.0.1", SMTPPort=port, SMTPFrom="gateway@example.org",
                    ServerAddress="https://gw.example.org", SystemName="Test Gateway")
        api_sp.management.email_codes = CodeBook(clock=clock)  # after the first call built the API
        yield api_sp, inbox, clock


def reset_link(inbox: Mailbox, count: int) -> tuple[str, dict[str, str]]:
    body = inbox.body(inbox.wait(count))
    start = body.index("https://gw.example.org/user/reset?")
    link = body[start:body.index('"', start)].replace("&amp;", "&")
    return link, {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def login(api: Api, name: str, password: str) -> int:
    api.client.cookies.clear()
    return int(api.client.post("/api/user/login", json={"username": name, "password": password}).json()
               ["success"])


def test_verification_code_registers_once_and_expires(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, clock = box
    set_options(api, EmailVerificationEnabled=True)
    assert api.ok("GET", "/api/status", "anonymous")["email_verification"] is True
    form = {"username": "carol", "password": "carolpass1", "email": "carol@example.com"}
    assert "verification" in api.fails("POST", "/api/user/register", "anonymous", json=form)

    api.ok("GET", "/api/verification", "anonymous", params={"email": "carol@example.com"})
    message = inbox.wait(1)
    assert message["To"] == "carol@example.com"
    assert message["From"] == "Test Gateway <gateway@example.org>"
    code = inbox.code(1)
    assert len(code) == 6
    wrong = "x" + code[1:] if code[0] != "x" else "y" + code[1:]
    assert "wrong or has expired" in api.fails("POST", "/api/user/register", "anonymous",
                                               json={**form, "verification_code": wrong})
    api.ok("POST", "/api/user/register", "anonymous", json={**form, "verification_code": code})
    assert login(api, "carol", "carolpass1")
    # used up: the same code does not register a second account
    again = {**form, "username": "carol2", "verification_code": code}
    assert "wrong or has expired" in api.fails("POST", "/api/user/register", "anonymous", json=again)
    # an address in use gets no code
    assert "already in use" in api.fails("GET", "/api/verification", "anonymous",
                                         params={"email": "carol@example.com"})

    api.ok("GET", "/api/verification", "anonymous", params={"email": "dave@example.com"})
    late = inbox.code(2)
    clock.now += 10 * 60 + 1
    assert "wrong or has expired" in api.fails(
        "POST", "/api/user/register", "anonymous",
        json={"username": "dave", "password": "davepass11", "email": "dave@example.com",
              "verification_code": late})


def test_wrong_guesses_discard_the_code(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, _clock = box
    api.ok("GET", "/api/verification", "anonymous", params={"email": "e@example.com"})
    code = inbox.code(1)
    for guess in ("aaaaaa", "bbbbbb", "cccccc", "dddddd", "eeeeee"):
        api.fails("GET", "/api/oauth/email/bind", "alice", params={"email": "e@example.com", "code": guess})
    assert "wrong or has expired" in api.fails("GET", "/api/oauth/email/bind", "alice",
                                               params={"email": "e@example.com", "code": code})


def test_bind_email_to_the_signed_in_account(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, _clock = box
    params = {"email": "alice@example.com"}
    assert api.call("GET", "/api/oauth/email/bind", "anonymous", params={**params, "code": "x"}
                    ).status_code == 401
    api.ok("GET", "/api/verification", "anonymous", params=params)
    code = inbox.code(1)
    api.ok("GET", "/api/oauth/email/bind", "alice", params={**params, "code": code})
    assert api.ok("GET", "/api/user/self", "alice")["email"] == "alice@example.com"
    assert "wrong or has expired" in api.fails("GET", "/api/oauth/email/bind", "bob",
                                               params={**params, "code": code})
    assert api.ok("GET", "/api/user/self", "bob")["email"] == ""


def test_domain_whitelist(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, _clock = box
    set_options(api, EmailDomainWhitelist="example.com, corp.example", EmailDomainRestrictionEnabled=True)
    message = api.fails("GET", "/api/verification", "anonymous", params={"email": "x@gmail.com"})
    assert "example.com" in message
    api.ok("GET", "/api/verification", "anonymous", params={"email": "x@corp.example"})
    inbox.wait(1)
    assert len(inbox.messages) == 1


def test_password_reset_link_works_once(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, clock = box
    api.ok("PUT", "/api/user/", json={"id": api.ids["alice"], "email": "alice@example.com"})
    known, unknown = (api.call("GET", "/api/reset_password", "anonymous", params={"email": email}).json()
                      for email in ("alice@example.com", "nobody@example.com"))
    assert known == unknown and known["success"] is True
    link, query = reset_link(inbox, 1)
    assert link.startswith("https://gw.example.org/user/reset?email=alice%40example.com&token=")
    assert query["email"] == "alice@example.com" and len(query["token"]) == 32

    bad = {"email": "alice@example.com", "token": query["token"][:-1] + "!"}
    assert "invalid or has expired" in api.fails("POST", "/api/user/reset", "anonymous", json=bad)
    stranger = {"email": "nobody@example.com", "token": query["token"]}
    assert "invalid or has expired" in api.fails("POST", "/api/user/reset", "anonymous", json=stranger)
    password = api.ok("POST", "/api/user/reset", "anonymous", json=query)
    assert isinstance(password, str) and len(password) == 12
    assert login(api, "alice", password) and not login(api, "alice", PASSWORD)
    assert api.call("GET", "/api/user/self", "alice").status_code == 401  # the access token was revoked
    assert "invalid or has expired" in api.fails("POST", "/api/user/reset", "anonymous", json=query)

    api.ok("GET", "/api/reset_password", "anonymous", params={"email": "alice@example.com"})
    _link, late = reset_link(inbox, 2)
    clock.now += 10 * 60 + 1
    assert "invalid or has expired" in api.fails("POST", "/api/user/reset", "anonymous", json=late)
    assert len(inbox.messages) == 2  # nothing was ever sent to the unknown address


def test_smtp_not_configured_is_a_clear_error(api_lite: Api) -> None:
    message = api_lite.fails("GET", "/api/verification", "anonymous", params={"email": "x@example.com"})
    assert "SMTPServer" in message
    # as one-api: verification needs an SMTP server, the domain restriction a whitelist
    for toggle, needed in (("EmailVerificationEnabled", "SMTPServer"),
                           ("EmailDomainRestrictionEnabled", "EmailDomainWhitelist")):
        assert needed in api_lite.fails("PUT", "/api/option/", json={"key": toggle, "value": "true"})


def test_turnstile_on_and_off(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, _clock = box
    with turnstile_mock("s3cret") as (mock, url):
        api.management.turnstile_verify_url = url
        params = {"email": "t@example.com"}
        api.ok("GET", "/api/verification", "anonymous", params=params)  # off: no check, no call
        assert mock.calls == []
        set_options(api, TurnstileSiteKey="site-key", TurnstileSecretKey="s3cret", TurnstileCheckEnabled=True)
        status = api.ok("GET", "/api/status", "anonymous")
        assert status["turnstile_check"] is True and status["turnstile_site_key"] == "site-key"
        assert "TurnstileSecretKey" not in {option["key"] for option in api.ok("GET", "/api/option/")}
        mock.good.add("good-answer")
        for path in ("/api/verification", "/api/reset_password"):
            assert "Turnstile" in api.fails("GET", path, "anonymous", params=params)
            forged = {**params, "turnstile": "forged"}
            assert "Turnstile" in api.fails("GET", path, "anonymous", params=forged)
            api.ok("GET", path, "anonymous", params={**params, "turnstile": "good-answer"})
        register = {"username": "tina", "password": "tinapass11"}
        assert "Turnstile" in api.fails("POST", "/api/user/register", "anonymous", json=register)
        api.ok("POST", "/api/user/register?turnstile=good-answer", "anonymous", json=register)
        assert mock.calls[-1]["secret"] == ["s3cret"] and mock.calls[-1]["response"] == ["good-answer"]
        assert mock.calls[-1]["remoteip"]
        assert login(api, "tina", "tinapass11")  # one-api does not check Turnstile at login
        inbox.wait(2)


def test_quota_reminder_sent_once_per_crossing(box: tuple[Api, Mailbox, Clock]) -> None:
    api, inbox, _clock = box
    with OpenAIUpstream(name="ok") as upstream:
        api.ok("POST", "/api/channel/", json={"name": "openai", "type": 1, "key": "sk-up", "group": "default",
                                               "models": "gpt-4o-mini", "base_url": upstream.url})
        api.ok("PUT", "/api/user/", json={"id": api.ids["alice"], "email": "alice@example.com"})
        api.ok("PUT", "/api/user/", json={"id": api.ids["bob"], "email": "bob@example.com"})
        set_options(api, QuotaRemindThreshold=999, TopUpLink="https://shop.example.org/")
        keys = {}
        for name in ("alice", "bob"):
            with Session(get_engine()) as session:
                key = generate_token_key()
                session.add(Token(user_id=api.ids[name], key=key, name="t", status=TokenStatus.ENABLED,
                                  expired_time=-1, unlimited_quota=True))
                session.commit()
            keys[name] = "sk-" + key

        def chat(name: str) -> None:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
            reply = api.client.post("/v1/chat/completions", json=body,
                                    headers={"Authorization": f"Bearer {keys[name]}"})
            assert reply.status_code == 200, reply.text

        chat("alice")  # 1000 -> below 999: one reminder
        message = inbox.wait(1)
        assert message["To"] == "alice@example.com"
        assert "running low" in inbox.body(message) and "https://shop.example.org/" in inbox.body(message)
        chat("alice")
        chat("alice")  # still below: no more mail
        api.ok("PUT", "/api/user/", json={"id": api.ids["bob"], "quota": 5000})  # bob stays above 999
        chat("bob")
        with api.client.portal() as portal:  # the consumption reaches the database before the top-up
            portal.call(api.runtime.services.writer.flush)
        api.ok("PUT", "/api/user/", json={"id": api.ids["alice"], "quota": 1000})  # a top-up re-arms it
        chat("alice")
        second = inbox.wait(2)
        assert second["To"] == "alice@example.com"
        time.sleep(0.5)
        assert [m["To"] for m in inbox.messages] == ["alice@example.com", "alice@example.com"]
