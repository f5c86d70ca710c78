"""Build the zip for AWS Lambda's Python 3.11 runtime (handler ``app.handler``, Mangum).

    python deploy/lambda/package.py [--out dist/one-api-lambda.zip]

Run it from the repository with a Python 3.11 on Linux x86_64 that has ``requirements.lock``
installed, so that the binary wheels are Lambda's; Lambda's own image is one:

    docker run --rm --entrypoint sh -v "$PWD":/src -w /src public.ecr.aws/lambda/python:3.11 -c \\
      'yum install -y -q binutils && pip install --require-hashes --no-deps -r requirements.lock \\
          && python deploy/lambda/package.py'

then ``aws lambda create-function --runtime python3.11 --handler app.handler --zip-file
fileb://dist/one-api-lambda.zip ...`` (or update-function-code). A zip deploy is capped at
250 MB unzipped with its layers; the installed dependencies alone came to 167 MB, so the
zip is kept under 100 MB (``tests/deploy/test_lambda_package.py``) by leaving out:

* what a dependency declares for parts the gateway never imports: requests with urllib3 and
  charset-normalizer (the Tencent SDK's client; only its signing module is used), pycparser
  (cffi's, for building bindings) and click (Litestar's command line);
* what only a server process imports: uvicorn, uvloop, httptools and websockets. Mangum
  calls the app directly, and no Lambda front door carries a WebSocket;
* what ``deploy/lock.sh`` leaves out of every image; packages' own tests and test helpers
  (``sqlalchemy.testing``, ``litestar.testing``, ...), SQLAlchemy's dialects for databases
  the gateway does not speak (Oracle, SQL Server), the Redis modules' commands (RediSearch,
  RedisJSON, time series, Bloom filters, vector sets; redis-py imports them when called), type
  stubs and C/Cython sources;
* the debug symbols of shared libraries (``strip``: 78 MB of them became 42 MB; uvloop's
  alone was 13 MB).

Every module is compiled to bytecode, checked by hash rather than by modification time
(the zip does not keep those exactly), because ``/var/task`` is read-only: without it each
cold start would compile the gateway and its dependencies anew (``import app`` took 1.2 s of
CPU instead of 0.45 s).
"""

from __future__ import annotations

import argparse
import compileall
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
LIMIT_BYTES = 100_000_000

# the HTTP server's: the handler is called by Lambda through Mangum, not over a socket
SERVER_ONLY = frozenset({"uvicorn", "uvloop", "httptools", "websockets"})
# declared by a dependency for parts the gateway never imports: requests (with urllib3 and
# charset-normalizer) by the Tencent SDK (only its signing module is used), pycparser by cffi
# (for building bindings, not loading them), click by Litestar (its command line);
# tests/deploy/test_lambda_package.py imports every gateway module from the unpacked zip
NEVER_IMPORTED = frozenset({"requests", "urllib3", "charset-normalizer", "pycparser", "click"})
LEFT_OUT = SERVER_ONLY | NEVER_IMPORTED
_SKIPPED_SUFFIXES = (".pyc", ".pyi", ".pyx", ".pxd", ".c", ".h")
_SKIPPED_PARTS = frozenset({"__pycache__", "tests", "test", "testing"})
_SKIPPED_DIRS = (("sqlalchemy", "dialects", "mssql"), ("sqlalchemy", "dialects", "oracle"),
                 # the Redis modules' commands (RediSearch, RedisJSON, ...), imported only when called
                 *(("redis", "commands", module)
                   for module in ("search", "json", "timeseries", "bf", "vectorset")))
_SKIPPED_METADATA = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


def locked_distributions() -> list[str]:
    """The names ``requirements.lock`` pins for this interpreter's platform, less :data:`LEFT_OUT`."""
    names = []
    for match in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\\n]+))?", LOCK.read_text(),
                             re.MULTILINE):
        name, version, marker = match.groups()
        requirement = Requirement(f"{name}=={version}" + (f"; {marker.strip()}" if marker else ""))
        if requirement.marker is None or requirement.marker.evaluate():
            names.append(canonicalize_name(name))
    return [name for name in dict.fromkeys(names) if name not in LEFT_OUT]


def _wanted(path: PurePosixPath) -> bool:
    if path.parts[0] == ".." or _SKIPPED_PARTS & set(path.parts[:-1]) or path.parts[:3] in _SKIPPED_DIRS:
        return False
    if path.parent.name.endswith(".dist-info"):
        return path.name not in _SKIPPED_METADATA
    return not path.name.endswith(_SKIPPED_SUFFIXES)


def gather(target: Path) -> None:
    """Copy the installed files of every locked distribution, then the gateway, into ``target``."""
    for name in locked_distributions():
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is not installed: pip install --require-hashes --no-deps "
                             f"-r {LOCK.relative_to(ROOT)}") from None
        for file in distribution.files or []:
            relative = PurePosixPath(file.as_posix())
            source = Path(str(distribution.locate_file(file)))
            if _wanted(relative) and source.is_file():
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)
    shutil.copyfile(ROOT / "app.py", target / "app.py")
    shutil.copytree(ROOT / "oneapi", target / "oneapi", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def shrink(target: Path) -> None:
    """Strip shared libraries' symbols and compile every module's bytecode."""
    libraries = [str(path) for path in target.rglob("*.so*") if path.is_file()]
    if shutil.which("strip") is None:
        raise SystemExit("strip is needed to shrink the shared libraries: install binutils")
    subprocess.run(["strip", "--strip-unneeded", *libraries], check=True)
    compileall.compile_dir(target, quiet=2, workers=0,
                           invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH)


def unzipped_bytes(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zipped:
        return sum(info.file_size for info in zipped.infolist())


def build(out: Path) -> int:
    """Write the zip to ``out``; return its unzipped size in bytes."""
    with tempfile.TemporaryDirectory(prefix="oneapi-lambda-") as tmp:
        target = Path(tmp)
        gather(target)
        shrink(target)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
            for path in sorted(target.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(target).as_posix())
    return unzipped_bytes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "one-api-lambda.zip")
    args = parser.parse_args()
    size = build(args.out)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB zipped, {size / 1e6:.1f} MB unzipped")
    if size > LIMIT_BYTES:
        print(f"over the {LIMIT_BYTES / 1e6:.0f} MB this package is kept under", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
