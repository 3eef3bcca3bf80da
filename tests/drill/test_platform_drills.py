"""Every experiment on the sandbox with the reference platform, under load,
through `gameday run`; the load runner and the locustfile against the real
API; the facade's rollbacks on an exception. Uses the session `sandbox`."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gameday.chaos.integrity import missing_writes
from gameday.chaos.config import read_config
from gameday.drill import Drill
from gameday.load import LoadRun
from gameday.target import Target
from gameday.timeline import read

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))
API = ("gaudi3-scale-api", "gaudi3-scale")
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def target(sandbox) -> Target:
    return Target.connect(sandbox.kubeconfig)


@pytest.fixture(scope="module")
def drill_kubeconfig(sandbox) -> Path:
    """The kubeconfig the drills run with: the project's `target.sandbox_user`
    (the gameday ServiceAccount, held to deploy/rbac), as `gameday run` on the sandbox does."""
    from gameday.bdd.targets import as_sandbox_user
    from gameday.project.loader import load
    drills = as_sandbox_user(Target.connect(sandbox.kubeconfig), load(ROOT / "gameday.yaml"))
    assert drills.user_name() == "system:serviceaccount:gaudi3-scale:gameday"
    return drills.kubeconfig


def test_load_runner_with_workers_collects_acknowledged_jobs(target):
    run = LoadRun(target.service_url(*API), users=6, spawn_rate=6, workers=2)
    run.start()
    try:
        assert run.wait_for_samples(8, timeout=120)
    finally:
        run.stop()
    assert sum(s.requests for s in run.samples) > 0
    assert run.acked, "no job was acknowledged with 201"
    assert all(s.users <= 6 for s in run.samples)
    assert missing_writes(target.service_url(*API), run.acked, "/jobs/{id}") == []


def test_stock_locust_runs_the_locustfile(target, tmp_path):
    locust = Path(sys.executable).with_name("locust")
    proc = subprocess.run([str(locust), "-f", str(ROOT / "loadtests" / "locustfile.py"), "--headless",
                           "--host", target.service_url(*API), "-u", "4", "-r", "4", "-t", "6s",
                           "--csv", str(tmp_path / "run"), "--only-summary"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["Name"]: r for r in csv.DictReader(open(tmp_path / "run_stats.csv"))}
    assert int(rows["Aggregated"]["Request Count"]) > 0
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert "/health" in rows


def test_facade_rolls_back_when_the_drill_raises(target, tmp_path):
    with pytest.raises(RuntimeError, match="step blew up"):
        with Drill(target, "rollback-on-error", tmp_path) as d:
            d.confirm_steady_state(within=180)
            d.inject("maintenance-mode")
            assert read_config("gaudi3-scale-config", "gaudi3-scale", "maintenance_mode", configuration=d.configuration) == "true"
            with d.step("a-step-that-fails"):
                raise RuntimeError("step blew up")
    assert read_config("gaudi3-scale-config", "gaudi3-scale", "maintenance_mode", configuration=target.chaos_configuration()) == "false"
    events = read(tmp_path / "rollback-on-error.timeline.jsonl")
    assert [e.get("ok") for e in events if e.kind == "rollback_finished"] == [True]
    assert any(e.kind == "step_finished" and e.get("ok") is False for e in events)
    assert events[-1].get("outcome") == "error"


@pytest.mark.slow
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_passes_on_the_sandbox_under_load(drill_kubeconfig, experiment, tmp_path):
    # The experiment's own load (its `extensions`): with fewer users one
    # failed request in a seconds-long incident window is already over a 5%
    # error-rate bound, and the test would measure noise. Run as the drills'
    # ServiceAccount: its permissions are asked first, then held to.
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "run", str(experiment), "--kubeconfig",
                           str(drill_kubeconfig), "--reports", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "permissions: " in proc.stdout and "all granted" in proc.stdout, proc.stdout[:2000]
    suite = ET.parse(tmp_path / f"{experiment.stem}.junit.xml").getroot().find("testsuite")
    slas = json.loads(experiment.read_text())["extensions"][0]["sla"]
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == sorted(slas)
    for name, case in cases.items():
        props = {p.get("name"): p.get("value") for p in case.find("properties")}
        assert case.find("failure") is None, name
        assert props["measured"] != "not measured", name
    figures = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert float(figures["requests"]) > 0  # it ran under load
    events = read(tmp_path / f"{experiment.stem}.timeline.jsonl")
    assert events[-1].kind == "drill_finished" and events[-1].get("outcome") == "finished"


def test_abort_condition_stops_the_method_and_rolls_back(sandbox, target, tmp_path):
    doc = json.loads((ROOT / "experiments" / "database-network-cut.json").read_text())
    doc["method"][0]["pauses"] = {"after": 120}  # without the abort the drill would sit in the outage
    doc["extensions"][0]["abort"] = {"error_rate": 0.2, "seconds": 2}
    exp = tmp_path / "abort.json"
    exp.write_text(json.dumps(doc))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "run", str(exp), "--kubeconfig", str(sandbox.kubeconfig),
                           "--reports", str(tmp_path / "r"), "--users", "8"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert time.monotonic() - started < 110, "the abort did not cut the 120 s pause short"
    assert "ABORTED: abort: error rate above 20% for 2s" in proc.stdout
    events = read(tmp_path / "r" / "abort.timeline.jsonl")
    kinds = [e.kind for e in events]
    assert "abort" in kinds and "step_started" not in kinds  # stopped before the runbook step
    rollbacks = [e for e in events if e.kind == "rollback_finished"]
    assert rollbacks and all(e.get("ok") for e in rollbacks)
    assert kinds.index("abort") < kinds.index("rollback_finished")
    from gameday.chaos.network import policy_absent
    assert policy_absent("gameday-cut-off-database", "database", configuration=target.chaos_configuration())
    assert events[-1].get("outcome") == "aborted"


def test_stock_chaos_run_on_a_shipped_experiment(sandbox, tmp_path):
    import os
    chaos = Path(sys.executable).with_name("chaos")
    proc = subprocess.run([str(chaos), "--no-version-check", "run", "--journal-path", str(tmp_path / "journal.json"),
                           str(ROOT / "experiments" / "api-pod-kill.json")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed" and not journal["deviated"]
    assert journal["steady_states"]["before"]["steady_state_met"] and journal["steady_states"]["after"]["steady_state_met"]
    assert [r["status"] for r in journal["run"]] == ["succeeded", "succeeded"]
