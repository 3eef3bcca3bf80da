"""The second project, examples/kvstore (Redis, its exporter and a small web
service: no line of src/gameday written for it), passes `gameday drill`,
`gameday runbook check` and `gameday coverage` (per procedure and per line)
on a sandbox of its own, started from its gameday.yaml."""
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
    env["GAMEDAY_SANDBOX_DIR"] = str(tmp_path / "sandbox")  # its own sandbox, started and stopped here
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])  # the step vocabulary
    reports = tmp_path / "reports"
    up = _gameday("sandbox", "up", env=env, timeout=300)   # one sandbox for the drill and the runbook check
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        drill = _gameday("drill", "--reports", str(reports / "drill"), env=env, timeout=900)
        assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-2000:]
        results = json.loads((reports / "drill" / "results.json").read_text())
        rows = results if isinstance(results, list) else results.get("scenarios", [])
        assert len(rows) == 3 and "3/3 scenarios passed" in drill.stdout
        # Before the check, line 2 of "Redis is down" (restart if stuck) has run nowhere.
        partial = _gameday("coverage", "--reports", str(reports / "drill"), env=env, timeout=120)
        assert partial.returncode == 1, partial.stdout + partial.stderr
        assert "1 runnable lines never ran" in partial.stdout, partial.stdout
        check = _gameday("runbook", "check", "--reports", str(reports), env=env, timeout=600)
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    finally:
        _gameday("sandbox", "down", env=env, timeout=120)
    cov = _gameday("coverage", "--reports", str(reports / "drill"), env=env, timeout=120)
    assert cov.returncode == 0, cov.stdout + cov.stderr
    assert "3/3 procedures covered" in cov.stdout and "passed" in cov.stdout
    # Per line: the scenarios ran the runbook's own lines, the check the one they skip.
    assert "6 scenario, 1 check, 0 deviates, 0 needs, 0 manual, 0 never run of 7 lines" in cov.stdout, cov.stdout
