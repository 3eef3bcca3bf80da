"""The runbook step inside a real drill (`gameday drill` on a feature): the
scenario runs the runbook file as it stands now, so an edited copy changes
what the drill ran, and the step is timed on the timeline."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "runbook" / "gaudi3-scale-runbook.md"
pytestmark = [pytest.mark.sandbox]

FEATURE = """@runbook:scaling-operations
Feature: The runbook as written
  @procedure:scale-api-service
  Scenario: verify scaling as the runbook says it now
    Given the platform is at steady state
    When the operator carries out lines 2 of the runbook's "Scale API Service"
    Then the output shows "pod/gaudi3-scale-api"
"""


def test_an_edited_runbook_changes_what_the_drill_runs(sandbox, tmp_path):
    copy = tmp_path / "runbook" / SEED.name
    copy.parent.mkdir()
    original = "kubectl get pods -l app.kubernetes.io/component=api -n gaudi3-scale\n"
    edited = "kubectl get pods -l app.kubernetes.io/component=api -n gaudi3-scale -o name\n"
    assert original in SEED.read_text()
    copy.write_text(SEED.read_text().replace(original, edited))
    (copy.parent / (copy.stem + ".gameday.yaml")).write_text((SEED.parent / (SEED.stem + ".gameday.yaml")).read_text())
    feature = tmp_path / "runbook_step.feature"
    feature.write_text(FEATURE)
    reports = tmp_path / "reports"
    env = dict(os.environ, GAMEDAY_RUNBOOK=str(copy))
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "drill", str(feature), "--reports", str(reports),
                           "--kubeconfig", str(sandbox.kubeconfig)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    ran = [json.loads(l) for f in reports.rglob("runbook-lines.jsonl") for l in f.read_text().splitlines()]
    assert [(r["procedure"], r["line"]) for r in ran] == [("scale-api-service", 178)]
    timelines = list(reports.rglob("*.jsonl"))
    steps = [json.loads(l) for t in timelines for l in t.read_text().splitlines() if '"step_started"' in l]
    assert any(s.get("step") == "scale-api-service:2-2" for s in steps), steps
