"""URL paths of the Kubernetes REST API, parsed into what a request is about."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from urllib.parse import parse_qs, unquote

from ..resources import RESOURCES, Resource
from ..store import ApiError

METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"

# autoscaling/v1 HorizontalPodAutoscalers share their storage with v2 but have
# another shape; without a conversion, serving them would hand out v2 objects
# under a v1 name. kubectl and the clients use v2, the preferred version.
SERVED: tuple[Resource, ...] = tuple(r for r in RESOURCES if not (r.group == "autoscaling" and r.version == "v1"))


def lookup(group: str, version: str, plural: str, extra: Sequence[Resource] = ()) -> Resource | None:
    """A served resource; `extra` are the custom resources of the moment (CRDs)."""
    return next((r for r in (*SERVED, *extra) if (r.group, r.version, r.plural) == (group, version, plural)), None)


def groups(extra: Sequence[Resource] = ()) -> dict[str, list[str]]:
    """Served group -> its versions, preferred first."""
    out: dict[str, list[str]] = {}
    for res in (*SERVED, *extra):
        if res.group and res.version not in out.setdefault(res.group, []):
            out[res.group].append(res.version)
    return out


@dataclass(frozen=True)
class Route:
    """A resource request: /api/v1/namespaces/NS/pods/NAME/log and the like."""
    res: Resource
    namespace: str | None  # None: all namespaces (or a cluster-scoped resource)
    name: str | None
    subresource: str | None
    watch_path: bool  # the legacy /watch/ prefix


@dataclass(frozen=True)
class MetricsRoute:
    plural: str  # "pods" or "nodes"
    namespace: str | None
    name: str | None


def not_found_path(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": f"404 page not found: {path}"}]})


def split_query(raw: str) -> dict[str, str]:
    """Query parameters, last value wins (as the Go API server's decoder)."""
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def parse(path: str, extra: Sequence[Resource] = ()) -> Route | MetricsRoute | tuple[str, ...]:
    """A Route for resource paths, a MetricsRoute for metrics.k8s.io, or the
    path's segments for everything else (discovery, /version, ...)."""
    segs = tuple(unquote(s) for s in path.strip("/").split("/") if s)
    if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1" and len(segs) > 2:
        group, version, rest = "", "v1", segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis" and len(segs) > 3:
        group, version, rest = segs[1], segs[2], segs[3:]
        if group == METRICS_GROUP and version == METRICS_VERSION:
            return _metrics(path, rest)
        if version not in groups(extra).get(group, ()):
            raise not_found_path(path)
    else:
        return segs
    watch_path = rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    if not rest:
        raise not_found_path(path)
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = lookup(group, version, rest[2], extra)
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    res = lookup(group, version, rest[0], extra)
    if res is None or len(rest) > 3:
        raise not_found_path(path)
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub is not None and sub not in res.subresources and not (res.plural == "namespaces" and sub == "finalize"):
        raise not_found_path(path)
    if res.namespaced and name is not None and namespace is None:
        raise not_found_path(path)  # a namespaced object needs its namespace
    if watch_path and sub is not None:
        raise not_found_path(path)
    return Route(res, namespace, name, sub, watch_path)


def _metrics(path: str, rest: tuple[str, ...]) -> MetricsRoute:
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] == "pods":
        namespace, rest = rest[1], rest[2:]
    if rest[0] not in ("pods", "nodes") or len(rest) > 2 or (rest[0] == "nodes" and namespace):
        raise not_found_path(path)
    return MetricsRoute(rest[0], namespace, rest[1] if len(rest) == 2 else None)
