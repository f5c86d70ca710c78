"""Outgoing email over SMTP, for verification codes, reset links and quota reminders.

The server is set by one-api's options ``SMTPServer``, ``SMTPPort``, ``SMTPAccount``,
``SMTPFrom`` (the sender address; ``SMTPAccount`` when empty) and ``SMTPToken`` (the
password), read at each send so a change in the settings page applies at once. As in
one-api, port 465 speaks TLS from the first byte (implicit TLS) and any other port
upgrades with STARTTLS when the server offers it. Sending goes through ``aiosmtplib``
on the event loop: a slow mail server delays only the request that sends, never others.
``aiosmtplib`` and the ``email`` package are imported by the first send (8 ms of a boot that
rarely sends anything).
"""

from __future__ import annotations

from oneapi.errors import ServiceUnavailable
from oneapi.options import options

__all__ = ("SEND_TIMEOUT_SECONDS", "send_mail")

SEND_TIMEOUT_SECONDS = 15.0
IMPLICIT_TLS_PORT = 465


async def send_mail(subject: str, to: str, html: str) -> None:
    """Send one HTML message to ``to``.

    Raises:
        ServiceUnavailable: SMTP is not configured, or the server refused or did not answer.
    """
    server = options.get("SMTPServer").strip()
    account = options.get("SMTPAccount").strip()
    sender = options.get("SMTPFrom").strip() or account
    if not server or not sender:
        raise ServiceUnavailable("email is not configured: set SMTPServer and SMTPAccount or SMTPFrom")
    port = options.get_int("SMTPPort", 587)
    import email.utils
    from email.message import EmailMessage

    import aiosmtplib

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = email.utils.formataddr((options.get("SystemName", "One API"), sender))
    message["To"] = to
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(html, subtype="html")
    try:
        await aiosmtplib.send(message, hostname=server, port=port, username=account or None,
                              password=options.get("SMTPToken") or None,
                              use_tls=port == IMPLICIT_TLS_PORT,
                              start_tls=None if port != IMPLICIT_TLS_PORT else False,
                              timeout=SEND_TIMEOUT_SECONDS)
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ServiceUnavailable(f"the mail server did not accept the message: {exc}") from None
