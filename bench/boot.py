"""Boot figures for the README and issue notes: time to first 200 on /healthz, idle RSS.

Usage: ``python bench/boot.py [runs]`` (SQLite in a fresh temporary folder each run).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.gateway import gateway_env  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def boot_once(first_boot: bool) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="oneapi-boot-"))
    env = gateway_env(folder)
    if not first_boot:  # migrate and create root beforehand: measure a warm restart
        subprocess.run([sys.executable, "-m", "oneapi", "migrate"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{env['PORT']}/healthz"
    try:
        while True:
            try:
                if httpx.get(url, timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.01)
        elapsed = time.perf_counter() - started
        time.sleep(1.0)
        return elapsed, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for label, first in (("first boot (migrate + create root)", True), ("restart (schema at head)", False)):
        results = [boot_once(first) for _ in range(runs)]
        times = [t for t, _ in results]
        rss = [r for _, r in results]
        print(f"{label}: median {statistics.median(times):.3f} s to first /healthz 200 "
              f"(min {min(times):.3f}, max {max(times):.3f}); idle RSS median {statistics.median(rss):.1f} MB")


if __name__ == "__main__":
    main()
