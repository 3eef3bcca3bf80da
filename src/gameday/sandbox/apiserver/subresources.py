"""Subresources other than status: deployments/scale (and replicasets,
statefulsets), pods/log, pods/eviction."""
from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Iterator

from .. import resources as R
from ..resources import Resource
from ..controllers import disruption
from ..store import ApiError, Store, conflict
from . import patch as patching, validation
from .handlers import Verbs, _decode, decode_object, dry_run, media_type
from .http import Request, Response, Stream, json_response, success_status
from .node_agent import NodeAgent
from .routing import Route

SCALE_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")


# -- scale --------------------------------------------------------------------
def _selector_string(sel: dict | None) -> str:
    parts = [f"{k}={v}" for k, v in ((sel or {}).get("matchLabels") or {}).items()]
    for e in (sel or {}).get("matchExpressions") or []:
        op = e.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{e['key']} {op.lower()} ({','.join(e.get('values') or [])})")
        elif op == "Exists":
            parts.append(e["key"])
        else:
            parts.append("!" + e["key"])
    return ",".join(parts)


def scale_of(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": _selector_string((obj.get("spec") or {}).get("selector"))}}


def scale(verbs: Verbs, route: Route, req: Request) -> Response:
    res, store = route.res, verbs.store
    if res.kind not in SCALE_KINDS:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    old = store.get(res, route.namespace, route.name)
    if req.method == "GET":
        return json_response(200, scale_of(old))
    if req.method == "PUT":
        body = _decode(req, ("application/json", "application/yaml"), "Scale")
        if not isinstance(body, dict) or body.get("kind", "Scale") != "Scale":
            raise validation.bad_request("the request body must be an autoscaling/v1 Scale object")
        new_scale = body
    elif req.method == "PATCH":
        ctype = media_type(req)
        doc = _decode(req, patching.TYPES, "patch")
        try:
            new_scale = patching.apply(scale_of(old), doc, ctype)
        except patching.PatchError as exc:
            raise ApiError(422, "Invalid", f'Scale "{route.name}" is invalid: {exc}')
    else:
        raise method_not_allowed()
    replicas = (new_scale.get("spec") or {}).get("replicas") if isinstance(new_scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise ApiError(422, "Invalid", f'Scale.autoscaling "{route.name}" is invalid: spec.replicas: Invalid '
                       f"value: {replicas}: must be greater than or equal to 0",
                       {"name": route.name, "group": "autoscaling", "kind": "Scale"})
    want_rv = ((new_scale.get("metadata") or {}).get("resourceVersion"))
    if want_rv and want_rv != old["metadata"]["resourceVersion"]:
        raise conflict(res, route.name or "", "the object has been modified; please apply your changes to the "
                                              "latest version and try again")
    if dry_run(req):
        old["spec"]["replicas"] = replicas
        return json_response(200, scale_of(old))

    def set_replicas(obj: dict) -> None:
        obj["spec"]["replicas"] = replicas
    return json_response(200, scale_of(store.modify(res, route.namespace, route.name, set_replicas)))


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


# -- logs ---------------------------------------------------------------------
def pick_container(pod: dict, container: str | None, *, for_logs: bool = True) -> str:
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    inits = [c.get("name") for c in spec.get("initContainers") or []]
    name = pod["metadata"]["name"]
    if container:
        if container not in names + inits:
            raise validation.bad_request(f"container {container} is not valid for pod {name}")
        return container
    if len(names) == 1:
        return names[0]
    default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if default in names:
        return default
    msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
    if inits:
        msg += f" or one of the init containers: [{' '.join(inits)}]"
    raise validation.bad_request(msg)


def _int_param(req: Request, name: str) -> int | None:
    raw = req.query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise validation.bad_request(f"{name}: invalid value {raw!r}: must be an integer")
    if value < 0 or (name == "sinceSeconds" and value < 1):
        raise validation.bad_request(f"{name}: Invalid value: {value}: must be greater than "
                                     f"{'0' if name == 'sinceSeconds' else 'or equal to 0'}")
    return value


def no_agent() -> ApiError:
    return ApiError(503, "ServiceUnavailable", "no node agent (kubelet) is attached to this API server")


def logs(store: Store, agent: NodeAgent | None, route: Route, req: Request) -> Response | Stream:
    if req.method != "GET":
        raise method_not_allowed()
    pod = store.get(R.POD, route.namespace, route.name)
    container = pick_container(pod, req.query.get("container"))
    since = _int_param(req, "sinceSeconds")
    if req.query.get("sinceTime"):
        try:
            t = dt.datetime.fromisoformat(req.query["sinceTime"].replace("Z", "+00:00"))
        except ValueError:
            raise validation.bad_request(f"sinceTime: invalid RFC 3339 time {req.query['sinceTime']!r}")
        since = max(1, math.ceil((dt.datetime.now(dt.timezone.utc) - t).total_seconds()))
    tail = _int_param(req, "tailLines")
    limit = _int_param(req, "limitBytes")
    if agent is None:
        raise no_agent()
    follow = req.flag("follow")
    chunks = agent.logs(route.namespace or "", route.name or "", container, previous=req.flag("previous"),
                        since_seconds=since, tail_lines=tail, timestamps=req.flag("timestamps"), follow=follow)
    if not follow:
        try:
            data = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return Response(200, data[:limit] if limit is not None else data, "text/plain")

    def limited() -> Iterator[bytes | None]:
        left = limit
        for chunk in chunks:
            if not chunk:
                yield None  # the agent is idle: a chance to notice a client that left
                continue
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            if chunk:
                yield chunk
            if left == 0:
                return
    return Stream(200, limited(), "text/plain", close=getattr(chunks, "close", lambda: None))


# -- eviction -----------------------------------------------------------------
# Evictions are checked and carried out one at a time, so that `kubectl drain`,
# which evicts a node's pods concurrently, never breaks a budget between the
# check and the delete (the API server serialises them on the PDB's
# resourceVersion).
_EVICTION_LOCK = threading.Lock()


def evict(verbs: Verbs, route: Route, req: Request) -> Response:
    if req.method != "POST":
        raise method_not_allowed()
    eviction_res = Resource("policy", "v1", "evictions", "Eviction")
    body = decode_object(req, eviction_res)
    name = body["metadata"].get("name") or route.name
    if name != route.name:
        raise validation.bad_request(f"name in URL does not match name in Eviction object ({name} != {route.name})")
    store = verbs.store
    opts = body.get("deleteOptions") or {}
    if not isinstance(opts, dict):
        raise validation.bad_request("deleteOptions must be an object")
    if req.query.get("dryRun") == "All":
        opts = {**opts, "dryRun": ["All"]}
    with _EVICTION_LOCK:
        pod = store.get(R.POD, route.namespace, route.name)
        if not pod["metadata"].get("deletionTimestamp"):
            blocked = disruption.blocking(store, pod)
            if blocked:
                pdb, b = blocked
                pdb_name = pdb["metadata"]["name"]
                raise ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's "
                               "disruption budget.", {"causes": [{"reason": "DisruptionBudget", "message":
                                           f"The disruption budget {pdb_name} needs {b.desired} healthy pods "
                                           f"and has {b.healthy} currently"}]})
        verbs.delete_one(R.POD, route.namespace, route.name or "", opts)
    return json_response(201, success_status(201))
