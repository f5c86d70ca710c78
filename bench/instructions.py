"""Cold-start costs in instructions (callgrind): exact where this machine's clock is not.

    python bench/instructions.py [--before <another checkout>] [--interpreter /usr/bin/python3.11]

``bench/boot.py`` times boots, and on the shared 2-core VM the same boot's CPU time swings by
20-40 % from one minute to the next. The number of instructions a boot executes does not: run
under valgrind's callgrind with ``PYTHONHASHSEED=0``, ``import app`` repeats to within 1e-7.
So a change to the boot path is judged here, and its seconds are taken from ``bench/boot.py``.
Valgrind runs each program 30-50 times slower; a run of both checkouts takes about 3 minutes.

Per checkout, on a virtualenv holding only its ``requirements.lock`` (as ``bench/boot.py``),
made from ``--interpreter`` (by default the one running this script; see ``bench/boot.py`` on
why an optimised build, as the Docker images have, stands for a deployment):

* ``import app``, in a fresh interpreter;
* a first boot of ``python app.py`` on a new SQLite file (schema, root account) to ``/healthz``;
* a restart of ``python app.py`` on a seeded SQLite file: start to the first ``/healthz`` 200,
  then the first relayed chat (to ``mock_upstream.py``) with its batched write (log row, quota;
  every ``BATCH_UPDATE_INTERVAL``, 2 s), then the first ``GET /api/status``
  (the management API's first call), each counted by ``callgrind_control --dump`` between them;
* Lambda: ``import app`` plus the handler's first invocation (``GET /healthz``) against a
  PostgreSQL database (``TEST_PG_DSN``) that a first, uncounted run migrated.

Instructions convert to time only roughly: on the machine of 2026-12-07, 4.5-5.5 M per ms.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from boot import (  # noqa: E402
    _LAMBDA_PROBE,
    ROOT,
    WRITER_SETTLES_S,
    _clean_env,
    _seed,
    gateway_env,
    interpreter_label,
    lambda_database,
    runtime_python,
)
from run import CHAT, free_port, pinned  # noqa: E402

CALLGRIND = ["valgrind", "--tool=callgrind", "--dump-instr=no"]


def _summary(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"no summary in {dump}")


def _counted(command: list[str], cwd: Path, env: dict[str, str], out: Path) -> int:
    """Instructions of one run of ``command`` to its end."""
    subprocess.run([*CALLGRIND, f"--callgrind-out-file={out}", *command], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _summary(out)


class _Server:
    """``python app.py`` under callgrind; :meth:`dump` counts the instructions since the last dump."""

    def __init__(self, python: str, checkout: Path, env: dict[str, str], out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen([*CALLGRIND, f"--callgrind-out-file={out}", python, "app.py"],
                                        cwd=checkout, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    def dump(self) -> int:
        before = set(self.out.parent.glob(f"{self.out.name}*"))
        control = ["callgrind_control", "--dump", str(self.process.pid)]
        subprocess.run(control, check=True, capture_output=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for new in set(self.out.parent.glob(f"{self.out.name}*")) - before:
                try:
                    return _summary(new)
                except ValueError:  # still being written
                    pass
            time.sleep(0.2)
        raise TimeoutError("callgrind wrote no dump")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def _started(python: str, checkout: Path, database: Path, work: Path) -> tuple[_Server, str]:
    """``python app.py`` on ``database``, once ``/healthz`` has answered 200; and its base URL."""
    port = free_port()
    env = {**gateway_env(port, database), "PYTHONHASHSEED": "0"}
    server = _Server(python, checkout, env, work / f"server-{secrets.token_hex(3)}.out")
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=300) as client:
        while server.process.poll() is None:
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    return server, base
            except httpx.TransportError:
                time.sleep(0.05)
    raise RuntimeError(f"the server exited with {server.process.returncode}")


def first_boot(python: str, checkout: Path, work: Path) -> int:
    server, _ = _started(python, checkout, work / f"new-{secrets.token_hex(3)}.db", work)
    try:
        return server.dump()
    finally:
        server.stop()


def restart(python: str, checkout: Path, upstream: int, work: Path) -> dict[str, int]:
    database = work / f"restart-{secrets.token_hex(3)}.db"
    key = _seed(checkout, database, upstream)
    server, base = _started(python, checkout, database, work)
    counts = {}
    try:
        with httpx.Client(timeout=300) as client:
            counts["restart to /healthz 200"] = server.dump()
            answer = client.post(f"{base}/v1/chat/completions", json=CHAT,
                                 headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200, answer.text
            time.sleep(WRITER_SETTLES_S * 4)  # the batched write of the chat's log row and quota
            counts["first relayed chat and its batched write"] = server.dump()
            assert client.get(f"{base}/api/status").status_code == 200
            counts["first GET /api/status"] = server.dump()
    finally:
        server.stop()
    return counts


def lambda_start(python: str, checkout: Path, pg_dsn: str, work: Path) -> int:
    with lambda_database(pg_dsn, checkout) as env:
        env["PYTHONHASHSEED"] = "0"
        subprocess.run([python, "-c", _LAMBDA_PROBE], cwd=checkout, env=env, check=True, capture_output=True)
        return _counted([python, "-c", _LAMBDA_PROBE], checkout, env, work / "lambda.out")


def measure(checkout: Path, upstream: int, work: Path, interpreter: str) -> dict[str, int]:
    python = runtime_python(checkout, work, interpreter)
    subprocess.run([python, "-m", "compileall", "-q", "app.py", "oneapi"], cwd=checkout, check=True)
    env = {**_clean_env(), "PYTHONHASHSEED": "0", "SQL_DSN": "", "SQLITE_PATH": str(work / "import.db")}
    counts = {"import app": _counted([python, "-c", "import app"], checkout, env, work / "import.out"),
              "first boot on a new SQLite file to /healthz 200": first_boot(python, checkout, work)}
    counts.update(restart(python, checkout, upstream, work))
    if pg_dsn := os.environ.get("TEST_PG_DSN"):
        counts["Lambda: import app + first invocation"] = lambda_start(python, checkout, pg_dsn, work)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout of the gateway, measured alongside")
    parser.add_argument("--interpreter", default=sys.executable, help="the CPython to run the gateway on")
    args = parser.parse_args()
    checkouts = [*([args.before.resolve()] if args.before else []), ROOT]
    upstream = free_port()
    with (tempfile.TemporaryDirectory(prefix="oneapi-instructions-") as tmp,
          pinned("1", [sys.executable, str(BENCH / "mock_upstream.py"), str(upstream)], upstream)):
        columns = {f"{checkout} ({interpreter_label(args.interpreter)})":
                   measure(checkout, upstream, Path(tmp), args.interpreter) for checkout in checkouts}
    rows = dict.fromkeys(row for counts in columns.values() for row in counts)
    print("| M instructions | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for row in rows:
        cells = [f"{counts[row] / 1e6:,.0f}" if row in counts else "-" for counts in columns.values()]
        print(f"| {row} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
