"""The pure parts of the step library: command lines, SLA tables, the
snapshot's repairs, the verdict of planned work, the step vocabulary."""
from pathlib import Path

import pytest

from gameday.bdd import commands, snapshot, sla_table, vocabulary
from gameday.bdd.library import judge_events
from gameday.errors import UserError
from gameday.timeline.events import Event

ROOT = Path(__file__).resolve().parents[2]


def test_block_joins_continuations_and_drops_comments():
    block = """
    # 2. Enable maintenance mode
    kubectl patch configmap gaudi3-scale-config \\
      -p '{"data":{"maintenance_mode":"true"}}' \\
      -n gaudi3-scale

    kubectl get pods -n gaudi3-scale
    """
    lines = commands.split_block(block)
    assert lines == ["kubectl patch configmap gaudi3-scale-config -p '{\"data\":{\"maintenance_mode\":\"true\"}}' -n gaudi3-scale",
                     "kubectl get pods -n gaudi3-scale"]
    argv = commands.parse_command(lines[0])
    assert argv[5] == '{"data":{"maintenance_mode":"true"}}'  # quotes kept as one argument, no shell


@pytest.mark.parametrize("line", ["kubectl get pods | grep x", "kubectl get pods; rm -rf /",
                                  "kubectl logs $(kubectl get pod -o name)", "kubectl get pods > out"])
def test_shell_syntax_is_refused(line):
    with pytest.raises(UserError, match="shell syntax"):
        commands.parse_command(line, "f.feature:3")


def test_placeholders_fill_from_bindings():
    argv = commands.parse_command("kubectl describe pod <pod-name> -n gaudi3-scale")
    assert commands.fill(argv, {"pod-name": "api-1"}) == ["kubectl", "describe", "pod", "api-1", "-n", "gaudi3-scale"]
    with pytest.raises(UserError, match="<pod-name> is not bound"):
        commands.fill(argv, {})


def test_sla_table_rows_become_slas_with_bare_limits_as_upper_bounds():
    slas = sla_table.parse_table([["metric", "limit"], ["time_to_detect", "30s"], ["lost_writes", "== 0"]],
                                 "f.feature", 9, [10, 11, 12])
    assert [(s.metric, s.op, s.limit) for s in slas] == [("time_to_detect", "<=", 30.0), ("lost_writes", "==", 0)]
    with pytest.raises(UserError, match=r"^f\.feature:12: .*exactly a metric and a limit"):
        sla_table.parse_table([["metric", "limit"], ["error_rate", "<= 5%"], ["p95_latency"]], "f.feature", 9, [10, 11, 12])


def test_snapshot_repairs_only_what_changed():
    before = snapshot.Snapshot(replicas={("deployment", "ns", "api"): 2},
                               configmaps={("ns", "cfg"): {"maintenance_mode": "false"}},
                               selectors={("ns", "api"): {"app": "api"}}, hpas={("ns", "hpa"): (2, 10)},
                               unschedulable={"node-1": False})
    after = snapshot.Snapshot(replicas={("deployment", "ns", "api"): 3, ("deployment", "ns", "api-canary"): 1},
                              configmaps={("ns", "cfg"): {"maintenance_mode": "true", "x": "1"}},
                              selectors={("ns", "api"): {"app": "api"}}, hpas={("ns", "hpa"): (2, 15)},
                              unschedulable={"node-1": True})
    cmds = [args for _, args in snapshot.diff_patches(before, after)]
    assert ["delete", "deployment", "api-canary", "-n", "ns", "--wait=false"] in cmds
    assert ["scale", "deployment", "api", "--replicas=2", "-n", "ns"] in cmds
    assert ["patch", "configmap", "cfg", "-n", "ns", "--type", "merge", "-p",
            '{"data": {"x": null, "maintenance_mode": "false"}}'] in cmds
    assert ["patch", "hpa", "hpa", "-n", "ns", "--type", "merge", "-p", '{"spec": {"maxReplicas": 10, "minReplicas": 2}}'] in cmds
    assert ["uncordon", "node-1"] in cmds
    assert not any(a[:2] == ["patch", "service"] for a in cmds)
    assert snapshot.diff_patches(before, before) == []


def _planned(step_ok: bool = True, failures: int = 0) -> list[Event]:
    ev = [Event(0.0, "drill_started", {"drill": "x"}), Event(1.0, "steady_state_met", {"phase": "before"})]
    ev += [Event(float(t), "load_sample", {"rps": 10.0, "requests": 10, "failures": failures if t >= 4 else 0,
                                           "p50_ms": 5.0, "p95_ms": 9.0, "p99_ms": 9.0, "users": 2}) for t in range(1, 9)]
    ev += [Event(3.0, "step_started", {"step": "vacuum"}), Event(5.5, "step_finished", {"step": "vacuum", "ok": step_ok})]
    return ev


def test_planned_work_is_judged_from_its_first_step():
    slas = sla_table.parse_table([["metric", "limit"], ["error_rate", "<= 1%"], ["step:vacuum", "<= 3s"]])
    v = judge_events(_planned(), slas)
    assert v.passed and v.measurements.steps == {"vacuum": 2.5}
    v = judge_events(_planned(failures=5), slas)
    assert not v.passed and [r.sla.metric for r in v.failed] == ["error_rate"]


def test_planned_work_that_never_started_did_not_run():
    slas = sla_table.parse_table([["metric", "limit"], ["error_rate", "<= 1%"]])
    events = [e for e in _planned() if e.kind != "step_started"]
    assert judge_events(events, slas).not_run


def test_every_step_is_documented_with_its_parameters():
    phrases = vocabulary.phrases(search_dir=ROOT)
    assert len(phrases) >= 15
    for p in phrases:
        assert p.doc, f"step '{p.phrase}' has no docstring"
        for param in p.parameters:
            assert "{" + param in p.phrase


def test_gameday_steps_lists_every_phrase(capsys, monkeypatch):
    from gameday.cli import main
    monkeypatch.chdir(ROOT)
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert 'Then   the alert "{alert}" fires within {seconds:d}s' in out
    assert "When   the operator carries out \"{name}\": + \"\"\" block" in out
    assert "parameters: alert, seconds" in out


def test_the_writing_guide_lists_every_step():
    doc = (ROOT / "docs" / "writing-scenarios.md").read_text()
    for p in vocabulary.phrases(search_dir=ROOT):
        assert p.phrase in doc or p.phrase.rstrip("s") in doc, f"docs/writing-scenarios.md lacks '{p.phrase}'"


def test_snapshot_reads_a_kubectl_list_of_mixed_kinds():
    items = [
        {"kind": "Deployment", "metadata": {"namespace": "ns", "name": "api"}, "spec": {"replicas": 2}},
        {"kind": "Deployment", "metadata": {"namespace": "other", "name": "x"}, "spec": {"replicas": 5}},
        {"kind": "ConfigMap", "metadata": {"namespace": "ns", "name": "cfg"}, "data": {"a": "1"}},
        {"kind": "HorizontalPodAutoscaler", "metadata": {"namespace": "ns", "name": "hpa"}, "spec": {"maxReplicas": 10}},
        {"kind": "Node", "metadata": {"name": "n1"}, "spec": {"unschedulable": True}},
    ]
    snap = snapshot.from_items(items, ("ns",))
    assert snap.replicas == {("deployment", "ns", "api"): 2}
    assert snap.configmaps == {("ns", "cfg"): {"a": "1"}}
    assert snap.hpas == {("ns", "hpa"): (None, 10)} and snap.unschedulable == {"n1": True}


def _helm_secret(ns: str, release: str, version: int, status: str) -> dict:
    """A revision in Helm's release storage, as `kubectl get secrets -o json` lists it."""
    return {"kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"namespace": ns, "name": f"sh.helm.release.v1.{release}.v{version}",
                         "labels": {"owner": "helm", "name": release, "status": status, "version": str(version)}}}


def test_snapshot_records_the_deployed_revision_of_each_helm_release():
    items = [
        _helm_secret("ns", "web", 1, "superseded"), _helm_secret("ns", "web", 3, "deployed"),
        _helm_secret("ns", "web", 2, "superseded"), _helm_secret("ns", "db", 1, "deployed"),
        _helm_secret("ns", "db", 2, "failed"), _helm_secret("other", "web", 7, "deployed"),
        {"kind": "Secret", "metadata": {"namespace": "ns", "name": "token",
                                        "labels": {"name": "x", "status": "deployed", "version": "9"}}},
    ]
    snap = snapshot.from_items(items, ("ns",))
    assert snap.releases == {("ns", "web"): 3, ("ns", "db"): 1}
    assert snapshot.from_items(items, ("ns", "other")).releases[("other", "web")] == 7


def test_only_a_release_whose_revision_moved_is_rolled_back():
    before = snapshot.Snapshot(releases={("ns", "web"): 3, ("ns", "db"): 1, ("ns", "gone"): 2})
    after = snapshot.Snapshot(releases={("ns", "web"): 5, ("ns", "db"): 1, ("ns", "new"): 1})
    got = snapshot.release_rollbacks(before, after)
    assert [args for _, args in got] == [["rollback", "web", "3", "-n", "ns", "--wait", "--timeout", "300s"]]
    assert "ns/web" in got[0][0] and "3" in got[0][0]
    assert snapshot.release_rollbacks(before, before) == []
    # releases are not kubectl patches: the kubectl repairs leave them alone
    assert snapshot.diff_patches(before, after) == []
