"""The settlement journal: torn records, replay after a crash, exactly-once charging, truncation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from oneapi.config import get_settings
from oneapi.db import writer as writer_module
from oneapi.db.engine import session_scope
from oneapi.db.journal import Journal, Settlement, dead_journals, read_settlements
from oneapi.db.models import Channel, Log, SettlementJournal, Token, User
from oneapi.db.writer import BatchWriter
from oneapi.relay import install_relay
from oneapi.runtime import Runtime, stop_tasks

USER_QUOTA, TOKEN_QUOTA = 10_000, 5_000


def _settlement(used: int, request_id: str = "") -> Settlement:
    return Settlement(0, 1, -used, 2, used, 3, 1_700_000_000, {"quota": used, "request_id": request_id})


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("settlements-*.journal"))


def test_a_torn_last_record_is_dropped_and_the_others_read(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(_settlement(10))
    journal.append(_settlement(20))
    [segment] = _segments(tmp_path)
    last = segment.stat().st_size  # where the third record starts
    journal.append(_settlement(30))
    journal.close(written=False)
    whole = segment.read_bytes()
    for cut in (last + 3, last + 8, len(whole) - 1):  # in its header, after the header, in its body
        segment.write_bytes(whole[:cut])
        assert [record.used for record in read_settlements([segment])] == [10, 20]
    flipped = bytearray(whole)
    flipped[-3] ^= 0xFF  # a corrupt body fails its checksum
    segment.write_bytes(bytes(flipped))
    assert [record.used for record in read_settlements([segment])] == [10, 20]
    segment.write_bytes(whole)
    assert [(record.seq, record.log) for record in read_settlements([segment])] == [
        (1, {"quota": 10, "request_id": ""}), (2, {"quota": 20, "request_id": ""}),
        (3, {"quota": 30, "request_id": ""})]


def test_only_journals_of_dead_processes_are_offered_for_replay(tmp_path: Path) -> None:
    live, dead = Journal(tmp_path), Journal(tmp_path)
    live.append(_settlement(1))
    dead.append(_settlement(2))
    dead.close(written=False)  # as the kernel does for a killed process: its lock is released
    with dead_journals(tmp_path) as journals:
        assert [journal for journal, _paths in journals] == [dead.id]
        with dead_journals(tmp_path) as again:  # a second booting process waits its turn
            assert again == []
    live.close(written=True)
    assert [path.name for path in tmp_path.iterdir() if live.id in path.name] == []


# -- through the runtime, on every backend ----------------------------------------------

async def _runtime() -> Runtime:
    runtime = Runtime(get_settings())
    install_relay(runtime)
    await runtime.start()
    return runtime


def _seed() -> tuple[int, int, str]:
    with session_scope() as session:
        user = User(username="alice", password="x", quota=USER_QUOTA)
        session.add(user)
        session.flush()
        token = Token(user_id=user.id, key="k" * 48, remain_quota=TOKEN_QUOTA, name="t")
        session.add(token)
        session.add(Channel(id=7, type=1, key="x", models="m", base_url="http://127.0.0.1:1"))
        session.flush()
        return user.id, token.id, token.key


async def _settle(runtime: Runtime, key: str, user_id: int, used: int, request_id: str) -> None:
    cache, ledger = runtime.state["cache"], runtime.state["relay"].ledger
    reservation = ledger.reserve(cache.tokens[key], cache.users[user_id], 100)
    ledger.settle(reservation, used, channel_id=7,
                  log_row={"user_id": user_id, "quota": used, "type": 2, "request_id": request_id})


async def _die(runtime: Runtime) -> None:
    """What ``kill -9`` leaves: no flush, the journal's files as they are, its lock released."""
    writer = runtime.state["writer"]
    await stop_tasks(writer._task)
    writer.journal.close(written=False)
    writer.journal, writer._pending = None, writer_module._Batch()
    await runtime.stop()


def _stored(user_id: int, token_id: int) -> tuple[tuple[int, int, int], tuple[int, int], int, list[str]]:
    with session_scope() as session:
        user, token = session.get(User, user_id), session.get(Token, token_id)
        logs = [log.request_id for log in session.exec(select(Log).order_by(Log.id))]
        return ((user.quota, user.used_quota, user.request_count), (token.remain_quota, token.used_quota),
                session.get(Channel, 7).used_quota, logs)


def _marks() -> list[SettlementJournal]:
    with session_scope() as session:
        return list(session.exec(select(SettlementJournal)))


@pytest.mark.usefixtures("db_env")
async def test_replay_after_a_crash_between_commit_and_truncation_charges_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    directory = Path(get_settings().journal_directory)
    runtime = await _runtime()
    user_id, token_id, key = _seed()
    await runtime.data_changed("tokens")
    await _settle(runtime, key, user_id, 30, "a")
    await _settle(runtime, key, user_id, 40, "b")
    writer = runtime.state["writer"]
    monkeypatch.setattr(writer.journal, "discard_sealed", lambda: None)  # killed right after the commit
    assert await writer.flush()
    await _settle(runtime, key, user_id, 50, "c")  # journaled, never flushed
    await _die(runtime)
    assert _stored(user_id, token_id)[3] == ["a", "b"]
    assert len(_segments(directory)) == 2  # the committed segment was not deleted, the next one is unflushed

    runtime = await _runtime()  # the next boot
    try:
        assert _stored(user_id, token_id) == ((USER_QUOTA - 120, 120, 3), (TOKEN_QUOTA - 120, 120), 120,
                                              ["a", "b", "c"])
        assert _marks() == []  # the replayed journal's mark is gone with its files
        own = runtime.state["writer"].journal.id
        assert [path for path in _segments(directory) if own not in path.name] == []
        cache = runtime.state["cache"]
        assert (cache.users[user_id].quota, cache.tokens[key].remain_quota) == (USER_QUOTA - 120,
                                                                                TOKEN_QUOTA - 120)
    finally:
        await runtime.stop()
    runtime = await _runtime()  # a third boot finds nothing to do
    await runtime.stop()
    assert _stored(user_id, token_id)[0] == (USER_QUOTA - 120, 120, 3)
    assert list(directory.glob("settlements-*")) == []  # a clean stop leaves no journal behind


@pytest.mark.usefixtures("db_env")
async def test_flushes_truncate_the_journal_and_a_failed_flush_keeps_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    directory = Path(get_settings().journal_directory)
    runtime = await _runtime()
    user_id, token_id, key = _seed()
    await runtime.data_changed("tokens")
    writer = runtime.state["writer"]
    try:
        await _settle(runtime, key, user_id, 10, "a")
        assert await writer.flush()
        [current] = _segments(directory)
        assert current.stat().st_size == 0  # the flushed segment is deleted, a fresh one takes new records
        real_write = writer_module._write

        def down(_batch: object, _mark: object) -> None:
            raise ConnectionError("database is down")

        monkeypatch.setattr(writer_module, "_write", down)
        await _settle(runtime, key, user_id, 20, "b")
        assert not await writer.flush()
        await _settle(runtime, key, user_id, 30, "c")
        assert not await writer.flush()
        assert [path.stat().st_size > 0 for path in _segments(directory)] == [True, True, False]
        monkeypatch.setattr(writer_module, "_write", real_write)
        assert await writer.flush()
        assert [path.stat().st_size for path in _segments(directory)] == [0]
        assert [(mark.journal, mark.seq) for mark in _marks()] == [(writer.journal.id, 3)]
    finally:
        await runtime.stop()
    assert _stored(user_id, token_id)[0] == (USER_QUOTA - 60, 60, 3)
    assert _marks() == [] and list(directory.glob("settlements-*")) == []


@pytest.mark.usefixtures("db_env")
async def test_settlements_not_written_at_stop_are_written_by_the_next_boot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = await _runtime()
    user_id, token_id, key = _seed()
    await runtime.data_changed("tokens")
    await _settle(runtime, key, user_id, 25, "a")

    def down(_batch: object, _mark: object) -> None:
        raise ConnectionError("database is down")

    with monkeypatch.context() as patched:
        patched.setattr(writer_module, "_write", down)
        await runtime.stop()  # the database is down for the whole shutdown (five tries, 2 s)
    assert _stored(user_id, token_id)[3] == []
    runtime = await _runtime()
    await runtime.stop()
    assert _stored(user_id, token_id) == ((USER_QUOTA - 25, 25, 1), (TOKEN_QUOTA - 25, 25), 25, ["a"])


def test_settlements_are_appended_with_one_write_each(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path)
    writes: list[int] = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(len(data)) or real_write(fd, data))
    journal.append(_settlement(5, "x" * 300))
    journal.append(_settlement(6))
    monkeypatch.undo()
    journal.close(written=False)
    assert len(writes) == 2 and sum(writes) == _segments(tmp_path)[0].stat().st_size


def test_a_failed_append_is_kept_in_memory_and_later_records_start_a_fresh_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = BatchWriter()
    writer.journal = Journal(tmp_path)
    writer.settle(1, True, 2, 10, 3, None)
    real_write = os.write
    with monkeypatch.context() as full_disk:
        full_disk.setattr(os, "write", lambda fd, data: real_write(fd, data[:5]))  # the disk fills mid-record
        writer.settle(1, True, 2, 20, 3, None)
    writer.settle(1, True, 2, 30, 3, None)
    assert writer.pending_quota() == ({1: -60}, {2: -60})  # the settlement the journal missed still counts
    writer.journal.close(written=False)
    assert [record.used for record in read_settlements(_segments(tmp_path))] == [10, 30]
