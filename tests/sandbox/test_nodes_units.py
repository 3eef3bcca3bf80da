"""The pure parts of several nodes: the sandbox config's nodes, the
scheduler's choice, toleration maths, the PDB budget and the HPA's replica
calculator. No sandbox needed."""
from __future__ import annotations

import pytest

from gameday.errors import UserError
from gameday.sandbox import config
from gameday.sandbox.controllers.daemonset import should_run, target_node
from gameday.sandbox.controllers.disruption import budget
from gameday.sandbox.controllers.hpa import Sample, limit_scale_up, recommend, stabilize
from gameday.sandbox.controllers.node import UNREACHABLE, toleration_seconds, wanted_taints
from gameday.sandbox.controllers.scheduler import pick_node, unschedulable_message


def _node(name, labels=None, taints=None, cpu="2", extra=None):
    alloc = {"cpu": cpu, "memory": "8Gi", "pods": "110", **(extra or {})}
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []},
            "status": {"allocatable": alloc}}


def _pod(name, owner="rs-1", requests=None, **spec):
    return {"metadata": {"name": name, "namespace": "ns", "labels": {"app": "a"},
                         "ownerReferences": [{"controller": True, "uid": owner, "kind": "ReplicaSet", "name": "rs"}]},
            "spec": {"containers": [{"name": "c", "resources": {"requests": requests or {"cpu": "100m"}}}], **spec},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def test_default_config_has_two_cpu_nodes_and_an_accelerator_node(tmp_path):
    cfg = config.load(None)
    # the harness's own default names no platform (deploy/sandbox/sandbox.yaml declares the Gaudi node)
    assert [n.name for n in cfg.nodes] == ["sandbox-cpu-1", "sandbox-cpu-2", "sandbox-accel-1"]
    assert cfg.nodes[2].labels["accelerator.example/present"] == "true" and cfg.nodes[2].capacity["vendor.example/accel"]
    one = tmp_path / "one.yaml"
    one.write_text("node: {name: solo}\n")
    assert [n.name for n in config.load(one).nodes] == ["solo"]


@pytest.mark.parametrize("text, says", [
    ("nodes: [{name: a}, {name: a}]\n", "more than once"),
    ("nodes: [{name: a, taints: [{key: k, effect: Sometimes}]}]\n", "taints"),
    ("nodes: [{name: Bad_Name}]\n", "valid node name"),
    ("node_lifecycle: {grace_seconds: soon}\n", "numbers"),
    ("node: {name: a}\nnodes: [{name: b}]\n", "not both"),
])
def test_bad_node_config_names_the_file(tmp_path, text, says):
    path = tmp_path / "sandbox.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=says) as err:
        config.load(path)
    assert str(path) in str(err.value)


def test_scheduler_spreads_replicas_and_honours_selector_taints_and_capacity():
    nodes = [_node("a"), _node("b"), _node("g", {"gaudi": "true"}, extra={"habana.ai/gaudi": "8"})]
    bound = {"a": [_pod("p1")], "b": []}
    chosen, _ = pick_node(_pod("p2"), nodes, bound)
    assert chosen["metadata"]["name"] in ("b", "g")  # not beside its sibling
    chosen, _ = pick_node(_pod("t", requests={"habana.ai/gaudi": "1"}), nodes, {})
    assert chosen["metadata"]["name"] == "g"
    chosen, _ = pick_node(_pod("s", nodeSelector={"gaudi": "true"}), nodes, {})
    assert chosen["metadata"]["name"] == "g"
    tainted = [_node("a", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])]
    chosen, reasons = pick_node(_pod("x"), tainted, {})
    assert chosen is None and "untolerated taint" in unschedulable_message(1, reasons)
    chosen, _ = pick_node(_pod("y", tolerations=[{"key": "k", "operator": "Equal", "value": "v"}]), tainted, {})
    assert chosen is not None
    chosen, reasons = pick_node(_pod("big", requests={"cpu": "3"}), nodes, {})
    assert chosen is None and unschedulable_message(3, reasons) == "0/3 nodes are available: 3 Insufficient cpu."
    pinned = _pod("d", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}})
    assert pick_node(pinned, nodes, {})[0]["metadata"]["name"] == "b"
    assert target_node(pinned) == "b"


def test_daemon_pods_skip_tainted_nodes_but_not_unreachable_ones():
    template = {"spec": {"containers": [{"name": "c"}]}}
    assert should_run(template, _node("a", taints=[{"key": UNREACHABLE, "effect": "NoExecute"}]))
    assert not should_run(template, _node("a", taints=[{"key": "dedicated", "effect": "NoSchedule"}]))
    assert not should_run({"spec": {"nodeSelector": {"gaudi": "true"}}}, _node("a"))


def test_lifecycle_taints_and_toleration_seconds():
    unknown = {"spec": {}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
    assert {(t["key"], t["effect"]) for t in wanted_taints(unknown)} == {(UNREACHABLE, "NoSchedule"),
                                                                        (UNREACHABLE, "NoExecute")}
    assert wanted_taints({"spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}) == []
    taint = {"key": UNREACHABLE, "effect": "NoExecute"}
    assert toleration_seconds({"spec": {}}, taint, 10) == 10  # the default toleration
    assert toleration_seconds({"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists",
                                                         "tolerationSeconds": 3}]}}, taint, 10) == 3
    assert toleration_seconds({"spec": {"tolerations": [{"operator": "Exists"}]}}, taint, 10) is None
    assert toleration_seconds({"spec": {}}, {"key": "other", "effect": "NoExecute"}, 10) == 0


def test_budget_counts_healthy_and_desired():
    pdb = {"metadata": {"namespace": "ns"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}}}
    one, two = [_pod("p1")], [_pod("p1"), _pod("p2")]
    assert budget(pdb, one).allowed == 0
    assert budget(pdb, two).allowed == 1
    deleting = [_pod("p1"), {**_pod("p2"), "metadata": {**_pod("p2")["metadata"], "deletionTimestamp": "x"}}]
    assert budget(pdb, deleting).healthy == 1
    pct = {**pdb, "spec": {"maxUnavailable": "50%", "selector": pdb["spec"]["selector"]}}
    assert budget(pct, two, lambda kind, name: 2).desired == 1


def test_hpa_replica_calculator():
    samples = [Sample(0.09, 0.1), Sample(0.07, 0.1)]  # 80 % of request
    assert recommend(2, samples, 0, 40, 0.1).replicas == 4
    assert recommend(2, samples, 0, 40, 0.1).utilization == 80
    assert recommend(2, samples, 0, 78, 0.1).replicas == 2  # within the tolerance
    assert recommend(4, [Sample(0.01, 0.1)] * 4, 0, 50, 0.1).replicas == 1
    # An unready pod counts as 0 % when scaling up: 2 pods at 60 % and 1 missing of target 50 %.
    assert recommend(3, [Sample(0.06, 0.1)] * 2, 1, 50, 0.1).replicas == 3
    assert recommend(2, [], 0, 50, 0.1) is None
    assert limit_scale_up(2, 20) == 6 and limit_scale_up(10, 40) == 20 and limit_scale_up(5, 3) == 3
    assert stabilize([(0.0, 6), (20.0, 4)], 25.0, 30.0, 2) == 6
    assert stabilize([(0.0, 6), (20.0, 4)], 45.0, 30.0, 2) == 4
