"""Time from `gameday sandbox up` to every pod ready (median of 5 runs), with
the reference platform (deploy/sandbox/sandbox.yaml) when it exists, else the
test manifests. Each run is a fresh detached sandbox, stopped with `down`.
Target: under 10 s on a 2-core machine."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = ROOT / "deploy" / "sandbox" / "sandbox.yaml"
TEST_CONFIG = ROOT / "tests" / "sandbox" / "manifests" / "sandbox" / "sandbox.yaml"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TARGET_SECONDS = 10.0


def gameday(state: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GAMEDAY_SANDBOX_DIR=state)
    return subprocess.run([sys.executable, "-m", "gameday.cli", "sandbox", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def main() -> int:
    config = PLATFORM if PLATFORM.exists() else TEST_CONFIG
    label = "reference platform" if config == PLATFORM else "test manifests"
    times = []
    for i in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="gameday-bench-") as state:
            started = time.monotonic()
            up = gameday(state, "up", "--wait", "--config", str(config))
            elapsed = time.monotonic() - started
            down = gameday(state, "down")
            if up.returncode != 0:
                print(f"run {i + 1}: sandbox up failed: {up.stderr.strip()}", file=sys.stderr)
                return 1
            if down.returncode != 0:
                print(f"run {i + 1}: sandbox down failed: {down.stderr.strip()}", file=sys.stderr)
                return 1
            times.append(elapsed)
            print(f"run {i + 1}: {elapsed:.2f} s")
    median = statistics.median(times)
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(f"sandbox up -> all pods ready ({label}): median {median:.2f} s over {RUNS} runs "
          f"(min {min(times):.2f}, max {max(times):.2f}); {verdict} the {TARGET_SECONDS:g} s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
