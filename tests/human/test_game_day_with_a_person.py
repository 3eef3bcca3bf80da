"""A game day with a person, on the sandbox: the API is scaled to zero, the
page reaches gameday's receiver through Alertmanager's webhook, a "person"
driven with tmux acknowledges in `gameday shell`, runs the runbook's line and
says `done`; the verdict has time to acknowledge, the step against its time
box, and recovery. When the person skips the mitigation, time_to_recover
fails and the review names the skipped runbook line."""
from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from gameday.drill import Drill
from gameday.human.oncall import Paging, PersonOnCall
from gameday.runbook.check import load_runbook
from gameday.human.session import Session
from gameday.human.timebox import parse as parse_timebox
from gameday.target import Target
from gameday.timeline import read

from .test_operator_shell import Tmux, _env, wait_for, GAMEDAY

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "runbook" / "gaudi3-scale-runbook.md"
API, NS = "gaudi3-scale-api", "gaudi3-scale"
MITIGATION = "kubectl scale deployment gaudi3-scale-api --replicas=5 -n gaudi3-scale"
pytestmark = pytest.mark.sandbox


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.close()


def scale(target: Target, replicas: int) -> int:
    apps = target.apps()
    before = apps.read_namespaced_deployment_scale(API, NS).spec.replicas
    apps.patch_namespaced_deployment_scale(API, NS, {"spec": {"replicas": replicas}})
    return before


def person(tmux: Tmux, session_folder: Path, commands: list[str], drill_timeline: Path, errors: list):
    """The on-call engineer: waits for the page on screen, acks, waits for
    the step to be shown, types the commands, says done."""
    try:
        assert wait_for(lambda: "*** PAGE (FIRING): ApiDown ***" in tmux.screen(), within=240), "no page on screen"
        tmux.type("ack")
        assert wait_for(lambda: any(e.kind == "step_started" for e in read(drill_timeline)), within=120), "no step"
        for c in [*commands, "done"]:
            n = len(Session.open(session_folder).commands())
            tmux.type(c)
            assert wait_for(lambda: len(Session.open(session_folder).commands()) > n, within=120), c
    except Exception as exc:  # reported by the test's main thread
        errors.append(exc)


def game_day(sandbox, tmp_path, tmux, commands: list[str], recover_within: float):
    target = Target.connect(sandbox.kubeconfig)
    proc = load_runbook(RUNBOOK).procedure("Response Actions (0-30 minutes)")
    heading, block = proc.title, "\n".join(u.text for u in proc.units) + "\n"
    box = parse_timebox(heading)
    out = io.StringIO()
    with Drill(target, "p1-with-a-person", tmp_path / "reports", detection_alert="ApiDown",
               handle_signals=False) as drill, PersonOnCall(drill, Paging(), out=out) as oncall:
        tmux.start([*GAMEDAY, "shell", "--session", str(oncall.session.folder)], _env())
        assert wait_for(lambda: "[gameday:" in tmux.screen()), tmux.screen()
        drill.start_load(users=2)
        drill.confirm_steady_state(within=180)
        before = scale(target, 0)
        drill.mark_fault("api-scaled-to-zero", replicas=0)
        drill.register_rollback("api-scaled-to-zero", lambda: scale(target, before))
        errors: list = []
        t = threading.Thread(target=person, args=(tmux, oncall.session.folder, commands, drill.timeline_path, errors))
        t.start()
        assert oncall.page("ApiDown", within=240), "Alertmanager's webhook never paged"
        assert oncall.acknowledge(within=120) is not None
        step = oncall.carry_out("response-actions", block, within=240, timebox=box, heading=heading)
        t.join(timeout=60)
        assert not errors, errors
        drill.wait_recovered(within=recover_within, settle=3)
        slas = ["time_to_acknowledge <= 5m", "time_to_recover <= 3m", *oncall.timebox_slas()]
        verdict = drill.judge(slas)
    return oncall, step, verdict, read(drill.timeline_path), out.getvalue()


def test_a_person_acknowledges_mitigates_and_is_timed(sandbox, tmp_path, tmux):
    oncall, step, verdict, events, out = game_day(sandbox, tmp_path, tmux, [MITIGATION], recover_within=180)
    pages = oncall.session.pages()
    assert pages and all(p["user_agent"].startswith("Alertmanager/") for p in pages), \
        "the page came from Alertmanager's webhook"
    kinds = [e.kind for e in events]
    assert "page_received" in kinds and "operator_acknowledged" in kinds
    typed = [e.get("line") for e in events if e.kind == "operator_command"]
    assert "ack" in typed and MITIGATION in typed and "done" in typed
    assert step.ended_by == "done" and MITIGATION in step.comparison.followed
    by = {r.sla.metric: r for r in verdict.results}
    assert by["time_to_acknowledge"].measured is not None and by["time_to_acknowledge"].passed
    assert by["phase:response-actions"].passed and by["phase:response-actions"].sla.limit == 1800
    assert by["time_to_recover"].passed, verdict
    assert "PAGE: ApiDown" in out and "Response Actions (0-30 minutes)" in out


def test_a_person_who_skips_the_mitigation_fails_recovery_and_the_line_is_named(sandbox, tmp_path, tmux):
    assess = "kubectl get pods -n gaudi3-scale"
    oncall, step, verdict, events, _ = game_day(sandbox, tmp_path, tmux, [assess], recover_within=20)
    by = {r.sla.metric: r for r in verdict.results}
    assert not by["time_to_recover"].passed
    assert MITIGATION in step.comparison.skipped
    review = next(e for e in events if e.kind == "operator_step_review")
    assert MITIGATION in review.get("skipped") and assess in review.get("extra")
