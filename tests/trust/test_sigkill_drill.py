"""SIGKILL of a whole `gameday drill` (its process group: the machine
running it is gone) while the database is cut off, at points spread over
the fault window, on the platform sandbox: after each, the next `gameday
recover` leaves no fault behind (counted in the cluster), and the
NetworkPolicy the issue found left in place is gone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from kubernetes import client

from gameday.drill import recover as recover_mod
from tests.sandbox.helpers import api_client, eventually

from .killing import ROOT, gameday

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

FEATURE = """@runbook:emergency-response
Feature: Killed mid-fault
  @p1 @procedure:response-actions-0-30-minutes
  Scenario: the database is cut off and the drill is killed
    Given the platform is at steady state
    When the fault "cut-off-database" is injected
    Then the alert "DatabaseDown" fires within 120s
    And the alert "TrustTestHoldsTheFault" fires within 60s
"""
POINTS = (0.0, 2.0, 5.0)


def _policy(net) -> bool:
    return any(p.metadata.name == "gameday-cut-off-database"
               for p in net.list_namespaced_network_policy("database").items)


def test_sigkilled_drill_is_recovered(sandbox, tmp_path):
    cfg = {"kubeconfig_path": str(sandbox.kubeconfig)}
    net = client.NetworkingV1Api(api_client(sandbox))
    feature = tmp_path / "killed.feature"
    feature.write_text(FEATURE)
    found = 0
    for i, point in enumerate(POINTS):
        assert recover_mod.count_left(cfg) == 0
        proc = subprocess.Popen([sys.executable, "-m", "gameday.cli", "drill", str(feature), "--reports",
                                 str(tmp_path / f"r{i}"), "--kubeconfig", str(sandbox.kubeconfig)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            assert eventually(lambda: _policy(net) or proc.poll() is not None, 300, 0.2, "the fault injected")
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(point)  # the kill point within the fault window (not a wait for a condition)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
        left = recover_mod.count_left(cfg)
        found += left
        out = proc.stdout.read() if proc.stdout else ""
        assert left >= 1 and _policy(net), f"the kill left nothing: the test does not test: {out[-3000:]}"
        rec = gameday("recover", "--kubeconfig", str(sandbox.kubeconfig))
        assert rec.returncode == 0, rec.stdout + rec.stderr
        assert recover_mod.count_left(cfg) == 0 and not _policy(net), rec.stdout
    print(f"SIGKILL of gameday drill: {len(POINTS)} interrupted drills, {found} fault(s) left before recover, 0 after")
