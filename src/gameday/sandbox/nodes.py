"""The sandbox's machines: each node a `NodeHost` (its own kubelet, state
directory and status reporter), and the `NodePool` that holds them, routes the
API server's logs/exec/metrics to the right kubelet (the NodeAgent contract)
and powers nodes off and on.

Stopping a node is what a machine that lost power looks like to the cluster:
its kubelet stops its containers and stops reporting; the node lifecycle
controller then sees the heartbeats stop (NotReady, `node.kubernetes.io/
unreachable` taints, evictions after tolerationSeconds). Starting it again is
a reboot: a fresh kubelet finishes the pods deleted meanwhile and restarts the
ones still bound to it, and the node returns Ready. A host the pool has let go
(the sandbox stopping, the node removed) is retired: it never starts again, so
no kubelet outlives the sandbox (the power controller, seeing a node without a
kubelet while the pool stops it, would otherwise reboot it).

Through the Kubernetes API (faults, tests, `kubectl`), a node is stopped by
the annotation `gameday.io/node-stopped: "true"` and started by removing it:
`kubectl annotate node NAME gameday.io/node-stopped=true` /
`kubectl annotate node NAME gameday.io/node-stopped-`. The `PowerController`
honours it."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

from .config import NodeConfig
from .controllers.base import Controller
from .controllers.node import NodeStatusReporter
from .kubelet.kubelet import Kubelet
from .resources import NODE, POD
from .store import ApiError, Store, record_event

log = logging.getLogger("gameday.sandbox.nodes")

STOPPED_ANNOTATION = "gameday.io/node-stopped"
_IPS_PER_NODE = 16 * 254  # each node allocates pod IPs from its own 16 /24s of the block


class NodeHost:
    """One simulated machine: a kubelet in its own state directory (claims'
    directories are shared: a claim is a network disk every node can mount)
    and the status reporter that is its heartbeat."""

    def __init__(self, store: Store, config: NodeConfig, index: int, state_dir: Path, catalog, *,
                 heartbeat_seconds: float, kubelet_options: dict) -> None:
        self.store = store
        self.config = config
        self.index = index
        self.dir = Path(state_dir) / "nodes" / config.name
        self.shared_volumes = Path(state_dir) / "volumes"
        self.catalog = catalog
        self.heartbeat_seconds = heartbeat_seconds
        self.kubelet_options = kubelet_options
        self.kubelet: Kubelet | None = None
        self.reporter: NodeStatusReporter | None = None
        self.retired = False
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def running(self) -> bool:
        return self.kubelet is not None

    def start(self) -> None:
        with self._lock:
            if self.kubelet is not None:
                return
            if self.retired:
                log.info("node %s is retired: not starting it", self.name)
                return
            self.dir.mkdir(parents=True, exist_ok=True)
            self.shared_volumes.mkdir(parents=True, exist_ok=True)
            link = self.dir / "volumes"
            if not link.is_symlink():
                link.symlink_to(os.path.relpath(self.shared_volumes, self.dir))
            os.chmod(self.dir, 0o755)
            # The node's address is where its pods reach it (the pod network's node IP when isolated).
            network = self.kubelet_options.get("network")
            address = network.node_ip if network is not None else "127.0.0.1"
            reporter = NodeStatusReporter(self.store, self.config, self.heartbeat_seconds, address=address)
            reporter.start()
            kubelet = Kubelet(self.store, self.config.name, self.dir, self.catalog, node_ip=address,
                              ip_offset=self.index * _IPS_PER_NODE, **self.kubelet_options)
            kubelet.start()
            self.reporter, self.kubelet = reporter, kubelet
        log.info("node %s started", self.name)

    def stop(self, grace: float = 5.0) -> None:
        """Stop reporting and stop every container (grace 0: the power is cut)."""
        with self._lock:
            kubelet, reporter = self.kubelet, self.reporter
            self.kubelet = self.reporter = None
        for part in (reporter, kubelet):
            if part is not None:
                try:
                    part.stop(grace) if part is kubelet else part.stop()
                except Exception:
                    log.exception("node %s: stopping %s failed", self.name, type(part).__name__)
        if kubelet is not None:
            log.info("node %s stopped", self.name)

    def retire(self, grace: float = 5.0) -> None:
        """Stop for good: a `start` already under way finishes first (the lock),
        any later one starts nothing."""
        with self._lock:
            self.retired = True
        self.stop(grace)


class NodePool:
    """Every node of the sandbox; the API server's NodeAgent (each call goes
    to the kubelet of the pod's node) and the proxies' pod_for_pid."""

    def __init__(self, store: Store, window_seconds: float = 15.0) -> None:
        self.store = store
        self.hosts: dict[str, NodeHost] = {}
        self._lock = threading.Lock()
        # What metrics-server adds to the kubelets' 1 s samples: an average over
        # a window, so a CPU figure (10 ms ticks) is not 0 % one second, 20 % the next.
        self.window_seconds = window_seconds
        self._samples: list[tuple[float, object]] = []
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self) -> None:
        self._sampler = threading.Thread(target=self._sample_loop, name="metrics-window", daemon=True)
        self._sampler.start()

    def _sample_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                now = time.monotonic()
                sample = self._instant()
                with self._lock:
                    self._samples = [(t, u) for t, u in self._samples if now - t <= self.window_seconds]
                    self._samples.append((now, sample))
            except Exception:
                log.exception("sampling the kubelets' usage failed")

    def add(self, host: NodeHost) -> None:
        with self._lock:
            self.hosts[host.name] = host

    def remove(self, name: str) -> NodeHost | None:
        """Take a node out of the pool; it is retired (stopped, and never started
        again by a reconcile that still holds it)."""
        with self._lock:
            host = self.hosts.pop(name, None)
        if host is not None:
            host.retire(grace=0.0)
        return host

    def kubelets(self) -> list[Kubelet]:
        with self._lock:
            return [h.kubelet for h in self.hosts.values() if h.kubelet is not None]

    def stop(self) -> None:
        """Retire every node (their kubelets stop their containers) and the sampler."""
        self._stop.set()
        with self._lock:
            hosts = list(self.hosts.values())
        threads = [threading.Thread(target=h.retire, name=f"retire-{h.name}", daemon=True) for h in hosts]
        for t in threads:
            t.start()
        for t in threads + ([self._sampler] if self._sampler is not None else []):
            t.join(timeout=60)

    # -- NodeAgent -----------------------------------------------------------
    def _kubelet_of(self, namespace: str, pod: str) -> Kubelet:
        obj = self.store.try_get(POD, namespace, pod)
        node = (obj or {}).get("spec", {}).get("nodeName")
        with self._lock:
            host = self.hosts.get(node or "")
        if host is None or host.kubelet is None:
            raise ApiError(500, "InternalError", f'Get "https://{node}:10250/containerLogs/{namespace}/{pod}": '
                                                 f"dial tcp {node}:10250: connect: no route to host")
        return host.kubelet

    def logs(self, namespace: str, pod: str, container: str, **kwargs) -> Iterator[bytes]:
        return self._kubelet_of(namespace, pod).logs(namespace, pod, container, **kwargs)

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str], stdin: bool = False,
             tty: bool = False):
        return self._kubelet_of(namespace, pod).exec(namespace, pod, container, command, stdin=stdin, tty=tty)

    def usage(self):
        """The average of the samples of the window: a pod's CPU is averaged over
        the samples it appears in, its memory is the latest."""
        from .apiserver.node_agent import ContainerUsage, NodeUsage, PodUsage, Usage
        with self._lock:
            samples = [u for _, u in self._samples]
        if not samples:
            return self._instant()
        latest = samples[-1]
        pods = []
        for pod in latest.pods:
            seen = [next((p for p in u.pods if (p.namespace, p.name) == (pod.namespace, pod.name)), None)
                    for u in samples]
            seen = [p for p in seen if p is not None]
            containers = []
            for c in pod.containers:
                cpu = [x.cpu_cores for p in seen for x in p.containers if x.name == c.name]
                containers.append(ContainerUsage(c.name, sum(cpu) / len(cpu) if cpu else c.cpu_cores,
                                                 c.memory_bytes))
            pods.append(PodUsage(pod.namespace, pod.name, tuple(containers)))
        nodes = []
        for node in latest.nodes:
            cpu = [n.cpu_cores for u in samples for n in u.nodes if n.name == node.name]
            nodes.append(NodeUsage(node.name, sum(cpu) / len(cpu), node.memory_bytes))
        return Usage(timestamp=latest.timestamp, window_seconds=float(len(samples)), nodes=tuple(nodes),
                     pods=tuple(pods))

    def _instant(self):
        """Pods from every running kubelet; each node's usage is the sum of its
        pods' (the nodes share one machine, whose totals would be the same for all)."""
        from .apiserver.node_agent import NodeUsage, Usage
        samples = [k.usage() for k in self.kubelets()]
        pods, nodes, stamps, windows = [], [], [], []
        for k, u in zip(self.kubelets(), samples):
            pods.extend(u.pods)
            cpu = sum(c.cpu_cores for p in u.pods for c in p.containers)
            mem = sum(c.memory_bytes for p in u.pods for c in p.containers)
            nodes.append(NodeUsage(k.node_name, cpu, mem))
            stamps.append(u.timestamp)
            windows.append(u.window_seconds)
        return Usage(timestamp=min(stamps) if stamps else time.time(), window_seconds=max(windows or [1.0]),
                     nodes=tuple(nodes), pods=tuple(pods))

    def pod_for_pid(self, pid: int | None):
        for k in self.kubelets():
            key = k.pod_for_pid(pid)
            if key is not None:
                return key
        return None

    def pids(self) -> list[int]:
        return [pid for k in self.kubelets() for pid in k.pids()]


class PowerController(Controller):
    """Stops and starts nodes as their `gameday.io/node-stopped` annotation says."""

    name = "node-power"
    watches = (NODE,)
    resync_seconds = 5.0

    def __init__(self, store: Store, pool: NodePool) -> None:
        super().__init__(store)
        self.pool = pool

    def keys_for(self, change):
        return [change.obj["metadata"]["name"]]

    def all_keys(self):
        return list(self.pool.hosts)

    def reconcile(self, name):
        host = self.pool.hosts.get(name)
        node = self.store.try_get(NODE, None, name)
        if host is None or node is None or host.retired:
            return None
        stopped = (node["metadata"].get("annotations") or {}).get(STOPPED_ANNOTATION, "").lower() == "true"
        if stopped and host.running:
            record_event(self.store, node, "Shutdown", f"Node {name} is shutting down ({STOPPED_ANNOTATION})",
                         "Warning", "gameday-sandbox")
            host.stop(grace=0.0)
        elif not stopped and not host.running:
            record_event(self.store, node, "Starting", f"Starting node {name}", component="gameday-sandbox")
            host.start()
        return None
