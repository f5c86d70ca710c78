"""Real client programs (installed from npm by ``.ci/run`` into ``tests/clients``) run by tests.

Each runs non-interactively against a base URL on 127.0.0.1 with a throwaway home
directory, so no user configuration, credential or network beyond loopback is involved.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

__all__ = ("CLIENTS", "NODE_MODULES", "installed", "needs_clients", "run_claude", "run_codex", "run_gemini",
           "run_node")

CLIENTS = Path(__file__).resolve().parents[1] / "clients"
NODE_MODULES = CLIENTS / "node_modules"
CODEX = NODE_MODULES / ".bin" / "codex"
_BIN = NODE_MODULES / ".bin"


def installed(name: str) -> bool:
    return (_BIN / name).exists()


def needs_clients(*names: str) -> pytest.MarkDecorator:
    """Skip until ``names`` (programs or packages) are installed, except in CI, which must run them."""
    missing = [name for name in names if not installed(name) and not (NODE_MODULES / name).exists()]
    reason = f"{', '.join(missing)} missing: run .ci/run or npm ci --prefix tests/clients"
    return pytest.mark.skipif(bool(missing) and not os.environ.get("CI"), reason=reason)


def _codex_config(base_url: str, model: str) -> str:
    """A custom model provider speaking the Responses API, with update checks and analytics off."""
    return (f'model = "{model}"\nmodel_provider = "gateway"\ncheck_for_update_on_startup = false\n'
            f'[analytics]\nenabled = false\n'
            f'[model_providers.gateway]\nname = "gateway"\nbase_url = "{base_url}"\n'
            f'env_key = "ONEAPI_KEY"\nwire_api = "responses"\n')


def run_codex(base_url: str, key: str, model: str, prompt: str, home: Path,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``codex exec`` with ``prompt``; commands run without sandbox or approval prompts.

    ``home`` becomes both ``HOME`` and ``CODEX_HOME``; its ``work`` folder is the agent's root.
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(_codex_config(base_url, model))
    work = home / "work"
    work.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "CODEX_HOME": str(home),
           "ONEAPI_KEY": key, "NO_COLOR": "1"}
    return subprocess.run([str(CODEX), "exec", "--strict-config", "--skip-git-repo-check",
                           "--dangerously-bypass-approvals-and-sandbox", "-C", str(work), prompt],
                          env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          check=False)


def run_node(script: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``node script`` run in ``tests/clients``, whose ``node_modules`` it imports from."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run(["node", str(script)], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=CLIENTS, check=False, stdin=subprocess.DEVNULL)


def _run_cli(command: list[str], env: dict[str, str], workdir: Path,
             timeout: float) -> subprocess.CompletedProcess[str]:
    """``command`` run in ``workdir`` with ``workdir/.home`` as its home and only ``env`` besides."""
    home = workdir / ".home"
    home.mkdir(parents=True, exist_ok=True)
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "NO_COLOR": "1", "CI": "1"}
    return subprocess.run(command, cwd=workdir, env={**base, **env}, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def run_claude(base_url: str, key: str, workdir: Path, prompt: str, *, model: str | None = None,
               allowed_tools: str = "Read", timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``claude -p``; without ``model`` Claude Code picks its own default."""
    command = [str(_BIN / "claude"), "-p", prompt, "--allowedTools", allowed_tools]
    if model:
        command += ["--model", model]
    env = {"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": key, "DISABLE_TELEMETRY": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
    return _run_cli(command, env, workdir, timeout)


def run_gemini(base_url: str, key: str, workdir: Path, prompt: str, *, model: str | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``gemini -p`` with API-key auth (the base URL alone would select Gemini CLI's "gateway" auth)."""
    settings = workdir / ".home" / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    command = [str(_BIN / "gemini"), "-p", prompt, "--approval-mode", "auto_edit"]
    if model:
        command += ["--model", model]
    env = {"GEMINI_API_KEY": key, "GOOGLE_GEMINI_BASE_URL": base_url, "GEMINI_CLI_TRUST_WORKSPACE": "true"}
    return _run_cli(command, env, workdir, timeout)
