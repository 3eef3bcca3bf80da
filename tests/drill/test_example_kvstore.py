"""The second project, examples/kvstore (Redis, its exporter and a small web
service: no line of src/gameday written for it), passes `gameday drill` and
`gameday coverage` on a sandbox of its own, started from its gameday.yaml."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kvstore"

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _gameday(*args: str, env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gameday.cli", *args], cwd=EXAMPLE, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_kvstore_drill_and_coverage_pass_on_its_own_sandbox(tmp_path):
    if not (Path("/usr/bin/redis-server").exists() and Path("/usr/bin/prometheus-redis-exporter").exists()):
        pytest.skip("redis-server / prometheus-redis-exporter not installed (scripts/install-system-deps.sh)")
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "GAMEDAY_PROJECT")}
    env["GAMEDAY_SANDBOX_DIR"] = str(tmp_path / "sandbox")  # its own sandbox, started and stopped by the drill
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])  # the step vocabulary
    reports = tmp_path / "reports"
    drill = _gameday("drill", "--reports", str(reports), env=env, timeout=900)
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-2000:]
    results = json.loads((reports / "results.json").read_text())
    rows = results if isinstance(results, list) else results.get("scenarios", [])
    assert len(rows) == 3 and "3/3 scenarios passed" in drill.stdout
    cov = _gameday("coverage", "--reports", str(reports), env=env, timeout=120)
    assert cov.returncode == 0, cov.stdout + cov.stderr
    assert "3/3 procedures covered" in cov.stdout and "passed" in cov.stdout
