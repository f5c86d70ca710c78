"""requirements.lock matches pyproject.toml, carries hashes, and every image installs from it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.hosts import DockerfileFacts
from tests.support.gateway import ROOT, gateway_env

LOCK = ROOT / "requirements.lock"
DEPENDENCIES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
# The images: python:3.11 on Linux
IMAGE_ENV = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.9",
             "sys_platform": "linux", "platform_system": "Linux", "implementation_name": "cpython",
             "platform_python_implementation": "CPython"}


def _pins() -> dict[str, list[tuple[str, str, int]]]:
    """name -> [(version, marker, number of hashes)] for every requirement line of the lock."""
    pins: dict[str, list[tuple[str, str, int]]] = {}
    entries = re.split(r"\n(?=\S)", LOCK.read_text())
    for entry in entries:
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\\n]+))?", entry)
        if match:
            name, version, marker = match.groups()
            pins.setdefault(canonicalize_name(name), []).append(
                (version, (marker or "").strip(), len(re.findall(r"--hash=sha256:[0-9a-f]{64}", entry))))
    return pins


def test_lock_was_made_from_these_dependencies() -> None:
    digest = hashlib.sha256("\n".join(sorted(DEPENDENCIES)).encode()).hexdigest()
    header = re.search(r"^# pyproject-dependencies-sha256: ([0-9a-f]{64})$", LOCK.read_text(), re.MULTILINE)
    assert header is not None, "requirements.lock has no digest line: make it with deploy/lock.sh"
    assert header[1] == digest, "pyproject.toml's dependencies changed: run deploy/lock.sh"


@pytest.mark.parametrize("text", DEPENDENCIES)
def test_every_dependency_is_pinned_within_its_range(text: str) -> None:
    requirement = Requirement(text)
    if requirement.marker is not None and not requirement.marker.evaluate(IMAGE_ENV):
        return
    pins = _pins().get(canonicalize_name(requirement.name))
    assert pins, f"{requirement.name} is not in requirements.lock"
    usable = [version for version, marker, _ in pins if not marker or Requirement(f"x; {marker}").marker
              .evaluate(IMAGE_ENV)]  # type: ignore[union-attr]
    assert usable and all(requirement.specifier.contains(version, prereleases=True) for version in usable)


def test_every_pin_has_hashes() -> None:
    pins = _pins()
    assert len(pins) > 20
    for name, entries in pins.items():
        for version, _marker, hashes in entries:
            assert hashes >= 1, f"{name}=={version} has no hash"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "space/Dockerfile", "deploy/lambda/Dockerfile",
                                        "deploy/lambda/Dockerfile.streaming"])
def test_every_image_installs_the_locked_dependencies(dockerfile: str) -> None:
    facts = DockerfileFacts(ROOT / dockerfile)
    runs = facts.values("RUN")
    locked = [run for run in runs if "-r" in run.split() and "requirements.lock" in run]
    assert locked and all("--require-hashes" in run and "--no-deps" in run for run in locked)
    project = [run for run in runs if re.search(r"pip install .*(\.|\"\$\{LAMBDA_TASK_ROOT\}\")( |$)", run)
               and "requirements.lock" not in run]
    assert project and all("--no-deps" in run for run in project), "the project must not re-resolve its deps"
    copied = {source for _flags, sources in facts.copies for source in sources}
    assert "requirements.lock" in copied


_WITHOUT = """
import sys

blocked = set(sys.argv[1].split(","))


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is left out of requirements.lock")


sys.meta_path.insert(0, Blocker())
import app
from litestar.testing import TestClient

with TestClient(app.app) as client:
    for path in ("/healthz", "/api/status", "/schema/openapi.json", "/schema/swagger", "/", "/login"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    assert client.post("/v1/chat/completions", json={}).status_code == 401
print("ok")
"""


def test_the_app_runs_without_what_the_lock_leaves_out(tmp_path: Path) -> None:
    """The images install with --no-deps, so a left-out package must never be imported."""
    header = re.search(r"^# Left out \(never imported by the gateway\): (.+)$", LOCK.read_text(),
                       re.MULTILINE)
    assert header is not None
    left_out = {canonicalize_name(name) for name in header[1].split()}
    modules = {module for module, dists in packages_distributions().items()
               if any(canonicalize_name(dist) in left_out for dist in dists)}
    assert {"faker", "rich"} <= modules
    done = subprocess.run([sys.executable, "-c", _WITHOUT, ",".join(sorted(modules))], cwd=ROOT,
                          env=gateway_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
