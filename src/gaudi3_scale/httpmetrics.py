"""A tiny HTTP endpoint for the trainer and exporters: /metrics plus JSON
routes such as /health, on a background thread."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .netbind import listen_hosts

log = logging.getLogger(__name__)

Route = Callable[[], tuple[int, dict]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(host: str, port: int, registry: CollectorRegistry, routes: dict[str, Route] | None = None) -> _Server:
    routes = dict(routes or {})

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                status, payload, ctype = 200, generate_latest(registry), CONTENT_TYPE_LATEST
            elif path in routes:
                status, body = routes[path]()
                payload, ctype = json.dumps(body).encode(), "application/json"
            else:
                status, payload, ctype = 404, b'{"error": "not_found"}', "application/json"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):  # noqa: A002
            pass

    hosts = listen_hosts(host)
    server = _Server((hosts[0], port), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="metrics-http", daemon=True).start()
    for extra in hosts[1:]:  # the pod's own loopback: best effort
        try:
            local = _Server((extra, port), Handler)
        except OSError as exc:
            log.warning("not listening on %s:%d: %s", extra, port, exc.strerror)
            continue
        threading.Thread(target=local.serve_forever, kwargs={"poll_interval": 0.5}, name="metrics-http-local",
                         daemon=True).start()
    return server
