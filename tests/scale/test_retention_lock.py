"""The retention lock when a Redis call fails on its way (no server needed: a stand-in state)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from oneapi.options import options
from oneapi.redis_state import RedisUnavailable
from oneapi.retention import LogRetention


class _FailingShared:
    """Redis that was up a moment ago and whose lock call times out."""

    available = True
    calls = 0

    def key(self, *parts: object) -> str:
        return ":".join(str(part) for part in parts)

    async def call(self, operation: Callable[[Any], Awaitable[Any]]) -> Any:
        self.calls += 1
        raise RedisUnavailable


class _Untouchable:
    """A database that must not be used."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) although another replica may hold the lock")


@pytest.fixture
def retention_on() -> Iterator[None]:
    before = options.snapshot()
    options.replace({"LogRetentionDays": "7"})
    yield
    options.replace(before)


async def test_a_lock_call_that_fails_skips_the_pass(retention_on: None) -> None:
    shared = _FailingShared()
    retention = LogRetention(_Untouchable(), shared)  # type: ignore[arg-type]
    assert await retention.run_once() is None
    assert shared.calls == 1
