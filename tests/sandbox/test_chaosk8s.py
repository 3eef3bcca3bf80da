"""The stock chaostoolkit-kubernetes actions and probes, unchanged, against
the sandbox: terminate_pods, scale_deployment, rollout_deployment,
deployment_fully_available, pods_in_phase, drain_nodes."""
from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.config import kube_config

from chaosk8s.deployment.actions import rollout_deployment, scale_deployment
from chaosk8s.deployment.probes import deployment_fully_available
from chaosk8s.node.actions import drain_nodes, uncordon_node
from chaosk8s.pod.actions import terminate_pods
from chaosk8s.pod.probes import pods_in_phase

from .helpers import api_client, eventually

NS = "sbtest"
pytestmark = pytest.mark.sandbox


@pytest.fixture()
def secrets(bare_sandbox, monkeypatch):
    """chaosk8s reads KUBECONFIG when called; the kubernetes client took its
    default path at import, so both are pointed at the sandbox, as a fresh
    `chaos run` process with KUBECONFIG set would see them."""
    monkeypatch.setenv("KUBECONFIG", str(bare_sandbox.kubeconfig))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(bare_sandbox.kubeconfig))
    return {"KUBERNETES_VERIFY_SSL": "true"}


@pytest.fixture(scope="module")
def core(bare_sandbox):
    c = api_client(bare_sandbox)
    yield client.CoreV1Api(c)
    c.close()


def _web_uids(core) -> set[str]:
    return {p.metadata.uid for p in core.list_namespaced_pod(NS, label_selector="app=web").items}


def _settled(core) -> bool:
    """Two web pods, none terminating (an earlier test's rollout or scale may
    still be finishing): terminate_pods picks among every pod it lists."""
    pods = core.list_namespaced_pod(NS, label_selector="app=web").items
    return len(pods) == 2 and not any(p.metadata.deletion_timestamp for p in pods) and all(
        any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) for p in pods)


def test_terminate_pods_then_fully_available(secrets, core):
    eventually(lambda: _settled(core), what="two ready web pods, none terminating")
    before = _web_uids(core)
    terminate_pods(label_selector="app=web", ns=NS, qty=1, secrets=secrets)
    eventually(lambda: len(_web_uids(core) - before) >= 1, what="a replacement pod")
    assert deployment_fully_available("web", ns=NS, timeout=120, secrets=secrets) is True
    assert pods_in_phase("app=web", "Running", ns=NS, secrets=secrets) is True


def test_scale_and_rollout_deployment(secrets, core):
    scale_deployment("web", 3, ns=NS, secrets=secrets)
    try:
        assert deployment_fully_available("web", ns=NS, timeout=120, secrets=secrets) is True
        assert eventually(lambda: len(_web_uids(core)) == 3, what="three web pods")
    finally:
        scale_deployment("web", 2, ns=NS, secrets=secrets)
    eventually(lambda: len(_web_uids(core)) == 2, what="two web pods")
    before = _web_uids(core)
    rollout_deployment("web", ns=NS, secrets=secrets)
    eventually(lambda: not (_web_uids(core) & before) and len(_web_uids(core)) == 2, what="every pod replaced")
    assert deployment_fully_available("web", ns=NS, timeout=120, secrets=secrets) is True


def test_drain_nodes(bare_sandbox, secrets, core):
    node = bare_sandbox.config.node.name
    # chaosk8s's drain iterates ownerReferences without a None check: a bare pod
    # on the node (another test's leftover) would end it in a TypeError.
    bare = [f"{p.metadata.namespace}/{p.metadata.name}" for p in core.list_pod_for_all_namespaces(
        field_selector=f"spec.nodeName={node}").items if not p.metadata.owner_references]
    assert not bare, f"unmanaged pods left on {node} by earlier tests: {bare}"
    before = _web_uids(core)
    try:
        drained = drain_nodes(name=node, delete_pods_with_local_storage=True, timeout=120, secrets=secrets)
        assert drained is True or drained  # the names drained (or True) on success
        assert core.read_node(node).spec.unschedulable
        assert not (_web_uids(core) & before)  # every web pod was evicted
        assert pods_in_phase("app=web", "Pending", ns=NS, secrets=secrets) is True
    finally:
        uncordon_node(name=node, secrets=secrets)
    assert deployment_fully_available("web", ns=NS, timeout=120, secrets=secrets) is True
