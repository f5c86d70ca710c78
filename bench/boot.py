"""Cold-start figures for free container hosts and Lambda, side by side with other checkouts and LiteLLM.

    python bench/boot.py [--runs 5] [--before /work/main] [--quotas 0.1,0.25,0.5] [--requests 2000]
                         [--fresh-venv] [--interpreter /usr/bin/python3.11 ...]

Per target (this checkout; ``--before``: another checkout of the gateway, e.g. main before a
change; LiteLLM when ``bench/setup_litellm.sh`` has installed it), every server pinned to
core 0 and this script on core 1. Each checkout's modules are compiled to bytecode first, as
``pip install`` does: run from a checkout with ``PYTHONDONTWRITEBYTECODE`` set, every boot
compiled the gateway's 50-odd modules anew (0.15 s of CPU that no installed copy pays). Each
checkout's servers run on a virtualenv that holds only its ``requirements.lock``, as the
Docker image does, not on the interpreter this script runs on: that one holds the test
extra's resolution (on 2026-12-07 pydantic 2.13 where the lock has 2.14) and may carry ``.pth``
files that every start executes (there, a sandbox's: 141 M instructions for ``python -c pass``
against 39 M in a virtualenv). LiteLLM runs on its own virtualenv already.

``--interpreter`` (repeatable) names the interpreters those virtualenvs are made from, each
checkout measured on each; by default the one this script runs on. What CPython was built
with matters as much as most changes here: the Docker images' ``python:3.11-slim`` is built
with profile-guided and link-time optimisation, as Debian's ``/usr/bin/python3.11`` is (it
needs ``python3.11-venv`` for ``-m venv``), while a plain ``pyenv install`` is not, and on
2026-12-07 ``import app`` ran 1,998 M instructions on pyenv's 3.11.7 against 1,607 M on
Debian's 3.11.2 (``bench/instructions.py --interpreter``). So the figures that stand for a
deployed image come from an optimised build; the table names the interpreter of each column.
Times are medians of ``--runs`` with the server's CPU time (user + system, from ``/proc``)
beside them: on a machine other work shares, the CPU time is the steadier figure.

* boot to the first 200 on ``/healthz`` with a new SQLite file (migrations, root account) and
  on a restart (schema at head, a channel and a token seeded), medians of ``--runs`` taken
  with the targets taking turns, and the
  idle RSS one second later; on restarts also how long the first relayed chat then takes,
  and the server's CPU time for the first management call after it (``GET /api/status``,
  which builds the management API), asked once the chat's batched write is done;
* the RSS after ``--requests`` relayed chats (to ``mock_upstream.py``);
* the first visitor of a sleeping instance at each CPU share in ``--quotas``: the process
  starts inside a cgroup capped by ``cpu.max`` (cgroup v2) or ``cpu.cfs_quota_us`` (v1) and
  the visitor's request waits from the start for its answer (``/healthz`` on a new file, a
  relayed chat on a restart); the table says which cgroup file was written, or that none
  could be (then nothing is emulated);
* Lambda: ``import app`` plus the first invocation (``GET /healthz`` through the handler) in
  a fresh interpreter, against a migrated PostgreSQL (``TEST_PG_DSN``), wall and CPU; run
  from the zip ``deploy/lambda/package.py`` builds when the checkout has it (the interpreter
  then sees only the package: ``-S``), with the package's unzipped size;
* installed size: the checkout's runtime dependencies (``pyproject.toml``, followed through
  every installed distribution's requirements, less what ``requirements.lock`` leaves out)
  as installed here, summed from their RECORDs (bytecode included); with ``--fresh-venv``
  also ``pip install`` of ``requirements.lock`` and the checkout into a new virtualenv,
  measured on disk (bytecode included; pip and setuptools themselves not counted).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx
from packaging.requirements import Requirement

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from run import CHAT, cpu_seconds, free_port, pinned, rss_mb  # noqa: E402

SERVER_CPU, CLIENT_CPU = "0", "1"
# The gateway writes log rows and quota in batches every BATCH_UPDATE_INTERVAL (2 s): the first
# batch after a chat (10 M instructions, about 2 ms) belongs to the chats, not to whichever
# measurement it would otherwise overlap
WRITER_SETTLES_S = 2.5
LITELLM_BIN = BENCH / ".venv-litellm" / "bin" / "litellm"


@dataclass
class Target:
    name: str
    start: Callable[[Path, bool, list[str]], subprocess.Popen[bytes]]  # (work dir, seeded?, command prefix)
    health: str
    key: str = ""
    checkout: Path | None = None
    python: str = sys.executable  # a gateway's: its runtime virtualenv's interpreter
    rows: dict[str, str] = field(default_factory=dict)


# -- starting servers ---------------------------------------------------------------------------------


def _seed(checkout: Path, sqlite: Path, upstream: int) -> str:
    """Migrate ``sqlite`` with ``checkout``'s code, add a channel to the mock and a token; return its key."""
    script = (
        "import sys; from tests.support.seed import Seed; from oneapi.db.models import Role; "
        "s = Seed(sys.argv[1]); s.user('root', role=Role.ROOT); "
        "s.channel(f'http://127.0.0.1:{sys.argv[2]}', ['gpt-4o-mini']); "
        "print(s.token(s.user(quota=10**15), unlimited=True))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(sqlite), str(upstream)],
        cwd=checkout,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def runtime_python(checkout: Path, work: Path, interpreter: str = sys.executable) -> str:
    """The interpreter of a new virtualenv, made from ``interpreter``, holding the checkout's
    ``requirements.lock`` and nothing else."""
    venv = work / f"runtime-{secrets.token_hex(3)}"
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes", "-r",
                    str(checkout / "requirements.lock")], check=True)
    return python


def interpreter_label(interpreter: str) -> str:
    """``interpreter``'s path and version, as a column's name shows it."""
    version = subprocess.run([interpreter, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    return f"{interpreter}, {version}"


def gateway_target(name: str, checkout: Path, upstream: int, work: Path, interpreter: str) -> Target:
    compileall.compile_file(checkout / "app.py", quiet=1)
    compileall.compile_dir(checkout / "oneapi", quiet=1)
    seeded_db = work / f"seeded-{secrets.token_hex(3)}.db"
    key = _seed(checkout, seeded_db, upstream)
    python = runtime_python(checkout, work, interpreter)

    def start(run_dir: Path, seeded: bool, prefix: list[str]) -> subprocess.Popen[bytes]:
        database = run_dir / "one-api.db"
        if seeded:
            shutil.copy(seeded_db, database)
        port = free_port()
        env = {**gateway_env(port, database), "PYTHONUNBUFFERED": "1"}
        return _spawn([*prefix, python, "app.py"], checkout, env, port, run_dir)

    return Target(name, start, "/healthz", key=key, checkout=checkout, python=python)


def litellm_target(upstream: int, work: Path) -> Target:
    config = work / "litellm.yaml"
    config.write_text(
        json.dumps(
            {  # JSON is YAML; the same configuration as bench/run.py's
                "model_list": [
                    {
                        "model_name": "gpt-4o-mini",
                        "litellm_params": {
                            "model": "openai/gpt-4o-mini",
                            "api_base": f"http://127.0.0.1:{upstream}/v1",
                            "api_key": "sk-mock",
                        },
                    }
                ],
                "general_settings": {"master_key": "sk-bench"},
                "litellm_settings": {"telemetry": False, "drop_params": True},
            }
        )
    )
    version = subprocess.run(
        [
            str(LITELLM_BIN.with_name("python")),
            "-c",
            "from importlib.metadata import version; print(version('litellm'))",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()

    def start(run_dir: Path, seeded: bool, prefix: list[str]) -> subprocess.Popen[bytes]:
        port = free_port()
        env = {
            **_clean_env(),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "NO_DOCS": "True",
            "DISABLE_ADMIN_UI": "True",
        }
        command = [
            *prefix,
            str(LITELLM_BIN),
            "--config",
            str(config),
            "--port",
            str(port),
            "--num_workers",
            "1",
        ]
        return _spawn(command, BENCH, env, port, run_dir)

    return Target(f"LiteLLM {version}", start, "/health/liveliness", key="sk-bench")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "SQLITE_", "REDIS_", "AWS_"))}


def gateway_env(port: int, database: Path) -> dict[str, str]:
    """``python app.py``'s environment: on ``port``, with the SQLite file ``database``."""
    return {**_clean_env(), "PORT": str(port), "SQLITE_PATH": str(database), "SQL_DSN": "",
            "LOG_LEVEL": "WARNING"}


@contextmanager
def lambda_database(pg_dsn: str, code_path: Path) -> Iterator[dict[str, str]]:
    """A new database on ``pg_dsn``'s PostgreSQL server, dropped afterwards; yields the Lambda
    probe's environment for the code at ``code_path``."""
    from sqlalchemy import create_engine, text

    sys.path.insert(0, str(ROOT))
    from oneapi.db.dsn import parse_dsn

    name = f"oneapi_bench_{secrets.token_hex(4)}"
    admin = create_engine(parse_dsn(pg_dsn).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield {
            **_clean_env(),
            "SQL_DSN": f"{pg_dsn.partition('?')[0].rsplit('/', 1)[0]}/{name}",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{code_path}:{ROOT}",  # tests.deploy.lambda_events from this checkout
        }
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _spawn(
    command: list[str], cwd: Path, env: dict[str, str], port: int, run_dir: Path
) -> subprocess.Popen[bytes]:
    log = (run_dir / "server.log").open("ab")
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.port = port  # type: ignore[attr-defined]
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 15)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


# -- one boot -----------------------------------------------------------------------------------------


@dataclass
class Boot:
    seconds: float  # start -> first answer of the visitor's request
    cpu_s: float = 0.0  # the server's CPU time until then: steadier than wall time on a shared machine
    rss_mb: float = 0.0
    chat_ms: float = 0.0  # the first relayed chat, asked once /healthz has answered
    console_cpu_s: float = 0.0  # the server's CPU time for the first GET /api/status after that


def _first_answer(
    process: subprocess.Popen[bytes],
    request: Callable[[httpx.Client], httpx.Response],
    started: float,
    timeout: float = 180,
) -> float:
    """Seconds from ``started`` until ``request`` answers 200, retrying while nothing listens."""
    with httpx.Client(timeout=timeout) as client:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see its server.log")
            try:
                answer = request(client)
            except httpx.TransportError:
                time.sleep(0.005)
                continue
            if answer.status_code != 200:
                raise RuntimeError(f"first answer {answer.status_code}: {answer.text[:200]}")
            return time.perf_counter() - started
    raise TimeoutError("no answer")


def boot(
    target: Target,
    seeded: bool,
    *,
    visitor_chats: bool = False,
    prefix: list[str] | None = None,
    load: int = 0,
) -> Boot:
    with tempfile.TemporaryDirectory(prefix="oneapi-boot-") as tmp:
        started = time.perf_counter()
        process = target.start(Path(tmp), seeded, ["taskset", "-c", SERVER_CPU, *(prefix or [])])
        base = f"http://127.0.0.1:{process.port}"  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {target.key}"}

        def chat(client: httpx.Client) -> httpx.Response:
            return client.post(f"{base}/v1/chat/completions", json=CHAT, headers=headers)

        try:
            if visitor_chats:
                return Boot(_first_answer(process, chat, started), cpu_seconds(process.pid))
            result = Boot(_first_answer(process, lambda client: client.get(base + target.health), started))
            result.cpu_s = cpu_seconds(process.pid)
            if seeded:
                chat_started = time.perf_counter()
                _first_answer(process, chat, chat_started)
                result.chat_ms = (time.perf_counter() - chat_started) * 1000
            if load:
                with httpx.Client(timeout=30) as client:
                    for _ in range(load):
                        assert chat(client).status_code == 200
            time.sleep(1.0)
            result.rss_mb = rss_mb(process.pid)
            if seeded and target.checkout is not None:  # the management API, built by its first call
                time.sleep(WRITER_SETTLES_S)  # the chats' batched write is theirs, not this call's
                before = cpu_seconds(process.pid)
                _first_answer(process, lambda client: client.get(f"{base}/api/status"), time.perf_counter())
                result.console_cpu_s = cpu_seconds(process.pid) - before
            return result
        finally:
            _stop(process)


# -- CPU caps -----------------------------------------------------------------------------------------


@contextmanager
def cpu_cap(share: float) -> Iterator[tuple[list[str], str] | None]:
    """A command prefix that runs the server in a cgroup capped at ``share`` of one CPU, and the
    file that caps it (None: no cgroup could be made and capped here)."""
    period = 100_000
    name = f"oneapi-bench-{os.getpid()}-{int(share * 1000)}"
    v2 = Path("/sys/fs/cgroup")
    controllers = v2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        group = v2 / name
        settings = {"cpu.max": f"{int(period * share)} {period}"}
    else:
        group = Path("/sys/fs/cgroup/cpu") / name
        settings = {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(int(period * share))}
    try:
        group.mkdir()
        for file, value in settings.items():
            (group / file).write_text(value)
    except OSError:
        yield None
        return
    try:
        cap = next(file for file in settings if file != "cpu.cfs_period_us")
        yield ["sh", "-c", f'echo $$ > {group / "cgroup.procs"} && exec "$@"', "sh"], f"cgroup {cap}"
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


# -- Lambda -------------------------------------------------------------------------------------------

_LAMBDA_PROBE = """
import sys, time
started, cpu = time.perf_counter(), time.process_time()
import app
imported, imported_cpu = time.perf_counter(), time.process_time()
from tests.deploy.lambda_events import http_api_event
answer = app.handler(http_api_event("GET", "/healthz"), None)
assert answer["statusCode"] == 200, answer
finished, finished_cpu = time.perf_counter(), time.process_time()
print("probe:", imported - started, finished - started, imported_cpu - cpu, finished_cpu - cpu)
"""


Package = tuple[Path, str] | None  # an unpacked Lambda package and its size, or none


def lambda_package(checkout: Path, work: Path) -> Package:
    """The checkout's Lambda zip unpacked (None when it has no ``deploy/lambda/package.py``), and its size."""
    script = checkout / "deploy" / "lambda" / "package.py"
    if not script.exists():
        return None
    archive = work / f"lambda-{secrets.token_hex(3)}.zip"
    subprocess.run([sys.executable, str(script), "--out", str(archive)], cwd=checkout, check=True,
                   capture_output=True)
    with zipfile.ZipFile(archive) as zipped:
        size = sum(info.file_size for info in zipped.infolist())
        task_root = work / archive.stem
        zipped.extractall(task_root)
    return task_root, f"{size / 1e6:.1f} MB unzipped ({archive.stat().st_size / 1e6:.1f} MB zipped)"


def lambda_cold_start(
    checkout: Path, pg_dsn: str, runs: int, task_root: Path | None, interpreter: str
) -> str:
    """Median ``import app`` and first invocation on ``interpreter``, wall and CPU, on a database
    migrated beforehand.

    From ``task_root`` (an unpacked Lambda package) when given, seeing nothing else, as on Lambda.
    """
    code_path = task_root or checkout
    python = [interpreter, "-S"] if task_root else [interpreter]
    with lambda_database(pg_dsn, code_path) as env:
        times = []
        for number in range(runs + 1):  # the first one migrates and creates root: not counted
            done = subprocess.run(
                ["taskset", "-c", SERVER_CPU, *python, "-c", _LAMBDA_PROBE],
                cwd=code_path,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            if number:
                # the app's own log lines (a warning on a cold start) share stdout with the figures
                figures = next(line for line in done.stdout.splitlines() if line.startswith("probe:"))
                times.append([float(x) for x in figures.split()[1:]])
    imported, total, imported_cpu, total_cpu = (statistics.median(t[i] for t in times) for i in range(4))
    return (
        f"{imported:.2f} + {total - imported:.2f} = {total:.2f} s "
        f"(CPU {imported_cpu:.2f} + {total_cpu - imported_cpu:.2f} = {total_cpu:.2f} s)"
    )


# -- installed size -----------------------------------------------------------------------------------


def installed_mb(checkout: Path) -> str:
    """Runtime dependencies of ``checkout`` (closure over installed distributions), summed from RECORDs."""
    project = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    todo = [Requirement(text) for text in project["dependencies"]]
    seen: dict[str, int] = {}
    lock = checkout / "requirements.lock"  # the images leave out what its header names
    left_out = re.search(r"^# Left out .*: (.+)$", lock.read_text(), re.MULTILINE) if lock.exists() else None
    for name in left_out[1].split() if left_out else ():
        seen[re.sub(r"[-_.]+", "-", name).lower()] = 0
    while todo:
        requirement = todo.pop()
        key = re.sub(r"[-_.]+", "-", requirement.name).lower()
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        if key not in seen:
            seen[key] = sum(f.size or 0 for f in dist.files or [])
        for text in dist.requires or []:
            nested = Requirement(text)
            environment = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            wanted = nested.marker is None or any(nested.marker.evaluate(env) for env in environment)
            if wanted and re.sub(r"[-_.]+", "-", nested.name).lower() not in seen:
                todo.append(nested)
    biggest = sorted(seen.items(), key=lambda item: -item[1])[:4]
    detail = ", ".join(f"{name} {size / 1e6:.0f}" for name, size in biggest)
    count = sum(1 for size in seen.values() if size)
    return f"{sum(seen.values()) / 1e6:.0f} MB ({count} distributions; {detail})"


def fresh_venv_mb(checkout: Path, work: Path) -> str:
    """``pip install`` of the lock and the checkout into a new virtualenv: its site-packages on disk."""
    venv = work / f"venv-{secrets.token_hex(3)}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir", "--no-deps"]
    baseline = _tree_bytes(next(venv.glob("lib/python*/site-packages")))
    subprocess.run([*pip, "--require-hashes", "-r", str(checkout / "requirements.lock")], check=True)
    subprocess.run([*pip, str(checkout)], check=True)
    size = _tree_bytes(next(venv.glob("lib/python*/site-packages"))) - baseline
    shutil.rmtree(venv)
    return f"{size / 1e6:.0f} MB"


def _checkout_sizes(checkout: Path, work: Path, fresh_venv: bool) -> tuple[Package, dict[str, str]]:
    """The checkout's unpacked Lambda package (:func:`lambda_package`), and its size rows."""
    package = lambda_package(checkout, work)
    rows = {"Lambda zip (deploy/lambda/package.py)": package[1]} if package is not None else {}
    rows["installed runtime dependencies"] = installed_mb(checkout)
    if fresh_venv:
        rows["pip install into a new venv"] = fresh_venv_mb(checkout, work)
    return package, rows


def _tree_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink())


# -- the run ------------------------------------------------------------------------------------------


def _median(boots: list[Boot]) -> str:
    return (
        f"{statistics.median(b.seconds for b in boots):.1f} s "
        f"(CPU {statistics.median(b.cpu_s for b in boots):.2f} s)"
    )


def _interleaved_boots(targets: list[Target], runs: int) -> dict[tuple[str, bool], list[Boot]]:
    """``runs`` boots per target and kind (new file: gateways only; restart), the targets taking
    turns, so that a change in the machine's load falls on every column alike."""
    boots: dict[tuple[str, bool], list[Boot]] = {}
    for _ in range(runs):
        for target in targets:
            for seeded in (False, True) if target.checkout is not None else (True,):
                boots.setdefault((target.name, seeded), []).append(boot(target, seeded))
    return boots


def _median_boot(target: Target, seeded: bool, boots: list[Boot]) -> str:
    text = (
        f"{statistics.median(b.seconds for b in boots):.2f} s "
        f"(CPU {statistics.median(b.cpu_s for b in boots):.2f} s), "
        f"{statistics.median(b.rss_mb for b in boots):.0f} MB"
    )
    if seeded and target.key:
        text += f", first chat {statistics.median(b.chat_ms for b in boots):.0f} ms"
    if seeded and target.checkout is not None:
        console_ms = statistics.median(b.console_cpu_s for b in boots) * 1000
        text += f", then first /api/status CPU {console_ms:.0f} ms"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout of the gateway, measured alongside")
    parser.add_argument("--quotas", default="0.1,0.25,0.5")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--fresh-venv", action="store_true", help="also pip install into a new venv (slow)")
    parser.add_argument("--interpreter", action="append", help="a CPython to run gateways on (repeatable)")
    args = parser.parse_args()
    interpreters = args.interpreter or [sys.executable]
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    quotas = [float(q) for q in args.quotas.split(",") if q]
    upstream = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="oneapi-bootbench-") as tmp,
        pinned(CLIENT_CPU, [sys.executable, str(BENCH / "mock_upstream.py"), str(upstream)], upstream),
    ):
        work = Path(tmp)
        checkouts = [*([(str(args.before), args.before.resolve())] if args.before else []),
                     ("this checkout", ROOT)]
        targets = [
            gateway_target(f"one-api ({name}; {interpreter_label(interpreter)})", checkout, upstream, work,
                           interpreter)
            for name, checkout in checkouts
            for interpreter in interpreters
        ]
        if LITELLM_BIN.exists() and not args.no_litellm:
            targets.append(litellm_target(upstream, work))
        per_checkout: dict[Path, tuple[Package, dict[str, str]]] = {}
        print("measuring boots, the targets taking turns", flush=True)
        boots = _interleaved_boots(targets, args.runs)
        for target in targets:
            print(f"measuring {target.name}", flush=True)
            if target.checkout is not None:
                target.rows["boot to /healthz 200, new SQLite: time (CPU), idle RSS"] = _median_boot(
                    target, False, boots[target.name, False]
                )
            target.rows["boot to /healthz 200, restart: time (CPU), idle RSS"] = _median_boot(
                target, True, boots[target.name, True]
            )
            loaded = boot(target, True, load=args.requests)
            target.rows[f"RSS after {args.requests} relayed chats"] = f"{loaded.rss_mb:.0f} MB"
            for share in quotas:
                with cpu_cap(share) as capped:
                    if capped is None:
                        target.rows[f"first visitor at {share} CPU"] = "no writable cgroup: not measured"
                        continue
                    prefix, how = capped
                    cells = []
                    if target.checkout:
                        new = _median([boot(target, False, prefix=prefix) for _ in range(args.runs)])
                        cells.append(f"/healthz on a new file {new}")
                    visits = [boot(target, True, prefix=prefix, visitor_chats=True) for _ in range(args.runs)]
                    chat = _median(visits)
                    cells.append(f"chat on restart {chat} ({how})")
                    target.rows[f"first visitor at {share} CPU"] = ", ".join(cells)
            if target.checkout is not None:
                pg = os.environ.get("TEST_PG_DSN", "")
                if target.checkout not in per_checkout:  # the same for every interpreter: made once
                    per_checkout[target.checkout] = _checkout_sizes(target.checkout, work, args.fresh_venv)
                package, sizes = per_checkout[target.checkout]
                target.rows.update(sizes)
                target.rows["Lambda: import app + first invocation"] = (
                    lambda_cold_start(target.checkout, pg, args.runs, package and package[0], target.python)
                    if pg
                    else "TEST_PG_DSN not set"
                )
    print()
    print("| figure | " + " | ".join(t.name for t in targets) + " |")
    print("|---|" + "---|" * len(targets))
    for row in dict.fromkeys(key for t in targets for key in t.rows):
        print(f"| {row} | " + " | ".join(t.rows.get(row, "-") for t in targets) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
