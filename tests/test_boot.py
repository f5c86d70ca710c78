"""Booting the way users do: ``python app.py`` and the ``oneapi`` command."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.gateway import ROOT, gateway_env, run_gateway


def _run(tmp_path: Path, env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=gateway_env(tmp_path, env),
                          capture_output=True, text=True, timeout=timeout)


def test_app_answers_status_and_healthz(tmp_path: Path) -> None:
    with run_gateway(tmp_path) as gateway:
        health = httpx.get(f"{gateway.base_url}/healthz")
        status = httpx.get(f"{gateway.base_url}/api/status").json()
    assert health.json() == {"status": "ok"}
    assert health.headers["x-oneapi-request-id"]
    assert status["success"] is True
    assert {"version", "start_time", "system_name", "quota_per_unit", "display_in_currency"} <= set(status["data"])
    assert "DEFAULT password" in gateway.output()


def test_root_exists_once_after_two_boots(tmp_path: Path) -> None:
    for _ in range(2):
        with run_gateway(tmp_path):
            pass
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'one-api.db'}")
    with engine.connect() as connection:
        users = connection.execute(sa.text("SELECT username, role FROM users")).all()
        secrets = connection.execute(sa.text("SELECT value FROM options WHERE key = 'SessionSecret'")).all()
    engine.dispose()
    assert users == [("root", 100)]
    assert len(secrets) == 1


@pytest.mark.parametrize(
    "dsn",
    ["postgres://oneapi:hunter2secret@127.0.0.1:1/oneapi", "oneapi:hunter2secret@tcp(127.0.0.1:1)/oneapi"],
    ids=["postgresql", "mysql"],
)
def test_unreachable_database_exits_fast_naming_host_not_password(tmp_path: Path, dsn: str) -> None:
    started = time.monotonic()
    result = _run(tmp_path, {"SQL_DSN": dsn}, "app.py", timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "127.0.0.1:1" in output
    assert "hunter2secret" not in output


def test_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = _run(tmp_path, {"PORT": "abc"}, "app.py")
    assert result.returncode != 0
    assert "PORT='abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_migrate_and_reset_root_password(tmp_path: Path) -> None:
    migrated = _run(tmp_path, {}, "-m", "oneapi", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "revision" in migrated.stdout
    with run_gateway(tmp_path):  # first boot creates root
        pass
    reset = _run(tmp_path, {}, "-m", "oneapi", "reset-root-password", "--password", "n3w-passw0rd")
    assert reset.returncode == 0, reset.stderr
    import bcrypt

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'one-api.db'}")
    with engine.connect() as connection:
        stored, version, access_token = connection.execute(sa.text(
            "SELECT password, session_version, access_token FROM users WHERE username = 'root'")).one()
    engine.dispose()
    assert bcrypt.checkpw(b"n3w-passw0rd", stored.encode())
    assert version == 1 and access_token is None  # root's sessions and access token ended
    assert "revoked" in reset.stdout
