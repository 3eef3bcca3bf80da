"""metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics from the node agent's
usage sample (what metrics-server serves; `kubectl top` reads it)."""
from __future__ import annotations

import datetime as dt

from .. import resources as R
from ..selectors import SelectorError, labels_match, parse_label_selector
from ..store import ApiError, Store
from . import validation
from .http import Request, Response, json_response
from .node_agent import NodeAgent, Usage
from .routing import MetricsRoute

_GV = "metrics.k8s.io/v1beta1"


def cpu_quantity(cores: float) -> str:
    return f"{max(0, round(cores * 1e9))}n"


def memory_quantity(nbytes: int) -> str:
    return f"{max(0, int(nbytes) // 1024)}Ki"


def _stamp(usage: Usage) -> str:
    return dt.datetime.fromtimestamp(usage.timestamp, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(usage: Usage) -> str:
    return f"{usage.window_seconds:g}s"


def _not_found(kind: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{kind}.metrics.k8s.io "{name}" not found',
                    {"name": name, "group": "metrics.k8s.io", "kind": kind})


def serve(store: Store, agent: NodeAgent | None, route: MetricsRoute, req: Request) -> Response:
    if req.method != "GET":
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    if agent is None:
        raise ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request "
                       "(metrics: no node agent attached)")
    try:
        selector = parse_label_selector(req.query.get("labelSelector"))
    except SelectorError as exc:
        raise validation.bad_request(f"unable to parse requirement: {exc}")
    usage = agent.usage()
    stamp, window = _stamp(usage), _window(usage)
    if route.plural == "nodes":
        nodes = {n["metadata"]["name"]: n for n in store.list(R.NODE)[0]}
        items = [{"metadata": {"name": n.name, "labels": (nodes[n.name]["metadata"].get("labels") or {}),
                               "creationTimestamp": stamp},
                  "timestamp": stamp, "window": window,
                  "usage": {"cpu": cpu_quantity(n.cpu_cores), "memory": memory_quantity(n.memory_bytes)}}
                 for n in usage.nodes if n.name in nodes]
        kind = "NodeMetrics"
    else:
        pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
                for p in store.list(R.POD, route.namespace)[0]}
        items = [{"metadata": {"name": p.name, "namespace": p.namespace, "creationTimestamp": stamp,
                               "labels": pods[(p.namespace, p.name)]["metadata"].get("labels") or {}},
                  "timestamp": stamp, "window": window,
                  "containers": [{"name": c.name, "usage": {"cpu": cpu_quantity(c.cpu_cores),
                                                            "memory": memory_quantity(c.memory_bytes)}}
                                 for c in p.containers]}
                 for p in usage.pods if (p.namespace, p.name) in pods]
        kind = "PodMetrics"
    items = [i for i in items if labels_match(selector, i["metadata"].get("labels"))]
    for i in items:
        i.update(kind=kind, apiVersion=_GV)
    if route.name is not None:
        found = next((i for i in items if i["metadata"]["name"] == route.name), None)
        if found is None:
            raise _not_found(route.plural, route.name)
        return json_response(200, found)
    return json_response(200, {"kind": f"{kind}List", "apiVersion": _GV, "metadata": {}, "items": items})
