"""The quota reminder email, as one-api: sent when a user's quota falls below
``QuotaRemindThreshold``, and when it runs out.

The ledger reports each settlement's before and after figures (the user's quota net of
requests still running, so a crossing is seen by exactly the settlement that makes it,
however many requests overlap). :meth:`QuotaReminder.settled` runs on the relay's path,
so it only compares two numbers and, on a crossing, queues the user id; a background task
reads the address and sends the mail. A user is mailed once per crossing: the quota has
to rise above the threshold again (a top-up) before the next settlement below it mails
again. A full queue (a mail server down during a stampede) drops reminders rather than
hold memory; they are a courtesy, not a record. No request asks for them, so they are
written in ``DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import TYPE_CHECKING

from oneapi.db.engine import Database
from oneapi.db.models import User
from oneapi.i18n import N_
from oneapi.mail import send_mail
from oneapi.options import options
from oneapi.runtime import stop_tasks

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("QuotaReminder",)

log = logging.getLogger("oneapi.billing.reminder")

QUEUE_SIZE = 1000


def _address(database: Database, user_id: int) -> str:
    with database.session() as session:
        user = session.get(User, user_id)
        return user.email if user is not None and user.email else ""


class QuotaReminder:
    """A runtime component; the ledger calls :meth:`settled` after each settlement."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self._language = "zh-CN"

    def settled(self, user_id: int, before: int, after: int) -> None:
        """Queue a reminder when ``before -> after`` crosses the threshold or reaches zero."""
        if after >= before:
            return
        threshold = options.get_int("QuotaRemindThreshold")
        crossed = before >= threshold > after if threshold > 0 else False
        if crossed or before > 0 >= after:
            try:
                self._queue.put_nowait((user_id, after))
            except asyncio.QueueFull:
                log.warning("quota reminder for user %s dropped: the mail queue is full", user_id)

    async def start(self, runtime: Runtime) -> None:
        self._language = runtime.settings.default_language
        self._task = asyncio.create_task(self._send_all(), name="quota-reminder")

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None

    async def _send_all(self) -> None:
        while True:
            user_id, left = await self._queue.get()
            try:
                await self._send(user_id, left)
            except Exception:
                log.exception("quota reminder for user %s was not sent", user_id)

    async def _send(self, user_id: int, left: int) -> None:
        from oneapi.i18n.catalogs import translate  # the catalogs: only once a reminder is due

        address = await asyncio.to_thread(_address, self.database, user_id)
        if not address:
            return
        language = self._language
        subject = translate(N_("Your quota is used up") if left <= 0 else N_("Your quota is running low"),
                            language)
        link = html.escape(options.get("TopUpLink"))
        top_up_here = translate(N_("Top up here:"), language)
        top_up = f'<p>{top_up_here} <a href="{link}">{link}</a></p>' if link else ""
        site = options.get("SystemName", "One API")
        body = translate(N_("{quota} quota left. Top up to keep using the API without interruption.",
                            quota=max(left, 0)), language)
        await send_mail(f"{site}: {subject}", address, f"<p>{subject}. {body}</p>{top_up}")
