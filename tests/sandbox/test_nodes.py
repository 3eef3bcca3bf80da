"""Several nodes and the controllers runbooks lean on, against the session
`sandbox` (the reference platform on three nodes): scheduling over nodes,
the eviction API and PodDisruptionBudgets, `kubectl drain` under Locust load,
a node stopped and started, DaemonSets, and the HPA under load."""
from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from gameday.load import LoadRun
from gameday.sandbox.config import NodeConfig
from gameday.sandbox.nodes import STOPPED_ANNOTATION

from .helpers import api_client, eventually, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
NS = "gaudi3-scale"
API = "app.kubernetes.io/component=api"
HPA = "gaudi3-scale-api-hpa"
TEST_NS = "nodes-test"
SLEEPER = {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"],
                           "resources": {"requests": {"cpu": "10m"}}}], "terminationGracePeriodSeconds": 1}


@pytest.fixture(scope="module")
def core(sandbox):
    return client.CoreV1Api(api_client(sandbox))


@pytest.fixture(scope="module")
def apps(sandbox):
    return client.AppsV1Api(api_client(sandbox))


@pytest.fixture(scope="module")
def policy(sandbox):
    return client.PolicyV1Api(api_client(sandbox))


@pytest.fixture(scope="module")
def test_ns(sandbox, core):
    core.create_namespace({"metadata": {"name": TEST_NS}})
    yield TEST_NS
    core.delete_namespace(TEST_NS)


def _ready(pod) -> bool:
    return not pod.metadata.deletion_timestamp and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _api_pods(core):
    return [p for p in core.list_namespaced_pod(NS, label_selector=API).items if not p.metadata.deletion_timestamp]


def _node_ready(core, name) -> str:
    return next(c.status for c in core.read_node(name).status.conditions if c.type == "Ready")


def _quiet_cpu_node(core) -> str:
    """A CPU node without the database (stopping or draining it leaves the platform serving)."""
    db_nodes = {p.spec.node_name for p in core.list_namespaced_pod("database").items}
    nodes = [n.metadata.name for n in core.list_node().items
             if (n.metadata.labels or {}).get("gaudi.habana.ai/gaudi") != "true"]
    return next(n for n in sorted(nodes) if n not in db_nodes)


def _scale_api_min(sandbox, replicas: int) -> None:
    kubectl(sandbox, "patch", "hpa", HPA, "-n", NS, "-p", json.dumps({"spec": {"minReplicas": replicas}}))


def _api_pod_on(core, node: str) -> None:
    """Three ready API pods, one of them on `node`. The scheduler spreads new
    pods but never moves running ones: after an earlier drain of `node`, one
    API pod elsewhere is deleted and its replacement lands on the empty node."""
    eventually(lambda: len([p for p in _api_pods(core) if _ready(p)]) == 3, timeout=180, what="three API pods ready")
    if node not in {p.spec.node_name for p in _api_pods(core)}:
        by_node: dict[str, list] = {}
        for p in _api_pods(core):
            by_node.setdefault(p.spec.node_name, []).append(p)
        crowded = max(by_node.values(), key=len)
        core.delete_namespaced_pod(crowded[0].metadata.name, NS)
    eventually(lambda: len([p for p in _api_pods(core) if _ready(p)]) == 3 and node in
               {p.spec.node_name for p in _api_pods(core) if _ready(p)}, timeout=180,
               what=f"three API pods ready, one on {node}")


def test_three_nodes_with_the_gaudi_node_and_replicas_spread(sandbox, core):
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert len(nodes) == 3
    gaudi = kubectl(sandbox, "get", "nodes", "-l", "gaudi.habana.ai/gaudi=true", "-o", "name").stdout.split()
    assert gaudi == ["node/sandbox-gaudi-1"]
    assert nodes["sandbox-gaudi-1"].status.capacity["habana.ai/gaudi"] == "8"
    assert all(_node_ready(core, n) == "True" for n in nodes)
    trainer = core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/component=trainer").items
    assert trainer and all(p.spec.node_name == "sandbox-gaudi-1" for p in trainer)
    # The scheduler spreads replicas as it places them and never moves a
    # running pod: on the shared sandbox an earlier drain may have left both
    # API pods on one node, as it would on a cluster. A restarted rollout
    # places every replica anew, so the spread is the scheduler's, now.
    kubectl(sandbox, "rollout", "restart", "deployment/gaudi3-scale-api", "-n", NS)
    kubectl(sandbox, "rollout", "status", "deployment/gaudi3-scale-api", "-n", NS, "--timeout=180s", timeout=200)
    eventually(lambda: len([p for p in _api_pods(core) if _ready(p)]) == len(_api_pods(core)) >= 2,
               timeout=120, what="the restarted API pods ready and the old ones gone")
    api_nodes = [p.spec.node_name for p in _api_pods(core)]
    # As even as the nodes allow: one per node while there are nodes enough,
    # and no node with two more than another once the API's autoscaler has
    # scaled it past the node count (earlier drills' load: 4 pods on 3 nodes).
    schedulable = [n for n, node in nodes.items() if not node.spec.unschedulable]
    per_node = {n: api_nodes.count(n) for n in schedulable}
    assert len(api_nodes) >= 2 and set(api_nodes) <= set(schedulable), api_nodes
    assert max(per_node.values()) - min(per_node.values()) <= 1, per_node
    if len(api_nodes) <= len(schedulable):
        assert len(set(api_nodes)) == len(api_nodes), api_nodes  # one per node


def test_eviction_answers_429_when_the_budget_forbids(sandbox, core, apps, policy, test_ns):
    labels = {"app": "budgeted"}
    apps.create_namespaced_deployment(test_ns, {
        "metadata": {"name": "budgeted"}, "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                                                   "template": {"metadata": {"labels": labels}, "spec": SLEEPER}}})
    policy.create_namespaced_pod_disruption_budget(test_ns, {
        "metadata": {"name": "budgeted"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}})
    try:
        pods = eventually(lambda: [p for p in core.list_namespaced_pod(test_ns, label_selector="app=budgeted").items
                                   if _ready(p)], what="the budgeted pod Ready")
        eventually(lambda: (lambda s: s.current_healthy == 1 and s.desired_healthy == 1
                            and s.disruptions_allowed == 0)(
            policy.read_namespaced_pod_disruption_budget("budgeted", test_ns).status), what="pdb status 1/1/0")
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pods[0].metadata.name, namespace=test_ns))
        with pytest.raises(ApiException) as err:
            core.create_namespaced_pod_eviction(pods[0].metadata.name, test_ns, body)
        assert err.value.status == 429
        assert "disruption budget" in err.value.body
        assert not core.read_namespaced_pod(pods[0].metadata.name, test_ns).metadata.deletion_timestamp
        # With a second ready replica the budget allows one disruption.
        apps.patch_namespaced_deployment_scale("budgeted", test_ns, {"spec": {"replicas": 2}})
        eventually(lambda: policy.read_namespaced_pod_disruption_budget(
            "budgeted", test_ns).status.disruptions_allowed == 1, what="one disruption allowed")
        core.create_namespaced_pod_eviction(pods[0].metadata.name, test_ns, body)
        assert core.read_namespaced_pod(pods[0].metadata.name, test_ns).metadata.deletion_timestamp
    finally:
        apps.delete_namespaced_deployment("budgeted", test_ns)
        policy.delete_namespaced_pod_disruption_budget("budgeted", test_ns)


def test_drain_under_load_with_the_api_budget_loses_no_request(sandbox, core, apps):
    node = _quiet_cpu_node(core)
    _scale_api_min(sandbox, 3)  # one API pod on each node, so the drained node has one
    try:
        _api_pod_on(core, node)
        load = LoadRun(sandbox.service_url("gaudi3-scale-api", NS), users=4, spawn_rate=4)
        load.start()
        try:
            assert load.wait_for_samples(3, timeout=120)
            drain = kubectl(sandbox, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                            "--timeout=240s", timeout=300)
            assert "drained" in drain.stdout
            eventually(lambda: len([p for p in _api_pods(core) if _ready(p)]) == 3, timeout=180,
                       what="three API pods ready after the drain")
            seen = len(load.samples)
            assert load.wait_for_samples(seen + 3, timeout=60)
        finally:
            load.stop()
        assert sum(s.requests for s in load.samples) > 0
        assert sum(s.failures for s in load.samples) == 0, [(s.t, s.failures) for s in load.samples if s.failures]
        left = [p.metadata.name for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
                if not (p.metadata.owner_references and p.metadata.owner_references[0].kind == "DaemonSet")]
        assert left == []
        assert node not in {p.spec.node_name for p in _api_pods(core)}
    finally:
        kubectl(sandbox, "uncordon", node, check=False)
        _scale_api_min(sandbox, 2)


def test_stopped_node_goes_not_ready_its_pods_move_and_it_comes_back(sandbox, core, apps):
    node = _quiet_cpu_node(core)
    _scale_api_min(sandbox, 3)
    try:
        _api_pod_on(core, node)
        victims = {p.metadata.name for p in _api_pods(core) if p.spec.node_name == node}
        kubectl(sandbox, "annotate", "node", node, f"{STOPPED_ANNOTATION}=true")
        eventually(lambda: _node_ready(core, node) == "Unknown", timeout=60, what="node Ready=Unknown")
        assert "NotReady" in kubectl(sandbox, "get", "node", node).stdout
        taints = {(t.key, t.effect) for t in core.read_node(node).spec.taints or []}
        assert ("node.kubernetes.io/unreachable", "NoExecute") in taints
        # Evicted after the default toleration (sandbox.yaml: 10 s) and replaced on the other nodes.
        eventually(lambda: all(p.metadata.deletion_timestamp for p in core.list_namespaced_pod(NS).items
                               if p.metadata.name in victims), timeout=90, what="the node's API pod evicted")
        eventually(lambda: (lambda ps: len(ps) == 3 and all(p.spec.node_name != node for p in ps))(
            [p for p in _api_pods(core) if _ready(p)]), timeout=180, what="three API pods ready elsewhere")
    finally:
        kubectl(sandbox, "annotate", "node", node, f"{STOPPED_ANNOTATION}-", check=False)
        _scale_api_min(sandbox, 2)
    eventually(lambda: _node_ready(core, node) == "True", timeout=90, what="node Ready again")
    eventually(lambda: not any(t.key == "node.kubernetes.io/unreachable" for t in core.read_node(node).spec.taints
                               or []), timeout=60, what="unreachable taints removed")
    # The pods deleted while it was down are finished by its kubelet when it is back.
    eventually(lambda: not [p for p in core.list_namespaced_pod(NS).items if p.metadata.name in victims],
               timeout=90, what="the evicted pods gone")


def test_daemonset_runs_one_pod_per_node_and_follows_nodes(sandbox, core, apps, test_ns):
    labels = {"app": "per-node"}
    apps.create_namespaced_daemon_set(test_ns, {
        "metadata": {"name": "per-node"},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": SLEEPER}}})

    def placement():
        pods = [p for p in core.list_namespaced_pod(test_ns, label_selector="app=per-node").items
                if not p.metadata.deletion_timestamp]
        return sorted(p.spec.node_name or "" for p in pods), pods

    try:
        nodes = sorted(n.metadata.name for n in core.list_node().items)
        eventually(lambda: placement()[0] == nodes and all(_ready(p) for p in placement()[1]), timeout=120,
                   what="one ready pod per node")
        eventually(lambda: (lambda s: s.desired_number_scheduled == 3 and s.number_ready == 3)(
            apps.read_namespaced_daemon_set("per-node", test_ns).status), what="daemonset status 3/3")
        sandbox.add_node(NodeConfig("sandbox-extra-1"))
        try:
            eventually(lambda: placement()[0] == sorted(nodes + ["sandbox-extra-1"]), timeout=120,
                       what="the new node gains its pod")
        finally:
            sandbox.remove_node("sandbox-extra-1")
        eventually(lambda: placement()[0] == nodes, timeout=120, what="the removed node's pod gone")
        # A rolling update replaces every pod, node by node.
        before = {p.metadata.uid for p in placement()[1]}
        kubectl(sandbox, "set", "env", "daemonset/per-node", "-n", test_ns, "ROUND=2")
        kubectl(sandbox, "rollout", "status", "daemonset/per-node", "-n", test_ns, "--timeout=180s", timeout=200)
        after = placement()[1]
        assert sorted(p.spec.node_name for p in after) == nodes
        assert not ({p.metadata.uid for p in after} & before)
    finally:
        apps.delete_namespaced_daemon_set("per-node", test_ns)


def test_hpa_scales_the_api_out_under_load_and_back_in(sandbox, core, apps):
    # The runbook's "Update HPA Settings" lines (v1 field and replica limit).
    kubectl(sandbox, "patch", "hpa", HPA, "-n", NS, "-p", '{"spec":{"targetCPUUtilizationPercentage":10}}')
    kubectl(sandbox, "patch", "hpa", HPA, "-n", NS, "-p", '{"spec":{"maxReplicas":4}}')
    try:
        load = LoadRun(sandbox.service_url("gaudi3-scale-api", NS), users=30, spawn_rate=10)
        load.start()
        try:
            eventually(lambda: apps.read_namespaced_deployment("gaudi3-scale-api", NS).spec.replicas > 2,
                       timeout=180, interval=1, what="the HPA scaling the API out")
            described = kubectl(sandbox, "describe", "hpa", HPA, "-n", NS).stdout
            line = next(x for x in described.splitlines() if "resource cpu on pods" in x)
            assert "/ 10%" in line and "%" in line.split(":", 1)[1].split("/")[0], described
        finally:
            load.stop()
        # The threshold back at 70% (10% of a 100m request is 10m: idle pods on a busy
        # machine can stay above it), then the load gone brings the count back in.
        kubectl(sandbox, "patch", "hpa", HPA, "-n", NS, "-p", '{"spec":{"targetCPUUtilizationPercentage":70}}')
        eventually(lambda: apps.read_namespaced_deployment("gaudi3-scale-api", NS).spec.replicas == 2,
                   timeout=240, interval=1, what="the HPA scaling the API back in",
                   detail=lambda: kubectl(sandbox, "describe", "hpa", HPA, "-n", NS, check=False).stdout[-1500:])
        events = {e.reason for e in core.list_namespaced_event(NS, field_selector=f"involvedObject.name={HPA}").items}
        assert "SuccessfulRescale" in events
    finally:
        kubectl(sandbox, "patch", "hpa", HPA, "-n", NS, "--type=merge", "-p", json.dumps({"spec": {
            "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 70}}}]}}))
