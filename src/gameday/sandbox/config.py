"""The sandbox's configuration: `deploy/sandbox/sandbox.yaml`.

Schema (every key optional; relative paths are relative to the file)::

    nodes:                               # the machines of the cluster, each with its own kubelet
      - name: sandbox-cpu-1
        labels: {node.kubernetes.io/instance-type: cpu-sim}
        capacity: {cpu: "4", memory: 8Gi, pods: "110"}
                                         # cpu/memory/pods default to this machine's
      - name: sandbox-accel-1
        labels: {accelerator.example/present: "true"}
        capacity: {vendor.example/accel: "8"} # extended resources are advertised as given
        taints: [{key: vendor.example/accel, value: present, effect: NoSchedule}]
    node: {name: ..., labels: ..., capacity: ...}
                                         # the older one-node form (exclusive with `nodes`)
    node_lifecycle:                      # kubelet heartbeats and the node lifecycle controller
      heartbeat_seconds: 2               # Lease renewal (Kubernetes: 10)
      grace_seconds: 8                   # no heartbeat for this long: NotReady/Unknown (Kubernetes: 40)
      default_toleration_seconds: 10     # a pod tolerating no not-ready/unreachable taint is
                                         # evicted after this (Kubernetes' admission default: 300)
    autoscaler:                          # the HorizontalPodAutoscaler controller
      sync_seconds: 15                   # Kubernetes: 15
      tolerance: 0.1                     # Kubernetes: 0.1
      downscale_stabilization_seconds: 30  # Kubernetes: 300
    catalogs: [images.yaml]              # image catalogs added to the built-in one, in order
    manifests: [../base, overlay]        # directories (or files) applied at `up`, in order;
                                         # later objects replace earlier ones of the same
                                         # apiVersion/kind/namespace/name
    crashloop: {base_seconds: 1, cap_seconds: 20}
                                         # CrashLoopBackOff back-off (Kubernetes: 10 / 300)
    releases:                            # Helm releases installed after the manifests, in order,
      - name: shop                       # with the real `helm` (upgrade --install) as the admin;
        chart: ../helm/shop              # the same release named again is an upgrade (a history)
        namespace: shop
        values: [../helm/shop/values-staging.yaml]   # optional, relative to this file
        set: {image.tag: "1.2"}          # optional, as `--set key=value`

A missing file means the defaults: three nodes (`DEFAULT_NODES`: two CPU
nodes and one accelerator node), the built-in catalog, no manifests."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import UserError

DEFAULT_CONFIG = Path("deploy/sandbox/sandbox.yaml")
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class NodeConfig:
    name: str = "sandbox-node"
    labels: dict = field(default_factory=dict)
    capacity: dict = field(default_factory=dict)
    taints: tuple[dict, ...] = ()


DEFAULT_NODES: tuple[NodeConfig, ...] = (
    NodeConfig("sandbox-cpu-1", {"node.kubernetes.io/instance-type": "cpu-sim"}),
    NodeConfig("sandbox-cpu-2", {"node.kubernetes.io/instance-type": "cpu-sim"}),
    NodeConfig("sandbox-accel-1", {"accelerator.example/present": "true", "node.kubernetes.io/instance-type": "accel-sim"},
               {"vendor.example/accel": "8"}),
)


@dataclass(frozen=True)
class LifecycleConfig:
    heartbeat_seconds: float = 2.0
    grace_seconds: float = 8.0
    default_toleration_seconds: float = 10.0


@dataclass(frozen=True)
class AutoscalerConfig:
    sync_seconds: float = 15.0
    tolerance: float = 0.1
    downscale_stabilization_seconds: float = 30.0


@dataclass(frozen=True)
class ReleaseConfig:
    """A Helm release the sandbox installs (gameday.sandbox.releases)."""
    name: str
    chart: Path
    namespace: str
    values: tuple[Path, ...] = ()
    set: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SandboxConfig:
    nodes: tuple[NodeConfig, ...] = DEFAULT_NODES
    catalogs: tuple[Path, ...] = ()
    manifests: tuple[Path, ...] = ()
    crashloop_base: float = 1.0
    crashloop_cap: float = 20.0
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    releases: tuple[ReleaseConfig, ...] = ()
    source: Path | None = None

    @property
    def node(self) -> NodeConfig:
        """The first node (the one node of a one-node sandbox)."""
        return self.nodes[0]


def _fail(path: Path, why: str) -> UserError:
    return UserError(f"{path}: {why}; fix the sandbox config (schema in gameday/sandbox/config.py)")


def _node(path: Path, where: str, node) -> NodeConfig:
    if not isinstance(node, dict):
        raise _fail(path, f"{where} must be a mapping with name, labels, capacity and taints")
    unknown = set(node) - {"name", "labels", "capacity", "taints"}
    if unknown:
        raise _fail(path, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = str(node.get("name") or "sandbox-node")
    if not _NODE_NAME.match(name):
        raise _fail(path, f"{where}.name {name!r} is not a valid node name (lower case, digits, '-', '.')")
    labels, capacity = node.get("labels") or {}, node.get("capacity") or {}
    if not isinstance(labels, dict) or not isinstance(capacity, dict):
        raise _fail(path, f"{where}.labels and {where}.capacity must be mappings")
    taints = node.get("taints") or []
    if not isinstance(taints, list) or not all(isinstance(t, dict) and t.get("key") and
                                               t.get("effect") in _EFFECTS for t in taints):
        raise _fail(path, f"{where}.taints must be a list of {{key, value, effect}} with effect one of "
                          + ", ".join(_EFFECTS))
    return NodeConfig(name, {str(k): str(v) for k, v in labels.items()},
                      {str(k): str(v) for k, v in capacity.items()},
                      tuple({k: str(t[k]) for k in ("key", "value", "effect") if t.get(k) is not None}
                            for t in taints))


def _numbers(path: Path, data: dict, key: str, cls):
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise _fail(path, f"{key} must be a mapping")
    names = {f for f in cls.__dataclass_fields__}
    unknown = set(section) - names
    if unknown:
        raise _fail(path, f"{key}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        values = {k: float(v) for k, v in section.items()}
    except (TypeError, ValueError):
        raise _fail(path, f"{key}: {', '.join(sorted(section))} must be numbers") from None
    if any(v < 0 for v in values.values()):
        raise _fail(path, f"{key}: values must not be negative")
    return cls(**values)


def load(path: str | os.PathLike | None) -> SandboxConfig:
    """Read a sandbox.yaml; a missing file (or None) gives the defaults."""
    if path is None:
        return SandboxConfig()
    path = Path(path)
    if not path.exists():
        return SandboxConfig()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise _fail(path, f"not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise _fail(path, "the top level must be a mapping")
    unknown = set(data) - {"node", "nodes", "node_lifecycle", "autoscaler", "catalogs", "manifests", "crashloop",
                        "releases"}
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(sorted(unknown))}")
    base = path.parent
    if "node" in data and "nodes" in data:
        raise _fail(path, "give either node (one node) or nodes (a list), not both")
    if "nodes" in data:
        if not isinstance(data["nodes"], list) or not data["nodes"]:
            raise _fail(path, "nodes must be a non-empty list of nodes")
        nodes = tuple(_node(path, f"nodes[{i}]", n) for i, n in enumerate(data["nodes"]))
    elif "node" in data:
        nodes = (_node(path, "node", data.get("node") or {}),)
    else:
        nodes = DEFAULT_NODES
    names = [n.name for n in nodes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _fail(path, f"node name(s) {', '.join(dupes)} given more than once")

    def paths(key: str) -> tuple[Path, ...]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(path, f"{key} must be a list of paths")
        return tuple((base / v).resolve() for v in value)

    crash = data.get("crashloop") or {}
    try:
        cl_base = float(crash.get("base_seconds", 1.0))
        cl_cap = float(crash.get("cap_seconds", 20.0))
    except (TypeError, ValueError, AttributeError):
        raise _fail(path, "crashloop.base_seconds and crashloop.cap_seconds must be numbers") from None
    return SandboxConfig(
        nodes=nodes, catalogs=paths("catalogs"), manifests=paths("manifests"),
        crashloop_base=cl_base, crashloop_cap=cl_cap,
        lifecycle=_numbers(path, data, "node_lifecycle", LifecycleConfig),
        autoscaler=_numbers(path, data, "autoscaler", AutoscalerConfig),
        releases=_releases(path, data.get("releases")), source=path.resolve())


_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$")


def _releases(path: Path, raw) -> tuple[ReleaseConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(path, "releases must be a list of {name, chart, namespace, values, set}")
    out = []
    for i, rel in enumerate(raw):
        where = f"releases[{i}]"
        if not isinstance(rel, dict):
            raise _fail(path, f"{where} must be a mapping with name, chart and namespace")
        unknown = set(rel) - {"name", "chart", "namespace", "values", "set"}
        if unknown:
            raise _fail(path, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("name", "chart", "namespace"):
            if not isinstance(rel.get(key), str) or not rel[key]:
                raise _fail(path, f"{where}.{key} is required (a string)")
        if not _RELEASE_NAME.match(rel["name"]) or not _RELEASE_NAME.match(rel["namespace"]):
            raise _fail(path, f"{where}: name and namespace must be DNS labels (lower case, digits, '-')")
        chart = (path.parent / rel["chart"]).resolve()
        if not (chart / "Chart.yaml").is_file():
            raise _fail(path, f"{where}.chart {rel['chart']}: no Chart.yaml there")
        values = rel.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _fail(path, f"{where}.values must be a list of paths")
        files = tuple((path.parent / v).resolve() for v in values)
        missing = [str(v) for v, f in zip(values, files) if not f.is_file()]
        if missing:
            raise _fail(path, f"{where}.values: no such file {', '.join(missing)}")
        settings = rel.get("set") or {}
        if not isinstance(settings, dict) or not all(isinstance(k, str) for k in settings):
            raise _fail(path, f"{where}.set must be a mapping of key: value")
        out.append(ReleaseConfig(rel["name"], chart, rel["namespace"], files,
                                 tuple((k, "" if v is None else str(v)) for k, v in settings.items())))
    return tuple(out)
