"""One request in, one answer out: discovery, resources, subresources and
metrics, with every failure turned into a Kubernetes Status."""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from ..store import ApiError, Store
from . import discovery, metrics, routing, subresources
from .exec_ws import exec_upgrade
from .handlers import Admission, Verbs
from .http import Request, Response, Stream, Upgrade, error_response, json_response
from .node_agent import NodeAgent
from .routing import MetricsRoute, Route

log = logging.getLogger("gameday.sandbox.apiserver")
Answer = Response | Stream | Upgrade


class Api:
    def __init__(self, store: Store, node_agent: NodeAgent | None = None, admission: Sequence[Admission] = (),
                 on_namespace_deleted: Callable[[], None] = lambda: None, address: str = "127.0.0.1:0"):
        self.store = store
        self.node_agent = node_agent
        self.verbs = Verbs(store, admission, on_namespace_deleted)
        self.address = address
        self.clock = time.monotonic

    def handle(self, req: Request, raw_query: str = "") -> Answer:
        try:
            return self._route(req, raw_query)
        except ApiError as err:
            return error_response(err)
        except Exception as exc:  # a bug of ours: answer a Status, keep serving
            log.exception("internal error on %s %s", req.method, req.path)
            return error_response(ApiError(500, "InternalError", f"Internal error occurred: {exc!r}"))

    def _route(self, req: Request, raw_query: str) -> Answer:
        path = req.path.rstrip("/") or "/"
        with_metrics = self.node_agent is not None
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain")
        if req.method != "GET" and path in ("/version", "/api", "/apis", "/api/v1"):
            raise _method_not_allowed()
        if path == "/version":
            return json_response(200, discovery.version())
        if path == "/api":
            return json_response(200, discovery.api_versions(self.address))
        if path == "/api/v1":
            return json_response(200, discovery.resource_list("", "v1", with_metrics))
        if path == "/apis":
            return json_response(200, discovery.api_group_list(with_metrics))
        if path == "/openapi/v2" and req.method == "GET":
            # An empty OpenAPI v2 document (protobuf-encoded, as kubectl asks):
            # kubectl then skips schema checks it cannot make and falls back to
            # its built-in types for apply; the server validates every write.
            return Response(200, b"", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        parsed = routing.parse(path)
        if isinstance(parsed, MetricsRoute):
            if not with_metrics:
                raise routing.not_found_path(path)
            return metrics.serve(self.store, self.node_agent, parsed, req)
        if isinstance(parsed, Route):
            return self._resource(parsed, req, raw_query)
        segs = parsed
        if segs[:1] == ("apis",) and len(segs) in (2, 3) and req.method == "GET":
            doc = discovery.api_group(segs[1], with_metrics) if len(segs) == 2 \
                else discovery.resource_list(segs[1], segs[2], with_metrics)
            if doc is not None:
                return json_response(200, doc)
        raise routing.not_found_path(path)

    def _resource(self, route: Route, req: Request, raw_query: str) -> Answer:
        verbs, m, sub = self.verbs, req.method, route.subresource
        wants_watch = route.watch_path or req.flag("watch")
        if sub is None:
            if route.name is None:
                table = {"GET": "watch" if wants_watch else "list", "POST": "create", "DELETE": "deletecollection"}
            else:
                table = {"GET": "watch" if wants_watch else "get", "PUT": "update", "PATCH": "patch",
                         "DELETE": "delete"}
            verb = table.get(m)
            if verb is None or verb not in route.res.verbs or (route.watch_path and m != "GET"):
                raise _method_not_allowed()
            if verb == "watch":
                return verbs.watch(route, req, self.clock)
            return getattr(verbs, verb)(route, req)
        if sub == "status":
            handler = {"GET": verbs.get, "PUT": verbs.update, "PATCH": verbs.patch}.get(m)
            if handler is None:
                raise _method_not_allowed()
            return handler(route, req)
        if sub == "scale":
            return subresources.scale(verbs, route, req)
        if sub == "log":
            return subresources.logs(self.store, self.node_agent, route, req)
        if sub == "eviction":
            return subresources.evict(verbs, route, req)
        if sub == "exec":
            return exec_upgrade(self.store, self.node_agent, route, req, raw_query)
        raise _method_not_allowed()


def _method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
