"""The page: Alertmanager's webhook notification, received by a small HTTP
receiver gameday runs, so the person is paged by the real notification path
(Prometheus rule -> Alertmanager route -> webhook), not by gameday's own
polling.

`PageReceiver` records every notification Alertmanager POSTs (with the
User-Agent it sent, which is how a test tells Alertmanager's page from
anything else). `route_to(...)` adds gameday's receiver to Alertmanager's
configuration (a ConfigMap the project names), reloads Alertmanager and
returns the rollback that puts the previous configuration back."""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import yaml

from ..errors import TargetError, UserError
from .session import Session

log = logging.getLogger("gameday.human.pager")
RECEIVER = "gameday-pager"


class PageReceiver:
    """An Alertmanager webhook receiver on (host, port); port 0 picks one."""

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0,
                 on_page: Callable[[dict], None] | None = None):
        self.session = session
        self.on_page = on_page
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, 1 << 20))
                try:
                    payload = json.loads(raw or b"{}")
                    if not isinstance(payload, dict) or "alerts" not in payload:
                        raise ValueError("not an Alertmanager webhook payload")
                except ValueError as exc:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(str(exc).encode())
                    return
                page = {"t_received": time.time(), "user_agent": self.headers.get("User-Agent", ""),
                        "path": self.path, **payload}
                receiver.session.record_page(page)
                if receiver.on_page:
                    try:
                        receiver.on_page(page)
                    except Exception:  # a broken view must not lose the page
                        log.exception("page callback failed")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_):  # the timeline is the log
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="page-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/page"

    def start(self) -> "PageReceiver":
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def with_receiver(config: dict, url: str) -> dict:
    """Alertmanager configuration with gameday's webhook receiver added as
    the first child route (`continue: true`, so the platform's own receivers
    still get every notification). Pure."""
    config = json.loads(json.dumps(config or {}))
    receivers = [r for r in config.get("receivers") or [] if r.get("name") != RECEIVER]
    receivers.append({"name": RECEIVER, "webhook_configs": [{"url": url, "send_resolved": True}]})
    config["receivers"] = receivers
    route = config.setdefault("route", {"receiver": receivers[0]["name"]})
    children = [r for r in route.get("routes") or [] if r.get("receiver") != RECEIVER]
    route["routes"] = [{"receiver": RECEIVER, "continue": True, "group_wait": "0s"}, *children]
    return config


def _get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def route_to(target, url: str, *, configmap: str, namespace: str, key: str, alertmanager_url: str,
             within: float = 90.0) -> Callable[[], None]:
    """Route Alertmanager's notifications to `url` as well; waits (bounded)
    until Alertmanager runs the new configuration. Returns the rollback."""
    core = target.core()
    try:
        cm = core.read_namespaced_config_map(configmap, namespace, _request_timeout=10)
    except Exception as exc:
        raise TargetError(f"Alertmanager configuration {namespace}/{configmap} not readable: {getattr(exc, 'reason', exc)}")
    previous = (cm.data or {}).get(key)
    if previous is None:
        raise UserError(f"ConfigMap {namespace}/{configmap} has no key {key!r}; name Alertmanager's configuration "
                        f"file in gameday.yaml (paging.alertmanager_config)")
    new = yaml.safe_dump(with_receiver(yaml.safe_load(previous) or {}, url), sort_keys=False)

    def apply(text: str, want_receiver: bool) -> None:
        core.patch_namespaced_config_map(configmap, namespace, {"data": {key: text}}, _request_timeout=10)
        wait_config(alertmanager_url, want_receiver, within)

    def rollback() -> None:
        apply(previous, False)

    apply(new, True)
    return rollback


def wait_config(alertmanager_url: str, want_receiver: bool, within: float) -> None:
    """Ask Alertmanager to reload until its running configuration has (or
    no longer has) gameday's receiver; the ConfigMap's file may take a
    moment to reach the pod."""
    deadline = time.monotonic() + within
    last = ""
    while True:
        try:
            req = urllib.request.Request(alertmanager_url.rstrip("/") + "/-/reload", data=b"", method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            status = _get_json(alertmanager_url.rstrip("/") + "/api/v2/status")
            has = RECEIVER in ((status.get("config") or {}).get("original") or "")
            if has == want_receiver:
                return
            last = "configuration not reloaded yet"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = f"{exc.__class__.__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TargetError(f"Alertmanager at {alertmanager_url} did not load the paging route within {within:.0f}s ({last})")
        time.sleep(0.5)
