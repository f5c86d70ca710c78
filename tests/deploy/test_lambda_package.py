"""The Lambda zip (``deploy/lambda/package.py``) stays under 100 MB unzipped and serves on its own.

The package is built from this environment's installed dependencies, unpacked, and its
handler invoked by an interpreter that sees nothing else: no site-packages (``-S``), the
package first on the path. Only ``tests.deploy.lambda_events`` comes from the checkout, after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.databases import temporary_database
from tests.support.gateway import ROOT

sys.path.insert(0, str(ROOT / "deploy" / "lambda"))
import package

_PROBE = """
import json, sys, time

started = time.perf_counter()
import app

imported = time.perf_counter()
from tests.deploy.lambda_events import http_api_event

answers = {}
calls = [("GET", "/healthz", None), ("GET", "/api/status", None), ("GET", "/login", None),
         ("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": []})]
for method, path, body in calls:
    event = http_api_event(method, path, json_body=body, headers={"authorization": "Bearer sk-nope"})
    answer = app.handler(event, None)
    answers[path] = answer["statusCode"]
    if path == "/healthz":
        first = time.perf_counter()
print(json.dumps({"answers": answers, "import_s": imported - started, "first_s": first - imported,
                  "oneapi_from": sys.modules["oneapi"].__file__,
                  "loaded": sorted(m for m in ("uvicorn", "uvloop") if m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("lambda") / "one-api-lambda.zip"
    return out, package.build(out)


@pytest.fixture(scope="module")
def unpacked(built: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip unpacked, as Lambda lays it out in ``/var/task``."""
    task_root = tmp_path_factory.mktemp("task")
    zipfile.ZipFile(built[0]).extractall(task_root)
    return task_root


def test_the_package_fits_with_room_to_spare(built: tuple[Path, int]) -> None:
    archive, size = built
    assert size <= package.LIMIT_BYTES, f"{size / 1e6:.1f} MB unzipped"
    names = zipfile.ZipFile(archive).namelist()
    assert "app.py" in names and "oneapi/web/templates/pages/login.html" in names
    assert any(name.startswith("oneapi/db/migrations/versions/") for name in names)
    assert not [name for name in names if name.split("/")[0] in {"uvicorn", "uvloop"}]
    # bytecode for every module, so a cold start on the read-only /var/task compiles nothing
    sources = {name for name in names if name.endswith(".py")}
    assert "oneapi/__pycache__/server.cpython-311.pyc" in names
    assert len([name for name in names if name.endswith(".pyc")]) >= len(sources) * 0.95


def test_the_unpacked_package_serves_alone(unpacked: Path, tmp_path: Path) -> None:
    with temporary_database("postgresql", tmp_path) as dsn:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{unpacked}:{ROOT}", "SQL_DSN": dsn,
               "AWS_LAMBDA_FUNCTION_NAME": "one-api", "INITIAL_ROOT_PASSWORD": "package-pw",
               "LOG_LEVEL": "WARNING"}
        done = subprocess.run([sys.executable, "-S", "-c", _PROBE], cwd=unpacked, env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["oneapi_from"].startswith(str(unpacked))
    assert report["answers"] == {"/healthz": 200, "/api/status": 200, "/login": 200,
                                 "/v1/chat/completions": 401}
    assert report["loaded"] == []
    print(f"from the package: import app {report['import_s']:.2f} s, "
          f"first invocation {report['first_s']:.2f} s")


_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import oneapi
failed = {}
modules = [module.name for module in pkgutil.walk_packages(oneapi.__path__, "oneapi.")
           if not module.name.startswith("oneapi.db.migrations.")]  # Alembic runs those itself
for name in modules:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = exc.name
print(json.dumps({"modules": len(modules), "failed": failed}))
"""


def test_every_gateway_module_imports_from_the_package(unpacked: Path) -> None:
    """What the zip leaves out is never imported: every ``oneapi`` module loads from the unpacked
    zip alone, but for those a Lambda never runs (the uvicorn server)."""
    done = subprocess.run([sys.executable, "-S", "-c", _IMPORT_ALL], cwd=unpacked, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unpacked)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] > 100
    assert {name: missing for name, missing in report["failed"].items()
            if (missing or "").split(".")[0] not in package.SERVER_ONLY} == {}

