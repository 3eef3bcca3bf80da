"""Pure parts of game days with people: time boxes, the comparison with the
runbook, the session files, the Alertmanager route, the new SLA metrics."""
from __future__ import annotations

import io
import json

import pytest

from gameday.human import compare, timebox
from gameday.human.pager import RECEIVER, with_receiver
from gameday.human.session import Session, output_head
from gameday.sla import measure, parse
from gameday.timeline.events import make


@pytest.mark.parametrize("heading,start,end", [
    ("Immediate Actions (0-5 minutes)", 0, 300),
    ("Assessment Phase (5-15 minutes)", 300, 900),
    ("Response Actions (0-30 minutes)", 0, 1800),
    ("Warm-up (0-45 s)", 0, 45),
])
def test_time_boxes_are_read_from_headings(heading, start, end):
    box = timebox.parse(heading)
    assert box is not None and (box.start_s, box.end_s) == (start, end)


@pytest.mark.parametrize("heading", ["Immediate Mitigation", "P0 - Critical Incident Response", "(5-1 minutes)", "(1-2 parsecs)"])
def test_headings_without_a_time_box(heading):
    assert timebox.parse(heading) is None


def test_time_box_override_rejects_nonsense():
    assert timebox.parse_override("0-10 minutes").end_s == 600
    with pytest.raises(ValueError):
        timebox.parse_override("soon")


BLOCK = """# 1. Assess impact
kubectl describe pods -l app.kubernetes.io/name=gaudi3-scale -n gaudi3-scale

# 4. Scale up if performance issue
kubectl scale deployment gaudi3-scale-api \\
  --replicas=5 -n gaudi3-scale
"""


def _cmd(line, rc=0, t=1.0):
    from gameday.human.session import Command
    return Command(t, t + 0.1, line, rc)


def test_comparison_names_skipped_lines_extra_and_failed_commands():
    lines = compare.runbook_commands(BLOCK)
    assert lines == ["kubectl describe pods -l app.kubernetes.io/name=gaudi3-scale -n gaudi3-scale",
                     "kubectl scale deployment gaudi3-scale-api --replicas=5 -n gaudi3-scale"]
    got = compare.compare(lines, [_cmd("ack"), _cmd("kubectl  describe pods -l app.kubernetes.io/name=gaudi3-scale -n gaudi3-scale"),
                                  _cmd("kubectl get nodes", rc=1), _cmd("done", rc=2)])
    assert got.followed == [lines[0]]
    assert got.skipped == [lines[1]]
    assert got.extra == ["kubectl get nodes"]
    assert got.failed == ["kubectl get nodes"]


def test_placeholders_are_filled_before_comparing():
    got = compare.compare(["kubectl logs <pod-name> -n ns"], [_cmd("kubectl logs api-1 -n ns")], {"<pod-name>": "api-1"})
    assert got.followed and not got.skipped and not got.extra


def test_session_commands_carry_their_output_head(tmp_path):
    s = Session.create(tmp_path / "s", kubeconfig="k", context="c")
    out = b"[gameday:c] ~# echo hi\r\nhi\r\n\x1b[0m[gameday:c] ~# false\r\n[gameday:c] ~# "
    s.output_file.write_bytes(out)
    second = out.index(b"[gameday:c] ~# false")
    rows = [{"t_start": 1, "t_end": 2, "exit": 0, "out_start": len(b"[gameday:c] ~# "), "line": "echo hi"},
            {"t_start": 3, "t_end": 4, "exit": 1, "out_start": second, "line": "false"}]
    s.commands_file.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"partial": ')
    cmds = s.commands()
    assert [c.line for c in cmds] == ["echo hi", "false"]
    assert cmds[0].output_head == "hi"
    assert cmds[1].exit_code == 1 and cmds[1].output_head == ""


def test_output_head_keeps_the_first_lines_only():
    raw = ("cmd\n" + "\n".join(f"line {i}" for i in range(20))).encode()
    assert output_head(raw, "cmd", lines=3) == "line 0\nline 1\nline 2"


def test_route_is_added_first_with_continue_and_replaces_an_old_one():
    cfg = {"route": {"receiver": "default", "routes": [{"receiver": "team"}]},
           "receivers": [{"name": "default"}, {"name": "team"}]}
    new = with_receiver(with_receiver(cfg, "http://x/page"), "http://y/page")
    assert new["route"]["routes"][0] == {"receiver": RECEIVER, "continue": True, "group_wait": "0s"}
    assert [r["receiver"] for r in new["route"]["routes"]] == [RECEIVER, "team"]
    hooks = [r for r in new["receivers"] if r["name"] == RECEIVER]
    assert len(hooks) == 1 and hooks[0]["webhook_configs"][0]["url"] == "http://y/page"
    assert cfg["route"]["routes"] == [{"receiver": "team"}], "the input is not changed"


def test_time_to_acknowledge_and_phases_are_measured_from_the_page():
    ev = [make("fault_injected", 100.0, fault="f"), make("alert_firing", 110.0, alert="ApiDown"),
          make("page_received", 112.0, alert="ApiDown"), make("operator_acknowledged", 142.0),
          make("step_started", 150.0, step="response", timebox_end_s=1800.0),
          make("step_finished", 200.0, step="response", ok=True)]
    m = measure(ev)
    assert m.time_to_acknowledge == pytest.approx(30.0)
    assert m.get("phase:response") == pytest.approx(88.0)
    assert m.timeboxes == {"response": 1800.0}
    assert m.get("step:response") == pytest.approx(50.0)
    assert parse("time_to_acknowledge <= 1m").holds(m.time_to_acknowledge)
    assert not parse("phase:response <= 60s").holds(m.get("phase:response"))


def test_no_acknowledgement_is_not_measured():
    ev = [make("fault_injected", 1.0, fault="f"), make("page_received", 2.0, alert="A")]
    assert measure(ev).time_to_acknowledge is None


def test_the_report_draws_the_persons_page_ack_and_commands():
    from gameday.reports.html import chart_data
    ev = [make("fault_injected", 100.0, fault="f"), make("page_received", 112.0, alert="ApiDown"),
          make("operator_acknowledged", 142.0, source="shell"),
          make("operator_command", 150.0, line="kubectl scale deployment api --replicas=5", exit_code=0)]
    marks = chart_data(ev)["marks"]
    assert {"t": 12.0, "label": "paged: ApiDown", "cls": "person"} in marks
    assert {"t": 42.0, "label": "acknowledged: shell", "cls": "person"} in marks
    assert {"t": 50.0, "label": "ran: kubectl scale deployment api --replicas=5 (exit 0)", "cls": "command"} in marks


def test_checkable_effects_are_read_from_the_runbook_block():
    from gameday.human.effects import Expectation, expectations
    block = """# 1. Scale up healthy replicas
kubectl scale deployment gaudi3-scale-api --replicas=5 -n gaudi3-scale
kubectl get pods -n gaudi3-scale
kubectl rollout restart deployment/gaudi3-scale-api \\
  -n gaudi3-scale
kubectl scale sts/postgres --replicas 1 --namespace database
kubectl scale deployment x --replicas=3 | tee out
"""
    assert expectations(block) == [
        Expectation("scale", "deployment", "gaudi3-scale-api", "gaudi3-scale", 5),
        Expectation("restart", "deployment", "gaudi3-scale-api", "gaudi3-scale"),
        Expectation("scale", "statefulset", "postgres", "database", 1)]
    assert expectations("kubectl get pods -n x\nkubectl scale deployment y -n x\n") == []


def test_a_step_ends_when_its_effect_is_seen(tmp_path):
    from gameday.human.effects import effect_of
    from gameday.human.operator import HumanOperator
    from gameday.timeline import TimelineWriter

    class Dep:  # a client model of a Deployment, as the kubernetes client returns it
        def __init__(self, replicas):
            self.spec = type("S", (), {"replicas": replicas, "template": type("T", (), {"metadata": None})()})()

    seen = {"replicas": 2}

    class Apps:
        def read_namespaced_deployment(self, name, namespace, _request_timeout=None):
            assert (name, namespace) == ("api", "shop")
            return Dep(seen["replicas"])

    target = type("Target", (), {"apps": lambda self: Apps()})()
    block = "kubectl scale deployment api --replicas=4 -n shop\n"
    effect = effect_of(block, target)
    assert effect is not None and not effect()
    session = Session.create(tmp_path / "s", kubeconfig="k", context="c")
    op = HumanOperator(TimelineWriter(tmp_path / "t.jsonl"), session, out=io.StringIO())
    seen["replicas"] = 4
    step = op.carry_out("mitigate", block, within=30, effect=effect)
    assert step.ended_by == "effect"
