"""One request in, one answer out: discovery, resources, subresources and
metrics, with every failure turned into a Kubernetes Status."""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from .. import resources as R
from ..store import ApiError, Store
from . import authz, crd, discovery, metrics, routing, subresources
from .authz import ADMIN, Attributes, User
from .exec_ws import attach_upgrade, exec_upgrade
from .handlers import Admission, Verbs, decode_object
from .http import Request, Response, Stream, Upgrade, error_response, json_response
from .node_agent import NodeAgent
from .routing import MetricsRoute, Route

log = logging.getLogger("gameday.sandbox.apiserver")
Answer = Response | Stream | Upgrade


_COLLECTION_VERBS = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
_OBJECT_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "HEAD": "get"}


def attributes(route: Route, req: Request) -> Attributes:
    """The RBAC verb and resource of a resource request, as the real request-info resolver finds them."""
    watch = route.watch_path or req.flag("watch")
    if route.subresource in ("exec", "attach", "portforward"):
        verb = "create"  # a WebSocket GET needs create too (AuthorizePodWebsocketUpgradeCreatePermission)
    elif route.name is None or (route.subresource is None and watch):
        verb = "watch" if watch else _COLLECTION_VERBS.get(req.method, req.method.lower())
    else:
        verb = "create" if req.method == "POST" else _OBJECT_VERBS.get(req.method, req.method.lower())
    return Attributes(verb=verb, group=route.res.group, resource=route.res.plural,
                      subresource=route.subresource or "", namespace=route.namespace or "",
                      name=route.name or "")


class Api:
    def __init__(self, store: Store, node_agent: NodeAgent | None = None, admission: Sequence[Admission] = (),
                 on_namespace_deleted: Callable[[], None] = lambda: None, address: str = "127.0.0.1:0",
                 tokens: authz.Tokens | None = None, ca_pem: bytes = b""):
        self.store = store
        self.node_agent = node_agent
        self.tokens = tokens or authz.Tokens()
        self.verbs = Verbs(store, list(admission) + [crd.admit(store),
                                                     authz.token_secret_admission(store, self.tokens, ca_pem)],
                           on_namespace_deleted)
        self.authorizer = authz.Authorizer(store)
        self.address = address
        self.clock = time.monotonic

    def handle(self, req: Request, raw_query: str = "", user: User = ADMIN) -> Answer:
        try:
            return self._route(req, raw_query, user)
        except ApiError as err:
            return error_response(err)
        except Exception as exc:  # a bug of ours: answer a Status, keep serving
            log.exception("internal error on %s %s", req.method, req.path)
            return error_response(ApiError(500, "InternalError", f"Internal error occurred: {exc!r}"))

    def _route(self, req: Request, raw_query: str, user: User = ADMIN) -> Answer:
        path = req.path.rstrip("/") or "/"
        with_metrics = self.node_agent is not None
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain")
        extra = crd.custom_resources(self.store)
        parsed = routing.parse(path, extra)
        if isinstance(parsed, Route):
            self.authorizer.check(user, attributes(parsed, req))
        elif isinstance(parsed, MetricsRoute):
            self.authorizer.check(user, Attributes(verb="get" if parsed.name else "list", group=routing.METRICS_GROUP,
                                                   resource=parsed.plural, namespace=parsed.namespace or "",
                                                   name=parsed.name or ""))
        else:
            self.authorizer.check(user, Attributes(verb=req.method.lower(), path=path, resource_request=False))
        if req.method != "GET" and path in ("/version", "/api", "/apis", "/api/v1"):
            raise _method_not_allowed()
        if path == "/version":
            return json_response(200, discovery.version())
        if path == "/api":
            return json_response(200, discovery.api_versions(self.address))
        if path == "/api/v1":
            return json_response(200, discovery.resource_list("", "v1", with_metrics))
        if path == "/apis":
            return json_response(200, discovery.api_group_list(with_metrics, extra))
        if path == "/openapi/v2" and req.method == "GET":
            # An empty OpenAPI v2 document (protobuf-encoded, as kubectl asks):
            # kubectl then skips schema checks it cannot make and falls back to
            # its built-in types for apply; the server validates every write.
            return Response(200, b"", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        if isinstance(parsed, MetricsRoute):
            if not with_metrics:
                raise routing.not_found_path(path)
            return metrics.serve(self.store, self.node_agent, parsed, req)
        if isinstance(parsed, Route):
            if parsed.res.group in R.REVIEW_GROUPS:
                return self._review(parsed, req, user)
            return self._resource(parsed, req, raw_query)
        segs = parsed
        if segs[:1] == ("apis",) and len(segs) in (2, 3) and req.method == "GET":
            doc = discovery.api_group(segs[1], with_metrics, extra) if len(segs) == 2 \
                else discovery.resource_list(segs[1], segs[2], with_metrics, extra)
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
            if verb == "delete" and route.res.key == R.CRD.key:
                return self._delete_definition(route, req)
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
        if sub == "attach":
            return attach_upgrade(self.store, self.node_agent, route, req, raw_query)
        if sub == "token" and m == "POST":
            body = decode_object(req, _TOKEN_REQUEST)
            return json_response(201, authz.token_request(self.store, self.tokens, route.namespace or "",
                                                          route.name or "", body))
        raise _method_not_allowed()

    def _delete_definition(self, route: Route, req: Request) -> Response:
        definition = self.store.get(route.res, None, route.name or "")
        answer = self.verbs.delete(route, req)
        if answer.code == 200 and self.store.try_get(route.res, None, route.name or "") is None:
            crd.delete_instances(self.store, definition)
        return answer

    def _review(self, route: Route, req: Request, user: User) -> Response:
        """The reviews: answered from RBAC, never stored."""
        if req.method != "POST" or route.name is not None:
            raise _method_not_allowed()
        body = decode_object(req, route.res)
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        out = {"kind": route.res.kind, "apiVersion": route.res.api_version,
               "metadata": {"creationTimestamp": None}, "spec": spec}
        plural = route.res.plural
        if plural == "selfsubjectaccessreviews":
            allowed = self.authorizer.allowed(user, authz.review_attributes(spec))
            out["status"] = {"allowed": True, "reason": "RBAC: allowed"} if allowed else {"allowed": False}
        elif plural == "subjectaccessreviews":
            who = User(str(spec.get("user") or ""), tuple(spec.get("groups") or ()), str(spec.get("uid") or ""))
            self.authorizer.check(user, Attributes(verb="create", group=route.res.group, resource=plural))
            out["status"] = {"allowed": self.authorizer.allowed(who, authz.review_attributes(spec))}
        elif plural == "selfsubjectrulesreviews":
            out["status"] = self.authorizer.rules_review(user, str(spec.get("namespace") or "default"))
        else:  # selfsubjectreviews: `kubectl auth whoami`
            out["status"] = {"userInfo": user.info()}
        return json_response(201, out)


_TOKEN_REQUEST = R.Resource("authentication.k8s.io", "v1", "tokenrequests", "TokenRequest")


def _method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
