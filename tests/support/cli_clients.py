"""The real command-line clients, run non-interactively against a base URL.

``.ci/run`` installs the pinned releases (``tests/clients/package.json``) into
``tests/clients/node_modules``; each run gets its own throwaway home directory, so no
user settings, credentials or update checks leak in, and only the environment the tool
needs to reach the given base URL.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ("CLIENTS_DIR", "ClientRun", "installed", "run_claude", "run_gemini")

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
_BIN = CLIENTS_DIR / "node_modules" / ".bin"


@dataclass
class ClientRun:
    returncode: int
    stdout: str
    stderr: str


def installed(name: str) -> bool:
    return (_BIN / name).exists()


def _run(command: list[str], env: dict[str, str], workdir: Path, timeout: float) -> ClientRun:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir / ".home"),
            "LANG": "C.UTF-8", "NO_COLOR": "1", "CI": "1"}
    (workdir / ".home").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, cwd=workdir, env={**base, **env}, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    return ClientRun(done.returncode, done.stdout, done.stderr)


def run_claude(base_url: str, key: str, workdir: Path, prompt: str, *, model: str | None = None,
               allowed_tools: str = "Read", timeout: float = 180) -> ClientRun:
    """``claude -p``; without ``model`` Claude Code picks its own default."""
    command = [str(_BIN / "claude"), "-p", prompt, "--allowedTools", allowed_tools]
    if model:
        command += ["--model", model]
    env = {"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": key, "DISABLE_TELEMETRY": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
    return _run(command, env, workdir, timeout)


def run_gemini(base_url: str, key: str, workdir: Path, prompt: str, *, model: str | None = None,
               timeout: float = 180) -> ClientRun:
    """``gemini -p`` with API-key auth (the base URL alone would select Gemini CLI's "gateway" auth)."""
    settings = workdir / ".home" / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    command = [str(_BIN / "gemini"), "-p", prompt, "--approval-mode", "auto_edit"]
    if model:
        command += ["--model", model]
    env = {"GEMINI_API_KEY": key, "GOOGLE_GEMINI_BASE_URL": base_url, "GEMINI_CLI_TRUST_WORKSPACE": "true"}
    return _run(command, env, workdir, timeout)
