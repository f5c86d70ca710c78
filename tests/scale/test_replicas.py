"""Two gateway processes on one PostgreSQL and one Redis, as a load balancer would see them."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import openai
from sqlalchemy import func, select
from sqlmodel import Session

from oneapi.db.models import Log, Option, Role, Token, User
from tests.scale.conftest import ROOT_ACCESS_TOKEN, cluster, new_seed
from tests.support.seed import Seed
from tests.support.upstreams import REPLY_WORDS, OpenAIUpstream

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def _chat(client: httpx.AsyncClient, url: str, key: str, **extra: object) -> httpx.Response:
    return await client.post(f"{url}/chat/completions", json={**CHAT, **extra},
                             headers={"Authorization": f"Bearer {key}"})


def test_token_rpm_limit_holds_across_two_replicas(tmp_path: Path, pg_dsn: str, redis_url: str) -> None:
    with OpenAIUpstream() as upstream:
        seed = new_seed(pg_dsn)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        user = seed.user()
        key = seed.token(user)
        with seed.engine.begin() as connection:
            connection.execute(Token.__table__.update().where(Token.key == key[3:]).values(rpm_limit=7))
        with cluster(tmp_path, seed, pg_dsn, redis_url) as replicas:
            async def burst() -> list[httpx.Response]:
                async with httpx.AsyncClient(timeout=20) as client:
                    return await asyncio.gather(*(_chat(client, replicas.v1(i % 2), key) for i in range(24)))

            answers = asyncio.run(burst())
            statuses = [answer.status_code for answer in answers]
            assert statuses.count(200) == 7, statuses
            assert statuses.count(429) == 17
            limited = next(answer for answer in answers if answer.status_code == 429)
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            error = limited.json()["error"]
            assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
            assert "requests per minute" in error["message"]
            # both replicas served some of the admitted requests and refused some of the rest
            served = {i % 2 for i, answer in enumerate(answers) if answer.status_code == 200}
            refused = {i % 2 for i, answer in enumerate(answers) if answer.status_code == 429}
            assert served | refused == {0, 1}
            # another token of the same user is not limited by this token's window
            other = seed.token(user)
            sdk = openai.OpenAI(api_key=other, base_url=replicas.v1(1), max_retries=0)
            assert sdk.chat.completions.create(**CHAT).choices[0].message.content  # type: ignore[call-overload]


def test_channel_disabled_on_one_replica_is_not_used_by_the_other_within_a_second(
        tmp_path: Path, pg_dsn: str, redis_url: str) -> None:
    with OpenAIUpstream(name="first") as first, OpenAIUpstream(name="second") as second:
        seed = new_seed(pg_dsn)
        preferred = seed.channel(first.url, ["gpt-4o-mini"], priority=10, name="preferred")
        seed.channel(second.url, ["gpt-4o-mini"], priority=0, name="fallback")
        key = seed.token(seed.user())
        with cluster(tmp_path, seed, pg_dsn, redis_url) as replicas:
            sdk_b = openai.OpenAI(api_key=key, base_url=replicas.v1(1), max_retries=0)
            sdk_b.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            assert len(first.received) == 1 and not second.received
            admin = httpx.Client(base_url=replicas.replicas[0].base_url,
                                 headers={"Authorization": ROOT_ACCESS_TOKEN}, timeout=10)
            fields = admin.get(f"/api/channel/{preferred.id}").json()["data"]
            fields.update(status=2, key="")
            answer = admin.put("/api/channel/", json=fields).json()
            assert answer["success"], answer
            disabled_at = time.monotonic()
            seen_first = len(first.received)
            while True:
                sdk_b.chat.completions.create(**CHAT)  # type: ignore[call-overload]
                if len(first.received) == seen_first:
                    break
                seen_first = len(first.received)
                assert time.monotonic() - disabled_at < 1.0, "replica B still used the disabled channel"
            assert time.monotonic() - disabled_at < 1.0
            before = len(first.received)
            for _ in range(5):
                sdk_b.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            assert len(first.received) == before
            assert len(second.received) >= 5


def test_quota_spent_through_two_replicas_ends_exactly_right(tmp_path: Path, pg_dsn: str,
                                                             redis_url: str) -> None:
    start_quota = 5_000_000
    with OpenAIUpstream() as upstream:
        seed = new_seed(pg_dsn)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        user = seed.user(quota=50_000_000)
        key = seed.token(user, remain_quota=start_quota)
        with cluster(tmp_path, seed, pg_dsn, redis_url) as replicas:
            async def load() -> list[httpx.Response]:
                async with httpx.AsyncClient(timeout=20) as client:
                    calls = [_chat(client, replicas.v1(i % 2), key, stream=i % 3 == 0) for i in range(60)]
                    return await asyncio.gather(*calls)

            answers = asyncio.run(load())
            assert [answer.status_code for answer in answers] == [200] * 60
            logs = seed.wait_logs(key, 60)
            assert len(logs) == 60
            charged = sum(row.quota for row in logs)
            assert charged > 0
            assert seed.wait_remain(key, start_quota - charged) == start_quota - charged
            token = seed.token_row(key)
            assert token.used_quota == charged
            account = seed.get(User, user.id)
            assert account.quota == 50_000_000 - charged
            assert account.used_quota == charged and account.request_count == 60


# Priced so that a request's reservation equals its charge: the body's bytes / 4 (PreConsumedQuota
# 0, no max_tokens) reserved, prompt + completion tokens at ratio 1 charged.
PRICED_BODY = json.dumps(CHAT, separators=(",", ":")).encode()
PRICE = len(PRICED_BODY) // 4


def _priced(seed: Seed) -> OpenAIUpstream:
    """One-to-one prices in the options, and an upstream whose usage costs exactly :data:`PRICE`."""
    with Session(seed.engine) as session:
        session.add_all([Option(key="ModelRatio", value='{"gpt-4o-mini": 1}'),
                         Option(key="CompletionRatio", value='{"gpt-4o-mini": 1}'),
                         Option(key="PreConsumedQuota", value="0")])
        session.commit()
    return OpenAIUpstream(prompt_tokens=PRICE - len(REPLY_WORDS))


async def _priced_burst(urls: list[str], key: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=20) as client:
        return await asyncio.gather(*(
            client.post(f"{urls[i % len(urls)]}/chat/completions", content=PRICED_BODY,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            for i in range(count)))


def _successes(answers: list[httpx.Response]) -> int:
    for answer in answers:
        if answer.status_code != 200:
            assert answer.status_code == 429, answer.text
            error = answer.json()["error"]
            assert error["type"] == "insufficient_quota" and error["code"] == "insufficient_quota", error
    return sum(answer.status_code == 200 for answer in answers)


def test_a_burst_through_two_replicas_spends_no_more_than_the_token_has(tmp_path: Path, pg_dsn: str,
                                                                       redis_url: str) -> None:
    """Without shared counters each replica would admit N requests against its own copy."""
    covered = 10
    seed = new_seed(pg_dsn)
    with _priced(seed) as upstream:
        seed.channel(upstream.url, ["gpt-4o-mini"])
        key = seed.token(seed.user(quota=50_000_000), remain_quota=covered * PRICE)
        with cluster(tmp_path, seed, pg_dsn, redis_url) as replicas:
            answers = asyncio.run(_priced_burst([replicas.v1(0), replicas.v1(1)], key, 4 * covered))
            assert _successes(answers) == covered, [answer.status_code for answer in answers]
            refused = {i % 2 for i, answer in enumerate(answers) if answer.status_code == 429}
            assert refused == {0, 1}
            logs = seed.wait_logs(key, covered)
            assert len(logs) == covered
            charged = sum(row.quota for row in logs)
            assert charged == covered * PRICE
            assert seed.wait_remain(key, 0) == 0
            assert seed.token_row(key).used_quota == charged
            time.sleep(0.5)
            assert len(seed.logs(seed.token_row(key).id)) == covered


def test_an_admin_quota_change_on_one_replica_governs_admission_on_the_other(
        tmp_path: Path, pg_dsn: str, redis_url: str) -> None:
    seed = new_seed(pg_dsn)
    with _priced(seed) as upstream:
        seed.channel(upstream.url, ["gpt-4o-mini"])
        with Session(seed.engine) as session:
            root = session.scalars(select(User).where(User.role == Role.ROOT)).one()
        key = seed.token(root, remain_quota=3 * PRICE)
        token_id = seed.token_row(key).id
        with cluster(tmp_path, seed, pg_dsn, redis_url) as replicas:
            admin = httpx.Client(base_url=replicas.replicas[0].base_url,
                                 headers={"Authorization": ROOT_ACCESS_TOKEN}, timeout=10)

            def set_remain(quota: int) -> None:
                fields = admin.get(f"/api/token/{token_id}").json()["data"]
                fields["remain_quota"] = quota
                answer = admin.put("/api/token/", json=fields).json()
                assert answer["success"], answer

            b = [replicas.v1(1)]
            assert _successes(asyncio.run(_priced_burst(b, key, 1))) == 1  # B's counter: 2 requests left
            assert seed.wait_remain(key, 2 * PRICE) == 2 * PRICE
            set_remain(PRICE)  # lowered on A by one request's worth
            assert _successes(asyncio.run(_priced_burst(b, key, 4))) == 1
            assert seed.wait_remain(key, 0) == 0
            set_remain(3 * PRICE)  # raised on A
            time.sleep(1.0)  # B reloads its cache (the token check at authentication) from the change message
            assert _successes(asyncio.run(_priced_burst(b, key, 8))) == 3
            assert seed.wait_remain(key, 0) == 0


def test_retention_runs_on_one_replica_only(tmp_path: Path, pg_dsn: str, redis_url: str) -> None:
    seed = new_seed(pg_dsn)
    now = int(time.time())
    with Session(seed.engine) as session:
        session.add(Option(key="LogRetentionDays", value="7"))
        session.add_all([Log(user_id=1, created_at=now - 30 * 86400, type=2, content="old")
                         for _ in range(30)])
        session.add_all([Log(user_id=1, created_at=now - 3600, type=2, content="recent") for _ in range(5)])
        session.commit()
    with cluster(tmp_path, seed, pg_dsn, redis_url) as replicas:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with Session(seed.engine) as session:
                left = session.scalar(select(func.count()).select_from(Log))
            if left == 5:
                break
            time.sleep(0.2)
        assert left == 5
        time.sleep(0.5)
        outputs = [replica.output() for replica in replicas.replicas]
    ran = [output for output in outputs if "log retention: deleted" in output]
    assert len(ran) == 1, outputs
    assert "deleted 30 log row(s)" in ran[0]
