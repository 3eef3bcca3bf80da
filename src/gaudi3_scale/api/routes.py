"""Which Api method answers a request: method and path in, Response out.
Independent of the web framework, so the mapping is tested once."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .app import Api, Response

MAX_BODY = 64 * 1024
# Routes that are never slowed by api_latency_ms: probes and scrapes must keep
# telling the truth about the process while the latency fault is on.
UNSLOWED = {"/health", "/metrics"}


class Metrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter("http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry)
        self.duration = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.maintenance = Gauge("gaudi3_scale_maintenance_mode", "1 while writes are paused", registry=registry)
        self.injected = Gauge("gaudi3_scale_api_injected_latency_seconds", "Artificial latency added per request", registry=registry)


def route_of(path: str) -> str:
    if path in ("/health", "/health/ready", "/health/detailed", "/metrics", "/jobs"):
        return path
    if path.startswith("/jobs/") and path.count("/") == 2:
        return "/jobs/{id}"
    return "other"


def dispatch(api: Api, metrics: Metrics, registry: CollectorRegistry, method: str, path: str,
             query: dict, body: bytes) -> Response:
    if path == "/metrics" and method == "GET":
        metrics.maintenance.set(1 if api.config.flag("maintenance_mode") else 0)
        return Response(200, generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    if path == "/health" and method == "GET":
        return api.health()
    if path == "/health/ready" and method == "GET":
        return api.ready()
    if path == "/health/detailed" and method == "GET":
        return api.detailed()
    if path == "/jobs":
        if method == "POST":
            return api.create_job(body)
        if method == "GET":
            return api.list_jobs(query)
        return not_allowed(method, path, "GET, POST")
    if route_of(path) == "/jobs/{id}":
        if method == "GET":
            return api.get_job(path.rsplit("/", 1)[1])
        return not_allowed(method, path, "GET")
    if route_of(path) != "other":
        return not_allowed(method, path, "GET")
    return Response(404, {"error": "not_found", "message": f"no route {path}"})


def not_allowed(method: str, path: str, allowed: str) -> Response:
    return Response(405, {"error": "method_not_allowed", "message": f"{method} is not allowed on {path}"}, {"Allow": allowed})
