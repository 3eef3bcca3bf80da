"""The Sandbox: a Kubernetes of several nodes whose pods are local processes.
Wires the store, the API server, the controllers, the nodes (each its own
kubelet: gameday.sandbox.nodes), the service proxies and the discovery
endpoint, and applies the configured manifests.

    with Sandbox(state_dir, config="deploy/sandbox/sandbox.yaml") as sb:
        sb.wait_ready(120)
        os.environ["KUBECONFIG"] = str(sb.kubeconfig)
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path

from ..errors import UserError
from . import config as sandbox_config
from . import manifests as manifest_files
from . import releases
from .controllers import all_controllers
from .controllers.base import is_pod_ready
from .discovery_sd import DiscoveryServer
from .images import Catalog
from .config import NodeConfig
from .endpointslices import EndpointSliceMirror
from .ingress import IngressController
from .nodes import NodeHost, NodePool, PowerController
from . import podnet
from .proxy import ServiceProxies
from .resources import DEPLOYMENT, POD, SERVICE, STATEFULSET
from .store import Store

log = logging.getLogger("gameday.sandbox")
_CLAIM_PORT = 47631  # held on 127.B.255.254 while a sandbox owns the block 127.B.0.0/16


def process_start(pid: int) -> int | None:
    """The kernel's start time of PID (clock ticks since boot; /proc/PID/stat
    field 22): with the PID, what names one process for its whole life."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def claim_block(state_dir: Path) -> tuple[int, socket.socket]:
    """A free 127.B.0.0/16 block, held by a bound socket until released, so
    several sandboxes (tests, a user's) run side by side."""
    start = int(hashlib.sha256(str(state_dir).encode()).hexdigest(), 16) % 200
    for i in range(200):
        b = 20 + (start + i) % 200
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((f"127.{b}.255.254", _CLAIM_PORT))
        except OSError:
            sock.close()
            continue
        return b, sock
    raise RuntimeError("no free 127.B.0.0/16 block for the sandbox")


class SandboxError(Exception):
    """The sandbox could not start or get ready (the message carries why)."""


class Sandbox:
    def __init__(self, state_dir, config=None, manifests=None, apply_default: bool = True,
                 crashloop_base: float | None = None, crashloop_cap: float | None = None,
                 extra_images: dict | None = None) -> None:
        self.state_dir = Path(state_dir).resolve()
        if isinstance(config, sandbox_config.SandboxConfig):
            self.config = config
        else:
            self.config = sandbox_config.load(config)
        dirs = list(self.config.manifests) if apply_default else []
        if manifests:
            dirs += [Path(m) for m in ([manifests] if isinstance(manifests, (str, os.PathLike)) else manifests)]
        self.manifest_dirs = dirs
        self.crashloop_base = crashloop_base if crashloop_base is not None else self.config.crashloop_base
        self.crashloop_cap = crashloop_cap if crashloop_cap is not None else self.config.crashloop_cap
        self.extra_images = extra_images or {}
        self.store: Store | None = None
        self.api = None
        self.nodes: NodePool | None = None
        self._catalog = None
        self.proxies: ServiceProxies | None = None
        self.discovery: DiscoveryServer | None = None
        self.ingress: IngressController | None = None
        self.controllers = []
        self.block: int | None = None
        self._block_sock: socket.socket | None = None
        self._log_handler: logging.Handler | None = None

    # -- paths -------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "sandbox.log"

    @property
    def info_file(self) -> Path:
        return self.state_dir / "sandbox.json"

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "Sandbox":
        # Bad input first, before anything runs.
        catalog = Catalog.load(self.config.catalogs, self.extra_images)
        loaded = manifest_files.load(self.manifest_dirs)
        releases.require_helm(self.config.releases, str(self.config.source or "sandbox.yaml"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # A previous run's leftovers: its pods, and its claims' directories (the store
        # lives in memory, so every claim of this run is new).
        for leftover in ("pods", "volumes", "nodes"):
            shutil.rmtree(self.state_dir / leftover, ignore_errors=True)
        self._log_handler = logging.FileHandler(self.log_file)
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("gameday.sandbox").addHandler(self._log_handler)
        logging.getLogger("gameday.sandbox").setLevel(logging.INFO)
        try:
            self._start(catalog, loaded)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, catalog: Catalog, loaded) -> None:
        from .apiserver import ApiServer

        self.block, self._block_sock = claim_block(self.state_dir)
        prefix = f"127.{self.block}"
        self.network = podnet.make_network(self.block, self.state_dir)
        self.store = Store()
        self.proxies = ServiceProxies(self.store, prefix, network=self.network)
        self._catalog = catalog
        self.nodes = NodePool(self.store)
        self.nodes.start()
        self.proxies.pod_for_pid = self.nodes.pod_for_pid
        self.api = ApiServer(self.store, node_agent=self.nodes, host="127.0.0.1", port=0,
                             state_dir=self.state_dir / "apiserver")
        self.api.start()
        self.controllers = all_controllers(self.store, self.config, self.state_dir, usage=self.nodes.usage)
        self.controllers.append(PowerController(self.store, self.nodes))
        for c in self.controllers:
            c.start()
        for node in self.config.nodes:
            self.add_node(node)
        self.proxies.start()
        self.ingress = IngressController(self.store, self.state_dir / "ingress")
        self.ingress.start()
        self.controllers.append(EndpointSliceMirror(self.store))
        self.controllers[-1].start()
        self.discovery = DiscoveryServer(self.store, self.network.discovery_ip)
        self.discovery.start()
        self.api.write_kubeconfig(self.kubeconfig)
        manifest_files.apply(self.store, loaded, self.api.prepare_create)
        releases.install(self.config.releases, self.kubeconfig, self.state_dir / "helm",
                         str(self.config.source or "sandbox.yaml"))
        self.info_file.write_text(json.dumps({
            "pid": os.getpid(), "pid_start": process_start(os.getpid()), "url": self.api.url, "kubeconfig": str(self.kubeconfig),
            "block": f"{prefix}.0.0/16", "started": time.time()}))
        log.info("sandbox up: %s, pods in %s.0.0/16", self.api.url, prefix)

    def stop(self) -> None:
        """Stop everything; no process, thread or directory is left behind."""
        # The control plane first: while nodes stop, no controller creates, binds
        # or powers on anything for them (a ReplicaSet replacing stopped pods, the
        # power controller rebooting a node whose kubelet is stopping).
        for part in (*reversed(self.controllers), self.nodes, self.discovery, self.ingress, self.proxies, self.api):
            if part is None:
                continue
            try:
                part.stop()
            except Exception:
                log.exception("stopping %s failed", type(part).__name__)
        self.nodes = self.discovery = self.ingress = self.proxies = self.api = None
        self.controllers = []
        if getattr(self, "network", None) is not None:
            try:
                self.network.stop()  # pods' namespaces, veths and routes
            except Exception:
                log.exception("removing the pod network failed")
            self.network = None
        if self.store is not None:
            self.store.close_watches()
        if self._block_sock is not None:
            self._block_sock.close()
            self._block_sock = None
        try:
            self.info_file.unlink()
        except OSError:
            pass
        if self._log_handler is not None:
            logging.getLogger("gameday.sandbox").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    # -- nodes ---------------------------------------------------------------
    def add_node(self, node: NodeConfig) -> NodeHost:
        """Start a node (a machine joining the cluster): its kubelet and heartbeat."""
        if node.name in self.nodes.hosts:
            raise SandboxError(f"node {node.name} already exists")
        used = {h.index for h in self.nodes.hosts.values()}
        index = next(i for i in range(len(used) + 1) if i not in used)
        host = NodeHost(self.store, node, index, self.state_dir, self._catalog,
                        heartbeat_seconds=self.config.lifecycle.heartbeat_seconds,
                        kubelet_options={"pod_ip_prefix": f"127.{self.block}",
                                         "service_ip": self.proxies.ensure_cluster_ip,
                                         "crashloop_base": self.crashloop_base,
                                         "crashloop_cap": self.crashloop_cap,
                                         "network": self.network})
        self.nodes.add(host)
        host.start()
        return host

    def remove_node(self, name: str) -> None:
        """A machine leaving the cluster: its kubelet stops and its Node object
        is deleted (its pods are then collected, as the pod GC does)."""
        from .resources import NODE
        host = self.nodes.remove(name)
        if host is not None:
            host.stop(grace=0.0)
        try:
            self.store.delete(NODE, None, name)
        except Exception as exc:  # already gone
            log.info("removing node %s: %s", name, exc)

    @property
    def kubelet(self):
        """The first node's kubelet (what a one-node sandbox had)."""
        kubelets = self.nodes.kubelets() if self.nodes else []
        return kubelets[0] if kubelets else None

    # -- what users ask ------------------------------------------------------
    def service_url(self, name: str, namespace: str = "default", port: int | None = None,
                    timeout: float = 30.0) -> str:
        """http://127.0.0.1:HOSTPORT of a Service (its published host port)."""
        deadline = time.monotonic() + timeout
        while True:
            svc = self.store.try_get(SERVICE, namespace, name)
            if svc is None:
                raise UserError(f'service "{name}" not found in namespace "{namespace}"; check the name and -n')
            hp = self.proxies.host_port(name, namespace, port)
            if hp:
                return f"http://127.0.0.1:{hp}"
            if time.monotonic() > deadline:
                raise SandboxError(f"service {namespace}/{name} got no host port within {timeout:g}s")
            time.sleep(0.05)  # the proxy opens its listener within moments of the Service's creation

    def not_ready(self) -> list[str]:
        """What keeps the sandbox from being ready, one line each (empty when ready)."""
        return readiness_problems(self.store.list(POD)[0], self.store.list(DEPLOYMENT)[0],
                                  self.store.list(STATEFULSET)[0])

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every pod is Ready and every deployment available; raises
        SandboxError naming what is not ready (with its last log lines)."""
        deadline = time.monotonic() + timeout
        while True:
            problems = self.not_ready()
            if not problems:
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"sandbox not ready after {timeout:g}s:\n  " + "\n  ".join(problems)
                                   + self.log_excerpt())
            time.sleep(0.1)  # polls the store; the bound is the deadline above

    def log_excerpt(self, lines: int = 15) -> str:
        """The last log lines of each not-ready pod's containers and of the sandbox."""
        out = []
        for pod in self.store.list(POD)[0] if self.store else []:
            if is_pod_ready(pod) or pod.get("status", {}).get("phase") == "Succeeded":
                continue
            for c in pod["spec"].get("containers") or []:
                for previous in (False, True):
                    try:
                        text = b"".join(self.nodes.logs(pod["metadata"]["namespace"], pod["metadata"]["name"],
                                                          c["name"], previous=previous, tail_lines=lines))
                    except Exception:
                        continue
                    if text:
                        label = "previous " if previous else ""
                        out.append(f"\n--- {label}log of {pod['metadata']['namespace']}/{pod['metadata']['name']} "
                                   f"{c['name']}:\n{text.decode(errors='replace')}")
                        break
        try:
            tail = self.log_file.read_text().splitlines()[-lines:]
            if tail:
                out.append("\n--- sandbox.log:\n" + "\n".join(tail))
        except OSError:
            pass
        return "".join(out)


def readiness_problems(pods: list[dict], deployments: list[dict], statefulsets: list[dict]) -> list[str]:
    """Pods not Ready (Job pods excepted) and workloads short of replicas,
    one line each. Pure: `gameday sandbox up --wait` feeds it from the API."""
    problems = []
    for pod in pods:
        phase = pod.get("status", {}).get("phase")
        if phase == "Succeeded" or pod["metadata"].get("deletionTimestamp"):
            continue
        owners = {r.get("kind") for r in pod["metadata"].get("ownerReferences") or []}
        if "Job" in owners and phase != "Failed":
            continue
        if not is_pod_ready(pod):
            states = []
            for cs in pod.get("status", {}).get("containerStatuses") or []:
                state = next(iter(cs.get("state") or {"unknown": {}}))
                detail = (cs["state"].get(state) or {}).get("reason", "")
                states.append(f"{cs['name']}={state}{'/' + detail if detail else ''}"
                              f"(restarts {cs.get('restartCount', 0)})")
            problems.append(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']} {phase}: "
                            + (", ".join(states) or "not scheduled"))
    for kind, items, field in (("deployment", deployments, "availableReplicas"),
                               ("statefulset", statefulsets, "readyReplicas")):
        for obj in items:
            want = int(obj["spec"].get("replicas", 1))
            st = obj.get("status") or {}
            have = st.get(field, 0) or 0
            if have < want or st.get("observedGeneration", 0) < obj["metadata"].get("generation", 1):
                problems.append(f"{kind} {obj['metadata']['namespace']}/{obj['metadata']['name']}: "
                                f"{have}/{want} ready")
    return problems
