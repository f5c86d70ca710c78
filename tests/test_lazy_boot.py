"""The relay process boots without what it does not need yet, and each deferred part still works.

What stays unloaded until first use, and the tests that show each part working then:
Litestar, the management API and the web UI (here, and ``tests/api``, ``tests/web``), polib and
the translation catalogs until a page or a translated message needs them (``tests/web/test_i18n.py``), other
vendors' client formats and image fetching (``tests/relay``), prometheus_client until
``/metrics`` is scraped (``tests/test_edge.py``), aiosmtplib until a mail is sent
(``tests/api/test_mail.py``), the sign-in libraries (Authlib, joserfc, pyotp, segno:
``tests/api/test_oauth.py``, ``test_two_factor.py``), redis without
``REDIS_CONN_STRING`` (``tests/scale``), mangum off Lambda (``tests/deploy/test_lambda_handler.py``),
alembic on a new database and on one at head (``tests/db/test_schema.py`` migrates an older
one), the tokenizer's encodings (``tests/relay``); PyYAML, pdb and pydantic's v1 layer, which
Litestar imports for features the console leaves off, and the asyncio half of ``limits``
(``tests/test_console.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from oneapi.bootstrap import DEFAULT_ROOT_PASSWORD_HASH, ROOT_BCRYPT_ROUNDS
from oneapi.config import DEFAULT_ROOT_PASSWORD, Settings, load_settings
from oneapi.db.models import Role, User
from oneapi.runtime import Runtime
from oneapi.security import BCRYPT_ROUNDS, verify_password
from oneapi.services import build_services
from tests.support.db import get_engine
from tests.support.gateway import ROOT, gateway_env, run_gateway

DEFERRED = ("litestar", "jinja2", "polib", "mangum", "redis", "alembic", "httpx", "toktok",
            "prometheus_client", "aiosmtplib",
            "oneapi.api", "oneapi.web", "oneapi.console", "oneapi.i18n.catalogs", "oneapi.relay.routes",
            "oneapi.relay.client_format_routes", "oneapi.relay.probe",
            "oneapi.relay.formats.anthropic_upstream", "oneapi.relay.formats.anthropic_client",
            "oneapi.relay.formats.gemini_upstream", "oneapi.relay.formats.gemini_client",
            "oneapi.relay.formats.responses", "oneapi.relay.formats.media", "authlib", "httpx2", "joserfc",
            "pyotp", "segno", "yaml", "pdb", "pydantic.v1", "limits.aio")

# Imports app, starts its runtime and serves GET /healthz through the ASGI app, then prints the
# deferred modules loaded by then; then one GET /api/status and one page, and what each loaded.
_PROBE = """
import asyncio, json, sys, time

deferred = tuple(sys.argv[1].split(","))


def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in deferred or m.startswith(deferred))


async def call(app, path):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"test")], "scheme": "http", "server": ("test", 80),
             "client": ("127.0.0.1", 1), "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"}}
    await app(scope, receive, send)
    return sent[0]["status"]


async def main():
    import app

    after_import = loaded()
    await app.app.state.runtime.start()
    health = await call(app.app, "/healthz")
    after_start = loaded()
    started = time.perf_counter()
    status = await call(app.app, "/api/status")
    first_console_ms = (time.perf_counter() - started) * 1000
    after_console = loaded()
    page = await call(app.app, "/login")
    print(json.dumps({"after_import": after_import, "after_start": after_start, "health": health,
                      "status": status, "first_console_ms": first_console_ms, "after_console": after_console,
                      "page": page, "after_page": loaded()}))
    await app.app.state.runtime.stop()


asyncio.run(main())
"""


def _probe(tmp_path: Path, *, restart: bool = True) -> dict[str, object]:
    env = gateway_env(tmp_path, {"LOG_LEVEL": "WARNING"})
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    if restart:
        subprocess.run([sys.executable, "-m", "oneapi", "migrate"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-c", _PROBE, ",".join(DEFERRED)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("restart", [False, True], ids=["new file", "restart"])
def test_a_container_host_boots_and_serves_without_the_deferred_modules(
        tmp_path: Path, restart: bool) -> None:
    report = _probe(tmp_path, restart=restart)
    assert report["after_import"] == []
    assert report["health"] == 200
    assert report["after_start"] == [], "the runtime's start loaded deferred modules"
    # the first management call loads what it needs, once, and answers
    assert report["status"] == 200
    assert {"litestar", "oneapi.api", "oneapi.console"} <= set(report["after_console"])
    assert not {"redis", "mangum", "alembic", "toktok", "jinja2", "polib", "prometheus_client", "aiosmtplib",
                "httpx"} & set(report["after_console"])
    # without what Litestar imports for features the console leaves off (a YAML document, the
    # debugger, pydantic's plugins: oneapi.console), limits' asyncio half, nor what a channel test runs
    assert not {"yaml", "pdb", "pydantic.v1", "litestar.plugins.pydantic", "litestar.plugins.attrs",
                "limits.aio", "oneapi.relay.probe", "oneapi.api.logs", "oneapi.api.vendor_account"} & \
        set(report["after_console"])
    # and registers only its own area of routes (tests/test_console.py): the others' modules load
    # with their first call
    assert not {"oneapi.api.users", "oneapi.api.accounts", "oneapi.api.oauth", "oneapi.api.two_factor",
                "oneapi.api.tokens", "oneapi.api.channels", "oneapi.api.redemptions", "oneapi.api.options",
                "oneapi.api.pricing", "oneapi.web.pages", "oneapi.relay.routes",
                "oneapi.relay.client_format_routes"} & set(report["after_console"])
    assert report["page"] == 200  # the first page loads Jinja, and polib for its language's catalog
    assert {"jinja2", "polib", "oneapi.i18n.catalogs"} <= set(report["after_page"])
    # sign-in through a provider and two-factor codes load their libraries when first used
    assert not {"authlib", "httpx2", "joserfc", "pyotp", "segno"} & set(report["after_page"])
    print(f"first management call, imports and build included: {report['first_console_ms']:.0f} ms")


def test_first_boot_serves_before_root_is_hashed_and_login_waits_for_it(
        tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    """Root's bcrypt hash runs on the background thread; the boot path does not wait for it."""
    clean_env.setenv("INITIAL_ROOT_PASSWORD", "first-boot-pw")
    release = threading.Event()
    import oneapi.runtime as runtime_module

    real_hash = runtime_module.root_password_hash

    def slow_hash(settings: Settings) -> str:
        release.wait(10)
        return real_hash(settings)

    clean_env.setattr(runtime_module, "root_password_hash", slow_hash)
    runtime = Runtime(build_services(load_settings()))
    started = time.monotonic()
    runtime.prepare_database()
    assert time.monotonic() - started < 5
    with Session(get_engine()) as session:
        assert session.exec(select(User)).all() == []  # not yet: still hashing
    release.set()
    runtime.wait_for_root()
    with Session(get_engine()) as session:
        root = session.exec(select(User)).one()
    assert root.role == Role.ROOT
    assert verify_password("first-boot-pw", root.password)
    assert root.password.startswith(f"$2b${ROOT_BCRYPT_ROUNDS}$")


@pytest.mark.parametrize("password", ["right-away-pw", DEFAULT_ROOT_PASSWORD], ids=["own", "default"])
def test_a_login_right_after_first_boot_succeeds_and_rehashes_root_at_full_cost(
        tmp_path: Path, password: str) -> None:
    """Root's first login leaves a cost-12 hash with a salt of its own, the default password's kept
    hash (oneapi.bootstrap) included."""
    with run_gateway(tmp_path, {"INITIAL_ROOT_PASSWORD": password}) as gateway:
        answer = httpx.post(f"{gateway.base_url}/api/user/login",
                            json={"username": "root", "password": password}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["success"] is True
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'one-api.db'}")
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password FROM users WHERE username = 'root'")).scalar()
    engine.dispose()
    assert stored.startswith(f"$2b${BCRYPT_ROUNDS}$") and BCRYPT_ROUNDS > ROOT_BCRYPT_ROUNDS
    assert stored[7:29] != DEFAULT_ROOT_PASSWORD_HASH[7:29]  # the salt
    assert verify_password(password, stored)


def test_a_first_boot_on_the_default_password_runs_no_bcrypt(clean_env: pytest.MonkeyPatch) -> None:
    """The default password's hash is kept, not computed (oneapi.bootstrap): a real cost-10 bcrypt
    hash of one-api's 123456 and nothing else; root's first login replaces it (the test above)."""
    assert load_settings().initial_root_password == DEFAULT_ROOT_PASSWORD == "123456"
    assert DEFAULT_ROOT_PASSWORD_HASH.startswith(f"$2b${ROOT_BCRYPT_ROUNDS}$")
    assert verify_password("123456", DEFAULT_ROOT_PASSWORD_HASH)
    assert not verify_password("1234567", DEFAULT_ROOT_PASSWORD_HASH)
    assert not verify_password("", DEFAULT_ROOT_PASSWORD_HASH)

    import bcrypt

    def no_hashing(password: bytes, salt: bytes) -> bytes:
        raise AssertionError("a first boot on the default password ran bcrypt")

    clean_env.setattr(bcrypt, "hashpw", no_hashing)
    runtime = Runtime(build_services(load_settings()))
    runtime.prepare_database()
    runtime.wait_for_root()
    with Session(get_engine()) as session:
        assert session.exec(select(User.password).where(User.role == Role.ROOT)).one() == \
            DEFAULT_ROOT_PASSWORD_HASH


# Builds the database engine of an app on PostgreSQL (no connection yet), counting the collector's runs.
_ENGINE_PROBE = """
import gc, json, sys
import app

runs = []
gc.callbacks.append(lambda phase, info: phase == "start" and runs.append(info["generation"]))
app.app.state.runtime.services.database.engine
print(json.dumps({"driver": "psycopg" in sys.modules, "sqlite3": "sqlite3" in sys.modules,
                  "collections": runs, "collector_on": gc.isenabled()}))
"""


def test_a_postgresql_host_loads_its_driver_uncollected_and_never_loads_sqlite3(tmp_path: Path) -> None:
    """sqlite3 waits for a SQLite database (2 ms of every other start); the driver and SQLAlchemy's
    dialect are modules kept for the process's life, which the collector only rescanned (3.5 ms of
    a Lambda cold start's first invocation)."""
    env = gateway_env(tmp_path, {"SQL_DSN": "postgres://oneapi@127.0.0.1:9/oneapi", "LOG_LEVEL": "WARNING"})
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    done = subprocess.run([sys.executable, "-c", _ENGINE_PROBE], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"driver": True, "sqlite3": False, "collections": [], "collector_on": True}
