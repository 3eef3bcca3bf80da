"""SIGKILL of `gameday run` at points spread over its experiments' fault
windows (20 in all, across five fault kinds, on one bare sandbox): after
each, the next recovery (`gameday recover` after the first kill of each
experiment, its library call after the others) leaves no fault behind,
counted in the cluster (labels, restore annotations, ledgers)."""
from __future__ import annotations

import signal
import sys

import pytest
from kubernetes import client

from gameday.drill import recover as recover_mod
from tests.sandbox.helpers import api_client, eventually

from .killing import NS, gameday, run_and_kill, write_experiments

pytestmark = [pytest.mark.sandbox]

# Kill points: None is during the injection (before the fault shows on the
# timeline), the numbers are seconds into the fault window.
POINTS = (None, 0.0, 1.5, 4.0)


@pytest.fixture(scope="module")
def cfg(bare_sandbox):
    core = client.CoreV1Api(api_client(bare_sandbox))
    core.create_namespaced_config_map(NS, {"metadata": {"name": "trust-settings"}, "data": {"mode": "normal"}})
    yield {"kubeconfig_path": str(bare_sandbox.kubeconfig)}
    core.delete_namespaced_config_map("trust-settings", NS)


def _web_ready(apps) -> bool:
    d = apps.read_namespaced_deployment("web", NS)
    return d.spec.replicas == 2 and (d.status.ready_replicas or 0) == 2 and (d.status.updated_replicas or 0) == 2 \
        and (d.status.replicas or 0) == 2 and d.spec.template.spec.containers[0].image == "gameday-test/web:1"


def test_sigkill_during_faults_leaves_nothing_after_recover(bare_sandbox, cfg, tmp_path):
    apps = client.AppsV1Api(api_client(bare_sandbox))
    core = client.CoreV1Api(api_client(bare_sandbox))
    experiments = write_experiments(tmp_path / "experiments")
    kills = left_before = 0
    injected_kills = 0
    for i, (path, point) in enumerate((p, pt) for p in experiments for pt in POINTS):
        eventually(lambda: _web_ready(apps), 180, what="web back at steady state before the next run")
        reports = tmp_path / f"r{i}"
        out, injected = run_and_kill(
            [sys.executable, "-m", "gameday.cli", "run", str(path), "--kubeconfig", str(bare_sandbox.kubeconfig),
             "--reports", str(reports)], reports / f"{path.stem}.timeline.jsonl", point)
        kills += 1
        injected_kills += injected
        left = recover_mod.count_left(cfg)
        left_before += left
        if i % len(POINTS) == 0:  # the command a user runs, once per experiment
            rec = gameday("recover", "--kubeconfig", str(bare_sandbox.kubeconfig))
            assert rec.returncode == 0, rec.stdout + rec.stderr
            said = rec.stdout
        else:  # the same code in this process: a second interpreter per kill costs the suite its time
            said = str(recover_mod.recover(cfg))
        assert recover_mod.count_left(cfg) == 0, f"{path.name} killed at {point}: left after recover: " \
            f"{[x.line() for x, _ in recover_mod.scan(cfg)]}\n{said}"
        assert not recover_mod.ledgers(cfg), "a dead drill's ledger survived recover"
        assert core.read_namespaced_config_map("trust-settings", NS).data == {"mode": "normal"}
    print(f"SIGKILL: {kills} interrupted runs ({injected_kills} with the fault in place), "
          f"{left_before} fault(s) found left behind before recover, 0 after")
    assert kills == 20 and injected_kills >= 15
    assert left_before >= injected_kills - 5, "the kills left nothing to recover: the test does not test"
    eventually(lambda: _web_ready(apps), 180, what="web back at steady state")


def test_next_run_recovers_a_killed_run_and_says_so(bare_sandbox, cfg, tmp_path):
    from gameday.timeline import read
    (path,) = [p for p in write_experiments(tmp_path / "experiments") if p.stem == "trust-cut"]
    reports = tmp_path / "killed"
    run_and_kill([sys.executable, "-m", "gameday.cli", "run", str(path), "--kubeconfig", str(bare_sandbox.kubeconfig),
                  "--reports", str(reports)], reports / "trust-cut.timeline.jsonl", 0.5)
    assert recover_mod.count_left(cfg) >= 1
    # The next drill undoes it first, and says so on its timeline (then it is killed by SIGTERM:
    # its own fault is rolled back as usual).
    again = tmp_path / "again"
    run_and_kill([sys.executable, "-m", "gameday.cli", "run", str(path), "--kubeconfig", str(bare_sandbox.kubeconfig),
                  "--reports", str(again)], again / "trust-cut.timeline.jsonl", 0.5, sig=signal.SIGTERM)
    events = read(again / "trust-cut.timeline.jsonl")
    rec = [e for e in events if e.kind == "recovered"]
    assert rec and rec[0].get("faults") >= 1, [e.kind for e in events]
    assert recover_mod.count_left(cfg) == 0
