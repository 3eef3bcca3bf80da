"""`gaudi3-scale-notify`: the platform's notification receiver (port 8080),
where the runbook's ./scripts/notify-incident.sh and notify-deployment.sh
post; it stands where a chat or paging webhook would be, and keeps what it
received so a drill can read when the incident was notified.

    POST /notify          kind (incident|deployment), severity, message:
                          JSON or form fields; answers 201 with the record
    GET  /notifications   {"notifications": [{id, received_at, kind, severity, message}, ...]}
                          (?since=UNIX_SECONDS: only newer ones)
    GET  /health, /metrics

Records live in memory, the newest MAX_KEPT, and are appended to
$NOTIFY_LOG (a JSON-lines file) when set."""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from .netbind import listen_hosts

log = logging.getLogger("gaudi3_scale.notify")
MAX_KEPT = 1000
MAX_BODY = 16 * 1024
KINDS = ("incident", "deployment")


class Inbox:
    def __init__(self, registry: CollectorRegistry, log_path: str | None = None):
        self._items: deque[dict] = deque(maxlen=MAX_KEPT)
        self._lock = threading.Lock()
        self._next = 1
        self._log_path = log_path
        self.received = Counter("notifications_received", "Notifications received", ["kind", "severity"],
                                registry=registry)

    def add(self, kind: str, severity: str, message: str) -> dict:
        with self._lock:
            record = {"id": self._next, "received_at": time.time(), "kind": kind, "severity": severity,
                      "message": message}
            self._next += 1
            self._items.append(record)
            if self._log_path:
                with open(self._log_path, "a") as fh:
                    fh.write(json.dumps(record) + "\n")
        self.received.labels(kind, severity).inc()
        log.info("%s notification (%s): %s", kind, severity or "-", message)
        return record

    def since(self, t: float) -> list[dict]:
        with self._lock:
            return [r for r in self._items if r["received_at"] > t]


def parse(body: bytes, content_type: str) -> dict:
    if "json" in content_type:
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return {k: str(v) for k, v in data.items()}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def make_handler(inbox: Inbox, registry: CollectorRegistry):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body, ctype: str = "application/json") -> None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/health":
                return self._send(200, {"status": "ok"})
            if url.path == "/metrics":
                return self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            if url.path == "/notifications":
                try:
                    since = float((parse_qs(url.query).get("since") or ["0"])[0])
                except ValueError:
                    return self._send(400, {"error": "bad_request", "message": "since must be UNIX seconds"})
                return self._send(200, {"notifications": inbox.since(since)})
            return self._send(404, {"error": "not_found", "message": f"no route {url.path}"})

        def do_POST(self):
            if urlsplit(self.path).path != "/notify":
                return self._send(404, {"error": "not_found", "message": "POST /notify"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._send(413, {"error": "too_large", "message": f"body over {MAX_BODY} bytes"})
            try:
                fields = parse(self.rfile.read(length), self.headers.get("Content-Type", ""))
            except (ValueError, UnicodeDecodeError) as exc:
                return self._send(400, {"error": "bad_request", "message": f"unreadable body: {exc}"})
            kind, message = fields.get("kind", "incident"), fields.get("message", "").strip()
            if kind not in KINDS or not message:
                return self._send(400, {"error": "bad_request",
                                        "message": f"kind must be one of {', '.join(KINDS)} and message non-empty"})
            self._send(201, inbox.add(kind, fields.get("severity", ""), message))

        def log_message(self, format, *args):  # noqa: A002
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    host = os.environ.get("NOTIFY_HOST", "0.0.0.0")
    port = int(os.environ.get("NOTIFY_PORT", "8080"))
    registry = CollectorRegistry()
    inbox = Inbox(registry, os.environ.get("NOTIFY_LOG") or None)
    servers = []
    for h in listen_hosts(host):
        try:
            servers.append(_Server((h, port), make_handler(inbox, registry)))
        except OSError as exc:
            if not servers:
                print(f"gaudi3-scale-notify: error: cannot listen on {h}:{port}: {exc.strerror}", file=sys.stderr)
                return 1
            log.warning("not listening on %s:%d: %s", h, port, exc.strerror)
    for extra in servers[1:]:
        threading.Thread(target=extra.serve_forever, daemon=True).start()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=servers[0].shutdown, daemon=True).start())
    log.info("receiving notifications on %s:%d", host, port)
    servers[0].serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
