"""Accelerator out of memory: run `hpu-hog` as a pod pinned to the node of the
pods named (`beside`, a label selector) so that it takes the accelerator
memory they need (the same fault on a real card). The hog pod reuses their
container's image, its environment and its hostPath mounts (the node's
device), but requests no accelerator of its own."""
from __future__ import annotations

from chaoslib.exceptions import ActivityFailed

from ..httpcheck import poll
from .kube import core, ignore_not_found

HOG_POD = "gameday-hpu-hog"


def start_hog(ns: str, beside: str, fraction: float = 0.95,
                  hold_seconds: float = 60, image: str | None = None, name: str = HOG_POD,
                  configuration=None, secrets=None) -> str:
    """Start the hog next to the first scheduled pod matching `beside`; returns its node."""
    api = core(configuration, secrets)
    pods = [p for p in api.list_namespaced_pod(ns, label_selector=beside, _request_timeout=10).items
                if p.spec.node_name and not p.metadata.deletion_timestamp]
    if not pods:
        raise ActivityFailed(f"no scheduled pod ({beside}) in {ns} to put the hog beside")
    peer = pods[0]
    tc = peer.spec.containers[0]
    host_volumes = [v for v in peer.spec.volumes or [] if v.host_path is not None]
    names = {v.name for v in host_volumes}
    san = api.api_client.sanitize_for_serialization
    body = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"app.kubernetes.io/managed-by": "gameday", "gameday.io/fault": "hpu-hog"}},
        "spec": {
            "nodeName": peer.spec.node_name,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5,
            "volumes": [san(v) for v in host_volumes],
            "containers": [{
                "name": "hpu-hog",
                "image": image or tc.image,
                "command": ["hpu-hog", "--fraction", str(fraction), "--hold", f"{float(hold_seconds)}s"],
                "env": [san(e) for e in tc.env or [] if e.value is not None],
                "volumeMounts": [san(m) for m in tc.volume_mounts or [] if m.name in names],
            }],
        },
    }
    ignore_not_found(api.delete_namespaced_pod, name, ns, grace_period_seconds=0)
    poll(lambda: _gone(api, name, ns), 30)
    api.create_namespaced_pod(ns, body)
    return peer.spec.node_name


def stop_hog(ns: str, name: str = HOG_POD, configuration=None, secrets=None) -> bool:
    """Delete the hog pod (its SIGTERM frees the memory at once); waits until gone."""
    api = core(configuration, secrets)
    ignore_not_found(api.delete_namespaced_pod, name, ns, grace_period_seconds=5)
    return bool(poll(lambda: _gone(api, name, ns), 60))


def _gone(api, name: str, ns: str) -> bool:
    from kubernetes.client.rest import ApiException
    try:
        api.read_namespaced_pod(name, ns, _request_timeout=10)
        return False
    except ApiException as exc:
        return exc.status == 404
