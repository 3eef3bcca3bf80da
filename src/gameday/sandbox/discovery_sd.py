"""Prometheus http_sd discovery for the sandbox (Debian's Prometheus has no
kubernetes_sd_configs): the pods annotated `prometheus.io/scrape: "true"` as
targets, served on the Service sandbox-discovery.kube-system:8080/targets.

The same server stands in for kube-state-metrics on /metrics (and lists
itself as a target with job="kube-state-metrics"): the series of
kubestate.py, so alert rules written on kube-state-metrics series for real
clusters (the kubernetes-mixin's kubernetes-apps group, the platform's own)
evaluate in the sandbox unchanged."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import kubestate
from .resources import ENDPOINTS, NAMESPACE, POD, RESOURCES, SERVICE
from .store import ApiError, Store

log = logging.getLogger(__name__)

SERVICE_NAME, NAMESPACE_NAME, PORT, PATH = "sandbox-discovery", "kube-system", 8080, "/targets"
METRICS_PATH = "/metrics"


def targets(pods: list[dict]) -> list[dict]:
    """http_sd target groups for the scrape-annotated pods with an IP. Pure."""
    out = []
    for pod in sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
        meta, status = pod["metadata"], pod.get("status") or {}
        ann, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        if ann.get("prometheus.io/scrape") != "true" or not status.get("podIP") or \
                status.get("phase") in ("Succeeded", "Failed"):
            continue
        port = ann.get("prometheus.io/port")
        if not port:
            ports = [p["containerPort"] for c in pod["spec"].get("containers") or [] for p in c.get("ports") or []]
            if not ports:
                continue
            port = ports[0]
        group_labels = {
            "__metrics_path__": ann.get("prometheus.io/path", "/metrics"),
            "__scheme__": ann.get("prometheus.io/scheme", "http"),
            "namespace": meta["namespace"], "pod": meta["name"],
        }
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/instance", "app"):
            if key in labels:
                group_labels[key.replace(".", "_").replace("/", "_").replace("-", "_")] = labels[key]
        out.append({"targets": [f"{status['podIP']}:{port}"], "labels": group_labels})
    return out


def self_target(ip: str) -> dict:
    """The kube-state-metrics stand-in as one more http_sd target."""
    return {"targets": [f"{ip}:{PORT}"],
            "labels": {"__metrics_path__": METRICS_PATH, "__scheme__": "http", "job": "kube-state-metrics"}}


def kube_state_objects(store: Store) -> dict[tuple[str, str], list[dict]]:
    """The store's objects of each kind kube-state-metrics exports, keyed by
    (group, plural); a kind this sandbox does not serve is left out (so its
    families are not exported, as kube-state-metrics without that collector)."""
    out = {}
    for group, plural, _ in kubestate.KINDS:
        res = next((r for r in RESOURCES if r.group == group and r.plural == plural), None)
        if res is not None:
            out[(group, plural)] = store.list(res)[0]
    return out


def state_metrics(store: Store) -> str:
    """kube-state-metrics' exposition of the store's objects."""
    return kubestate.exposition(kubestate.families(kube_state_objects(store)))


class DiscoveryServer:
    def __init__(self, store: Store, ip: str) -> None:
        self.store = store
        self.ip = ip
        store_ref = store

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                path = self.path.split("?")[0]
                if path == PATH:
                    groups = targets(store_ref.list(POD)[0]) + [self_target(ip)]
                    body, ctype = json.dumps(groups).encode(), "application/json"
                elif path == METRICS_PATH:
                    try:
                        body = state_metrics(store_ref).encode()
                    except Exception:  # noqa: BLE001 - one bad object must not take the server down
                        log.exception("kube-state-metrics exposition failed")
                        self.send_error(500)
                        return
                    ctype = "text/plain; version=0.0.4"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((ip, PORT), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="discovery", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.publish()

    def publish(self) -> None:
        """The Service (without selector) and its Endpoints pointing here."""
        if self.store.try_get(NAMESPACE, None, NAMESPACE_NAME) is None:
            try:
                self.store.create(NAMESPACE, {"metadata": {"name": NAMESPACE_NAME}})
            except ApiError:
                pass
        for res, body in (
            (SERVICE, {"metadata": {"name": SERVICE_NAME, "namespace": NAMESPACE_NAME,
                                    "labels": {"app.kubernetes.io/name": SERVICE_NAME}},
                       "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": PORT, "protocol": "TCP",
                                                                "targetPort": PORT}]}}),
            (ENDPOINTS, {"metadata": {"name": SERVICE_NAME, "namespace": NAMESPACE_NAME},
                         "subsets": [{"addresses": [{"ip": self.ip}],
                                      "ports": [{"name": "http", "port": PORT, "protocol": "TCP"}]}]}),
        ):
            try:
                self.store.create(res, body)
            except ApiError:
                pass

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
