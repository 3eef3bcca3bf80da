"""`gameday runbook check` with no sandbox running starts the project's own
(target.sandbox of gameday.yaml), runs the procedure against it and stops it,
as `gameday drill` does. It runs from a folder outside the project and
without PYTHONPATH, so the sandbox's import path does not cover the project
folder: the platform's images start from what their catalog names
(.venv-platform and its editable sources), not from that accident."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_check_starts_the_projects_sandbox_when_none_runs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PYTHONPATH")}
    env["GAMEDAY_PROJECT"] = str(ROOT / "gameday.yaml")
    env["GAMEDAY_SANDBOX_DIR"] = str(tmp_path / "sandbox")   # none runs there
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "runbook", "check", "--procedure",
                           "Application Health Endpoints", "--reports", str(tmp_path / "reports")],
                          cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads((tmp_path / "reports" / "runbook" / "runbook-check.json").read_text())
    lines = [l for p in result["procedures"] for l in p["lines"]]
    assert len(lines) == 4 and all(l["verdict"] == "passed" for l in lines), lines
    # It stopped the sandbox it started: nothing answers for that folder any more.
    status = subprocess.run([sys.executable, "-m", "gameday.cli", "sandbox", "status"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode != 0 and "no sandbox is running" in status.stderr, status.stdout + status.stderr
