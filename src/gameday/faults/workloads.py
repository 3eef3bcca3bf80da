"""workload-scale and set-image: change a Deployment or StatefulSet and
remember, on the object itself, what it was."""
from __future__ import annotations

from ..chaos.kube import apps, ignore_not_found
from ..errors import UserError
from . import marks
from .base import FaultKind, Param

KINDS = ("deployment", "statefulset")
_WORKLOAD = (
    Param("kind", "choice", "deployment or statefulset", "deployment", KINDS),
    Param("name", "name", "the workload's name"),
    Param("namespace", "name", "its namespace"),
)


def _read(configuration, kind, name, namespace):
    api = apps(configuration)
    fn = api.read_namespaced_deployment if kind == "deployment" else api.read_namespaced_stateful_set
    return fn(name, namespace, _request_timeout=10)


def _patch(configuration, kind, name, namespace, body):
    api = apps(configuration)
    fn = api.patch_namespaced_deployment if kind == "deployment" else api.patch_namespaced_stateful_set
    return ignore_not_found(fn, name, namespace, body)


def _ann(value):
    return {"metadata": {"annotations": {marks.RESTORE: value}}}


def _scale(configuration, ledger, fault_id, kind, name, namespace, replicas, **_):
    obj = _read(configuration, kind, name, namespace)
    previous = obj.spec.replicas if obj.spec.replicas is not None else 1
    value = marks.with_entry(obj.metadata, ledger, "workload-scale", fault_id, {"replicas": previous})
    _patch(configuration, kind, name, namespace, {**_ann(value), "spec": {"replicas": int(replicas)}})
    return {"previous": previous}


def _unscale(configuration, state, kind, name, namespace, **_):
    from kubernetes.client.rest import ApiException
    try:
        obj = _read(configuration, kind, name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise
    restore_workload(configuration, kind, obj, marks.pick(marks.restore_entries(obj.metadata), "workload-scale", state))


def restore_workload(configuration, kind: str, obj, entries: list[tuple[str, dict]]) -> None:
    """Put back what workload-scale / set-image entries recorded (the oldest
    entry per field holds the value from before any fault); drop them."""
    if not entries:
        return
    spec: dict = {}
    images: dict[str, str] = {}
    for _, entry in reversed(entries):  # newest first, so the oldest wins
        undo = entry.get("undo") or {}
        if entry.get("kind") == "workload-scale" and "replicas" in undo:
            spec["replicas"] = int(undo["replicas"])
        if entry.get("kind") == "set-image" and undo.get("container"):
            images[undo["container"]] = undo["image"]
    if images:
        spec["template"] = {"spec": {"containers": [{"name": c, "image": i} for c, i in images.items()]}}
    value = marks.without(marks.restore_entries(obj.metadata), [k for k, _ in entries])
    _patch(configuration, kind, obj.metadata.name, obj.metadata.namespace, {**_ann(value), "spec": spec})


WORKLOAD_SCALE = FaultKind(
    "workload-scale", "Scale a Deployment or StatefulSet to `replicas` (0: the service is gone).",
    _WORKLOAD + (Param("replicas", "int", "the replica count during the fault", 0),),
    "the previous replica count, recorded in annotation gameday.io/restore on the workload",
    _scale, _unscale)


def _set_image(configuration, ledger, fault_id, kind, name, namespace, image, container=None, **_):
    obj = _read(configuration, kind, name, namespace)
    target = next((c for c in obj.spec.template.spec.containers if container in (None, c.name)), None)
    if target is None:
        raise UserError(f"set-image: {kind} {namespace}/{name} has no container {container!r}")
    value = marks.with_entry(obj.metadata, ledger, "set-image", fault_id,
                             {"container": target.name, "image": target.image})
    _patch(configuration, kind, name, namespace, {**_ann(value), "spec": {"template": {"spec": {"containers": [
        {"name": target.name, "image": image}]}}}})
    return {"container": target.name, "previous": target.image}


def _unset_image(configuration, state, kind, name, namespace, container=None, **_):
    from kubernetes.client.rest import ApiException
    try:
        obj = _read(configuration, kind, name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise
    entries = marks.pick(marks.restore_entries(obj.metadata), "set-image", state,
                         lambda undo: container in (None, undo.get("container")))
    restore_workload(configuration, kind, obj, entries)


SET_IMAGE = FaultKind(
    "set-image", "Roll a workload's container out to another image (e.g. a release that cannot start).",
    _WORKLOAD + (
        Param("image", "str", "the image to roll out"),
        Param("container", "name", "the container (default: the first)", None),
    ),
    "the previous image, recorded in annotation gameday.io/restore on the workload",
    _set_image, _unset_image)
