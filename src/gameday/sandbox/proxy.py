"""Service proxies: what kube-proxy and a LoadBalancer are to a cluster.

Each Service gets a cluster IP in the sandbox's block with a TCP proxy on
each of its ports, plus a host port on 127.0.0.1 published in the Service's
`status.loadBalancer.ingress` (how the harness finds it through the API).
Connections go round-robin to the ready endpoints. NetworkPolicies are
enforced here: a connection to a pod selected by a policy whose ingress rules
do not admit the source is refused, and open connections a new policy denies
are cut (as a firewall rule would drop their packets). Traffic sent straight
to a pod IP bypasses the proxy and is not policed."""
from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import os
import socket
import threading
from dataclasses import dataclass, field

from . import netchaos
from .controllers.base import Controller
from .resources import ENDPOINTS, NAMESPACE, NETWORKPOLICY, POD, SERVICE
from .selectors import labels_match, selector_from_match
from .store import ApiError, Store

log = logging.getLogger("gameday.sandbox.proxy")


# -- NetworkPolicy: pure ------------------------------------------------------
def _port_allowed(rule: dict, port: int, dest_pod: dict) -> bool:
    ports = rule.get("ports") or []
    if not ports:
        return True
    for p in ports:
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str) and not want.isdigit():
            for c in dest_pod.get("spec", {}).get("containers") or []:
                for cp in c.get("ports") or []:
                    if cp.get("name") == want and int(cp["containerPort"]) == port:
                        return True
            continue
        end = p.get("endPort") or int(want)
        if int(want) <= port <= int(end):
            return True
    return False


def admitted(policies: list[dict], dest_pod: dict, port: int, src_pod: dict | None,
             namespaces: dict[str, dict], src_ip: str = "127.0.0.1") -> bool:
    """Whether the ingress policies of the destination's namespace let the
    source (a pod, or None for the host) reach dest_pod on port."""
    dns = dest_pod["metadata"].get("namespace")
    dlabels = dest_pod["metadata"].get("labels") or {}
    selecting = []
    for pol in policies:
        spec = pol.get("spec") or {}
        if pol["metadata"].get("namespace") != dns:
            continue
        types = spec.get("policyTypes") or ["Ingress"]
        if "Ingress" not in types:
            continue
        if labels_match(selector_from_match(spec.get("podSelector") or {}), dlabels):
            selecting.append(spec)
    if not selecting:
        return True
    for spec in selecting:
        for rule in spec.get("ingress") or []:
            if not _port_allowed(rule, port, dest_pod):
                continue
            peers = rule.get("from")
            if not peers:
                return True
            for peer in peers:
                if "ipBlock" in peer:
                    block = peer["ipBlock"]
                    try:
                        ip = ipaddress.ip_address(src_ip)
                        if ip in ipaddress.ip_network(block.get("cidr", "0.0.0.0/0"), strict=False) and not any(
                                ip in ipaddress.ip_network(x, strict=False) for x in block.get("except") or []):
                            return True
                    except ValueError:
                        pass
                    continue
                if src_pod is None:
                    continue
                sns = src_pod["metadata"].get("namespace")
                if "namespaceSelector" in peer:
                    ns_labels = (namespaces.get(sns) or {}).get("metadata", {}).get("labels") or {}
                    ns_labels = {"kubernetes.io/metadata.name": sns, **ns_labels}
                    if not labels_match(selector_from_match(peer["namespaceSelector"]), ns_labels):
                        continue
                elif sns != dns:
                    continue
                if "podSelector" in peer and not labels_match(selector_from_match(peer["podSelector"]),
                                                              src_pod["metadata"].get("labels") or {}):
                    continue
                return True
    return False


def source_matters(policies: list[dict], dest_pod: dict) -> bool:
    """Whether admission to dest_pod depends on which pod calls (a rule with a
    pod or namespace selector); when not, the costly lookup of the caller is skipped."""
    dns = dest_pod["metadata"].get("namespace")
    for pol in policies:
        spec = pol.get("spec") or {}
        if pol["metadata"].get("namespace") != dns or not labels_match(
                selector_from_match(spec.get("podSelector") or {}), dest_pod["metadata"].get("labels") or {}):
            continue
        for rule in spec.get("ingress") or []:
            if any("podSelector" in peer or "namespaceSelector" in peer for peer in rule.get("from") or []):
                return True
    return False


# -- who is calling: the pod behind a loopback connection ------------------------
def _hex_addr(ip: str, port: int) -> str:
    return "%08X:%04X" % (int.from_bytes(socket.inet_aton(ip), "little"), port)


def socket_inode(local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The inode of the client-side socket of a connection (from /proc/net/tcp)."""
    want_l, want_r = _hex_addr(*local), _hex_addr(*remote)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want_l and parts[2] == want_r:
                    return int(parts[9])
    except (OSError, StopIteration, IndexError, ValueError):
        pass
    return None


def pid_of_inode(inode: int, candidates: list[int] | None = None) -> int | None:
    target = f"socket:[{inode}]"
    pids = candidates if candidates is not None else [int(p) for p in os.listdir("/proc") if p.isdigit()]
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


# -- the proxies ---------------------------------------------------------------
@dataclass
class Listener:
    service: tuple[str, str]
    port: int  # the Service port
    cluster: asyncio.base_events.Server | None = None
    host: asyncio.base_events.Server | None = None
    host_port: int = 0


@dataclass(eq=False)
class Conn:
    dest_pod: tuple[str, str] | None
    port: int
    src_pod: dict | None
    src_ip: str
    writers: list = field(default_factory=list)
    peer: tuple | None = None
    local: tuple | None = None
    identified: bool = False


class ServiceProxies(Controller):
    """Reconciles Services into cluster IPs, listeners and published host ports."""

    name = "service-proxy"
    watches = (SERVICE, ENDPOINTS, NETWORKPOLICY)
    resync_seconds = 10.0

    def __init__(self, store: Store, ip_prefix: str, pod_for_pid=lambda pid: None, network=None) -> None:
        super().__init__(store)
        from .podnet import PodNetwork
        self.ip_prefix = ip_prefix  # "127.B"
        # Where cluster IPs come from and which addresses are pods' (podnet.py).
        self.network = network or PodNetwork(int(ip_prefix.split(".")[1]), isolated=False)
        self.pod_for_pid = pod_for_pid
        self._ips = itertools.count(0)
        self._ip_lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="proxy-loop", daemon=True)
        self.listeners: dict[tuple[str, str, int], Listener] = {}
        self.backends: dict[tuple[str, str, int], list[tuple[str, int, tuple[str, str] | None]]] = {}
        self._rr: dict[tuple[str, str, int], itertools.count] = {}
        self.conns: set[Conn] = set()
        self._policies: list[dict] = []
        self._policy_generation = 0  # bumped when the policies change

    def keys_for(self, change):
        if change.key == NETWORKPOLICY.key:
            return ["policies"]
        return [(change.obj["metadata"]["namespace"], change.obj["metadata"]["name"])]

    def all_keys(self):
        return ["policies"] + [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.list(SERVICE)[0]]

    def start(self) -> None:
        self._loop_thread.start()
        super().start()

    def stop(self) -> None:
        super().stop()

        async def close_all():
            for lst in self.listeners.values():
                for srv in (lst.cluster, lst.host):
                    if srv:
                        srv.close()
            for conn in list(self.conns):
                for w in conn.writers:
                    w.close()
            # The connections' handlers end here, not with the loop left
            # stopped under them ("Task was destroyed but it is pending").
            me = asyncio.current_task()
            handlers = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
            for t in handlers:
                t.cancel()
            if handlers:
                await asyncio.wait(handlers, timeout=3)
        try:
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(timeout=5)

    # -- cluster IPs -------------------------------------------------------
    def _in_block(self, ip: str | None) -> bool:
        return self.network.is_service_ip(ip)

    def ensure_cluster_ip(self, name: str, namespace: str) -> str | None:
        """The Service's cluster IP, allocated now if it has none yet (the
        kubelet asks while rewriting NAME.NS.svc before the proxy got to it)."""
        svc = self.store.try_get(SERVICE, namespace, name)
        if svc is None:
            return None
        ip = svc.get("spec", {}).get("clusterIP")
        if ip == "None":
            return self._headless_ip(svc)
        if self._in_block(ip):
            return ip
        with self._ip_lock:
            svc = self.store.try_get(SERVICE, namespace, name)
            if svc is None:
                return None
            if self._in_block(svc.get("spec", {}).get("clusterIP")):
                return svc["spec"]["clusterIP"]
            used = {s.get("spec", {}).get("clusterIP") for s in self.store.list(SERVICE)[0]}
            while True:
                ip = self.network.service_ip(next(self._ips))
                if ip not in used:
                    break

            def assign(obj):
                obj["spec"]["clusterIP"] = ip
                obj["spec"]["clusterIPs"] = [ip]
            try:
                self.store.modify(SERVICE, namespace, name, assign)
            except ApiError:
                return None
            return ip

    def _headless_ip(self, svc: dict) -> str | None:
        ep = self.store.try_get(ENDPOINTS, svc["metadata"]["namespace"], svc["metadata"]["name"])
        for subset in (ep or {}).get("subsets") or []:
            for addr in subset.get("addresses") or []:
                return addr["ip"]
        return None

    # -- reconcile ---------------------------------------------------------
    def reconcile(self, key):
        if key == "policies":
            self._policies = self.store.list(NETWORKPOLICY)[0]
            self._policy_generation += 1
            self._call(self._enforce_open())
            return None
        ns, name = key
        svc = self.store.try_get(SERVICE, ns, name)
        mine = {k: v for k, v in self.listeners.items() if k[:2] == (ns, name)}
        wanted_ports: dict[int, dict] = {}
        if svc is not None and svc.get("spec", {}).get("clusterIP") != "None" and \
                svc.get("spec", {}).get("type") != "ExternalName":
            self.ensure_cluster_ip(name, ns)
            svc = self.store.try_get(SERVICE, ns, name)
            if svc is not None:
                wanted_ports = {int(p["port"]): p for p in svc["spec"].get("ports") or []
                                if p.get("protocol", "TCP") == "TCP"}
        # Listeners of ports (or Services) that went away.
        for k, lst in mine.items():
            ip = (svc or {}).get("spec", {}).get("clusterIP")
            if k[2] not in wanted_ports or (lst.cluster and lst.cluster.sockets and
                                            lst.cluster.sockets[0].getsockname()[0] != ip):
                self._call(self._close_listener(lst))
                del self.listeners[k]
                self.backends.pop(k, None)
        if svc is None or not wanted_ports:
            return None
        ip = svc["spec"]["clusterIP"]
        ep = self.store.try_get(ENDPOINTS, ns, name)
        for port, sp in wanted_ports.items():
            k = (ns, name, port)
            self.backends[k] = self._backends_for(sp, ep)
            if k not in self.listeners:
                lst = Listener((ns, name), port)
                try:
                    self._call(self._open_listener(lst, ip), timeout=10)
                except OSError as exc:
                    log.warning("service %s/%s port %s: cannot listen: %s", ns, name, port, exc)
                    return 5.0
                self.listeners[k] = lst
        self._publish(svc, [self.listeners[(ns, name, int(p["port"]))].host_port
                            for p in svc["spec"].get("ports") or [] if (ns, name, int(p["port"])) in self.listeners])
        return None

    @staticmethod
    def _backends_for(sp: dict, ep: dict | None) -> list[tuple[str, int, tuple[str, str] | None]]:
        out = []
        for subset in (ep or {}).get("subsets") or []:
            ports = subset.get("ports") or []
            match = next((p for p in ports if p.get("name") == sp.get("name")), None) if sp.get("name") else None
            if match is None and len(ports) == 1:
                match = ports[0]
            if match is None:
                target = sp.get("targetPort", sp.get("port"))
                match = next((p for p in ports if str(p.get("port")) == str(target)), None)
            if match is None:
                continue
            for addr in subset.get("addresses") or []:
                ref = addr.get("targetRef") or {}
                pod = (ref.get("namespace"), ref.get("name")) if ref.get("kind") == "Pod" else None
                out.append((addr["ip"], int(match["port"]), pod))
        return out

    def _publish(self, svc: dict, host_ports: list[int]) -> None:
        want = {"ingress": [{"ip": "127.0.0.1", "ports": [{"port": p, "protocol": "TCP"} for p in host_ports]}]}
        if (svc.get("status") or {}).get("loadBalancer") == want:
            return

        def apply(obj):
            obj["status"] = {**(obj.get("status") or {}), "loadBalancer": want}
        try:
            self.store.modify(SERVICE, svc["metadata"]["namespace"], svc["metadata"]["name"], apply,
                              subresource="status")
        except ApiError:
            pass

    def host_port(self, name: str, namespace: str, port: int | None = None) -> int | None:
        for (ns, n, p), lst in self.listeners.items():
            if (ns, n) == (namespace, name) and (port is None or p == port):
                return lst.host_port
        return None

    # -- the event loop side -----------------------------------------------
    def _call(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    async def _open_listener(self, lst: Listener, ip: str) -> None:
        handler = lambda r, w, lst=lst: self._handle(lst, r, w)  # noqa: E731
        lst.cluster = await asyncio.start_server(handler, ip, lst.port, reuse_address=True)
        lst.host = await asyncio.start_server(handler, "127.0.0.1", 0)
        lst.host_port = lst.host.sockets[0].getsockname()[1]

    async def _close_listener(self, lst: Listener) -> None:
        for srv in (lst.cluster, lst.host):
            if srv:
                srv.close()

    def _identify(self, peer: tuple[str, int], local: tuple[str, int]) -> dict | None:
        """The pod a connection comes from, if any (blocking: run in an executor)."""
        ip = peer[0]
        if self.network.is_pod_ip(ip):  # an isolated pod connects from its own IP
            for pod in self.store.list(POD, field_selector=f"status.podIP={ip}")[0]:
                return pod
        inode = socket_inode(peer, local)
        if inode is None:
            return None
        pid = pid_of_inode(inode)
        if pid is None:
            return None
        key = self.pod_for_pid(pid)
        return self.store.try_get(POD, *key) if key else None

    def _needs_identity(self, dest: tuple[str, str] | None) -> dict | None:
        if dest is None or not self._policies:
            return None
        pod = self.store.try_get(POD, *dest)
        if pod is None:
            return None
        ns = dest[0]
        for pol in self._policies:
            if pol["metadata"].get("namespace") == ns and labels_match(
                    selector_from_match((pol.get("spec") or {}).get("podSelector") or {}),
                    pod["metadata"].get("labels") or {}):
                return pod
        return None

    async def _handle(self, lst: Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        key = (lst.service[0], lst.service[1], lst.port)
        backends = self.backends.get(key) or []
        if not backends:
            writer.close()
            return
        rr = self._rr.setdefault(key, itertools.count())
        ip, port, dest = backends[next(rr) % len(backends)]
        peer, local = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
        src_pod, src_ip = None, peer[0] if peer else "127.0.0.1"
        loop = asyncio.get_running_loop()
        generation = self._policy_generation
        # Without policies (the common case) no thread hop per connection.
        dest_pod = await loop.run_in_executor(None, self._needs_identity, dest) if self._policies else None
        identified = False
        if dest_pod is not None:
            if source_matters(self._policies, dest_pod):
                src_pod = await loop.run_in_executor(None, self._identify, peer, local)
                identified = True
            namespaces = {n["metadata"]["name"]: n for n in self.store.list(NAMESPACE)[0]}
            if not admitted(self._policies, dest_pod, port, src_pod, namespaces, src_ip):
                writer.close()
                return
        chaos = netchaos.effect_for(self.store, dest)  # NetworkChaos: loss drops, delay holds replies
        if chaos.drops():
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=10)
        except (OSError, asyncio.TimeoutError):
            writer.close()
            return
        conn = Conn(dest, port, src_pod, src_ip, [writer, up_writer], peer, local, identified)
        self.conns.add(conn)
        if generation != self._policy_generation:
            # The policies changed while this connection was being set up, after
            # the open connections were checked: check this one now.
            await self._enforce_open()
        try:
            await asyncio.gather(self._pipe(reader, up_writer), netchaos.delayed_pipe(up_reader, writer, chaos)
                                 if chaos.delay else self._pipe(up_reader, writer))
        finally:
            self.conns.discard(conn)
            for w in conn.writers:
                w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            try:
                if writer.can_write_eof():
                    writer.write_eof()
            except OSError:
                pass

    async def _enforce_open(self) -> None:
        """Cut open connections that the current policies deny."""
        if not self.conns:
            return
        namespaces = {n["metadata"]["name"]: n for n in self.store.list(NAMESPACE)[0]}
        for conn in list(self.conns):
            if conn.dest_pod is None:
                continue
            pod = self.store.try_get(POD, *conn.dest_pod)
            if pod is not None and not conn.identified and conn.peer and source_matters(self._policies, pod):
                conn.src_pod = await asyncio.get_running_loop().run_in_executor(
                    None, self._identify, conn.peer, conn.local)
                conn.identified = True
            if pod is not None and not admitted(self._policies, pod, conn.port, conn.src_pod, namespaces,
                                                conn.src_ip):
                for w in conn.writers:
                    transport = w.transport
                    if transport is not None:
                        transport.abort()
