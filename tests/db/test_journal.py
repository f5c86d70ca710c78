"""The settlement journal's files: torn records, locks, one write per record, a full disk.

Replay and truncation through the batch writer are tested in ``test_writer.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oneapi.db.journal import Journal, Settlement, dead_journals, read_settlements
from oneapi.db.writer import BatchWriter
from tests.support.db import env_database


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


def test_a_failed_append_is_kept_in_memory_and_later_records_start_a_fresh_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = BatchWriter(env_database())
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
