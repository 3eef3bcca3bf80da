"""config-set: set one key of a ConfigMap (a runtime setting: maintenance
mode, an injected latency); rollback puts back its value or its absence."""
from __future__ import annotations

from ..chaos.kube import core
from . import marks
from .base import FaultKind, Param


def _set(configuration, ledger, fault_id, configmap, namespace, key, value, **_):
    cm = core(configuration).read_namespaced_config_map(configmap, namespace, _request_timeout=10)
    data = cm.data or {}
    undo = {"key": key, "value": data.get(key), "absent": key not in data}
    ann = marks.with_entry(cm.metadata, ledger, "config-set", fault_id, undo)
    core(configuration).patch_namespaced_config_map(
        configmap, namespace, {"metadata": {"annotations": {marks.RESTORE: ann}}, "data": {key: str(value)}})
    return {"previous": undo["value"], "absent": undo["absent"]}


def restore_configmap(configuration, cm, entries: list[tuple[str, dict]]) -> None:
    if not entries:
        return
    data: dict = {}
    for _, entry in reversed(entries):  # the oldest wins
        undo = entry.get("undo") or {}
        if undo.get("key") is not None:
            data[undo["key"]] = None if undo.get("absent") else undo.get("value")
    value = marks.without(marks.restore_entries(cm.metadata), [k for k, _ in entries])
    from ..chaos.kube import ignore_not_found
    ignore_not_found(core(configuration).patch_namespaced_config_map, cm.metadata.name, cm.metadata.namespace,
                     {"metadata": {"annotations": {marks.RESTORE: value}}, "data": data})


def _unset(configuration, state, configmap, namespace, key, **_):
    from kubernetes.client.rest import ApiException
    try:
        cm = core(configuration).read_namespaced_config_map(configmap, namespace, _request_timeout=10)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise
    restore_configmap(configuration, cm, marks.pick(marks.restore_entries(cm.metadata), "config-set", state,
                                                    lambda undo: undo.get("key") == key))


CONFIG_SET = FaultKind(
    "config-set", "Set one key of a ConfigMap to a value.",
    (Param("configmap", "name", "the ConfigMap"), Param("namespace", "name", "its namespace"),
     Param("key", "str", "the key"), Param("value", "str", "the value during the fault")),
    "the key's previous value, or its absence, recorded in annotation gameday.io/restore on the ConfigMap",
    _set, _unset)
