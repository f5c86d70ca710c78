"""The per-account login back-off holds across replicas that share Redis."""

from __future__ import annotations

from pathlib import Path

import httpx

from oneapi.api.login_backoff import FREE_TRIES
from tests.scale.conftest import cluster, new_seed


def _login(base_url: str, name: str) -> httpx.Response:
    return httpx.post(f"{base_url}/api/user/login", json={"username": name, "password": "wrong-password"},
                      headers={"Accept-Language": "en"}, timeout=10)  # the messages compared are English


def test_failures_on_any_replica_lock_the_name_on_all(tmp_path: Path, pg_dsn: str, redis_url: str) -> None:
    seed = new_seed(pg_dsn)
    seed.user("victim")
    with cluster(tmp_path, seed, pg_dsn, redis_url) as running:
        urls = [replica.base_url for replica in running.replicas]
        for attempt in range(FREE_TRIES):  # alternating: neither replica alone sees FREE_TRIES failures
            answer = _login(urls[attempt % 2], "victim").json()
            assert answer["message"] == "wrong username or password"
        for url in urls:
            locked = _login(url, "Victim")
            assert locked.status_code == 429 and "too many failed logins" in locked.json()["message"]
        assert _login(urls[0], "someone-else").json()["message"] == "wrong username or password"
