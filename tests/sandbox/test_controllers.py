"""Controllers against a running sandbox: deployments scale and roll out
(and back), cordon/drain and the scheduler, Jobs, StatefulSets and their
claims, resource-based Pending, NetworkPolicy in the service proxy."""
from __future__ import annotations

import json
import re
import socket
import urllib.request
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from .helpers import api_client, eventually, kubectl

NS = "sbtest"
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def api(bare_sandbox):
    c = api_client(bare_sandbox)
    yield c
    c.close()


@pytest.fixture(scope="module")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api):
    return client.AppsV1Api(api)


@pytest.fixture(scope="module")
def batch(api):
    return client.BatchV1Api(api)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status


def _serves(url: str) -> bool:
    try:
        return _get(url) == 200
    except OSError:
        return False


def _available(apps, name: str, want: int) -> bool:
    d = apps.read_namespaced_deployment(name, NS)
    return d.status.observed_generation >= d.metadata.generation and (d.status.available_replicas or 0) == want \
        and (d.status.updated_replicas or 0) == want and (d.status.replicas or 0) == want


def test_scale_to_zero_and_back_serves_again(bare_sandbox, apps, core):
    url = bare_sandbox.service_url("web", NS)
    assert _serves(url)
    kubectl(bare_sandbox, "scale", "deployment", "web", "-n", NS, "--replicas=0")
    eventually(lambda: not core.list_namespaced_pod(NS, label_selector="app=web").items, what="no web pods")
    assert not _serves(url)
    kubectl(bare_sandbox, "scale", "deployment", "web", "-n", NS, "--replicas=2")
    eventually(lambda: _available(apps, "web", 2), what="web available again")
    eventually(lambda: _serves(url), what="web serves again")
    ep = core.read_namespaced_endpoints("web", NS)
    assert len(ep.subsets[0].addresses) == 2


def test_rollout_to_failing_image_then_undo(bare_sandbox, apps, core):
    url = bare_sandbox.service_url("web", NS)
    kubectl(bare_sandbox, "set", "image", "deployment/web", "-n", NS, "web=gameday-test/crash")
    status = kubectl(bare_sandbox, "rollout", "status", "deployment/web", "-n", NS, "--timeout=5s", check=False)
    assert status.returncode != 0  # the new pods never become ready
    # maxUnavailable 0: the old pods keep serving during the broken rollout.
    assert _serves(url)
    history = kubectl(bare_sandbox, "rollout", "history", "deployment/web", "-n", NS).stdout
    assert len([line for line in history.splitlines() if line.strip()[:1].isdigit()]) >= 2
    kubectl(bare_sandbox, "rollout", "undo", "deployment/web", "-n", NS)
    kubectl(bare_sandbox, "rollout", "status", "deployment/web", "-n", NS, "--timeout=120s")
    d = apps.read_namespaced_deployment("web", NS)
    assert d.spec.template.spec.containers[0].image == "gameday-test/web:1"
    conds = {c.type: c for c in d.status.conditions}
    assert conds["Available"].status == "True" and conds["Progressing"].reason == "NewReplicaSetAvailable"
    eventually(lambda: all(p.spec.containers[0].image == "gameday-test/web:1"
                           for p in core.list_namespaced_pod(NS, label_selector="app=web").items), what="old pods gone")
    assert _serves(url)
    kubectl(bare_sandbox, "rollout", "restart", "deployment/web", "-n", NS)
    kubectl(bare_sandbox, "rollout", "status", "deployment/web", "-n", NS, "--timeout=120s")
    assert eventually(lambda: _available(apps, "web", 2), what="web available after restart")


def test_cordon_blocks_scheduling_and_drain_evicts(bare_sandbox, apps, core):
    node = bare_sandbox.config.node.name
    try:
        kubectl(bare_sandbox, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                "--timeout=120s")
        assert core.read_node(node).spec.unschedulable
        # The web pods came back but cannot be scheduled.
        pending = eventually(lambda: (lambda ps: len(ps) == 2 and all(
            p.status.phase == "Pending" and not p.spec.node_name for p in ps) and ps)(
            core.list_namespaced_pod(NS, label_selector="app=web").items), what="web pods pending")
        name = pending[0].metadata.name
        eventually(lambda: "FailedScheduling" in {e.reason for e in core.list_namespaced_event(
            NS, field_selector=f"involvedObject.name={name}").items}, what="FailedScheduling event")
        cond = {c.type: c for c in core.read_namespaced_pod(name, NS).status.conditions}["PodScheduled"]
        assert cond.status == "False" and cond.reason == "Unschedulable"
    finally:
        kubectl(bare_sandbox, "uncordon", node)
    eventually(lambda: _available(apps, "web", 2), what="web back after uncordon")


def test_insufficient_extended_resource_stays_pending(bare_sandbox, core):
    name = f"greedy-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(NS, {"metadata": {"name": name}, "spec": {"containers": [{
        "name": "main", "image": "gameday-test/shell",
        "resources": {"limits": {"habana.ai/gaudi": "1"}}}]}})
    eventually(lambda: "Insufficient habana.ai/gaudi" in (
        {c.type: c for c in core.read_namespaced_pod(name, NS).status.conditions or []}.get("PodScheduled")
        or client.V1PodCondition(status="", type="", message="")).message or "", what="unschedulable")
    assert core.read_namespaced_pod(name, NS).status.phase == "Pending"
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)


def test_job_backoff_limit_and_completions(bare_sandbox, batch, core):
    fail, ok = f"fail-{uuid.uuid4().hex[:6]}", f"ok-{uuid.uuid4().hex[:6]}"
    template = lambda image, args: {"spec": {"restartPolicy": "Never", "containers": [  # noqa: E731
        {"name": "main", "image": image, **({"args": args} if args else {})}]}}
    batch.create_namespaced_job(NS, {"metadata": {"name": fail}, "spec": {
        "backoffLimit": 1, "template": template("gameday-test/crash", None)}})
    batch.create_namespaced_job(NS, {"metadata": {"name": ok}, "spec": {
        "completions": 2, "parallelism": 1, "template": template("gameday-test/shell", ["echo done"])}})

    def finished(name, kind):
        job = batch.read_namespaced_job(name, NS)
        return any(c.type == kind and c.status == "True" for c in job.status.conditions or []) and job
    failed = eventually(lambda: finished(fail, "Failed"), what="job failed")
    assert failed.status.failed == 2
    assert {c.type: c for c in failed.status.conditions}["Failed"].reason == "BackoffLimitExceeded"
    done = eventually(lambda: finished(ok, "Complete"), what="job complete")
    assert done.status.succeeded == 2 and done.status.completion_time is not None
    pods = core.list_namespaced_pod(NS, label_selector=f"job-name={ok}").items
    assert len(pods) == 2 and all(p.status.phase == "Succeeded" for p in pods)
    assert "done" in kubectl(bare_sandbox, "logs", pods[0].metadata.name, "-n", NS).stdout
    for name in (fail, ok):
        batch.delete_namespaced_job(name, NS, propagation_policy="Background")
    eventually(lambda: not core.list_namespaced_pod(NS, label_selector=f"job-name in ({fail},{ok})").items,
               what="job pods collected")


def test_statefulset_claim_survives_pod_deletion(bare_sandbox, apps, core):
    name = f"db{uuid.uuid4().hex[:4]}"
    script = '[ -f /data/id ] || echo "$HOSTNAME-$$" > /data/id; echo "id=$(cat /data/id)"; sleep 3600'
    apps.create_namespaced_stateful_set(NS, {"metadata": {"name": name}, "spec": {
        "replicas": 2, "serviceName": name, "selector": {"matchLabels": {"sts": name}},
        "template": {"metadata": {"labels": {"sts": name}}, "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "gameday-test/shell", "args": [script],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    eventually(lambda: (apps.read_namespaced_stateful_set(name, NS).status.ready_replicas or 0) == 2,
               what="statefulset ready")
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod(NS, label_selector=f"sts={name}").items)
    assert pods == [f"{name}-0", f"{name}-1"]
    pvc = core.read_namespaced_persistent_volume_claim(f"data-{name}-0", NS)
    assert pvc.status.phase == "Bound"

    def logged_id(pod):
        out = kubectl(bare_sandbox, "logs", pod, "-n", NS, check=False).stdout
        assert "id=" in out, out
        return out.split("id=")[1].split()[0]
    first = eventually(lambda: logged_id(f"{name}-0"), what="first id")
    uid = core.read_namespaced_pod(f"{name}-0", NS).metadata.uid
    core.delete_namespaced_pod(f"{name}-0", NS)
    eventually(lambda: (lambda p: p.metadata.uid != uid and p.status.phase == "Running")(
        core.read_namespaced_pod(f"{name}-0", NS)), what="pod recreated")
    assert eventually(lambda: logged_id(f"{name}-0"), what="second id") == first
    apps.delete_namespaced_stateful_set(name, NS)
    eventually(lambda: not core.list_namespaced_pod(NS, label_selector=f"sts={name}").items,
               what="statefulset pods collected")


def test_force_deleted_statefulset_pod_is_gone_before_its_successor_starts(bare_sandbox, apps, core):
    # The successor shares the claim: like two postmasters on one data
    # directory, it must never run beside its force-deleted predecessor.
    # The container takes an exclusive lock on the claim and exits 1 if held.
    name = f"lk{uuid.uuid4().hex[:4]}"
    apps.create_namespaced_stateful_set(NS, {"metadata": {"name": name}, "spec": {
        "replicas": 1, "serviceName": name, "selector": {"matchLabels": {"sts": name}},
        "template": {"metadata": {"labels": {"sts": name}}, "spec": {
            "containers": [{"name": "main", "image": "gameday-test/shell",
                            "args": ["exec flock -n /data/lock sleep 3600"],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})

    def ready_pod(other_than: str | None = None):
        try:
            p = core.read_namespaced_pod(f"{name}-0", NS)
        except ApiException as exc:
            if exc.status == 404:
                return None  # the controller has not (re)created it yet
            raise
        statuses = p.status.container_statuses or []
        if p.metadata.uid != other_than and statuses and statuses[0].ready:
            return p
        return None

    try:
        for _ in range(2):
            pod = eventually(ready_pod, what="lock holder running")
            core.delete_namespaced_pod(f"{name}-0", NS, grace_period_seconds=0)
            succ = eventually(lambda: ready_pod(other_than=pod.metadata.uid), what="successor running")
            assert succ.status.container_statuses[0].restart_count == 0
    finally:
        apps.delete_namespaced_stateful_set(name, NS)
        eventually(lambda: not core.list_namespaced_pod(NS, label_selector=f"sts={name}").items,
                   what="statefulset pods collected")


def test_network_policy_cuts_service_traffic(bare_sandbox, api):
    net = client.NetworkingV1Api(api)
    url = bare_sandbox.service_url("web", NS)
    assert _serves(url)
    # An open connection before the policy: a firewall drops it too.
    host, port = url.removeprefix("http://").split(":")
    held = socket.create_connection((host, int(port)), timeout=10)
    net.create_namespaced_network_policy(NS, {"metadata": {"name": "deny-web"}, "spec": {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"], "ingress": []}})
    try:
        eventually(lambda: not _serves(url), what="traffic refused")
        held.settimeout(30)
        try:
            held.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert held.recv(100) == b""
        except OSError:
            pass  # reset: cut as well
    finally:
        held.close()
        net.delete_namespaced_network_policy("deny-web", NS)
    eventually(lambda: _serves(url), what="traffic allowed again")


def test_discovery_lists_scrape_targets(bare_sandbox, core):
    name = f"scraped-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(NS, {"metadata": {"name": name, "labels": {"app.kubernetes.io/name": "m"},
                                                 "annotations": {"prometheus.io/scrape": "true",
                                                                 "prometheus.io/port": "8080"}},
                                    "spec": {"containers": [{"name": "main", "image": "gameday-test/web"}]}})
    url = bare_sandbox.service_url("sandbox-discovery", "kube-system") + "/targets"

    def listed():
        with urllib.request.urlopen(url, timeout=10) as resp:
            groups = json.load(resp)
        return next((g for g in groups if g["labels"].get("pod") == name), None)
    group = eventually(listed, what="target listed")
    ip = core.read_namespaced_pod(name, NS).status.pod_ip
    assert group["targets"] == [f"{ip}:8080"]
    assert group["labels"]["namespace"] == NS and group["labels"]["app_kubernetes_io_name"] == "m"
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)


def test_discovery_stands_in_for_kube_state_metrics(bare_sandbox, core):
    # Alert rules on kube_pod_* series (crash-looping, not ready) need them.
    name = f"crashy-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(NS, {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "main", "image": "gameday-test/crash"}]}})
    base = bare_sandbox.service_url("sandbox-discovery", "kube-system")
    with urllib.request.urlopen(base + "/targets", timeout=10) as resp:
        assert any(g["labels"].get("job") == "kube-state-metrics" for g in json.load(resp))

    def crash_looping():
        with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        # kube-state-metrics' labels: namespace, pod, uid, then the family's own.
        want = (rf'kube_pod_container_status_waiting_reason{{namespace="{NS}",pod="{name}",uid="[^"]+",'
                rf'container="main",reason="CrashLoopBackOff"}} 1')
        return text if re.search(want, text) else None
    text = eventually(crash_looping, what="CrashLoopBackOff in kube-state metrics")
    assert re.search(rf'kube_pod_status_ready{{namespace="{NS}",pod="{name}",uid="[^"]+",condition="false"}} 1', text)
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)


def test_network_policy_admits_only_selected_pods(bare_sandbox, api, core):
    net = client.NetworkingV1Api(api)
    url = bare_sandbox.service_url("web", NS)
    allowed, denied = (f"{p}-{uuid.uuid4().hex[:6]}" for p in ("allowed", "denied"))
    for name, role in ((allowed, "client"), (denied, "other")):
        core.create_namespaced_pod(NS, {"metadata": {"name": name, "labels": {"role": role}}, "spec": {
            "terminationGracePeriodSeconds": 1, "containers": [{"name": "main", "image": "gameday-test/shell"}]}})
    net.create_namespaced_network_policy(NS, {"metadata": {"name": "web-from-clients"}, "spec": {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                     "ports": [{"port": 8080}]}]}})
    try:
        for name in (allowed, denied):
            eventually(lambda name=name: core.read_namespaced_pod(name, NS).status.phase == "Running",
                       what=f"{name} running")
        eventually(lambda: not _serves(url), what="host refused")

        def fetch(pod):
            return kubectl(bare_sandbox, "exec", pod, "-n", NS, "--", "curl", "-s", "-o", "/dev/null", "-w",
                           "%{http_code}", "--max-time", "10", "http://web.sbtest.svc.cluster.local:80/",
                           check=False).stdout.strip()
        assert eventually(lambda: fetch(allowed) == "200", what="allowed pod served")
        assert fetch(denied) != "200"
    finally:
        net.delete_namespaced_network_policy("web-from-clients", NS)
        for name in (allowed, denied):
            core.delete_namespaced_pod(name, NS, grace_period_seconds=0)
    eventually(lambda: _serves(url), what="host served again")


def test_recreate_and_progress_deadline(bare_sandbox, apps, core):
    name = f"rec-{uuid.uuid4().hex[:6]}"
    labels = {"app": name}
    apps.create_namespaced_deployment(NS, {"metadata": {"name": name}, "spec": {
        "replicas": 2, "selector": {"matchLabels": labels}, "strategy": {"type": "Recreate"},
        "progressDeadlineSeconds": 3, "revisionHistoryLimit": 1,
        "template": {"metadata": {"labels": labels}, "spec": {"terminationGracePeriodSeconds": 1, "containers": [
            {"name": "main", "image": "gameday-test/shell"}]}}}})
    kubectl(bare_sandbox, "rollout", "status", f"deployment/{name}", "-n", NS, "--timeout=120s")
    old = {p.metadata.uid for p in core.list_namespaced_pod(NS, label_selector=f"app={name}").items}
    kubectl(bare_sandbox, "set", "image", f"deployment/{name}", "-n", NS, "main=gameday-test/crash")
    # Recreate: every old pod goes before a new one starts.
    eventually(lambda: not ({p.metadata.uid for p in core.list_namespaced_pod(NS, label_selector=f"app={name}").items}
                            & old), what="old pods gone")
    result = eventually(lambda: (lambda r: r.returncode != 0 and "exceeded its progress deadline" in r.stderr and r)(
        kubectl(bare_sandbox, "rollout", "status", f"deployment/{name}", "-n", NS, "--timeout=20s", check=False)),
        what="progress deadline exceeded")
    assert result.returncode != 0
    d = apps.read_namespaced_deployment(name, NS)
    progressing = {c.type: c for c in d.status.conditions}["Progressing"]
    assert progressing.status == "False" and progressing.reason == "ProgressDeadlineExceeded"
    for image in ("gameday-test/web", "gameday-test/shell:2"):
        kubectl(bare_sandbox, "set", "image", f"deployment/{name}", "-n", NS, f"main={image}")
    # revisionHistoryLimit 1: one old ReplicaSet kept besides the current one.
    eventually(lambda: len(apps.list_namespaced_replica_set(NS, label_selector=f"app={name}").items) == 2,
               what="old ReplicaSets pruned")
    apps.delete_namespaced_deployment(name, NS)
    eventually(lambda: not core.list_namespaced_pod(NS, label_selector=f"app={name}").items, what="pods collected")
