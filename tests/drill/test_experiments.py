"""Experiment files: every shipped one validates; bad ones are one line and
exit 2; --dry-run prints the plan and touches nothing (no sandbox)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.drill import experiment

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))


def gameday(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "gameday.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_shipped_experiments_are_valid(path):
    spec = experiment.load(path)
    assert spec.slas and spec.doc["steady-state-hypothesis"]["probes"]
    assert all(s in {a["name"] for a in spec.doc["method"]} for s in spec.steps)


def test_every_fault_the_issue_names_has_an_experiment():
    names = {p.stem for p in EXPERIMENTS}
    assert {"api-pod-kill", "api-outage-p0", "database-pod-kill", "database-scaled-to-zero",
            "database-network-cut", "hpu-oom", "failing-rollout", "node-drain", "maintenance-mode",
            "api-latency"} <= names


def _variant(tmp_path, mutate) -> Path:
    doc = json.loads((ROOT / "experiments" / "api-pod-kill.json").read_text())
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path


BAD = {
    "syntax": lambda tmp: (tmp / "bad.json").write_text('{"title": "x",\n "method": [') or tmp / "bad.json",
    "no-method": lambda tmp: _variant(tmp, lambda d: d.pop("method")),
    "unknown-module": lambda tmp: _variant(tmp, lambda d: d["method"][0]["provider"].update(module="gameday.chaos.nope")),
    "bad-sla": lambda tmp: _variant(tmp, lambda d: d["extensions"][0].update(sla=["time_to_recover <= soon"])),
    "no-extension": lambda tmp: _variant(tmp, lambda d: d.pop("extensions")),
    "unknown-key": lambda tmp: _variant(tmp, lambda d: d["extensions"][0].update(users=3)),
    "bad-step": lambda tmp: _variant(tmp, lambda d: d["extensions"][0].update(steps=["not-in-method"])),
    "bad-check": lambda tmp: _variant(tmp, lambda d: d["extensions"][0].update(steady_state=[{"pods": 3}])),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_is_one_line_and_exit_2(tmp_path, case):
    path = BAD[case](tmp_path)
    proc = gameday("run", str(path), "--dry-run")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"gameday: error: {path}: ")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_arguments_exit_2(tmp_path):
    proc = gameday("run", str(EXPERIMENTS[0]), "--service-url", "nonsense", "--kubeconfig", str(tmp_path / "k"))
    assert proc.returncode == 2 and "--service-url" in proc.stderr


def test_context_not_on_the_allowlist_is_refused(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod.example.com"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "u"}}]}))
    proc = gameday("run", str(EXPERIMENTS[0]), "--kubeconfig", str(kubeconfig), "--reports", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "not on the allowlist" in proc.stderr and "--allow-context prod" in proc.stderr
    assert not (tmp_path / "r").exists()  # refused before touching anything


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path):
    proc = gameday("run", *map(str, EXPERIMENTS[:2]), "--dry-run", "--reports", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("plan: ") == 2
    assert "rollbacks (always run)" in proc.stdout and "SLA:" in proc.stdout
    # the project's target.sandbox_user is whom the drills on the sandbox run as: its permissions, not the admin's
    assert proc.stdout.count("permissions:   checked when the run starts, as serviceaccount gaudi3-scale/gameday "
                             "(gameday.yaml's target.sandbox_user") == 2, proc.stdout
    assert "admin" not in proc.stdout
    assert not (tmp_path / "r").exists() and not (tmp_path / ".gameday").exists()


def test_dry_run_without_a_sandbox_user_says_the_sandbox_admin_runs_the_drill(tmp_path):
    project = tmp_path / "gameday.yaml"
    project.write_text("".join(line for line in (ROOT / "gameday.yaml").read_text().splitlines(keepends=True)
                               if "sandbox_user:" not in line))
    proc = gameday("run", str(EXPERIMENTS[0]), "--dry-run", "--project", str(project), "--reports",
                   str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "permissions:   not checked (the sandbox's admin may do everything)" in proc.stdout, proc.stdout
    assert not (tmp_path / "r").exists() and not (tmp_path / ".gameday").exists()


def _kubeconfig(path: Path, context: str, server: str) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": "u"}}]}))
    return path


def test_dry_run_checks_the_allowlist_too(tmp_path):
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", "staging", "https://staging.example.com")
    refused = gameday("run", str(EXPERIMENTS[0]), "--dry-run", "--kubeconfig", str(kubeconfig))
    assert refused.returncode == 2 and "--allow-context staging" in refused.stderr
    allowed = gameday("run", str(EXPERIMENTS[0]), "--dry-run", "--kubeconfig", str(kubeconfig), "--allow-context", "staging")
    # allowed: the plan is printed, then the permissions are asked of a cluster that does not answer (exit 3)
    assert "context staging" in allowed.stdout and "plan: " in allowed.stdout, allowed.stdout + allowed.stderr
    assert allowed.returncode == 3 and "cannot check permissions" in allowed.stderr, allowed.stderr
    assert len(allowed.stderr.strip().splitlines()) == 1 and "Traceback" not in allowed.stderr


def test_unreachable_target_exits_3(tmp_path):
    import socket
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", "gameday-sandbox", f"https://127.0.0.1:{port}")
    proc = gameday("run", str(EXPERIMENTS[0]), "--kubeconfig", str(kubeconfig), "--reports", str(tmp_path / "r"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "unreachable" in proc.stdout + proc.stderr  # one line, whichever stream the run reports on
    assert "Traceback" not in proc.stdout + proc.stderr
