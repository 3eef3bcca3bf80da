"""`gameday init` on the sandbox writes a gameday.yaml that loads and that
`gameday drill` accepts (its smoke scenario passes against it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.project import load

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.sandbox]

SMOKE = """Feature: smoke
  Scenario: the platform is at steady state
    Given the platform is at steady state
    When the operator runs "kubectl get pods -n gaudi3-scale"
    Then the output shows "Running"
"""


def test_init_writes_a_project_file_the_drill_accepts(sandbox, tmp_path):
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("GAMEDAY_PROJECT", None)
    run = lambda *a, **kw: subprocess.run([sys.executable, "-m", "gameday.cli", *a], cwd=tmp_path, env=env,
                                          capture_output=True, text=True, **kw)
    proc = run("init", "--kubeconfig", str(sandbox.kubeconfig), timeout=120)
    assert proc.returncode == 0, proc.stderr
    project = load(tmp_path / "gameday.yaml")
    assert "gaudi3-scale" in project.namespaces and "kube-system" not in project.namespaces
    assert {"deployment": "gaudi3-scale-api", "ns": "gaudi3-scale"} in project.steady_state
    assert project.prometheus is not None and project.prometheus.service == "prometheus"
    assert run("init", timeout=60).returncode == 2  # never overwrites unasked

    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "smoke.feature").write_text(SMOKE)
    proc = run("drill", "--kubeconfig", str(sandbox.kubeconfig), "--reports", str(tmp_path / "r"), timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-1000:]
    assert "1/1 scenarios passed" in proc.stdout
