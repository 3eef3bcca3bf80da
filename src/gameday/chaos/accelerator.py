"""HPU out of memory: run `hpu-hog` as a pod pinned to the trainer's node so
that it takes the accelerator memory the trainer needs (the same fault on a
real Gaudi card). The hog pod reuses the trainer container's image, its
environment and its hostPath mounts (the node's device), but requests no
accelerator of its own."""
from __future__ import annotations

from chaoslib.exceptions import ActivityFailed

from .kube import core, ignore_not_found, poll

HOG_POD = "gameday-hpu-hog"
TRAINER_SELECTOR = "app.kubernetes.io/component=trainer"


def start_hpu_hog(ns: str = "gaudi3-scale", trainer_selector: str = TRAINER_SELECTOR, fraction: float = 0.95,
                  hold_seconds: float = 60, image: str | None = None, name: str = HOG_POD,
                  configuration=None, secrets=None) -> str:
    """Start the hog next to the trainer; returns the node it runs on."""
    api = core(configuration, secrets)
    trainers = [p for p in api.list_namespaced_pod(ns, label_selector=trainer_selector, _request_timeout=10).items
                if p.spec.node_name and not p.metadata.deletion_timestamp]
    if not trainers:
        raise ActivityFailed(f"no scheduled trainer pod ({trainer_selector}) in {ns}")
    trainer = trainers[0]
    tc = trainer.spec.containers[0]
    host_volumes = [v for v in trainer.spec.volumes or [] if v.host_path is not None]
    names = {v.name for v in host_volumes}
    san = api.api_client.sanitize_for_serialization
    body = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"app.kubernetes.io/managed-by": "gameday", "gameday.io/fault": "hpu-hog"}},
        "spec": {
            "nodeName": trainer.spec.node_name,
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
    return trainer.spec.node_name


def stop_hpu_hog(ns: str = "gaudi3-scale", name: str = HOG_POD, configuration=None, secrets=None) -> bool:
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
