"""Each drill starts clean: a scenario that starts while a critical alert
of an earlier incident still fires waits for it to end (steady-state check
`alerts_quiet`), or, past its bound, does not run and names the alert. On
the platform sandbox, with a real DatabaseDown from a real network cut."""
from __future__ import annotations

import threading
import time

import pytest

from gameday.drill import Drill, SteadyStateNotMet
from gameday.drill.ledger import Ledger
from gameday.faults import KINDS
from gameday.target import Target
from gameday.timeline import read
from tests.sandbox.helpers import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
QUIET = [{"deployment": "postgres", "ns": "database"}, {"alerts_quiet": "critical"}]


def test_scenario_waits_for_a_leftover_critical_alert(sandbox, tmp_path):
    target = Target.connect(sandbox.kubeconfig)
    cfg = target.chaos_configuration()
    led = Ledger(cfg).open()  # an earlier incident, still alive: recover leaves it alone
    cut = KINDS["network-cut"]
    params = cut.validate({"selector": "app.kubernetes.io/name=postgres", "namespace": "database"}, "test")
    state = cut.inject(cfg, led, **params)
    try:
        early = Drill(target, "starts-during-incident", tmp_path / "early", steady_state=QUIET, handle_signals=False)
        try:
            early.start_watchers()
            eventually(lambda: early._alerts and early._alerts.is_firing("DatabaseDown"), 180, 0.5,
                       "DatabaseDown firing")
            with pytest.raises(SteadyStateNotMet) as exc:
                early.confirm_steady_state(within=3)
            assert "critical alert(s) firing: DatabaseDown" in exc.value.reason
        finally:
            early.close("not-run")

        drill = Drill(target, "waits-for-quiet", tmp_path / "wait", steady_state=QUIET, handle_signals=False)
        try:
            undo = threading.Timer(3.0, lambda: cut.rollback(cfg, state, **params))
            undo.start()
            started = time.time()
            drill.confirm_steady_state(within=240)
            undo.join()
        finally:
            drill.close()
        events = read(drill.timeline_path)
        met = next(e for e in events if e.kind == "steady_state_met")
        resolved = [e for e in events if e.kind == "alert_resolved" and e.get("alert") == "DatabaseDown"]
        assert resolved and resolved[0].t <= met.t, "the steady state was declared while DatabaseDown fired"
        assert met.t - started >= 3.0
    finally:
        cut.rollback(cfg, state, **params)
        led.close()
