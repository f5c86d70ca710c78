"""Channel health: tests, automatic disable/enable, and the scheduled test of every channel.

A test is one real chat request through the channel's adapter
(:func:`oneapi.relay.probe.probe_channel`). Its response time and time are stored on the
channel, and a log row of type "test" is written. When ``AutomaticDisableChannelEnabled``
is on, a failure of the kinds one-api treats as fatal (HTTP 401/403, a wrong or
deactivated key, no credit or quota left) disables the channel as "auto-disabled"; a
batch test also disables a channel slower than ``ChannelDisableThreshold`` seconds. With
``AutomaticEnableChannelEnabled`` on, a passing test re-enables an auto-disabled channel
(never one an admin disabled by hand).

Every console imports this module for :class:`ChannelTestScheduler` (a runtime component), most
often to answer a first ``/api/status`` that tests nothing; the modules a test runs (the probe,
the vendor client, the log and ability writes) are imported by the first test: 20 M
instructions, 4 ms of that first call's CPU.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import col, select

from oneapi.api.common import run_db, unix_now
from oneapi.api.context import bound_to, db_session, session_scope, using
from oneapi.db.models import Channel, LogType, Status
from oneapi.errors import NotFound
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.runtime import stop_tasks

if TYPE_CHECKING:
    from oneapi.relay.probe import ProbeResult
    from oneapi.runtime import Runtime

__all__ = (
    "ChannelTestOutcome",
    "ChannelTestScheduler",
    "run_channel_test",
    "should_disable",
)

log = logging.getLogger("oneapi.api.channel_test")

# Words in an upstream's error that mean "this key will not work again by itself".
_FATAL_WORDS = (
    "credit", "balance", "billing", "quota", "insufficient_quota", "permission denied", "permission_error",
    "organization has been restricted", "api key not valid", "api key expired", "invalid api key",
    "incorrect api key", "invalid_api_key", "account_deactivated", "deactivated", "access was terminated",
    "authentication_error", "forbidden", "已欠费",
)


def should_disable(status: int, message: str) -> bool:
    """One-api's auto-disable rule: an auth failure or an exhausted account."""
    if status in (401, 403):
        return True
    lowered = message.lower()
    return any(word in lowered for word in _FATAL_WORDS)


@dataclass(frozen=True)
class ChannelTestOutcome:
    channel_id: int
    success: bool
    seconds: float
    message: str
    model: str
    status: int  # the channel's status after the test

    def envelope(self) -> dict[str, object]:
        """One-api's answer: ``success``, ``message``, ``time`` and ``modelName`` at the top."""
        return {"success": self.success, "message": self.message, "time": round(self.seconds, 3),
                "modelName": self.model, "data": {"channel_id": self.channel_id, "status": self.status}}


def _load(channel_id: int) -> Channel:
    with db_session(expire_on_commit=False) as session:
        channel = session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(N_("channel not found"))
        return channel


def _decide(channel: Channel, result: ProbeResult, batch: bool) -> tuple[int, str]:
    """The channel's next status and the message to report."""
    message = result.message
    if not result.success:
        if (channel.status == Status.ENABLED and options.get_bool("AutomaticDisableChannelEnabled")
                and should_disable(result.status, message)):
            return Status.AUTO_DISABLED, N_("{message} (the channel was disabled automatically)",
                                            message=message)
        return channel.status, message
    threshold = options.get_float("ChannelDisableThreshold", 5.0)
    if batch and threshold > 0 and result.elapsed > threshold and channel.status == Status.ENABLED \
            and options.get_bool("AutomaticDisableChannelEnabled"):
        return Status.AUTO_DISABLED, N_(
            "response time {elapsed:.2f}s is over the threshold {threshold:.2f}s; the channel was disabled "
            "automatically", elapsed=result.elapsed, threshold=threshold)
    if channel.status == Status.AUTO_DISABLED and options.get_bool("AutomaticEnableChannelEnabled"):
        return Status.ENABLED, N_("the channel passed and was enabled again")
    return channel.status, message


def _record(channel_id: int, result: ProbeResult, status: int, message: str, tester_id: int) -> None:
    from oneapi.api.abilities import set_channel_status
    from oneapi.api.logs import record_log

    with session_scope() as session:
        channel = session.get(Channel, channel_id)
        if channel is None:  # deleted while the request was out
            return
        channel.test_time = unix_now()
        channel.response_time = int(result.elapsed * 1000)
        if status != channel.status:
            set_channel_status(session, channel, status)
        session.add(channel)
        usage = result.usage
        outcome = "passed" if result.success else f"failed: {message}"
        record_log(session, user_id=tester_id, log_type=LogType.TEST, channel_id=channel_id,
                   model_name=result.model, elapsed_time=int(result.elapsed * 1000),
                   prompt_tokens=usage.prompt_tokens if usage else 0,
                   completion_tokens=usage.completion_tokens if usage else 0,
                   content=f"channel #{channel_id} ({channel.name}) test {outcome}")


async def run_channel_test(runtime: Runtime, channel_id: int, model: str | None = None, *, tester_id: int = 0,
                       batch: bool = False) -> ChannelTestOutcome:
    """Test one channel, store the result, and apply the automatic disable/enable rules."""
    from oneapi.api.vendor_account import upstream_client
    from oneapi.relay.probe import probe_channel

    with using(runtime.services.database):
        channel = await run_db(_load, channel_id)
        async with upstream_client(runtime) as client:
            result = await probe_channel(client, channel, model or None)
        status, message = _decide(channel, result, batch)
        await run_db(_record, channel_id, result, status, message, tester_id)
        if status != channel.status:
            verb = "enabled" if status == Status.ENABLED else "disabled"
            log.warning("channel #%d %s: %s", channel_id, verb, message)
            await runtime.data_changed("channels", "abilities")
        just_disabled = status == Status.AUTO_DISABLED and channel.status != Status.AUTO_DISABLED
        success = result.success and not just_disabled
        return ChannelTestOutcome(channel_id, success, result.elapsed, message, result.model, status)


def _channel_ids(scope: str) -> list[int]:
    query = select(Channel.id)
    if scope == "disabled":
        query = query.where(Channel.status == Status.AUTO_DISABLED)
    else:
        query = query.where(col(Channel.status).in_((Status.ENABLED, Status.AUTO_DISABLED)))
    with db_session() as session:
        return [channel_id for channel_id in session.exec(query.order_by(col(Channel.id))).all()
                if channel_id]


async def _test_all(runtime: Runtime, scope: str, tester_id: int) -> None:
    for channel_id in await run_db(_channel_ids, scope):
        try:
            await run_channel_test(runtime, channel_id, tester_id=tester_id, batch=True)
        except NotFound:
            continue
        except Exception:
            log.exception("testing channel #%d failed", channel_id)
    log.info("tested every %s channel", "auto-disabled" if scope == "disabled" else "enabled")


class ChannelTestScheduler:
    """A runtime component: test every channel every ``CHANNEL_TEST_FREQUENCY`` minutes, run the
    background test runs the API starts, and cancel them when the process stops."""

    def __init__(self, runtime: Runtime, interval: float | None = None) -> None:
        self.runtime = runtime
        self._interval = interval  # seconds; None means CHANNEL_TEST_FREQUENCY minutes
        self._task: asyncio.Task[None] | None = None
        self._run: asyncio.Task[None] | None = None  # the test run going on, if any

    def start_all(self, scope: str = "all", tester_id: int = 0) -> bool:
        """Start testing channels in the background; False when a run is going on already.

        ``scope`` "all" tests enabled and auto-disabled channels (manually disabled ones stay
        untouched), "disabled" only the auto-disabled ones.
        """
        if self._run is not None and not self._run.done():
            return False
        self._run = asyncio.create_task(_test_all(self.runtime, scope, tester_id), name="channel-test-all",
                                        context=bound_to(self.runtime.services.database))
        return True

    @property
    def running(self) -> asyncio.Task[None] | None:
        return self._run

    async def start(self, runtime: Runtime) -> None:
        seconds = self._interval
        if seconds is None:
            seconds = runtime.settings.channel_test_frequency * 60.0
        if seconds > 0 and not runtime.settings.on_lambda:
            self._task = asyncio.create_task(self._every(seconds), name="channel-test-schedule")

    async def _every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            if self.start_all() and self._run is not None:
                await asyncio.gather(self._run, return_exceptions=True)

    async def stop(self) -> None:
        await stop_tasks(self._task, self._run)
        self._task = self._run = None
