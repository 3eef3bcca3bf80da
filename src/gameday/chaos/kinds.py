"""Fault kinds: what a preset of `gameday.yaml` (`kill-api-pod: {fault:
pod-kill, ...}`) or an inline Gherkin phrase injects. Parameters are targets,
never platform names.

`kinds()` is the one place the drill finds them: the `gameday.faults`
package when it is installed, else the kinds here, which do what the
harness's named faults always did (same interface: name, doc, params,
rollback_doc, validate, inject, rollback)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UserError


@dataclass(frozen=True)
class Param:
    name: str
    type: type | tuple[type, ...] = str
    required: bool = False
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class FaultKind:
    name: str
    doc: str
    params: tuple[Param, ...]
    rollback_doc: str
    _inject: Callable[..., dict | None]
    _rollback: Callable[..., None] | None = None

    def validate(self, params: dict, where: str) -> dict:
        """The parameters with defaults filled in; a mistake is one UserError line."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise UserError(f"{where}: fault {self.name} has no parameter {', '.join(map(repr, unknown))}; "
                            f"its parameters: {', '.join(known)}")
        out = {}
        for p in self.params:
            if p.name not in params:
                if p.required:
                    raise UserError(f"{where}: fault {self.name} needs parameter {p.name!r} ({p.doc})")
                if p.default is not None:
                    out[p.name] = p.default
                continue
            v = params[p.name]
            types = p.type if isinstance(p.type, tuple) else (p.type,)
            if float in types and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            if str in types and isinstance(v, (int, float)) and not isinstance(v, bool) and dict not in types:
                v = str(v)
            if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
                raise UserError(f"{where}: fault {self.name} parameter {p.name!r} must be "
                                f"{' or '.join(t.__name__ for t in types)}, got {v!r}")
            out[p.name] = v
        return out

    def inject(self, configuration: dict, ledger=None, **params) -> dict:
        return dict(self._inject(configuration, **params) or {})

    def rollback(self, configuration: dict, state: dict, **params) -> None:
        if self._rollback is not None:
            self._rollback(configuration, state, **params)


def _labels(selector: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (s.strip() for s in selector.split(","))):
        k, sep, v = part.partition("=")
        if not sep or not k:
            raise UserError(f"pod selector {selector!r}: write KEY=VALUE[,KEY=VALUE]")
        out[k.strip()] = v.strip()
    return out


def _policy_name(namespace: str, pods: str) -> str:
    return "gameday-network-cut-" + hashlib.sha1(f"{namespace}/{pods}".encode()).hexdigest()[:8]


# --- pod-kill ----------------------------------------------------------------------
def _pod_kill(configuration, selector, namespace, count=1, all=False, grace=0, **_):
    from . import workload
    return {"killed": workload.kill_pods(selector, namespace, qty=count, all=all, grace_period=grace,
                                         configuration=configuration)}


# --- workload-scale ----------------------------------------------------------------
def _scale(configuration, kind, name, namespace, replicas, **_):
    from .kube import apps
    api = apps(configuration)
    read = api.read_namespaced_stateful_set if kind == "statefulset" else api.read_namespaced_deployment
    previous = read(name, namespace, _request_timeout=10).spec.replicas
    _set_replicas(configuration, kind, name, namespace, replicas)
    return {"previous_replicas": 1 if previous is None else int(previous)}


def _set_replicas(configuration, kind, name, namespace, replicas):
    from . import workload
    (workload.scale_statefulset if kind == "statefulset" else workload.scale_deployment)(
        name, int(replicas), namespace, configuration)


def _unscale(configuration, state, kind, name, namespace, **_):
    if "previous_replicas" in state:
        _set_replicas(configuration, kind, name, namespace, state["previous_replicas"])


# --- network-cut -------------------------------------------------------------------
def _cut(configuration, namespace, pods, policy=None, **_):
    from . import network
    return {"policy": network.deny_ingress(policy or _policy_name(namespace, pods), namespace, _labels(pods), configuration)}


def _uncut(configuration, state, namespace, pods, policy=None, **_):
    from . import network
    network.remove_policy(state.get("policy") or policy or _policy_name(namespace, pods), namespace, configuration)


# --- config-set --------------------------------------------------------------------
def _config_set(configuration, configmap, namespace, key, value, **_):
    from .kube import core
    api = core(configuration)
    data = api.read_namespaced_config_map(configmap, namespace, _request_timeout=10).data or {}
    api.patch_namespaced_config_map(configmap, namespace, {"data": {key: str(value)}})
    return {"previous": data.get(key), "had_key": key in data}


def _config_restore(configuration, state, configmap, namespace, key, **_):
    from .kube import core
    if not state:
        return
    # JSON merge semantics: null removes a key that was absent before
    core(configuration).patch_namespaced_config_map(
        configmap, namespace, {"data": {key: state.get("previous") if state.get("had_key") else None}})


# --- set-image ---------------------------------------------------------------------
def _set_image(configuration, workload, namespace, image, container=None, **_):
    from . import workload as wl
    return {"previous_image": wl.set_image(workload, image, namespace, container=container, configuration=configuration)}


def _restore_image(configuration, state, workload, namespace, container=None, **_):
    from . import workload as wl
    if state.get("previous_image"):
        wl.ensure_image(workload, state["previous_image"], namespace, container=container, configuration=configuration)


# --- node-drain --------------------------------------------------------------------
def _drain(configuration, node=None, pod_selector=None, namespace=None, **_):
    from . import workload
    return {"evicted": workload.drain_node(node=node, pod_selector=pod_selector, ns=namespace,
                                           configuration=configuration)}


def _undrain(configuration, state, **_):
    from . import workload
    workload.uncordon_all_nodes(configuration=configuration)


# --- accelerator-hog ---------------------------------------------------------------
def _hog(configuration, namespace, beside, fraction=0.95, hold=60.0, **_):
    from . import accelerator
    return {"node": accelerator.start_hog(namespace, beside, fraction=fraction, hold_seconds=hold,
                                          configuration=configuration)}


def _unhog(configuration, state, namespace, **_):
    from . import accelerator
    accelerator.stop_hog(namespace, configuration=configuration)


_NUM = (int, float)
LOCAL_KINDS: dict[str, FaultKind] = {k.name: k for k in (
    FaultKind("pod-kill", "Delete running pods matching a selector (grace 0: a crash).",
              (Param("selector", required=True, doc="label selector of the pods"),
               Param("namespace", required=True, doc="their namespace"),
               Param("count", int, default=1, doc="how many"), Param("all", bool, default=False, doc="every one"),
               Param("grace", int, default=0, doc="grace period seconds")),
              "none: the workload's controller replaces the pods", _pod_kill),
    FaultKind("workload-scale", "Scale a Deployment or StatefulSet.",
              (Param("kind", required=True, doc="deployment or statefulset"), Param("name", required=True),
               Param("namespace", required=True), Param("replicas", int, required=True)),
              "back to the previous replica count", _scale, _unscale),
    FaultKind("network-cut", "Deny all ingress to pods with a NetworkPolicy.",
              (Param("namespace", required=True), Param("pods", required=True, doc="label selector KEY=VALUE"),
               Param("policy", doc="the NetworkPolicy's name (default: derived from the pods)")),
              "delete the NetworkPolicy", _cut, _uncut),
    FaultKind("config-set", "Set a key of a ConfigMap.",
              (Param("configmap", required=True), Param("namespace", required=True), Param("key", required=True),
               Param("value", required=True)),
              "the previous value, or the key removed if it was absent", _config_set, _config_restore),
    FaultKind("set-image", "Roll a Deployment out to another image.",
              (Param("workload", required=True, doc="the Deployment"), Param("namespace", required=True),
               Param("image", required=True), Param("container")),
              "the previous image", _set_image, _restore_image),
    FaultKind("node-drain", "Cordon a node and evict its pods (those matching pod_selector).",
              (Param("node"), Param("pod_selector"), Param("namespace")),
              "uncordon", _drain, _undrain),
    FaultKind("accelerator-hog", "Take a node's accelerator memory with a pod beside the pods named.",
              (Param("namespace", required=True), Param("beside", required=True, doc="selector of the pod to sit beside"),
               Param("fraction", float, default=0.95), Param("hold", _NUM, default=60.0, doc="seconds")),
              "delete the hog pod", _hog, _unhog),
)}


def kinds() -> dict[str, Any]:
    """The fault kinds: `gameday.faults.KINDS` when that package exists."""
    try:
        from gameday.faults import KINDS  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name not in ("gameday.faults",):
            raise
        return LOCAL_KINDS
    return KINDS
