"""accelerator-hog: a pod pinned to a node that takes a fraction of its
accelerator's memory (`hpu-hog --fraction F --hold S --backend B`), the
out-of-memory a greedy neighbour job causes. The hog reuses the image,
environment and hostPath mounts (the node's device) of a pod already using
the accelerator there (`like`), or runs `image`."""
from __future__ import annotations

from ..chaos.kube import core, ignore_not_found
from ..errors import UserError
from . import marks
from .base import FaultKind, Param, parse_selector

BACKENDS = ("sim", "hpu", "cuda")


def _pod_name(fault_id: str) -> str:
    return f"gameday-accel-hog-{fault_id}"[:63].rstrip("-")


def hog_pod(name, namespace, node, fraction, hold, backend, image, like, labels, command) -> dict:
    """Pure: the hog pod's manifest. `like` is a client model of a pod to copy
    the image, env and hostPath mounts of (or None)."""
    env, volumes, mounts = [], [], []
    if like is not None:
        c = like.spec.containers[0]
        image = image or c.image
        host_volumes = [v for v in like.spec.volumes or [] if v.host_path is not None]
        names = {v.name for v in host_volumes}
        volumes = [{"name": v.name, "hostPath": {"path": v.host_path.path, **(
            {"type": v.host_path.type} if v.host_path.type else {})}} for v in host_volumes]
        mounts = [{"name": m.name, "mountPath": m.mount_path} for m in c.volume_mounts or [] if m.name in names]
        env = [{"name": e.name, "value": e.value} for e in c.env or [] if e.value is not None]
    argv = [command, "--fraction", f"{fraction:g}", "--hold", f"{hold:g}s"] + (["--backend", backend] if backend else [])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"nodeName": node, "restartPolicy": "Never", "terminationGracePeriodSeconds": 5,
                     "volumes": volumes,
                     "containers": [{"name": "accelerator-hog", "image": image, "command": argv, "env": env,
                                     "volumeMounts": mounts}]}}


def _hog(configuration, ledger, fault_id, namespace, node_selector=None, like=None, fraction=0.95, hold=60.0,
         backend=None, image=None, command="hpu-hog", **_):
    api = core(configuration)
    like_pod, node = None, None
    if like:
        pods = [p for p in api.list_namespaced_pod(namespace, label_selector=like, _request_timeout=10).items
                if p.spec.node_name and not p.metadata.deletion_timestamp]
        if node_selector:
            wanted = {n.metadata.name for n in api.list_node(label_selector=node_selector, _request_timeout=10).items}
            pods = [p for p in pods if p.spec.node_name in wanted]
        if not pods:
            raise UserError(f"accelerator-hog: no scheduled pod matches {like!r} in namespace {namespace}")
        like_pod, node = pods[0], pods[0].spec.node_name
    else:
        nodes = api.list_node(label_selector=node_selector, _request_timeout=10).items
        if not nodes:
            raise UserError(f"accelerator-hog: no node matches {node_selector!r}")
        node = nodes[0].metadata.name
    if like_pod is None and not image:
        raise UserError("accelerator-hog: give `image` (or `like`, a pod whose image and device mounts to reuse)")
    name = _pod_name(fault_id)
    body = hog_pod(name, namespace, node, fraction, hold, backend, image, like_pod,
                   marks.created_labels(ledger, "accelerator-hog", fault_id), command)
    api.create_namespaced_pod(namespace, body)
    return {"pod": name, "node": node}


def _unhog(configuration, state, namespace, **_):
    api = core(configuration)
    sel = f"{marks.FAULT}=accelerator-hog" + (f",{marks.FAULT_ID}={state['id']}" if state.get("id") else "")
    # Its SIGTERM frees the memory at once.
    for p in api.list_namespaced_pod(namespace, label_selector=sel, _request_timeout=10).items:
        ignore_not_found(api.delete_namespaced_pod, p.metadata.name, namespace, grace_period_seconds=5)


def _check(p: dict, where: str) -> None:
    if not p.get("node_selector") and not p.get("like"):
        raise UserError(f"{where}: give node_selector or like (or both)")
    if p.get("node_selector"):
        parse_selector(p["node_selector"])


ACCELERATOR_HOG = FaultKind(
    "accelerator-hog", "Take `fraction` of a node's accelerator memory for `hold` seconds with a hog pod.",
    (Param("namespace", "name", "namespace of the hog pod"),
     Param("node_selector", "selector", "label selector of the node(s); the first is used", None),
     Param("like", "selector", "a pod on that node whose image, env and device mounts the hog reuses", None),
     Param("fraction", "fraction", "share of the accelerator's memory", 0.95),
     Param("hold", "duration", "how long to hold it (seconds or 30s, 2m)", 60.0),
     Param("backend", "choice", "device backend passed to the hog (default: the node's)", None, BACKENDS),
     Param("image", "str", "the hog's image (default: the `like` pod's)", None),
     Param("command", "str", "the hog program", "hpu-hog")),
    "delete the hog pod (labelled gameday.io/fault-id); its SIGTERM frees the memory at once",
    _hog, _unhog, _check)
