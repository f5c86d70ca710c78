"""SMTP sending against a local server that offers STARTTLS and requires a login over it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from oneapi.errors import ServiceUnavailable
from oneapi.mail import send_mail
from oneapi.options import options
from tests.support.mailbox import mailbox


def _accept(_server: Any, _session: Any, _envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"gw", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the client trusts our test CA only
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    with mailbox(tls_context=context, require_starttls=True, auth_required=True,
                 authenticator=_accept) as (box, port):
        yield box, port
    options.replace({})


async def test_starttls_and_login(tls_server: tuple[Any, int]) -> None:
    box, port = tls_server
    options.replace({"SMTPServer": "127.0.0.1", "SMTPPort": str(port), "SMTPAccount": "gw",
                     "SMTPToken": "s3cret", "SMTPFrom": "noreply@example.org"})
    await send_mail("Hello", "carol@example.com", "<p>hi</p>")
    message = box.wait(1)
    assert message["Subject"] == "Hello" and message["From"] == "One API <noreply@example.org>"

    options.replace({"SMTPServer": "127.0.0.1", "SMTPPort": str(port), "SMTPAccount": "gw",
                     "SMTPToken": "wrong", "SMTPFrom": "noreply@example.org"})
    with pytest.raises(ServiceUnavailable):
        await send_mail("Hello", "carol@example.com", "<p>hi</p>")
    assert len(box.messages) == 1
