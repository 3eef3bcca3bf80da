"""Container probes (httpGet, tcpSocket, exec) and the thread that runs a
container's startup, liveness and readiness probes on their schedule."""
from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str = ""


def resolve_port(port, container: dict) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"port {port!r} not found in the container's ports")


def run_probe(probe: dict, container: dict, pod_ip: str,
              run_exec: Callable[[list[str], float], int]) -> ProbeResult:
    timeout = float(probe.get("timeoutSeconds", 1) or 1)
    try:
        if "httpGet" in probe:
            h = probe["httpGet"]
            host, port = h.get("host") or pod_ip, resolve_port(h.get("port"), container)
            path = h.get("path") or "/"
            if h.get("scheme", "HTTP").upper() == "HTTPS":
                conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                   context=ssl._create_unverified_context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            try:
                headers = {x["name"]: x["value"] for x in h.get("httpHeaders") or []}
                headers.setdefault("User-Agent", "kube-probe/1.32")
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read(1024)
            finally:
                conn.close()
            if 200 <= resp.status < 400:
                return ProbeResult(True)
            return ProbeResult(False, f"HTTP probe failed with statuscode: {resp.status}")
        if "tcpSocket" in probe:
            t = probe["tcpSocket"]
            host, port = t.get("host") or pod_ip, resolve_port(t.get("port"), container)
            with socket.create_connection((host, port), timeout=timeout):
                return ProbeResult(True)
        if "exec" in probe:
            code = run_exec(list(probe["exec"].get("command") or []), timeout)
            if code == 0:
                return ProbeResult(True)
            return ProbeResult(False, f"command {probe['exec'].get('command')} exited with {code}")
        return ProbeResult(True)  # grpc and unknown handlers: not checked in the sandbox
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"command timed out after {timeout:g}s")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        host = (probe.get("httpGet") or probe.get("tcpSocket") or {}).get("host") or pod_ip
        return ProbeResult(False, f"Get \"http://{host}\": {exc}" if "httpGet" in probe
                           else f"dial tcp {host}: {exc}")


class Prober:
    """Runs one container's probes. `on_change(kind, ok, message)` is called
    when startup passes, when readiness flips, and when liveness or startup
    cross their failureThreshold; `on_failure(kind, message)` on each failure."""

    def __init__(self, container: dict, pod_ip: str, run_exec, on_change, on_failure) -> None:
        self.container = container
        self.pod_ip = pod_ip
        self.run_exec = run_exec
        self.on_change = on_change
        self.on_failure = on_failure
        self._stop = threading.Event()
        self.started = "startupProbe" not in container
        self.ready = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"prober-{container.get('name')}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        c = self.container
        probes = {k: c[k] for k in ("startupProbe", "livenessProbe", "readinessProbe") if c.get(k)}
        if not probes:
            return
        began = time.monotonic()
        next_at = {k: began + float(p.get("initialDelaySeconds", 0) or 0) for k, p in probes.items()}
        fails = {k: 0 for k in probes}
        oks = {k: 0 for k in probes}
        while not self._stop.is_set():
            now = time.monotonic()
            due = [k for k in probes if next_at[k] <= now and (k == "startupProbe" or self.started)]
            if "startupProbe" in due and self.started:
                due.remove("startupProbe")
            for kind in due:
                probe = probes[kind]
                next_at[kind] = time.monotonic() + float(probe.get("periodSeconds", 10) or 10)
                result = run_probe(probe, c, self.pod_ip, self.run_exec)
                if self._stop.is_set():
                    return
                if result.ok:
                    fails[kind], oks[kind] = 0, oks[kind] + 1
                    if kind == "startupProbe" and not self.started and \
                            oks[kind] >= int(probe.get("successThreshold", 1) or 1):
                        self.started = True
                        self.on_change("startup", True, "")
                        now = time.monotonic()
                        for k in probes:
                            if k != "startupProbe":
                                next_at[k] = now + float(probes[k].get("initialDelaySeconds", 0) or 0)
                    elif kind == "readinessProbe" and not self.ready and \
                            oks[kind] >= int(probe.get("successThreshold", 1) or 1):
                        self.ready = True
                        self.on_change("readiness", True, "")
                else:
                    oks[kind], fails[kind] = 0, fails[kind] + 1
                    name = {"startupProbe": "Startup", "livenessProbe": "Liveness",
                            "readinessProbe": "Readiness"}[kind]
                    self.on_failure(kind, f"{name} probe failed: {result.message}")
                    threshold = int(probe.get("failureThreshold", 3) or 3)
                    if kind == "readinessProbe" and self.ready and fails[kind] >= threshold:
                        self.ready = False
                        self.on_change("readiness", False, result.message)
                    elif kind in ("livenessProbe", "startupProbe") and fails[kind] >= threshold:
                        self.on_change("liveness" if kind == "livenessProbe" else "startup", False,
                                       f"{name} probe failed: {result.message}")
                        return  # the container is killed; a new one gets a new prober
            wait = min((t for k, t in next_at.items() if k == "startupProbe" or self.started),
                       default=time.monotonic() + 1) - time.monotonic()
            self._stop.wait(max(0.05, min(wait, 1.0)))
