"""Prometheus http_sd discovery for the sandbox (Debian's Prometheus has no
kubernetes_sd_configs): the pods annotated `prometheus.io/scrape: "true"` as
targets, served on the Service sandbox-discovery.kube-system:8080/targets.

The same server stands in for kube-state-metrics on /metrics (and lists
itself as a target), so alert rules written on kube_pod_* series for real
clusters (crash-looping, pods not ready) work in the sandbox unchanged."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .resources import DEPLOYMENT, ENDPOINTS, NAMESPACE, POD, SERVICE
from .store import ApiError, Store

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


def _label_value(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _series(name: str, labels: dict, value: float) -> str:
    inner = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {value:g}"


def state_metrics(pods: list[dict], deployments: list[dict]) -> str:
    """kube-state-metrics' pod and deployment series (the subset alert rules
    use), in Prometheus' text format. Pure."""
    lines = [
        "# TYPE kube_pod_status_ready gauge",
        "# TYPE kube_pod_status_phase gauge",
        "# TYPE kube_pod_container_status_restarts_total counter",
        "# TYPE kube_pod_container_status_waiting_reason gauge",
        "# TYPE kube_pod_container_status_ready gauge",
        "# TYPE kube_deployment_spec_replicas gauge",
        "# TYPE kube_deployment_status_replicas_available gauge",
    ]
    for pod in sorted(pods, key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"])):
        meta, status = pod["metadata"], pod.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "pod": meta["name"]}
        ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown")
        for condition in ("true", "false", "unknown"):
            lines.append(_series("kube_pod_status_ready", {**base, "condition": condition},
                                 1 if str(ready).lower() == condition else 0))
        phase = status.get("phase", "Pending")
        for candidate in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
            lines.append(_series("kube_pod_status_phase", {**base, "phase": candidate}, 1 if phase == candidate else 0))
        for cs in status.get("containerStatuses") or []:
            c = {**base, "container": cs.get("name", "")}
            lines.append(_series("kube_pod_container_status_restarts_total", c, cs.get("restartCount", 0)))
            lines.append(_series("kube_pod_container_status_ready", c, 1 if cs.get("ready") else 0))
            waiting = (cs.get("state") or {}).get("waiting")
            if waiting and waiting.get("reason"):
                lines.append(_series("kube_pod_container_status_waiting_reason", {**c, "reason": waiting["reason"]}, 1))
    for dep in sorted(deployments, key=lambda d: (d["metadata"].get("namespace", ""), d["metadata"]["name"])):
        base = {"namespace": dep["metadata"].get("namespace", ""), "deployment": dep["metadata"]["name"]}
        lines.append(_series("kube_deployment_spec_replicas", base, (dep.get("spec") or {}).get("replicas", 1)))
        lines.append(_series("kube_deployment_status_replicas_available", base,
                             (dep.get("status") or {}).get("availableReplicas", 0)))
    return "\n".join(lines) + "\n"


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
                    body = state_metrics(store_ref.list(POD)[0], store_ref.list(DEPLOYMENT)[0]).encode()
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
