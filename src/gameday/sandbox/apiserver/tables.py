"""`as=Table` answers: the columns `kubectl get` prints, computed the way the
real API server's printers compute them (pkg/printers/internalversion)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from ..resources import Resource

Column = tuple[str, str, int]  # name, type, priority (1: only with -o wide)


def _parse_time(ts: Any) -> dt.datetime | None:
    if not isinstance(ts, str) or not ts:
        return None
    try:
        return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(seconds, 0))
    if s < 60 * 2:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 60 * 3:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    y = h // (24 * 365)
    if y < 8:
        return f"{y}y{(h // 24) % 365}d"
    return f"{y}y"


def age(ts: Any, now: dt.datetime) -> str:
    t = _parse_time(ts)
    return "<unknown>" if t is None else human_duration((now - t).total_seconds())


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def _selector_text(sel: Any) -> str:
    if not isinstance(sel, dict):
        return "<none>"
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{e.get('key')} {op.lower()} ({','.join(e.get('values') or [])})")
        elif op == "Exists":
            parts.append(str(e.get("key")))
        else:
            parts.append(f"!{e.get('key')}")
    return ",".join(parts) or "<none>"


def _containers_images(spec: dict) -> tuple[str, str]:
    cs = (spec.get("template") or {}).get("spec", {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


# -- pods ---------------------------------------------------------------------
def pod_status_reason(pod: dict) -> tuple[str, int, int, int, dt.datetime | None]:
    """(STATUS, ready, total, restarts, last restart) as kubectl's printPod."""
    st, spec = _status(pod), _spec(pod)
    reason = st.get("reason") or st.get("phase") or "Pending"
    total = len(spec.get("containers") or [])
    ready = restarts = 0
    last_restart: dt.datetime | None = None

    def note_restart(cs: dict) -> None:
        nonlocal last_restart
        fin = _parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
        if fin and (last_restart is None or fin > last_restart):
            last_restart = fin

    initializing = False
    inits = st.get("initContainerStatuses") or []
    for i, cs in enumerate(inits):
        restarts += cs.get("restartCount", 0)
        note_restart(cs)
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode')}"
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    if not initializing:
        restarts = 0
        has_running = False
        for cs in reversed(st.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            note_restart(cs)
            state = cs.get("state") or {}
            term, wait = state.get("terminated"), state.get("waiting")
            if wait and wait.get("reason"):
                reason = wait["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}"
            elif cs.get("ready") and "running" in state:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            conds = st.get("conditions") or []
            is_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
            reason = "Running" if is_ready else "NotReady"
    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if st.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, total, restarts, last_restart


def _pod_row(pod: dict, now: dt.datetime) -> list:
    reason, ready, total, restarts, last = pod_status_reason(pod)
    restarts_text = str(restarts)
    if restarts and last is not None:
        restarts_text = f"{restarts} ({human_duration((now - last).total_seconds())} ago)"
    gates = _spec(pod).get("readinessGates") or []
    if gates:
        conds = {c.get("type"): c.get("status") for c in _status(pod).get("conditions") or []}
        gate_text = f"{sum(conds.get(g.get('conditionType')) == 'True' for g in gates)}/{len(gates)}"
    else:
        gate_text = "<none>"
    return [_meta(pod).get("name"), f"{ready}/{total}", reason, restarts_text,
            age(_meta(pod).get("creationTimestamp"), now), _status(pod).get("podIP") or "<none>",
            _spec(pod).get("nodeName") or "<none>", _status(pod).get("nominatedNodeName") or "<none>", gate_text]


_POD_COLS: list[Column] = [("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0),
                           ("Restarts", "string", 0), ("Age", "string", 0), ("IP", "string", 1),
                           ("Node", "string", 1), ("Nominated Node", "string", 1),
                           ("Readiness Gates", "string", 1)]


# -- workloads ----------------------------------------------------------------
def _deployment_row(d: dict, now: dt.datetime) -> list:
    st, spec = _status(d), _spec(d)
    names, images = _containers_images(spec)
    return [_meta(d).get("name"), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            age(_meta(d).get("creationTimestamp"), now), names, images, _selector_text(spec.get("selector"))]


def _replicaset_row(r: dict, now: dt.datetime) -> list:
    st, spec = _status(r), _spec(r)
    names, images = _containers_images(spec)
    return [_meta(r).get("name"), spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0),
            age(_meta(r).get("creationTimestamp"), now), names, images, _selector_text(spec.get("selector"))]


def _statefulset_row(s: dict, now: dt.datetime) -> list:
    st, spec = _status(s), _spec(s)
    names, images = _containers_images(spec)
    return [_meta(s).get("name"), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            age(_meta(s).get("creationTimestamp"), now), names, images]


def _job_row(j: dict, now: dt.datetime) -> list:
    st, spec = _status(j), _spec(j)
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    if conds.get("Complete") == "True":
        status = "Complete"
    elif conds.get("Failed") == "True":
        status = "Failed"
    elif _meta(j).get("deletionTimestamp"):
        status = "Terminating"
    elif conds.get("FailureTarget") == "True":
        status = "FailureTarget"
    elif conds.get("SuccessCriteriaMet") == "True":
        status = "SuccessCriteriaMet"
    elif spec.get("suspend") or conds.get("Suspended") == "True":
        status = "Suspended"
    else:
        status = "Running"
    if spec.get("completions") is not None:
        completions = f"{st.get('succeeded', 0)}/{spec['completions']}"
    else:
        completions = f"{st.get('succeeded', 0)}/1 of {spec.get('parallelism', 1)}"
    start, end = _parse_time(st.get("startTime")), _parse_time(st.get("completionTime"))
    duration = "" if start is None else human_duration(((end or now) - start).total_seconds())
    names, images = _containers_images(spec)
    return [_meta(j).get("name"), status, completions, duration, age(_meta(j).get("creationTimestamp"), now),
            names, images, _selector_text(spec.get("selector"))]


# -- nodes and the rest -------------------------------------------------------
def _node_row(n: dict, now: dt.datetime) -> list:
    st, spec, meta = _status(n), _spec(n), _meta(n)
    ready = next((c.get("status") for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    # As kubectl prints it: a Ready condition that is not True (False or Unknown) is NotReady.
    status = "Ready" if ready == "True" else ("NotReady" if ready else "Unknown")
    if spec.get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = meta.get("labels") or {}
    roles = sorted({k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")
                    and "/" in k and k.split("/", 1)[1]} | ({labels["kubernetes.io/role"]}
                                                            if labels.get("kubernetes.io/role") else set()))
    addrs = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    info = st.get("nodeInfo") or {}
    return [meta.get("name"), status, ",".join(roles) or "<none>", age(meta.get("creationTimestamp"), now),
            info.get("kubeletVersion", ""), addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


def _ports_text(ports: list) -> str:
    out = []
    for p in ports or []:
        text = str(p.get("port"))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _service_row(s: dict, now: dt.datetime) -> list:
    spec, st = _spec(s), _status(s)
    t = spec.get("type", "ClusterIP")
    ingress = [i.get("ip") or i.get("hostname") for i in (st.get("loadBalancer") or {}).get("ingress") or []]
    external = ",".join(filter(None, ingress + list(spec.get("externalIPs") or [])))
    if not external:
        external = {"LoadBalancer": "<pending>", "ExternalName": spec.get("externalName", "")}.get(t, "<none>")
    return [_meta(s).get("name"), t, spec.get("clusterIP") or "<none>", external, _ports_text(spec.get("ports")),
            age(_meta(s).get("creationTimestamp"), now), _selector_text({"matchLabels": spec.get("selector")})
            if spec.get("selector") else "<none>"]


def _endpoints_row(e: dict, now: dt.datetime) -> list:
    pairs = []
    for sub in e.get("subsets") or []:
        ports = sub.get("ports") or [{}]
        for a in sub.get("addresses") or []:
            for p in ports:
                pairs.append(f"{a.get('ip')}:{p['port']}" if p.get("port") else str(a.get("ip")))
    text = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [_meta(e).get("name"), text or "<none>", age(_meta(e).get("creationTimestamp"), now)]


_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _pvc_row(c: dict, now: dt.datetime) -> list:
    spec, st = _spec(c), _status(c)
    phase = "Terminating" if _meta(c).get("deletionTimestamp") else st.get("phase", "Pending")
    cap = (st.get("capacity") or {}).get("storage", "") if spec.get("volumeName") else ""
    modes = ",".join(_MODES.get(m, m) for m in st.get("accessModes") or []) if spec.get("volumeName") else ""
    return [_meta(c).get("name"), phase, spec.get("volumeName", ""), cap, modes,
            spec.get("storageClassName") or "<unset>", spec.get("volumeAttributesClassName") or "<unset>",
            age(_meta(c).get("creationTimestamp"), now), spec.get("volumeMode", "Filesystem")]


def _event_row(e: dict, now: dt.datetime) -> list:
    inv = e.get("involvedObject") or {}
    last = e.get("lastTimestamp") or e.get("eventTime") or _meta(e).get("creationTimestamp")
    obj = f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"
    return [age(last, now), e.get("type", ""), e.get("reason", ""), obj, e.get("message", "")]


def _namespace_row(n: dict, now: dt.datetime) -> list:
    return [_meta(n).get("name"), _status(n).get("phase", "Active"), age(_meta(n).get("creationTimestamp"), now)]


def _configmap_row(c: dict, now: dt.datetime) -> list:
    return [_meta(c).get("name"), len(c.get("data") or {}) + len(c.get("binaryData") or {}),
            age(_meta(c).get("creationTimestamp"), now)]


def _secret_row(s: dict, now: dt.datetime) -> list:
    return [_meta(s).get("name"), s.get("type", "Opaque"), len(s.get("data") or {}),
            age(_meta(s).get("creationTimestamp"), now)]


def _hpa_row(h: dict, now: dt.datetime) -> list:
    spec, st = _spec(h), _status(h)
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    current = {((m.get("resource") or {}).get("name")): m for m in st.get("currentMetrics") or []}
    for m in spec.get("metrics") or []:
        if m.get("type") == "Resource":
            name = (m.get("resource") or {}).get("name")
            want = ((m.get("resource") or {}).get("target") or {}).get("averageUtilization")
            have = ((current.get(name) or {}).get("resource") or {}).get("current", {}).get("averageUtilization")
            targets.append(f"{name}: {have if have is not None else '<unknown>'}%/{want}%")
    return [_meta(h).get("name"), f"{ref.get('kind')}/{ref.get('name')}", ", ".join(targets) or "<none>",
            spec.get("minReplicas", 1), spec.get("maxReplicas"), st.get("currentReplicas", 0),
            age(_meta(h).get("creationTimestamp"), now)]


def _daemonset_row(d: dict, now: dt.datetime) -> list:
    st, spec = _status(d), _spec(d)
    names, images = _containers_images(spec)
    sel = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [_meta(d).get("name"), st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>", age(_meta(d).get("creationTimestamp"), now),
            names, images, _selector_text(spec.get("selector"))]


def _pdb_row(p: dict, now: dt.datetime) -> list:
    spec = _spec(p)
    return [_meta(p).get("name"), spec.get("minAvailable", "N/A"), spec.get("maxUnavailable", "N/A"),
            _status(p).get("disruptionsAllowed", 0), age(_meta(p).get("creationTimestamp"), now)]


def _netpol_row(n: dict, now: dt.datetime) -> list:
    sel = _spec(n).get("podSelector") or {}
    text = _selector_text(sel)
    return [_meta(n).get("name"), "<none>" if text == "<none>" else text, age(_meta(n).get("creationTimestamp"), now)]


def _pv_row(v: dict, now: dt.datetime) -> list:
    spec, st = _spec(v), _status(v)
    claim = spec.get("claimRef") or {}
    return [_meta(v).get("name"), (spec.get("capacity") or {}).get("storage", ""),
            ",".join(_MODES.get(m, m) for m in spec.get("accessModes") or []),
            spec.get("persistentVolumeReclaimPolicy", "Retain"), st.get("phase", "Pending"),
            f"{claim.get('namespace')}/{claim.get('name')}" if claim else "", spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", st.get("reason", ""),
            age(_meta(v).get("creationTimestamp"), now), spec.get("volumeMode", "Filesystem")]


def _serviceaccount_row(s: dict, now: dt.datetime) -> list:
    return [_meta(s).get("name"), len(s.get("secrets") or []), age(_meta(s).get("creationTimestamp"), now)]


def _ingress_row(i: dict, now: dt.datetime) -> list:
    spec = _spec(i)
    hosts = [r.get("host") for r in spec.get("rules") or [] if isinstance(r, dict) and r.get("host")]
    lb = (_status(i).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(x.get("ip") or x.get("hostname") or "" for x in lb)
    ports = "80, 443" if spec.get("tls") else "80"
    return [_meta(i).get("name"), spec.get("ingressClassName") or "<none>", ",".join(hosts) or "*", address,
            ports, age(_meta(i).get("creationTimestamp"), now)]


def _ingressclass_row(c: dict, now: dt.datetime) -> list:
    return [_meta(c).get("name"), _spec(c).get("controller", ""), "<none>",
            age(_meta(c).get("creationTimestamp"), now)]


def _crd_row(c: dict, now: dt.datetime) -> list:
    return [_meta(c).get("name"), _meta(c).get("creationTimestamp")]


def _generic_row(o: dict, now: dt.datetime) -> list:
    return [_meta(o).get("name"), age(_meta(o).get("creationTimestamp"), now)]


_S, _I = "string", "integer"
PRINTERS: dict[str, tuple[list[Column], Callable[[dict, dt.datetime], list]]] = {
    "Pod": (_POD_COLS, _pod_row),
    "Deployment": ([("Name", _S, 0), ("Ready", _S, 0), ("Up-to-date", _I, 0), ("Available", _I, 0),
                    ("Age", _S, 0), ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)],
                   _deployment_row),
    "ReplicaSet": ([("Name", _S, 0), ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0), ("Age", _S, 0),
                    ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _replicaset_row),
    "StatefulSet": ([("Name", _S, 0), ("Ready", _S, 0), ("Age", _S, 0), ("Containers", _S, 1),
                     ("Images", _S, 1)], _statefulset_row),
    "Job": ([("Name", _S, 0), ("Status", _S, 0), ("Completions", _S, 0), ("Duration", _S, 0), ("Age", _S, 0),
             ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _job_row),
    "Node": ([("Name", _S, 0), ("Status", _S, 0), ("Roles", _S, 0), ("Age", _S, 0), ("Version", _S, 0),
              ("Internal-IP", _S, 1), ("External-IP", _S, 1), ("OS-Image", _S, 1), ("Kernel-Version", _S, 1),
              ("Container-Runtime", _S, 1)], _node_row),
    "Service": ([("Name", _S, 0), ("Type", _S, 0), ("Cluster-IP", _S, 0), ("External-IP", _S, 0),
                 ("Port(s)", _S, 0), ("Age", _S, 0), ("Selector", _S, 1)], _service_row),
    "Endpoints": ([("Name", _S, 0), ("Endpoints", _S, 0), ("Age", _S, 0)], _endpoints_row),
    "PersistentVolumeClaim": ([("Name", _S, 0), ("Status", _S, 0), ("Volume", _S, 0), ("Capacity", _S, 0),
                               ("Access Modes", _S, 0), ("StorageClass", _S, 0),
                               ("VolumeAttributesClass", _S, 0), ("Age", _S, 0), ("VolumeMode", _S, 1)],
                              _pvc_row),
    "Event": ([("Last Seen", _S, 0), ("Type", _S, 0), ("Reason", _S, 0), ("Object", _S, 0),
               ("Message", _S, 0)], _event_row),
    "Namespace": ([("Name", _S, 0), ("Status", _S, 0), ("Age", _S, 0)], _namespace_row),
    "ConfigMap": ([("Name", _S, 0), ("Data", _I, 0), ("Age", _S, 0)], _configmap_row),
    "Secret": ([("Name", _S, 0), ("Type", _S, 0), ("Data", _I, 0), ("Age", _S, 0)], _secret_row),
    "HorizontalPodAutoscaler": ([("Name", _S, 0), ("Reference", _S, 0), ("Targets", _S, 0),
                                 ("MinPods", _I, 0), ("MaxPods", _I, 0), ("Replicas", _I, 0), ("Age", _S, 0)],
                                _hpa_row),
    "DaemonSet": ([("Name", _S, 0), ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0),
                   ("Up-to-date", _I, 0), ("Available", _I, 0), ("Node Selector", _S, 0), ("Age", _S, 0),
                   ("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1)], _daemonset_row),
    "PodDisruptionBudget": ([("Name", _S, 0), ("Min Available", _S, 0), ("Max Unavailable", _S, 0),
                             ("Allowed Disruptions", _I, 0), ("Age", _S, 0)], _pdb_row),
    "NetworkPolicy": ([("Name", _S, 0), ("Pod-Selector", _S, 0), ("Age", _S, 0)], _netpol_row),
    "PersistentVolume": ([("Name", _S, 0), ("Capacity", _S, 0), ("Access Modes", _S, 0),
                          ("Reclaim Policy", _S, 0), ("Status", _S, 0), ("Claim", _S, 0), ("StorageClass", _S, 0),
                          ("VolumeAttributesClass", _S, 0), ("Reason", _S, 0), ("Age", _S, 0),
                          ("VolumeMode", _S, 1)], _pv_row),
    "ServiceAccount": ([("Name", _S, 0), ("Secrets", _I, 0), ("Age", _S, 0)], _serviceaccount_row),
    "Ingress": ([("Name", _S, 0), ("Class", _S, 0), ("Hosts", _S, 0), ("Address", _S, 0), ("Ports", _S, 0),
                 ("Age", _S, 0)], _ingress_row),
    "IngressClass": ([("Name", _S, 0), ("Controller", _S, 0), ("Parameters", _S, 0), ("Age", _S, 0)],
                     _ingressclass_row),
    "CustomResourceDefinition": ([("Name", _S, 0), ("Created At", "date", 0)], _crd_row),
}
_GENERIC = ([("Name", _S, 0), ("Age", _S, 0)], _generic_row)


def _partial(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(res: Resource, items: list[dict], resource_version: str, include_object: str = "PartialObjectMetadata",
          now: dt.datetime | None = None, with_columns: bool = True) -> dict:
    now = now or dt.datetime.now(dt.timezone.utc)
    cols, row_of = PRINTERS.get(res.kind, _GENERIC)
    rows = []
    for obj in items:
        row: dict = {"cells": row_of(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = _partial(obj)
        rows.append(row)
    out = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
           "columnDefinitions": [], "rows": rows}
    if with_columns:
        out["columnDefinitions"] = [
            {"name": name, "type": typ, "format": "name" if i == 0 and name == "Name" else "",
             "description": name, "priority": prio} for i, (name, typ, prio) in enumerate(cols)]
    return out


def wants_table(accept: str) -> bool:
    """kubectl asks `application/json;as=Table;v=v1;g=meta.k8s.io, application/json`."""
    for part in accept.split(","):
        params = {kv.split("=", 1)[0].strip(): kv.split("=", 1)[1].strip()
                  for kv in part.split(";")[1:] if "=" in kv}
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return True
    return False
