"""`gaudi3-scale-api`: the platform API over HTTP (port 8000).

Binds to $GAUDI3_API_HOST (the manifests pass the pod IP) so several replicas
can share one host in the sandbox while the same manifest works in a cluster."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import ProcessCollector, disable_created_metrics

from ..db import Database
from ..dbmonitor import DatabaseMonitor
from ..liveconfig import LiveConfig
from .app import Api, Response

log = logging.getLogger("gaudi3_scale.api")
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


def make_handler(api: Api, metrics: Metrics, registry: CollectorRegistry):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gaudi3-scale-api"

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            self.server.request_started()
            try:
                self._serve_one(method)
            finally:
                self.server.request_finished()

        def _serve_one(self, method: str) -> None:
            start = time.monotonic()
            url = urlsplit(self.path)
            route = route_of(url.path)
            try:
                body = self._body()
                if body is None:
                    response = Response(413, {"error": "too_large", "message": f"body over {MAX_BODY} bytes"})
                else:
                    delay = api.config.number("api_latency_ms") / 1000.0
                    metrics.injected.set(delay)
                    if delay > 0 and route not in UNSLOWED:
                        time.sleep(min(delay, 60.0))
                    response = self._dispatch(method, url.path, parse_qs(url.query), body)
            except Exception:  # a bug answers 500 and is logged; the server keeps serving
                log.exception("error handling %s %s", method, self.path)
                response = Response(500, {"error": "internal", "message": "internal error, see the API logs"})
            self._send(response)
            metrics.requests.labels(method, route, str(response.status)).inc()
            metrics.duration.labels(method, route).observe(time.monotonic() - start)

        def _dispatch(self, method: str, path: str, query: dict, body: bytes) -> Response:
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
                return _not_allowed(method, path, "GET, POST")
            if route_of(path) == "/jobs/{id}":
                if method == "GET":
                    return api.get_job(path.rsplit("/", 1)[1])
                return _not_allowed(method, path, "GET")
            if route_of(path) != "other":
                return _not_allowed(method, path, "GET")
            return Response(404, {"error": "not_found", "message": f"no route {path}"})

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                return None
            return self.rfile.read(length) if length > 0 else b""

        def _send(self, response: Response) -> None:
            payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
            try:
                self.send_response(response.status, HTTPStatus(response.status).phrase)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                if self.server.draining:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            pass  # no access log: thousands of lines a second under load

    return Handler


def _not_allowed(method: str, path: str, allowed: str) -> Response:
    return Response(405, {"error": "method_not_allowed", "message": f"{method} is not allowed on {path}"}, {"Allow": allowed})


class ApiServer(ThreadingHTTPServer):
    """Counts requests in flight and, once draining, closes each connection
    after its response, so keep-alive clients move to the other replicas
    instead of finding their connection gone when the process exits."""

    daemon_threads = True
    allow_reuse_address = True
    draining = False
    _active = 0
    _active_lock = threading.Lock()

    def request_started(self) -> None:
        with self._active_lock:
            self._active += 1

    def request_finished(self) -> None:
        with self._active_lock:
            self._active -= 1

    def in_flight(self) -> int:
        with self._active_lock:
            return self._active

    def drain(self, seconds: float) -> None:
        """SIGTERM: keep answering for `seconds` (endpoints and proxies need
        a moment to stop sending here), then stop and let requests in flight finish."""
        self.draining = True
        time.sleep(seconds)  # the drain period itself, not a wait on a condition
        self.shutdown()
        deadline = time.monotonic() + 5.0
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)


def build(host: str, port: int, database_url: str, config_dir: str | None = None,
          trainer_url: str | None = None, default_steps: int = 60) -> tuple[ApiServer, DatabaseMonitor]:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    db = Database(database_url)
    monitor = DatabaseMonitor(db, registry, manage_schema=True)
    api = Api(db=db, monitor=monitor, config=LiveConfig(config_dir), trainer_url=trainer_url, default_steps=default_steps)
    server = ApiServer((host, port), make_handler(api, Metrics(registry), registry))
    return server, monitor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gaudi3-scale-api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GAUDI3_API_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GAUDI3_API_PORT", "8000")))
    parser.add_argument("--config-dir", default=None, help="mounted ConfigMap directory (default $GAUDI3_CONFIG_DIR)")
    args = parser.parse_args(argv)
    disable_created_metrics()  # fewer series for a 1 s scrape
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("gaudi3-scale-api: error: $DATABASE_URL is not set; point it at PostgreSQL (postgresql://user:pass@host:5432/db)", file=sys.stderr)
        return 2
    steps = int(os.environ.get("GAUDI3_DEFAULT_JOB_STEPS", "60"))
    try:
        server, monitor = build(args.host, args.port, url, args.config_dir, os.environ.get("TRAINER_URL"), steps)
    except OSError as exc:
        print(f"gaudi3-scale-api: error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    monitor.start()

    drain_seconds = float(os.environ.get("GAUDI3_API_DRAIN_SECONDS", "2"))

    def stop(signum, _frame):
        if server.draining:
            return
        log.info("signal %d: draining for %.1fs, then shutting down", signum, drain_seconds)
        threading.Thread(target=server.drain, args=(drain_seconds,), daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving on %s:%d", args.host, args.port)
    server.serve_forever(poll_interval=0.5)
    deadline = time.monotonic() + 5.0
    while server.in_flight() and time.monotonic() < deadline:  # bounded: in-flight requests finish
        time.sleep(0.05)
    server.server_close()
    monitor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
