"""Replicas on one PostgreSQL and one Redis, and throw-away Redis servers to stop and restart."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlmodel import Session

from oneapi.db.models import Role, User
from tests.support.databases import require_service, temporary_database
from tests.support.gateway import GatewayProcess, free_port, run_gateway
from tests.support.seed import Seed, seed_database

ROOT_ACCESS_TOKEN = "scaleroot0123456789abcdef"


@dataclass
class Cluster:
    replicas: list[GatewayProcess]
    seed: Seed
    redis_url: str
    prefix: str

    def v1(self, index: int) -> str:
        return self.replicas[index].base_url + "/v1"


def redis_prefix() -> str:
    return f"oneapi-test-{secrets.token_hex(4)}:"


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = require_service("redis")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at TEST_REDIS_URL is unreachable: {exc}")
    yield url


@pytest.fixture
def pg_dsn(tmp_path: Path) -> Iterator[str]:
    with temporary_database("postgresql", tmp_path) as dsn:
        yield dsn


def new_seed(sql_dsn: str) -> Seed:
    """The database's seed, with a root user whose access token is :data:`ROOT_ACCESS_TOKEN`."""
    seed = seed_database(sql_dsn)
    seed.user("root", role=Role.ROOT)
    with Session(seed.engine) as session:
        root = session.scalars(select(User).where(User.username == "root")).one()
        root.access_token = ROOT_ACCESS_TOKEN
        session.add(root)
        session.commit()
    return seed


@contextmanager
def cluster(tmp_path: Path, seed: Seed, sql_dsn: str, redis_url: str, *, replicas: int = 2,
            env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """``replicas`` gateway processes on one database and one Redis key prefix."""
    prefix = redis_prefix()
    full_env = {"SQL_DSN": sql_dsn, "REDIS_CONN_STRING": redis_url, "REDIS_KEY_PREFIX": prefix,
                "SYNC_FREQUENCY": "600", "BATCH_UPDATE_INTERVAL": "0.2", "RELAY_TIMEOUT": "10",
                **(env or {})}
    with ExitStack() as stack:
        processes = [stack.enter_context(run_gateway(tmp_path, full_env)) for _ in range(replicas)]
        try:
            yield Cluster(processes, seed, redis_url, prefix)
        finally:
            client = redis.Redis.from_url(redis_url, socket_timeout=2)
            try:
                keys = list(client.scan_iter(match=prefix + "*"))
                if keys:
                    client.delete(*keys)
            except redis.RedisError:
                pass


@dataclass
class ThrowAwayRedis:
    """A redis-server of our own (never the shared one) that a test may stop and restart."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_timeout=0.5).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise TimeoutError("the throw-away redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowAwayRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = ThrowAwayRedis(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class ThrowAwayPostgres:
    """A PostgreSQL cluster of our own (never the shared server) that a test may stop and restart."""

    port: int
    directory: Path
    settings: str = ""  # more "-c name=value" server settings (TLS, for one)

    @property
    def dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(["su", "postgres", "-c", " ".join([str(self.binaries / "pg_ctl"), "-D",
                                                           str(self.directory / "data"), *args])],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    @property
    def binaries(self) -> Path:
        return sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]

    def init(self) -> None:
        subprocess.run(["su", "postgres", "-c", f"{self.binaries / 'initdb'} -D {self.directory / 'data'} "
                        "-A trust -U postgres --no-sync"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"{self.settings}")
        self._pg_ctl("-w", "-o", f"'{options}'", "-l", str(self.directory / "server.log"), "start")

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")


@contextmanager
def throwaway_postgres(purpose: str) -> Iterator[ThrowAwayPostgres]:
    """An initialised cluster of our own, not started yet; stopped and removed afterwards."""
    import os
    import tempfile

    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{purpose} needs PostgreSQL's initdb and root (to run it as postgres)")
        pytest.skip("PostgreSQL's initdb (run as the postgres user) is not available")
    directory = Path(tempfile.mkdtemp(prefix="oneapi-pg-"))
    shutil.chown(directory, "postgres")
    server = ThrowAwayPostgres(free_port(), directory)
    server.init()
    try:
        yield server
    finally:
        with suppress(subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[ThrowAwayPostgres]:
    with throwaway_postgres("the database outage test") as server:
        server.start()
        yield server
