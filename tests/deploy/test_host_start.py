"""Each host's container start, played here: the image's command with the host's environment.

No Docker engine runs in the test environment, so the image's ``CMD`` runs as a
subprocess from the source tree (the image's WORKDIR holds the same files), with the
environment the host would give it: the Dockerfile's ``ENV``, then the manifest's
variables, then what the platform injects (its ``PORT``). SQLite's ``/data`` is replaced
by a temporary directory, standing in for the volume.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.hosts import INTERPRETER_ENV, ROOT, DockerfileFacts
from tests.support.databases import temporary_database
from tests.support.gateway import GatewayProcess, run_gateway

PORT_WAIT_S = 180


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def hold_port(port: int) -> Iterator[None]:
    """Hold the host's fixed port for this test run.

    Several checkouts on one machine may run these tests at once, and each host's port is
    fixed, so runs queue on a machine-wide file lock; a port held by anything else skips.
    """
    lock_path = Path(tempfile.gettempdir()) / f"oneapi-deploy-test-port-{port}.lock"
    with lock_path.open("a+") as lock:
        deadline = time.monotonic() + PORT_WAIT_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"port {port} stayed in use by another test run")
                time.sleep(0.2)
        try:
            if not port_is_free(port):
                pytest.skip(f"port {port} is taken on this machine")
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wait_until_ours_listens(gateway: GatewayProcess, timeout: float = 60) -> None:
    """Make sure the server answering on the fixed port is this test's process.

    uvicorn binds only after the app's startup, so until then another process on the
    same port could have answered the readiness probe.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Uvicorn running on" in gateway.output():
            return
        if gateway.process.poll() is not None:
            break
        time.sleep(0.05)
    if "address already in use" in gateway.output():
        pytest.skip("another process took the host's port while the gateway was starting")
    pytest.fail("the gateway never started listening:\n" + gateway.output()[-2000:])


def image_env(dockerfile: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in DockerfileFacts(dockerfile).env.items() if k not in INTERPRETER_ENV}
    env["SQLITE_PATH"] = str(tmp_path / "data" / Path(env["SQLITE_PATH"]).name)
    return env


def hugging_face_env(tmp_path: Path) -> dict[str, str]:
    """space/Dockerfile plus the Variables and Secrets space/README.md tells users to set."""
    env = image_env(ROOT / "space" / "Dockerfile", tmp_path)
    env.update(
        {"THEME": "berry", "SESSION_SECRET": secrets.token_hex(32), "INITIAL_ROOT_PASSWORD": "space-root-pw"}
    )
    return env


def render_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """Dockerfile plus render.yaml's envVars, resolved the way Render resolves them."""
    env = image_env(ROOT / "Dockerfile", tmp_path)
    (service,) = yaml.safe_load((ROOT / "render.yaml").read_text())["services"]
    for entry in service["envVars"]:
        if "value" in entry:
            env[entry["key"]] = entry["value"]
        elif entry.get("generateValue"):
            env[entry["key"]] = secrets.token_urlsafe(32)
        elif "fromDatabase" in entry:
            env[entry["key"]] = database_url
        elif entry.get("sync") is False:
            env[entry["key"]] = "render-root-pw"
    return env


def koyeb_env(tmp_path: Path, shell: dict[str, str]) -> dict[str, str]:
    """Dockerfile plus koyeb.yaml's env after the CLI's ``${VAR}`` expansion."""
    env = image_env(ROOT / "Dockerfile", tmp_path)
    text = string.Template((ROOT / "koyeb.yaml").read_text()).safe_substitute(shell)
    (service,) = yaml.safe_load(text)["services"]
    env.update({entry["key"]: entry["value"] for entry in service["definition"]["env"]})
    return env


@pytest.fixture
def render_database(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database, as Render's ``connectionString`` spells it (postgresql://)."""
    with temporary_database("postgresql", tmp_path) as dsn:
        yield "postgresql://" + dsn.split("://", 1)[1]


@pytest.fixture
def koyeb_database(tmp_path: Path) -> Iterator[str]:
    """A fresh MySQL database in One API's Go DSN form, exported in the deployer's shell."""
    with temporary_database("mysql", tmp_path) as dsn:
        yield dsn


def start_like_the_host(
    tmp_path: Path, dockerfile: Path, env: dict[str, str], host_port: int, expected_theme: str
) -> None:
    facts = DockerfileFacts(dockerfile)
    command = facts.cmd
    assert command[0] == "python"
    with hold_port(host_port), run_gateway(tmp_path, env, command=[sys.executable, *command[1:]]) as gateway:
        assert gateway.base_url.endswith(f":{host_port}")
        wait_until_ours_listens(gateway)
        health = httpx.get(f"{gateway.base_url}/healthz", timeout=5)
        status = httpx.get(f"{gateway.base_url}/api/status", timeout=5)
        if facts.values("HEALTHCHECK"):  # the image's own check, as Docker runs it inside the container
            check = facts.healthcheck_command
            assert check[0] == "python"
            probe = subprocess.run(
                [sys.executable, *check[1:]],
                env={**os.environ, "PORT": env["PORT"]},
                capture_output=True,
                timeout=30,
            )
            assert probe.returncode == 0, probe.stderr.decode()
        assert gateway.process.poll() is None, (
            "another server answered on the port: " + gateway.output()[-2000:]
        )
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert status.status_code == 200
    body = status.json()
    assert body["success"] is True and body["data"]["theme"] == expected_theme


def assert_nothing_left_on_disk(tmp_path: Path) -> None:
    """With SQL_DSN set no SQLite file is made; the settlement journal, kept where SQLite's file would
    be, is emptied when the gateway stops."""
    data = tmp_path / "data"
    left = sorted(path.name for path in data.iterdir()) if data.exists() else []
    assert left == [], f"with SQL_DSN set the container disk keeps {left} after a clean stop"


def test_hugging_face_space_starts_on_7860(tmp_path: Path) -> None:
    env = hugging_face_env(tmp_path)
    assert env["PORT"] == "7860"
    start_like_the_host(tmp_path, ROOT / "space" / "Dockerfile", env, 7860, expected_theme="berry")


@pytest.mark.postgres
def test_render_service_starts_on_10000_with_its_postgres(tmp_path: Path, render_database: str) -> None:
    env = render_env(tmp_path, render_database)
    env["PORT"] = "10000"  # Render injects PORT=10000 whatever the image says
    start_like_the_host(tmp_path, ROOT / "Dockerfile", env, 10000, expected_theme="default")
    assert_nothing_left_on_disk(tmp_path)


@pytest.mark.mysql
def test_koyeb_service_starts_on_8000_with_sql_dsn_from_the_shell(
    tmp_path: Path, koyeb_database: str
) -> None:
    env = koyeb_env(tmp_path, {"SQL_DSN": koyeb_database, "SESSION_SECRET": "", "GITHUB_REPOSITORY": "o/r"})
    assert env["PORT"] == "8000"
    start_like_the_host(tmp_path, ROOT / "Dockerfile", env, 8000, expected_theme="default")
    assert_nothing_left_on_disk(tmp_path)


@pytest.mark.postgres
def test_lambda_web_adapter_image_starts_on_8080_inside_lambda(tmp_path: Path) -> None:
    """Dockerfile.streaming on Lambda: the adapter waits for /healthz on PORT before any event."""
    dockerfile = ROOT / "deploy" / "lambda" / "Dockerfile.streaming"
    env = {k: v for k, v in DockerfileFacts(dockerfile).env.items() if k.startswith(("PORT", "AWS_LWA_"))}
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/healthz"
    with temporary_database("postgresql", tmp_path) as dsn:
        env.update(
            {"SQL_DSN": dsn, "AWS_LAMBDA_FUNCTION_NAME": "one-api", "INITIAL_ROOT_PASSWORD": "lambda-root-pw"}
        )
        start_like_the_host(tmp_path, dockerfile, env, 8080, expected_theme="default")
