"""The batch writer and the relay cache against each backend: deltas, reloads, failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from oneapi.config import load_settings
from oneapi.db import writer as writer_module
from oneapi.db.journal import Journal, Settlement
from oneapi.db.models import Ability, Channel, Log, SettlementJournal, Token, User
from oneapi.runtime import Runtime, stop_tasks
from oneapi.services import build_services
from tests.support.db import session_scope

USER_QUOTA, TOKEN_QUOTA = 1000, 500


async def _runtime() -> Runtime:
    runtime = Runtime(build_services(load_settings()))
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
        session.add(Ability(group="default", model="m", channel_id=7, priority=0))
        session.flush()
        return user.id, token.id, token.key


def _row(model: type, key: int) -> object:
    with session_scope() as session:
        return session.get(model, key)


@pytest.mark.usefixtures("db_env")
async def test_deltas_add_to_concurrent_writes_and_reloads_do_not_double_count() -> None:
    runtime = await _runtime()
    try:
        user_id, token_id, key = _seed()
        cache, writer, ledger = (runtime.services.cache, runtime.services.writer,
                                 runtime.services.relay.ledger)
        await runtime.data_changed("tokens")  # the management API's contract
        token, user = cache.tokens[key], cache.users[user_id]
        reservation = ledger.reserve(token, user, 100)
        ledger.settle(reservation, 30, channel_id=7,
                      log_row={"user_id": user_id, "token_id": token_id, "quota": 30, "type": 2})
        # another process (or an admin) changes the same rows meanwhile
        with session_scope() as session:
            session.execute(update(User).where(User.id == user_id).values(quota=User.quota + 5000))
        await cache.reload()  # before the flush: DB value + unflushed deltas
        assert (token.remain_quota, user.quota) == (470, 5970)
        assert await writer.flush()
        await cache.reload()  # after the flush: the same, not counted twice
        assert (token.remain_quota, user.quota) == (470, 5970)
        assert cache.tokens[key] is token  # reloads update in place
        stored_user, stored_token = _row(User, user_id), _row(Token, token_id)
        assert (stored_user.quota, stored_user.used_quota, stored_user.request_count) == (5970, 30, 1)
        assert (stored_token.remain_quota, stored_token.used_quota) == (470, 30)
        assert _row(Channel, 7).used_quota == 30
        with session_scope() as session:
            assert [log.quota for log in session.exec(select(Log))] == [30]
    finally:
        await runtime.stop()


@pytest.mark.usefixtures("db_env")
async def test_failed_flush_keeps_rows_for_the_next_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = await _runtime()
    try:
        user_id, token_id, _key = _seed()
        writer = runtime.services.writer
        real_write = writer_module._write

        def down(_batch: object, _mark: object) -> None:
            raise ConnectionError("database is down")

        monkeypatch.setattr(writer_module, "_write", down)
        writer.settle(token_id, True, user_id, 10, 0, {"user_id": user_id, "quota": 10, "type": 2})
        assert not await writer.flush()
        writer.settle(token_id, True, user_id, 5, 0, {"user_id": user_id, "quota": 5, "type": 2})
        assert writer.pending_quota()[1] == {user_id: -15} and writer.pending_logs == 2
        monkeypatch.setattr(writer_module, "_write", real_write)
        assert await writer.flush()
        stored = _row(User, user_id)
        assert (stored.quota, stored.used_quota, stored.request_count) == (985, 15, 2)
        with session_scope() as session:
            assert [log.quota for log in session.exec(select(Log).order_by(Log.id))] == [10, 5]
    finally:
        await runtime.stop()


@pytest.mark.usefixtures("db_env")
async def test_a_large_flush_writes_every_row_with_its_fields_and_defaults() -> None:
    runtime = await _runtime()
    try:
        user_id, token_id, _key = _seed()
        writer = runtime.services.writer
        count = 2 * writer_module._ROWS_PER_STATEMENT + 23  # full statements and a remainder
        for number in range(count):
            row = {"user_id": user_id, "token_id": token_id, "quota": number, "type": 2,
                   "model_name": f"model-{number}", "is_stream": number % 2 == 1,
                   "other": '{"channel_path": [7]}'}
            if number % 10 == 0:
                del row["model_name"]  # a column left out takes its default
            writer.settle(token_id, False, user_id, 0, 0, row)
        assert await writer.flush()
        with session_scope() as session:
            logs = list(session.exec(select(Log).order_by(Log.quota)))
        assert [log.quota for log in logs] == list(range(count))
        assert [log.model_name for log in logs[:3]] == ["", "model-1", "model-2"]
        assert [bool(log.is_stream) for log in logs[:3]] == [False, True, False]
        assert {log.user_id for log in logs} == {user_id} and logs[5].other == '{"channel_path": [7]}'
    finally:
        await runtime.stop()


# -- the settlement journal (oneapi/db/journal.py): replay, exactly once, truncation --------

def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("settlements-*.journal"))


async def _seeded() -> tuple[Runtime, tuple[int, int, str]]:
    runtime = await _runtime()
    seeded = _seed()
    await runtime.data_changed("tokens")  # the management API's contract
    return runtime, seeded


async def _settle(runtime: Runtime, key: str, user_id: int, used: int, request_id: str) -> None:
    cache, ledger = runtime.services.cache, runtime.services.relay.ledger
    reservation = ledger.reserve(cache.tokens[key], cache.users[user_id], 100)
    ledger.settle(reservation, used, channel_id=7,
                  log_row={"user_id": user_id, "quota": used, "type": 2, "request_id": request_id})


async def _die(runtime: Runtime) -> None:
    """What ``kill -9`` leaves: no flush, the journal's files as they are, its lock released."""
    writer = runtime.services.writer
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
    directory = Path(load_settings().journal_directory)
    runtime, (user_id, token_id, key) = await _seeded()
    await _settle(runtime, key, user_id, 30, "a")
    await _settle(runtime, key, user_id, 40, "b")
    writer = runtime.services.writer
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
        own = runtime.services.writer.journal.id
        assert [mark.journal for mark in _marks()] == [own]  # the replayed one's row went with its files
        assert [path for path in _segments(directory) if own not in path.name] == []
        cache = runtime.services.cache
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
    directory = Path(load_settings().journal_directory)
    runtime, (user_id, token_id, key) = await _seeded()
    writer = runtime.services.writer
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
    runtime, (user_id, token_id, key) = await _seeded()
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


@pytest.mark.usefixtures("db_env")
async def test_a_journal_this_database_never_registered_is_left_alone() -> None:
    directory = Path(load_settings().journal_directory)
    runtime, (user_id, token_id, _key) = await _seeded()
    await runtime.stop()
    stranger = Journal(directory)  # e.g. a gateway on another database sharing the directory
    stranger.append(Settlement(0, token_id, -40, user_id, 40, 7, 1_700_000_000, {"quota": 40}))
    stranger.close(written=False)
    runtime = await _runtime()
    await runtime.stop()
    assert _stored(user_id, token_id) == ((USER_QUOTA, 0, 0), (TOKEN_QUOTA, 0), 0, [])
    assert len(_segments(directory)) == 1
