"""`gameday run` end to end on the bare sandbox (a small web Deployment, no
platform): the engine, its exit codes, SIGTERM mid-fault, a verdict that
fails, stock `chaos run`. Fast enough for every run of the suite."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gameday.timeline import read

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
pytestmark = pytest.mark.sandbox


def gameday_run(experiment: Path, kubeconfig: Path, reports: Path, *extra: str, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "gameday.cli", "run", str(experiment), "--kubeconfig", str(kubeconfig),
                           "--reports", str(reports), *extra], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def web_ready(kubeconfig: Path) -> bool:
    proc = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "deployment", "web", "-n", "sbtest",
                           "-o", "json"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return False
    dep = json.loads(proc.stdout)
    return dep["spec"]["replicas"] == 2 and dep["status"].get("readyReplicas") == 2


def wait_until(condition, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def test_pod_kill_passes_with_figures_in_junit(bare_kubeconfig, tmp_path):
    proc = gameday_run(HERE / "experiments" / "web-pod-kill.json", bare_kubeconfig, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fault_injected" in proc.stdout and "time_to_recover" in proc.stdout  # live lines and verdict table
    events = read(tmp_path / "web-pod-kill.timeline.jsonl")
    kinds = [e.kind for e in events]
    for kind in ("drill_started", "steady_state_met", "fault_injected", "pod_status", "steady_state_restored", "drill_finished"):
        assert kind in kinds
    suite = ET.parse(tmp_path / "web-pod-kill.junit.xml").getroot().find("testsuite")
    [case] = suite.findall("testcase")
    assert case.get("name") == "time_to_recover <= 30s" and case.find("failure") is None
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    measured = float(props["measured_base_unit"])
    restored = next(e for e in events if e.kind == "steady_state_restored")
    fault = next(e for e in events if e.kind == "fault_injected")
    assert measured == pytest.approx(restored.get("since") - fault.t, abs=1e-3)
    assert 0 < measured < 30
    journal = json.loads((tmp_path / "web-pod-kill.journal.json").read_text())
    assert journal["status"] == "completed"


def test_remediation_too_slow_fails_with_the_measured_value(bare_kubeconfig, tmp_path):
    doc = json.loads((HERE / "experiments" / "web-outage.json").read_text())
    doc["method"][0]["pauses"] = {"after": 6}  # the on-call takes 6 s to scale back
    doc["extensions"][0]["sla"] = ["time_to_recover <= 3s", "step:scale-web-back <= 5s"]
    exp = tmp_path / "slow-remediation.json"
    exp.write_text(json.dumps(doc))
    proc = gameday_run(exp, bare_kubeconfig, tmp_path / "r")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    suite = ET.parse(tmp_path / "r" / "slow-remediation.junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    failure = cases["time_to_recover <= 3s"].find("failure")
    assert failure is not None and "limit <= 3.00s" in failure.get("message")
    measured = float({p.get("name"): p.get("value") for p in cases["time_to_recover <= 3s"].find("properties")}["measured_base_unit"])
    assert measured >= 6.0  # it cannot have recovered before the scale-back
    assert cases["step:scale-web-back <= 5s"].find("failure") is None
    assert "FAIL" in proc.stdout and "time_to_recover" in proc.stdout
    assert wait_until(lambda: web_ready(bare_kubeconfig), 60)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signal_mid_fault_rolls_back_and_leaves_a_readable_timeline(bare_kubeconfig, tmp_path, signum):
    reports = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "gameday.cli", "run", str(HERE / "experiments" / "web-outage.json"),
                             "--kubeconfig", str(bare_kubeconfig), "--reports", str(reports)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    timeline = reports / "web-outage.timeline.jsonl"
    try:
        def fault_seen() -> bool:
            return timeline.exists() and any(e.kind == "fault_injected" for e in read(timeline))
        assert wait_until(fault_seen, 120, 0.2), "the fault was never injected"
        assert wait_until(lambda: not web_ready(bare_kubeconfig), 30), "the fault had no effect"
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 1, out
    assert "interrupted" in out
    events = read(timeline)
    rollbacks = [e for e in events if e.kind == "rollback_finished"]
    assert rollbacks and all(e.get("ok") for e in rollbacks), rollbacks
    assert events[-1].kind == "drill_finished" and events[-1].get("outcome") == "interrupted"
    assert wait_until(lambda: web_ready(bare_kubeconfig), 90), "the sandbox was not back at steady state"


def test_stock_chaos_run_works_on_the_experiment_file(bare_kubeconfig, tmp_path):
    chaos = Path(sys.executable).with_name("chaos")
    env = {**os.environ, "KUBECONFIG": str(bare_kubeconfig)}
    proc = subprocess.run([str(chaos), "--no-version-check", "run", "--journal-path", str(tmp_path / "journal.json"),
                           str(HERE / "experiments" / "web-pod-kill.json")],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed" and not journal["deviated"]
    assert journal["steady_states"]["before"]["steady_state_met"]
    assert [r["activity"]["name"] for r in journal["run"]] == ["kill-one-web-pod", "wait-web-ready"]
    assert all(r["status"] == "succeeded" for r in journal["run"])
    assert journal["run"][1]["output"] is True


def test_steady_state_not_held_means_not_run_exit_1(bare_kubeconfig, tmp_path):
    doc = json.loads((HERE / "experiments" / "web-outage.json").read_text())
    doc["extensions"][0]["steady_state"] = [{"deployment": "web-that-does-not-exist", "ns": "sbtest"}]
    exp = tmp_path / "not-steady.json"
    exp.write_text(json.dumps(doc))
    proc = gameday_run(exp, bare_kubeconfig, tmp_path / "r", "--steady-within", "3")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not-run: steady state did not hold before the fault: deployment sbtest/web-that-does-not-exist not found" in proc.stdout
    events = read(tmp_path / "r" / "not-steady.timeline.jsonl")
    assert "fault_injected" not in [e.kind for e in events]  # nothing was broken
    case = ET.parse(tmp_path / "r" / "not-steady.junit.xml").getroot().find("testsuite").find("testcase")
    assert case.find("failure").get("type") == "NotRun"
    assert web_ready(bare_kubeconfig)


def test_a_rollback_that_fails_exits_3_and_says_which(bare_kubeconfig, tmp_path):
    doc = json.loads((HERE / "experiments" / "web-pod-kill.json").read_text())
    doc["rollbacks"] = [{"type": "action", "name": "scale-a-deployment-that-is-gone", "provider": {
        "type": "python", "module": "gameday.chaos.workload", "func": "scale_deployment",
        "arguments": {"name": "gone", "replicas": 1, "ns": "sbtest"}}}]
    exp = tmp_path / "bad-rollback.json"
    exp.write_text(json.dumps(doc))
    proc = gameday_run(exp, bare_kubeconfig, tmp_path / "r")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "ROLLBACK FAILED: experiment:scale-a-deployment-that-is-gone" in proc.stdout
    events = read(tmp_path / "r" / "bad-rollback.timeline.jsonl")
    assert events[-1].get("outcome") == "rollback-failed"
    assert [e.get("ok") for e in events if e.kind == "rollback_finished"] == [False, False]  # Chaos Toolkit's try, then ours
