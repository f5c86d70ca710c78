"""What the deploy tests compare manifests against: the variables the app reads, the
README's commands, Dockerfile facts and ``.dockerignore`` matching.

Everything here is derived from the code and files themselves, so a new setting or a
renamed variable changes what the tests accept without editing them.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import json
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dockerfile_parse import DockerfileParser

from oneapi.config import Settings
from tests.support.gateway import ROOT

__all__ = (
    "ROOT",
    "DockerfileFacts",
    "dockerignore_excludes",
    "env_names_read_by_the_app",
    "readme_commands",
    "readme_section",
    "start_command",
)

# Read by Python and pip inside images, not by the app.
INTERPRETER_ENV = frozenset(
    {
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PIP_NO_CACHE_DIR",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "HOME",
        "PATH",
    }
)


@cache
def env_names_read_by_the_app() -> frozenset[str]:
    """``Settings`` fields plus every literal name the package reads from ``os.environ``."""
    names = {name.upper() for name in Settings.model_fields}
    for path in (ROOT / "oneapi").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names.update(_environ_reads(node))
    return frozenset(names)


def _environ_reads(node: ast.AST) -> set[str]:
    """``os.environ.get("X")``, ``os.getenv("X")`` and ``os.environ["X"]``."""

    def is_environ(expr: ast.AST) -> bool:
        return isinstance(expr, ast.Attribute) and expr.attr == "environ"

    key: ast.AST | None = None
    if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
        func = node.func
        if (func.attr == "get" and is_environ(func.value)) or func.attr == "getenv":
            key = node.args[0]
    elif isinstance(node, ast.Subscript) and is_environ(node.value):
        key = node.slice
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return {key.value}
    return set()


def readme_section(title: str, path: Path = ROOT / "README.md") -> str:
    """The body of the ``## title`` section."""
    text = path.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def readme_commands(path: Path = ROOT / "README.md") -> list[str]:
    """The commands of the README's ```bash blocks, in order."""
    return re.findall(r"```bash\n(.*?)\n```", path.read_text(), re.DOTALL)


def start_command() -> list[str]:
    """The README's run command (``pip install . && python app.py`` → ``python app.py``)."""
    install, _, run = readme_commands()[0].partition("&&")
    assert install.strip() == "pip install .", "the README's first command must install the package"
    return shlex.split(run)


@dataclass
class DockerfileFacts:
    """The instructions of a Dockerfile that the hosts depend on."""

    path: Path

    def __post_init__(self) -> None:
        self.parser = DockerfileParser(fileobj=io.BytesIO(self.path.read_bytes()))
        self.structure = self.parser.structure

    def values(self, instruction: str) -> list[str]:
        return [item["value"] for item in self.structure if item["instruction"] == instruction]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.parser.envs)

    @property
    def cmd(self) -> list[str]:
        (cmd,) = self.values("CMD")
        return json.loads(cmd)

    @property
    def users(self) -> list[str]:
        return self.values("USER")

    @property
    def healthcheck(self) -> str:
        (check,) = self.values("HEALTHCHECK")
        return check

    @property
    def healthcheck_command(self) -> list[str]:
        """The exec-form command of ``HEALTHCHECK ... CMD [...]``."""
        _options, _, command = self.healthcheck.partition("CMD")
        return json.loads(command)

    @property
    def copies(self) -> list[tuple[list[str], list[str]]]:
        """Each COPY as (flags, sources); the destination is dropped."""
        result = []
        for value in self.values("COPY"):
            words = shlex.split(value)
            flags = [word for word in words if word.startswith("--")]
            paths = [word for word in words if not word.startswith("--")]
            result.append((flags, paths[:-1]))
        return result

    def uid_of(self, user: str) -> int | None:
        """The ``--uid`` given to ``useradd`` for ``user`` in a RUN instruction."""
        for run in self.values("RUN"):
            match = re.search(rf"useradd\b[^&;]*?(?:--uid|-u)\s+(\d+)[^&;]*?\s{re.escape(user)}\b", run)
            if match:
                return int(match.group(1))
        return None


def dockerignore_excludes(path: str, root: Path = ROOT) -> bool:
    """Whether ``.dockerignore`` keeps ``path`` (relative) out of the build context.

    Docker's rules: patterns apply in order, the last match wins, ``!`` re-includes, and a
    pattern that matches a directory covers everything below it.
    """
    excluded = False
    parts = Path(path).parts
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        patterns = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(candidate, p) for candidate in candidates for p in patterns):
            excluded = not negate
    return excluded
