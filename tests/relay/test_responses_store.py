"""The response store on each database: ownership, expiry, the per-user bound, reads before the write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from oneapi.db.migrate import upgrade
from oneapi.errors import NotFound
from oneapi.options import options
from oneapi.relay.responses_store import ResponseStore, Stored, response_of_item
from oneapi.retention import delete_old_rows
from tests.support.db import env_database, get_engine


def _stored(number: int, user_id: int, *, age: int = 0, text: str = "hi") -> Stored:
    hex_id = f"{number:032x}"
    output = [{"type": "message", "id": f"msg_{hex_id}_1", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    return Stored(f"resp_{hex_id}", user_id, int(time.time()) - age,
                  {"id": f"resp_{hex_id}", "output": output},
                  [{"type": "message", "id": f"msg_in{number}", "role": "user", "content": "q"}], None)


@pytest.fixture(autouse=True)
def _schema(db_env: pytest.MonkeyPatch) -> Iterator[None]:
    upgrade(get_engine())
    yield
    options.replace({})


def test_owner_reads_before_and_after_the_write_others_never() -> None:
    async def scenario() -> None:
        store = ResponseStore(env_database())
        store.put(_stored(1, user_id=7))
        assert (await store.get(_stored(1, 7).id, 7)).response["output"][0]["id"] == f"msg_{1:032x}_1"
        await store.flush()
        fresh = ResponseStore(env_database())  # another replica: only the database knows it
        assert (await fresh.get(_stored(1, 7).id, 7)).input[0]["id"] == "msg_in1"
        assert (await fresh.item(f"msg_{1:032x}_1", 7))["content"][0]["text"] == "hi"
        for reader in (store, fresh):
            with pytest.raises(NotFound):
                await reader.get(_stored(1, 7).id, 8)
            assert await reader.item(f"msg_{1:032x}_1", 8) is None
        await fresh.delete(_stored(1, 7).id, 7)
        with pytest.raises(NotFound):
            await ResponseStore(env_database()).get(_stored(1, 7).id, 7)

    asyncio.run(scenario())


def test_expired_responses_are_not_found_and_retention_deletes_them() -> None:
    async def scenario() -> None:
        store = ResponseStore(env_database())
        store.put(_stored(2, user_id=1, age=3 * 86400))
        store.put(_stored(3, user_id=1))
        await store.flush()
        options.replace({"ResponseRetentionDays": "2"})
        with pytest.raises(NotFound):
            await store.get(_stored(2, 1).id, 1)
        assert (await store.get(_stored(3, 1).id, 1)).user_id == 1
        options.replace({"ResponseRetentionDays": "0"})  # kept forever
        assert (await store.get(_stored(2, 1).id, 1)).user_id == 1

    asyncio.run(scenario())
    assert delete_old_rows(env_database(), {"responses": 2}, database_lock=True) == {"responses": 1}


def test_each_user_is_kept_under_the_size_bound_oldest_first() -> None:
    big = "x" * 300_000

    async def scenario() -> None:
        options.replace({"ResponseStoreUserLimitMB": "1"})
        store = ResponseStore(env_database())
        for number in range(4):  # ~300 KB each: the fourth pushes the first out
            store.put(_stored(10 + number, user_id=5, age=10 - number, text=big))
            await store.flush()
        store.put(_stored(20, user_id=6, text=big))  # another user's share is their own
        await store.flush()
        for reader in (store, ResponseStore(env_database())):
            with pytest.raises(NotFound):
                await reader.get(_stored(10, 5).id, 5)
            for number in (11, 12, 13):
                assert (await reader.get(_stored(number, 5).id, 5)).user_id == 5
            assert (await reader.get(_stored(20, 6).id, 6)).user_id == 6

    asyncio.run(scenario())


def test_item_ids_name_their_response() -> None:
    assert response_of_item("msg_abc_3") == "resp_abc"
    assert response_of_item("fc_abc_12") == "resp_abc"
    assert response_of_item("msg_mock0") is None and response_of_item("item") is None
