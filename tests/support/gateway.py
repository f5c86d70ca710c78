"""Run the gateway the way users do (``python app.py``) as a subprocess on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ("GatewayProcess", "free_port", "run_gateway", "wait_healthy")

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode} before answering")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"gateway at {base_url} did not answer /healthz within {timeout}s")


def gateway_env(tmp_path: Path, extra: Mapping[str, str] | None = None, *, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SQL_", "SQLITE_", "REDIS_", "THEME", "JOURNAL_"))}
    env.update({"PORT": str(port or free_port()), "SQLITE_PATH": str(tmp_path / "one-api.db"),
                "BATCH_UPDATE_INTERVAL": "0.2", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


@contextmanager
def run_gateway(tmp_path: Path, env: Mapping[str, str] | None = None, *,
                command: list[str] | None = None) -> Iterator[GatewayProcess]:
    """Start ``python app.py`` (or ``command``) and stop it with SIGTERM afterwards."""
    full_env = gateway_env(tmp_path, env)
    log_path = tmp_path / f"gateway-{full_env['PORT']}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command or [sys.executable, "app.py"], cwd=ROOT, env=full_env,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    gateway = GatewayProcess(process, f"http://127.0.0.1:{full_env['PORT']}", log_path)
    try:
        wait_healthy(gateway.base_url, process)
        yield gateway
    except BaseException:
        sys.stderr.write(gateway.output()[-4000:])
        raise
    finally:
        gateway.stop()
