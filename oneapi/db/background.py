"""One lower-priority thread for the database work no request waits on.

The batch writer's flushes and the cache's periodic reloads are CPU work in a thread of
the serving process (SQLite's inserts and index updates alone cost ~14 µs per log row).
At the default priority the operating system shares the core evenly between that thread
and the event loop, so every request arriving during a flush waited: at concurrency 1,
the added p99 latency was ~4 ms with flushes and ~0.6 ms without (``bench/``). At nice 10
(Linux; elsewhere the default priority) the thread gets about a tenth of a busy core:
requests barely notice it, yet on a saturated core it still writes several times faster
than the relay produces rows (nice 19 would give it ~1.5 %, too little to keep up).
The interpreter lock is the other half: when the thread starts, Python's switch interval
drops from 5 ms to 0.5 ms, so a request that wakes while the thread holds the lock waits
at most that long for it. One thread also keeps the writes in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ("run_in_background", "submit_in_background")

T = TypeVar("T")

_NICENESS = 10
_SWITCH_INTERVAL = 0.0005  # seconds; Python's default is 0.005
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # on Linux, a thread id names one thread here
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICENESS)


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            sys.setswitchinterval(_SWITCH_INTERVAL)
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oneapi-background",
                                           initializer=_lower_priority)
        return _executor


async def run_in_background(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` on the background thread, awaited without blocking the loop."""
    return await asyncio.get_running_loop().run_in_executor(_get_executor(), function, *args)


def submit_in_background(function: Callable[..., T], *args: object) -> Future[T]:
    """``function(*args)`` on the background thread, from synchronous code."""
    return _get_executor().submit(function, *args)
