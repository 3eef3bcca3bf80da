"""kube-state-metrics compatibility: the sandbox's series have the names,
types and label names of kube-state-metrics v2 (DOCS is transcribed from its
docs/metrics/*/…-metrics.md), the values follow its generators, and the
discovery server serves them (with job="kube-state-metrics" on the target)."""
from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gameday.sandbox import kubestate

from .helpers import eventually

# Metric name -> (type, label names), from kube-state-metrics' metric docs.
_POD = ("namespace", "pod", "uid")
_CONTAINER = ("namespace", "pod", "uid", "container")
DOCS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kube_pod_info": ("gauge", _POD + ("host_ip", "pod_ip", "node", "created_by_kind", "created_by_name",
                                       "priority_class", "host_network")),
    "kube_pod_owner": ("gauge", _POD + ("owner_kind", "owner_name", "owner_is_controller")),
    "kube_pod_labels": ("gauge", _POD),
    "kube_pod_created": ("gauge", _POD),
    "kube_pod_start_time": ("gauge", _POD),
    "kube_pod_status_phase": ("gauge", _POD + ("phase",)),
    "kube_pod_status_ready": ("gauge", _POD + ("condition",)),
    "kube_pod_status_scheduled": ("gauge", _POD + ("condition",)),
    "kube_pod_status_unschedulable": ("gauge", _POD),
    "kube_pod_status_reason": ("gauge", _POD + ("reason",)),
    "kube_pod_status_qos_class": ("gauge", _POD + ("qos_class",)),
    "kube_pod_restart_policy": ("gauge", _POD + ("type",)),
    "kube_pod_container_info": ("gauge", _CONTAINER + ("image", "image_id", "image_spec", "container_id")),
    "kube_pod_container_status_waiting": ("gauge", _CONTAINER),
    "kube_pod_container_status_waiting_reason": ("gauge", _CONTAINER + ("reason",)),
    "kube_pod_container_status_running": ("gauge", _CONTAINER),
    "kube_pod_container_status_terminated": ("gauge", _CONTAINER),
    "kube_pod_container_status_terminated_reason": ("gauge", _CONTAINER + ("reason",)),
    "kube_pod_container_status_last_terminated_reason": ("gauge", _CONTAINER + ("reason",)),
    "kube_pod_container_status_last_terminated_exitcode": ("gauge", _CONTAINER),
    "kube_pod_container_status_ready": ("gauge", _CONTAINER),
    "kube_pod_container_status_restarts_total": ("counter", _CONTAINER),
    "kube_pod_container_resource_requests": ("gauge", _CONTAINER + ("node", "resource", "unit")),
    "kube_pod_container_resource_limits": ("gauge", _CONTAINER + ("node", "resource", "unit")),
    "kube_pod_spec_volumes_persistentvolumeclaims_info": ("gauge", _POD + ("volume", "persistentvolumeclaim",
                                                                           "ephemeral")),
    **{f"kube_deployment_{n}": ("gauge", ("namespace", "deployment")) for n in (
        "spec_replicas", "spec_paused", "status_replicas", "status_replicas_ready", "status_replicas_available",
        "status_replicas_unavailable", "status_replicas_updated", "status_observed_generation",
        "metadata_generation", "created", "labels", "spec_strategy_rollingupdate_max_unavailable",
        "spec_strategy_rollingupdate_max_surge")},
    "kube_deployment_status_condition": ("gauge", ("namespace", "deployment", "reason", "condition", "status")),
    **{f"kube_statefulset_{n}": ("gauge", ("namespace", "statefulset")) for n in (
        "replicas", "status_replicas", "status_replicas_current", "status_replicas_ready",
        "status_replicas_available", "status_replicas_updated", "status_observed_generation",
        "metadata_generation", "created", "labels")},
    "kube_statefulset_status_current_revision": ("gauge", ("namespace", "statefulset", "revision")),
    "kube_statefulset_status_update_revision": ("gauge", ("namespace", "statefulset", "revision")),
    **{f"kube_daemonset_{n}": ("gauge", ("namespace", "daemonset")) for n in (
        "status_current_number_scheduled", "status_desired_number_scheduled", "status_number_available",
        "status_number_misscheduled", "status_number_ready", "status_number_unavailable",
        "status_observed_generation", "status_updated_number_scheduled", "metadata_generation", "created")},
    **{f"kube_replicaset_{n}": ("gauge", ("namespace", "replicaset")) for n in (
        "spec_replicas", "status_replicas", "status_ready_replicas", "status_fully_labeled_replicas",
        "status_observed_generation", "metadata_generation", "created")},
    "kube_replicaset_owner": ("gauge", ("namespace", "replicaset", "owner_kind", "owner_name", "owner_is_controller")),
    **{f"kube_job_{n}": ("gauge", ("namespace", "job_name")) for n in (
        "info", "spec_completions", "spec_parallelism", "status_active", "status_succeeded", "status_start_time",
        "created")},
    "kube_job_status_failed": ("gauge", ("namespace", "job_name", "reason")),
    "kube_job_failed": ("gauge", ("namespace", "job_name", "condition")),
    "kube_job_complete": ("gauge", ("namespace", "job_name", "condition")),
    "kube_job_owner": ("gauge", ("namespace", "job_name", "owner_kind", "owner_name", "owner_is_controller")),
    **{f"kube_horizontalpodautoscaler_{n}": ("gauge", ("namespace", "horizontalpodautoscaler")) for n in (
        "spec_max_replicas", "spec_min_replicas", "status_current_replicas", "status_desired_replicas",
        "metadata_generation")},
    "kube_horizontalpodautoscaler_status_condition": ("gauge", ("namespace", "horizontalpodautoscaler",
                                                                "condition", "status")),
    "kube_horizontalpodautoscaler_spec_target_metric": ("gauge", ("namespace", "horizontalpodautoscaler",
                                                                  "metric_name", "metric_target_type", "container")),
    **{f"kube_poddisruptionbudget_{n}": ("gauge", ("namespace", "poddisruptionbudget")) for n in (
        "status_current_healthy", "status_desired_healthy", "status_pod_disruptions_allowed",
        "status_expected_pods", "status_observed_generation", "created")},
    "kube_node_info": ("gauge", ("node", "kernel_version", "os_image", "container_runtime_version",
                                 "kubelet_version", "kubeproxy_version", "provider_id", "pod_cidr", "system_uuid",
                                 "internal_ip")),
    "kube_node_spec_unschedulable": ("gauge", ("node",)),
    "kube_node_spec_taint": ("gauge", ("node", "key", "value", "effect")),
    "kube_node_status_capacity": ("gauge", ("node", "resource", "unit")),
    "kube_node_status_allocatable": ("gauge", ("node", "resource", "unit")),
    "kube_node_status_condition": ("gauge", ("node", "condition", "status")),
    "kube_persistentvolumeclaim_info": ("gauge", ("namespace", "persistentvolumeclaim", "storageclass", "volumename",
                                                  "volumemode")),
    "kube_persistentvolumeclaim_status_phase": ("gauge", ("namespace", "persistentvolumeclaim", "phase")),
    "kube_persistentvolumeclaim_resource_requests_storage_bytes": ("gauge", ("namespace", "persistentvolumeclaim")),
    "kube_persistentvolumeclaim_access_mode": ("gauge", ("namespace", "persistentvolumeclaim", "access_mode")),
}

T0 = "2026-01-02T03:04:05Z"
OWNER = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9", "uid": "rs-uid", "controller": True}]


def _objects() -> dict[tuple[str, str], list[dict]]:
    meta = lambda name, **kw: {"name": name, "namespace": "shop", "uid": f"{name}-uid",  # noqa: E731
                               "creationTimestamp": T0, "generation": 3, **kw}
    return {
        ("", "pods"): [{
            "metadata": meta("web-5d9-x", ownerReferences=OWNER),
            "spec": {"nodeName": "node-a", "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}],
                     "containers": [{"name": "main", "image": "web:1", "resources": {
                         "requests": {"cpu": "250m", "memory": "64Mi", "habana.ai/gaudi": "1"},
                         "limits": {"memory": "128Mi"}}}]},
            "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.7", "startTime": T0,
                       "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": T0},
                                      {"type": "Ready", "status": "False"}],
                       "containerStatuses": [{"name": "main", "image": "web:1", "ready": False, "restartCount": 4,
                                              "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                              "lastState": {"terminated": {"reason": "Error", "exitCode": 2}}}]},
        }, {
            "metadata": meta("pending-x", ownerReferences=OWNER),
            "spec": {"containers": [{"name": "main", "image": "web:1"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                           "reason": "Unschedulable"}]},
        }, {
            "metadata": meta("evicted-x", ownerReferences=OWNER),
            "spec": {"nodeName": "node-a", "containers": [{"name": "main", "image": "web:1"}]},
            "status": {"phase": "Failed", "reason": "Evicted", "containerStatuses": [{
                "name": "main", "image": "web:1", "ready": False, "restartCount": 0,
                "state": {"terminated": {"reason": "Error", "exitCode": 137, "finishedAt": T0}}}]},
        }],
        ("apps", "deployments"): [{
            "metadata": meta("web"), "spec": {"replicas": 4, "strategy": {"rollingUpdate": {
                "maxUnavailable": "25%", "maxSurge": "30%"}}},
            "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "readyReplicas": 3,
                       "availableReplicas": 3, "unavailableReplicas": 1,
                       "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                                      {"type": "Progressing", "status": "True", "reason": "SomethingNew"}]}}],
        ("apps", "statefulsets"): [{
            "metadata": meta("db"), "spec": {"replicas": 2},
            "status": {"replicas": 2, "readyReplicas": 1, "currentReplicas": 2, "updatedReplicas": 2,
                       "availableReplicas": 1, "observedGeneration": 3, "currentRevision": "db-1",
                       "updateRevision": "db-2"}}],
        ("apps", "daemonsets"): [{
            "metadata": meta("agent"), "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 2,
                                                  "numberReady": 2, "numberAvailable": 2, "numberUnavailable": 1}}],
        ("apps", "replicasets"): [{
            "metadata": meta("web-5d9", ownerReferences=[{"kind": "Deployment", "name": "web", "controller": True}]),
            "spec": {"replicas": 4}, "status": {"replicas": 4, "readyReplicas": 3}}],
        ("batch", "jobs"): [{
            "metadata": meta("migrate"), "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 1},
            "status": {"failed": 2, "startTime": T0, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}},
            {"metadata": meta("backup"), "spec": {"completions": 1, "parallelism": 1},
             "status": {"succeeded": 1, "startTime": T0, "completionTime": T0,
                        "conditions": [{"type": "Complete", "status": "True"}]}}],
        ("autoscaling", "horizontalpodautoscalers"): [{
            "metadata": meta("web"), "spec": {"maxReplicas": 4, "scaleTargetRef": {
                "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": 60}}}]},
            "status": {"currentReplicas": 4, "desiredReplicas": 4,
                       "conditions": [{"type": "ScalingLimited", "status": "True"}]}}],
        ("policy", "poddisruptionbudgets"): [{
            "metadata": meta("web"), "status": {"currentHealthy": 3, "desiredHealthy": 3, "disruptionsAllowed": 0,
                                                "expectedPods": 4, "observedGeneration": 3}}],
        ("", "nodes"): [{
            "metadata": {"name": "node-a", "creationTimestamp": T0, "labels": {"node-role.kubernetes.io/gpu": ""}},
            "spec": {"unschedulable": True, "taints": [{"key": "node.kubernetes.io/unschedulable",
                                                        "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110", "habana.ai/gaudi": "8"},
                       "allocatable": {"cpu": "1500m", "memory": "3Gi", "pods": "110", "habana.ai/gaudi": "8"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "conditions": [{"type": "Ready", "status": "Unknown"}]}}],
        ("", "persistentvolumeclaims"): [{
            "metadata": meta("c"), "spec": {"storageClassName": "standard", "volumeName": "pv-1",
                                            "accessModes": ["ReadWriteOnce"],
                                            "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound"}}],
    }


@pytest.fixture(scope="module")
def exported():
    """name -> {frozenset(labels.items()): value}, and name -> type, parsed back from the exposition."""
    text = kubestate.exposition(kubestate.families(_objects()))
    values: dict[str, dict[frozenset, float]] = {}
    types: dict[str, str] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            values.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
            types[s.name] = "counter" if fam.type == "counter" else fam.type
    return values, types


def _value(exported, name: str, **labels) -> float | None:
    want = set(labels.items())
    hits = [v for k, v in exported[0].get(name, {}).items() if want <= set(k)]
    assert len(hits) <= 1, f"{name}{labels} matches {len(hits)} series"
    return hits[0] if hits else None


@pytest.mark.parametrize("name", sorted(DOCS))
def test_names_types_and_labels_are_kube_state_metrics(exported, name):
    kind, labels = DOCS[name]
    values, types = exported
    assert name in values, f"{name} is not exported"
    assert types[name] == kind
    for series in values[name]:
        got = {k for k, _ in series}
        if name == "kube_job_status_failed" and "reason" not in got:
            got.add("reason")  # kube-state-metrics, too, leaves `reason` out while nothing failed
        assert got == set(labels), f"{name}: labels {sorted(k for k, _ in series)}"


def test_pod_state(exported):
    pod = {"namespace": "shop", "pod": "web-5d9-x", "uid": "web-5d9-x-uid"}
    c = {**pod, "container": "main"}
    assert _value(exported, "kube_pod_status_phase", **pod, phase="Running") == 1
    assert _value(exported, "kube_pod_status_phase", **pod, phase="Pending") == 0
    assert _value(exported, "kube_pod_status_ready", **pod, condition="false") == 1
    assert _value(exported, "kube_pod_status_ready", **pod, condition="true") == 0
    assert _value(exported, "kube_pod_container_status_waiting_reason", **c, reason="CrashLoopBackOff") == 1
    assert _value(exported, "kube_pod_container_status_restarts_total", **c) == 4
    assert _value(exported, "kube_pod_container_status_last_terminated_reason", **c, reason="Error") == 1
    assert _value(exported, "kube_pod_container_status_last_terminated_exitcode", **c) == 2
    assert _value(exported, "kube_pod_container_status_terminated_reason", **c) is None  # not terminated now
    assert _value(exported, "kube_pod_owner", **pod, owner_kind="ReplicaSet", owner_name="web-5d9",
                  owner_is_controller="true") == 1
    assert _value(exported, "kube_pod_info", **pod, node="node-a", created_by_kind="ReplicaSet",
                  pod_ip="10.1.0.7", host_network="false") == 1
    assert _value(exported, "kube_pod_container_resource_requests", **c, resource="cpu", unit="core") == 0.25
    assert _value(exported, "kube_pod_container_resource_requests", **c, resource="memory", unit="byte") == 64 * 2**20
    assert _value(exported, "kube_pod_container_resource_requests", **c, resource="habana_ai_gaudi",
                  unit="integer") == 1
    assert _value(exported, "kube_pod_status_qos_class", **pod, qos_class="Burstable") == 1
    evicted = {"namespace": "shop", "pod": "evicted-x"}
    assert _value(exported, "kube_pod_status_reason", **evicted, reason="Evicted") == 1
    assert _value(exported, "kube_pod_container_status_terminated_reason", **evicted, reason="Error") == 1
    assert _value(exported, "kube_pod_status_reason", **pod) is None  # only a reason that is set has a series
    # A pod without a Ready condition has no kube_pod_status_ready series (as kube-state-metrics).
    pending = {"namespace": "shop", "pod": "pending-x"}
    assert _value(exported, "kube_pod_status_ready", **pending, condition="false") is None
    assert _value(exported, "kube_pod_status_unschedulable", **pending) == 1
    assert _value(exported, "kube_pod_status_scheduled", **pending, condition="false") == 1


def test_workload_state(exported):
    d = {"namespace": "shop", "deployment": "web"}
    assert _value(exported, "kube_deployment_metadata_generation", **d) == 3
    assert _value(exported, "kube_deployment_status_observed_generation", **d) == 2
    assert _value(exported, "kube_deployment_spec_strategy_rollingupdate_max_unavailable", **d) == 1  # 25% of 4, down
    assert _value(exported, "kube_deployment_spec_strategy_rollingupdate_max_surge", **d) == 2  # 30% of 4, up
    assert _value(exported, "kube_deployment_status_condition", **d, condition="Available",
                  reason="MinimumReplicasUnavailable", status="false") == 1
    assert _value(exported, "kube_deployment_status_condition", **d, condition="Progressing",
                  reason="unknown", status="true") == 1  # an unlisted reason, as kube-state-metrics
    s = {"namespace": "shop", "statefulset": "db"}
    assert _value(exported, "kube_statefulset_status_current_revision", **s, revision="db-1") == 1
    assert _value(exported, "kube_statefulset_status_update_revision", **s, revision="db-2") == 1
    j = {"namespace": "shop", "job_name": "migrate"}
    assert _value(exported, "kube_job_failed", **j, condition="true") == 1
    assert _value(exported, "kube_job_status_failed", **j, reason="BackoffLimitExceeded") == 1
    assert _value(exported, "kube_job_status_failed", **j, reason="DeadlineExceeded") == 0
    done = {"namespace": "shop", "job_name": "backup"}
    assert _value(exported, "kube_job_complete", **done, condition="true") == 1
    assert _value(exported, "kube_job_failed", **done, condition="true") is None  # no Failed condition, no series
    assert _value(exported, "kube_job_status_failed", **done) == 0
    h = {"namespace": "shop", "horizontalpodautoscaler": "web"}
    assert _value(exported, "kube_horizontalpodautoscaler_spec_min_replicas", **h) == 1  # the API's default
    assert _value(exported, "kube_horizontalpodautoscaler_spec_target_metric", **h, metric_name="cpu",
                  metric_target_type="utilization") == 60
    assert _value(exported, "kube_poddisruptionbudget_status_pod_disruptions_allowed",
                  namespace="shop", poddisruptionbudget="web") == 0
    assert _value(exported, "kube_daemonset_status_number_unavailable", namespace="shop", daemonset="agent") == 1


def test_node_and_claim_state(exported):
    n = {"node": "node-a"}
    assert _value(exported, "kube_node_spec_unschedulable", **n) == 1
    assert _value(exported, "kube_node_spec_taint", **n, key="node.kubernetes.io/unschedulable",
                  effect="NoSchedule") == 1
    assert _value(exported, "kube_node_status_condition", **n, condition="Ready", status="unknown") == 1
    assert _value(exported, "kube_node_status_capacity", **n, resource="habana_ai_gaudi", unit="integer") == 8
    assert _value(exported, "kube_node_status_allocatable", **n, resource="cpu", unit="core") == 1.5
    assert _value(exported, "kube_node_status_capacity", **n, resource="memory", unit="byte") == 4 * 2**30
    assert _value(exported, "kube_node_info", **n, internal_ip="10.0.0.1") == 1
    c = {"namespace": "shop", "persistentvolumeclaim": "c"}
    assert _value(exported, "kube_persistentvolumeclaim_status_phase", **c, phase="Bound") == 1
    assert _value(exported, "kube_persistentvolumeclaim_info", **c, storageclass="standard", volumename="pv-1") == 1
    assert _value(exported, "kube_persistentvolumeclaim_resource_requests_storage_bytes", **c) == 2**30


def test_a_kind_not_served_exports_no_family():
    objects = _objects()
    del objects[("policy", "poddisruptionbudgets")], objects[("apps", "daemonsets")]
    names = {f.name for f in kubestate.families(objects)}
    assert "kube_pod_status_phase" in names
    assert not any(n.startswith(("kube_poddisruptionbudget_", "kube_daemonset_")) for n in names)


def test_the_server_reads_only_the_kinds_this_sandbox_declares(monkeypatch):
    from gameday.sandbox import discovery_sd
    from gameday.sandbox.resources import NODE
    from gameday.sandbox.store import Store

    store = Store()
    store.create(NODE, {"metadata": {"name": "node-a"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    undeclared = ("poddisruptionbudgets", "daemonsets", "horizontalpodautoscalers")
    monkeypatch.setattr(discovery_sd, "RESOURCES", tuple(r for r in discovery_sd.RESOURCES
                                                         if r.plural not in undeclared))
    text = discovery_sd.state_metrics(store)
    assert 'kube_node_status_condition{node="node-a",condition="Ready",status="true"} 1' in text
    assert "kube_poddisruptionbudget_" not in text and "kube_daemonset_" not in text
    assert "kube_horizontalpodautoscaler_" not in text and "# TYPE kube_pod_status_phase gauge" in text


@pytest.mark.sandbox
def test_discovery_server_serves_the_series(bare_sandbox):
    from kubernetes import client

    from .helpers import api_client
    base = bare_sandbox.service_url("sandbox-discovery", "kube-system")
    with urllib.request.urlopen(base + "/targets", timeout=10) as resp:
        groups = json.load(resp)
    assert [g["labels"]["__metrics_path__"] for g in groups if g["labels"].get("job") == "kube-state-metrics"] \
        == ["/metrics"]
    name = f"ksm-{uuid.uuid4().hex[:6]}"
    with api_client(bare_sandbox) as api:
        batch = client.BatchV1Api(api)
        batch.create_namespaced_job("sbtest", {"metadata": {"name": name}, "spec": {"backoffLimit": 0, "template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "gameday-test/crash"}]}}}})
        try:
            def failed():
                with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
                    text = resp.read().decode()
                want = f'kube_job_failed{{namespace="sbtest",job_name="{name}",condition="true"}} 1'
                return text if want in text else None
            text = eventually(failed, what="kube_job_failed for the failed Job")
            families = {f.name: f for f in text_string_to_metric_families(text)}
            nodes = {n.metadata.name for n in client.CoreV1Api(api).list_node().items}
            ready = {s.labels["node"] for s in families["kube_node_status_condition"].samples
                     if s.labels["condition"] == "Ready" and s.labels["status"] == "true" and s.value == 1}
            assert nodes and ready == nodes
            assert any(s.labels.get("owner_kind") == "Job" and s.labels.get("owner_name") == name
                       for s in families["kube_pod_owner"].samples)
        finally:
            batch.delete_namespaced_job(name, "sbtest", propagation_policy="Background")
