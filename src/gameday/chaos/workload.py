"""Pods, deployments and nodes: the faults and waits chaosk8s lacks (kill a
pod by selector, set an image, rollout undo, drain only some pods, wait until
a workload is ready)."""
from __future__ import annotations

import random

from chaoslib.exceptions import ActivityFailed

from ..httpcheck import poll
from .kube import apps, core, ignore_not_found

REVISION = "deployment.kubernetes.io/revision"


def _running_pods(ns: str, label_selector: str, configuration=None, secrets=None):
    pods = core(configuration, secrets).list_namespaced_pod(ns, label_selector=label_selector, _request_timeout=10).items
    return [p for p in pods if not p.metadata.deletion_timestamp and p.status and p.status.phase == "Running"]


def kill_pods(label_selector: str, ns: str = "default", qty: int = 1, all: bool = False, grace_period: int = 0,
              configuration=None, secrets=None) -> list[str]:
    """Delete `qty` running pods (or all) matching the selector, with no grace
    by default (a crash, not a shutdown). Returns their names."""
    pods = _running_pods(ns, label_selector, configuration, secrets)
    if not pods:
        raise ActivityFailed(f"no running pod matches {label_selector!r} in {ns}")
    victims = pods if all else random.sample(pods, min(qty, len(pods)))
    api = core(configuration, secrets)
    for p in victims:
        ignore_not_found(api.delete_namespaced_pod, p.metadata.name, ns, grace_period_seconds=grace_period)
    return [p.metadata.name for p in victims]


def _readiness(kind: str, obj, ns: str, configuration=None, secrets=None) -> bool:
    """gameday.ready over the object and its pods read now (the controller's
    status lags a pod that was just killed)."""
    from ..ready import workload_ready
    api = core(configuration, secrets)
    san = api.api_client.sanitize_for_serialization
    selector = ",".join(f"{k}={v}" for k, v in (obj.spec.selector.match_labels or {}).items())
    pods = api.list_namespaced_pod(ns, label_selector=selector, _request_timeout=10).items
    return workload_ready(kind, san(obj), [san(p) for p in pods])[0]


def deployment_ready(name: str, ns: str = "default", configuration=None, secrets=None) -> bool:
    """Probe: the deployment's rollout is complete and every replica ready."""
    dep = apps(configuration, secrets).read_namespaced_deployment(name, ns, _request_timeout=10)
    return _readiness("deployment", dep, ns, configuration, secrets)


def statefulset_ready(name: str, ns: str = "default", configuration=None, secrets=None) -> bool:
    """Probe: every replica of the StatefulSet is ready."""
    ss = apps(configuration, secrets).read_namespaced_stateful_set(name, ns, _request_timeout=10)
    return _readiness("statefulset", ss, ns, configuration, secrets)


def wait_deployment_ready(name: str, ns: str = "default", timeout: float = 120, configuration=None, secrets=None) -> bool:
    """Probe that waits (bounded) until the deployment is ready; False at the bound."""
    return bool(poll(lambda: deployment_ready(name, ns, configuration, secrets), timeout))


def wait_statefulset_ready(name: str, ns: str = "default", timeout: float = 120, configuration=None, secrets=None) -> bool:
    return bool(poll(lambda: statefulset_ready(name, ns, configuration, secrets), timeout))


def scale_statefulset(name: str, replicas: int, ns: str = "default", configuration=None, secrets=None) -> None:
    apps(configuration, secrets).patch_namespaced_stateful_set_scale(name, ns, {"spec": {"replicas": int(replicas)}})


def scale_deployment(name: str, replicas: int, ns: str = "default", configuration=None, secrets=None) -> None:
    apps(configuration, secrets).patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": int(replicas)}})


def set_image(name: str, image: str, ns: str = "default", container: str | None = None,
              configuration=None, secrets=None) -> str:
    """Roll the deployment out to another image (e.g. a broken release).
    Returns the image it had."""
    api = apps(configuration, secrets)
    dep = api.read_namespaced_deployment(name, ns, _request_timeout=10)
    containers = dep.spec.template.spec.containers
    target = next((c for c in containers if container in (None, c.name)), None)
    if target is None:
        raise ActivityFailed(f"deployment {ns}/{name} has no container {container!r}")
    api.patch_namespaced_deployment(name, ns, {"spec": {"template": {"spec": {"containers": [
        {"name": target.name, "image": image}]}}}})
    return target.image


def rollout_undo(name: str, ns: str = "default", configuration=None, secrets=None) -> int:
    """`kubectl rollout undo`: put back the pod template of the previous
    revision. Returns the revision rolled back to."""
    api = apps(configuration, secrets)
    dep = api.read_namespaced_deployment(name, ns, _request_timeout=10)
    selector = ",".join(f"{k}={v}" for k, v in (dep.spec.selector.match_labels or {}).items())
    rses = api.list_namespaced_replica_set(ns, label_selector=selector, _request_timeout=10).items
    owned = [rs for rs in rses if any(o.uid == dep.metadata.uid for o in rs.metadata.owner_references or [])]
    current = int((dep.metadata.annotations or {}).get(REVISION, "0"))
    older = sorted((rs for rs in owned if int((rs.metadata.annotations or {}).get(REVISION, "0")) < current),
                   key=lambda rs: int(rs.metadata.annotations[REVISION]))
    if not older:
        raise ActivityFailed(f"deployment {ns}/{name} has no previous revision to roll back to")
    previous = older[-1]
    template = api.api_client.sanitize_for_serialization(previous.spec.template)
    template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
    api.patch_namespaced_deployment(name, ns, [{"op": "replace", "path": "/spec/template", "value": template}])
    return int(previous.metadata.annotations[REVISION])


def ensure_image(name: str, image: str, ns: str = "default", container: str | None = None,
                 configuration=None, secrets=None) -> None:
    """Rollback for set_image: make sure the deployment runs `image`."""
    dep = apps(configuration, secrets).read_namespaced_deployment(name, ns, _request_timeout=10)
    c = next((c for c in dep.spec.template.spec.containers if container in (None, c.name)), None)
    if c is not None and c.image != image:
        set_image(name, image, ns, container, configuration, secrets)


def undo_if_image(name: str, image: str, ns: str = "default", container: str | None = None,
                  configuration=None, secrets=None) -> bool:
    """Rollback for a rollout to `image`: if the deployment still runs it,
    `rollout undo`. Idempotent; returns whether it undid anything."""
    dep = apps(configuration, secrets).read_namespaced_deployment(name, ns, _request_timeout=10)
    c = next((c for c in dep.spec.template.spec.containers if container in (None, c.name)), None)
    if c is None or c.image != image:
        return False
    rollout_undo(name, ns, configuration, secrets)
    return True


def drain_node(node: str | None = None, pod_selector: str | None = None, ns: str | None = None,
               configuration=None, secrets=None) -> list[str]:
    """`kubectl drain --pod-selector`: cordon the node (the trainer's node when
    not named) and evict the pods on it that match. Returns evicted pods."""
    from kubernetes import client
    api = core(configuration, secrets)
    node = node or _first_node(api)
    api.patch_node(node, {"spec": {"unschedulable": True}})
    field = f"spec.nodeName={node}"
    pods = (api.list_namespaced_pod(ns, label_selector=pod_selector, field_selector=field, _request_timeout=10) if ns
            else api.list_pod_for_all_namespaces(label_selector=pod_selector, field_selector=field, _request_timeout=10)).items
    evicted = []
    for p in pods:
        if p.metadata.deletion_timestamp:
            continue
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=p.metadata.name, namespace=p.metadata.namespace))
        ignore_not_found(api.create_namespaced_pod_eviction, p.metadata.name, p.metadata.namespace, body)
        evicted.append(p.metadata.name)
    return evicted


def uncordon_all_nodes(configuration=None, secrets=None) -> list[str]:
    """Rollback for a drain: every cordoned node schedulable again."""
    api = core(configuration, secrets)
    done = []
    for n in api.list_node(_request_timeout=10).items:
        if n.spec.unschedulable:
            api.patch_node(n.metadata.name, {"spec": {"unschedulable": False}})
            done.append(n.metadata.name)
    return done


def _first_node(api) -> str:
    nodes = api.list_node(_request_timeout=10).items
    if not nodes:
        raise ActivityFailed("the cluster has no node")
    return nodes[0].metadata.name




def canary_of(stable: dict, replicas: int) -> dict:
    """The canary of a Deployment (the runbook's `helm upgrade --set
    deployment.strategy=canary`, as Kubernetes does it): a second Deployment
    `<name>-canary` from the stable pod template, labelled version=canary,
    behind the same Service (traffic by replica share). Pure."""
    template = stable["spec"]["template"]
    labels = {**template.get("metadata", {}).get("labels", {}), "version": "canary"}
    selector = {**stable["spec"]["selector"].get("matchLabels", {}), "version": "canary"}
    meta = stable["metadata"]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{meta['name']}-canary", "namespace": meta["namespace"],
                     "labels": {**meta.get("labels", {}), "version": "canary"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                 "template": {**template, "metadata": {**template.get("metadata", {}), "labels": labels}}},
    }
