"""deploy/compose.yaml: the gateway's replicas on PostgreSQL and Redis, run here without Docker.

The file is parsed and its variables interpolated as Compose does; each replica's command
line then runs against the local PostgreSQL (a throw-away database) and Redis, with only
the services' addresses (``postgres``, ``redis``) pointed at this machine's.
"""

from __future__ import annotations

import os
import re
import secrets
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa
import yaml

from oneapi.db.dsn import parse_dsn
from tests.deploy.test_manifests import assert_known
from tests.support.databases import require_service, temporary_database
from tests.support.gateway import ROOT, free_port, run_gateway

COMPOSE = ROOT / "deploy" / "compose.yaml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def value(match: re.Match[str]) -> str:
        name, kind, argument = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name}: {argument}")
        return argument if kind == "-" else ""

    return _VARIABLE.sub(value, text)


def compose(env: dict[str, str]) -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), env))


def test_session_secret_is_required_and_shared() -> None:
    with pytest.raises(KeyError, match="SESSION_SECRET"):
        compose({})
    gateway = compose({"SESSION_SECRET": "s" * 32})["services"]["one-api"]
    assert gateway["environment"]["SESSION_SECRET"] == "s" * 32


def test_gateway_replicas_point_at_the_services_of_the_file() -> None:
    document = compose({"SESSION_SECRET": "x" * 32, "POSTGRES_PASSWORD": "pw"})
    services = document["services"]
    gateway = services["one-api"]
    assert gateway["deploy"]["replicas"] == 2
    first, last = re.fullmatch(r"(\d+)-(\d+):3000", gateway["ports"][0]).groups()  # type: ignore[union-attr]
    assert int(last) - int(first) + 1 == gateway["deploy"]["replicas"]
    assert set(gateway["depends_on"]) == {"postgres", "redis"}
    assert_known(set(gateway["environment"]))
    target = parse_dsn(gateway["environment"]["SQL_DSN"])
    postgres = services["postgres"]["environment"]
    assert (target.backend, target.url.host, target.url.port) == ("postgresql", "postgres", 5432)
    assert (target.url.username, target.url.password, target.url.database) == (
        postgres["POSTGRES_USER"], "pw", postgres["POSTGRES_DB"])
    assert urlsplit(gateway["environment"]["REDIS_CONN_STRING"]).hostname == "redis"
    assert gateway["build"]["context"] == ".."
    assert (COMPOSE.parent / ".." / gateway["build"]["dockerfile"]).exists()
    assert "pgdata" in document["volumes"]


def test_the_replicas_command_lines_run_against_local_postgres_and_redis(tmp_path: Path) -> None:
    redis_url = require_service("redis")
    secret = secrets.token_hex(16)
    document = compose({"SESSION_SECRET": secret, "INITIAL_ROOT_PASSWORD": "compose-root-pw"})
    gateway = document["services"]["one-api"]
    with temporary_database("postgresql", tmp_path) as dsn, ExitStack() as stack:
        database = urlsplit(dsn).path.lstrip("/")
        env = {**{name: str(value) for name, value in gateway["environment"].items()},
               # the services' host names, and the container's database user, become this machine's
               "SQL_DSN": urlunsplit(urlsplit(os.environ["TEST_PG_DSN"])._replace(path=f"/{database}")),
               "REDIS_CONN_STRING": redis_url, "REDIS_KEY_PREFIX": f"oneapi-compose-{secrets.token_hex(3)}:"}
        replicas = []
        for number in range(gateway["deploy"]["replicas"]):
            folder = tmp_path / f"replica-{number}"
            folder.mkdir()
            replicas.append(stack.enter_context(run_gateway(folder, {**env, "PORT": str(free_port())},
                                                            command=gateway["command"])))
        for replica in replicas:
            assert httpx.get(f"{replica.base_url}/healthz").json() == {"status": "ok"}
            login = httpx.post(f"{replica.base_url}/api/user/login", timeout=30,
                               json={"username": "root", "password": "compose-root-pw"})
            assert login.json()["success"] is True
        for replica in replicas:
            assert "redis: connected" in replica.output()
        engine = sa.create_engine(parse_dsn(env["SQL_DSN"]).url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar() == 1
        engine.dispose()
