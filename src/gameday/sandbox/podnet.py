"""The pod network: where pod IPs and Service cluster IPs come from, and (when
the sandbox runs as root on Linux) each pod's own network namespace.

Isolated (root, `ip` and `bwrap` present): a sandbox that owns the block B
(see cluster.claim_block) gives
- pods 198.18.B.2-254, each in a network namespace `gdB-N` of its own with a
  veth `eth0` whose host end `gdB-N` has no address, only a /32 route;
- Services 198.19.B.2-253 (198.19.B.254 the discovery server, 198.19.B.1 the node: the source of the
  kubelet's probes and of the proxies' connections to pods), made local on
  the host by one `local 198.19.B.0/24 dev lo` route, so that the service
  proxies bind them without an address on any interface.
198.18.0.0/15 is reserved for benchmarking (RFC 2544): never a real
network. A pod routes only to these two blocks (no default route: nothing
leaves the machine), and the host end forwards only what enters it
(per-device `forwarding`, never the host-wide switch).

Not isolated: pods 127.B.1-127.x.y and Services 127.B.128-254.x.y on the
loopback, as before.

Everything carries the block in its name, so a later `up` that claims the
block removes what a SIGKILLed sandbox left behind."""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

log = logging.getLogger("gameday.sandbox.podnet")
_PODS, _SERVICES = "198.18", "198.19"


def isolation_available() -> tuple[bool, str]:
    """Whether pods can get namespaces here, and if not why (one line)."""
    if not sys.platform.startswith("linux"):
        return False, "not Linux"
    if os.geteuid() != 0:
        return False, "the sandbox is not running as root"
    for tool in ("ip", "bwrap", "nsenter", "setpriv"):
        if shutil.which(tool) is None:
            return False, f"`{tool}` is not installed (scripts/install-system-deps.sh)"
    if os.environ.get("GAMEDAY_SANDBOX_ISOLATION", "1") == "0":
        return False, "GAMEDAY_SANDBOX_ISOLATION=0"
    return True, ""


def _ip(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise PodNetError(f"ip {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc


class PodNetError(Exception):
    """A pod's network namespace could not be set up."""


@dataclass(frozen=True)
class PodNet:
    """One pod's namespace: its name (also the host veth's) and IP."""
    netns: str
    ip: str


class PodNetwork:
    def __init__(self, block: int, isolated: bool) -> None:
        self.block = block
        self.isolated = isolated
        self._lock = threading.Lock()
        self._used: set[int] = set()
        self._next = 0

    # -- addresses ---------------------------------------------------------
    @property
    def node_ip(self) -> str:
        """The address pods see the node (kubelet, proxies) connect from."""
        return f"{_SERVICES}.{self.block}.1" if self.isolated else "127.0.0.1"

    @property
    def pod_prefix(self) -> str:
        return f"{_PODS}.{self.block}." if self.isolated else f"127.{self.block}."

    @property
    def service_prefix(self) -> str:
        return f"{_SERVICES}.{self.block}." if self.isolated else f"127.{self.block}."

    @property
    def discovery_ip(self) -> str:
        """Where the sandbox's discovery server listens: reachable from pods
        (Prometheus scrapes it as kube-state-metrics) and from the host."""
        return f"{_SERVICES}.{self.block}.254" if self.isolated else f"127.{self.block}.0.2"

    def is_pod_ip(self, ip: str | None) -> bool:
        if not ip or not ip.startswith(self.pod_prefix):
            return False
        return self.isolated or int(ip.split(".")[2]) < 128

    def is_service_ip(self, ip: str | None) -> bool:
        if not ip or not ip.startswith(self.service_prefix):
            return False
        return self.isolated or int(ip.split(".")[2]) >= 128

    def service_ip(self, n: int) -> str:
        """The n-th cluster IP (n counts up; wraps)."""
        if self.isolated:
            return f"{_SERVICES}.{self.block}.{2 + n % 252}"  # .254 is the discovery server
        n %= 126 * 254
        return f"127.{self.block}.{128 + n // 254}.{1 + n % 254}"

    def allocate_pod_ip(self, used: set[str]) -> str:
        size = 253 if self.isolated else 127 * 254
        with self._lock:
            for _ in range(size):
                n = self._next % size
                self._next += 1
                ip = f"{_PODS}.{self.block}.{2 + n}" if self.isolated else \
                    f"127.{self.block}.{1 + n // 254}.{1 + n % 254}"
                if ip not in used:
                    return ip
        raise RuntimeError("the sandbox ran out of pod IPs")

    # -- namespaces --------------------------------------------------------
    def start(self) -> None:
        if not self.isolated:
            return
        cleanup_block(self.block)
        _ip("route", "replace", "local", f"{_SERVICES}.{self.block}.0/24", "dev", "lo", "scope", "host")

    def stop(self) -> None:
        if self.isolated:
            cleanup_block(self.block)

    def attach(self, ip: str) -> PodNet:
        """A network namespace for a pod with this IP (its last octet names it)."""
        name = f"gd{self.block}-{ip.rsplit('.', 1)[1]}"
        self.detach(name)  # a namesake left by a pod that was not cleaned up
        node = self.node_ip
        try:
            _ip("netns", "add", name)
            _ip("link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", name)
            for key in ("forwarding", "proxy_arp"):
                with open(f"/proc/sys/net/ipv4/conf/{name}/{key}", "w") as f:
                    f.write("1")
            _ip("link", "set", name, "up")
            _ip("route", "replace", f"{ip}/32", "dev", name, "src", node)
            _ip("-n", name, "-batch", "-", stdin="\n".join([
                "link set lo up",
                f"addr add {ip}/32 dev eth0",
                "link set eth0 up",
                f"route add {node}/32 dev eth0",
                f"route add {_SERVICES}.{self.block}.0/24 via {node} dev eth0 onlink",
                f"route add {_PODS}.{self.block}.0/24 via {node} dev eth0 onlink",
            ]) + "\n")
        except (PodNetError, OSError, subprocess.SubprocessError) as exc:
            self.detach(name)
            raise PodNetError(str(exc)) from None
        return PodNet(name, ip)

    @staticmethod
    def detach(name: str) -> None:
        """Remove a pod's namespace and veth (gone is fine)."""
        _ip("link", "del", name, check=False)  # takes the peer and the /32 route with it
        _ip("netns", "del", name, check=False)


def cleanup_block(block: int) -> None:
    """Remove every namespace, veth and route of the block (the caller owns it)."""
    pattern = re.compile(rf"^gd{block}-\d+$")
    names = set()
    listed = _ip("-o", "link", "show", check=False).stdout
    for line in listed.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            names.add(parts[1].strip().split("@")[0])
    names |= {line.split()[0] for line in _ip("netns", "list", check=False).stdout.splitlines() if line.split()}
    for name in sorted(n for n in names if pattern.match(n)):
        PodNetwork.detach(name)
    _ip("route", "del", "local", f"{_SERVICES}.{block}.0/24", "dev", "lo", "table", "local", check=False)


_warned = False


def make_network(block: int, state_dir) -> PodNetwork:
    """The sandbox's pod network: isolated where it can be (one warning line
    where not), after removing what a SIGKILLed sandbox of this state
    directory left behind under another block."""
    global _warned
    ok, why = isolation_available()
    if not ok:
        if not _warned:
            log.warning("sandbox: pods are not isolated (%s): they share the host's PID space, files and "
                        "network, and `kill` of PID 1 through exec is refused", why)
            _warned = True
        return PodNetwork(block, isolated=False)
    _clean_previous(block, state_dir)
    _clean_orphans(block)
    net = PodNetwork(block, isolated=True)
    net.start()
    return net


def _clean_previous(block: int, state_dir) -> None:
    import json
    import socket
    from pathlib import Path

    from .cluster import _CLAIM_PORT
    try:
        info = json.loads((Path(state_dir) / "sandbox.json").read_text())
        old = int(str(info.get("block", "")).split(".")[1])
    except (OSError, ValueError, IndexError, TypeError):
        return
    if old == block:
        return  # start() cleans the block it now owns
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((f"127.{old}.255.254", _CLAIM_PORT))  # free: no sandbox owns it any more
    except OSError:
        return
    else:
        cleanup_block(old)
    finally:
        sock.close()


def _clean_orphans(own: int) -> None:
    """Remove the namespaces of blocks no sandbox holds any more (a SIGKILLed
    sandbox whose state directory is gone): only `gdN-M` names, which only
    sandboxes create, and only where block N's claim socket is free."""
    import socket

    from .cluster import _CLAIM_PORT
    blocks = set()
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        m = re.match(r"^gd(\d+)-\d+\b", line)
        if m and int(m.group(1)) != own:
            blocks.add(int(m.group(1)))
    for b in sorted(blocks):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((f"127.{b}.255.254", _CLAIM_PORT))
        except OSError:
            continue  # a running sandbox owns it
        else:
            log.info("sandbox: removing the pod network a stopped sandbox left in block %d", b)
            cleanup_block(b)
        finally:
            sock.close()
