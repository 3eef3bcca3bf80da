"""The sandbox's Ingress controller (networking.k8s.io/v1): what
ingress-nginx is to a cluster.

One host port on 127.0.0.1 serves every Ingress, plain HTTP and TLS on the
same port (a connection whose first byte is a TLS handshake record is TLS).
TLS certificates come from the Secrets (type kubernetes.io/tls) that
Ingresses name in `spec.tls`, chosen by SNI; a request is routed by its Host
header and path (`pathType` Exact, Prefix; ImplementationSpecific as Prefix)
to the backend Service's cluster IP and port, so it goes through the service
proxy (endpoints, NetworkPolicy) as on a cluster. The address is published
in each served Ingress's `status.loadBalancer.ingress` (ip 127.0.0.1 and the
port), as the service proxies publish a Service's.

Served: Ingresses without a class, of an IngressClass whose controller is
this one (CONTROLLER), and of a class name no IngressClass object defines
(the sandbox stands in for whichever controller a cluster installs).
Not done: annotations (rewrites, auth, rate limits), one connection carries
one request (the backend connection is closed after its answer: clients
reconnect), HTTP/2."""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from .apiserver.tls import ensure_serving_cert
from .controllers.base import Controller
from .resources import INGRESS, INGRESSCLASS, SECRET, SERVICE
from .store import ApiError, Store

log = logging.getLogger("gameday.sandbox.ingress")
CONTROLLER = "gameday.dev/sandbox-ingress"
MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 10.0
IDLE_TIMEOUT = 300.0  # a connection silent both ways this long is closed


# -- routing: pure ----------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    namespace: str
    service: str
    port: int | str  # a number or the Service port's name


@dataclass(frozen=True)
class PathRule:
    host: str  # "" any host; "*.example.com" one label
    path: str
    path_type: str  # Exact, Prefix, ImplementationSpecific
    backend: Backend
    ingress: str  # NS/NAME, for logs


def host_matches(rule_host: str, host: str) -> bool:
    if not rule_host:
        return True
    host = host.lower()
    rule_host = rule_host.lower()
    if rule_host.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == rule_host[2:]
    return rule_host == host


def path_matches(path_type: str, rule_path: str, path: str) -> bool:
    if path_type == "Exact":
        return path == rule_path
    # Prefix: element-wise on '/'-separated parts, a trailing '/' ignored.
    want = [p for p in rule_path.split("/") if p]
    have = [p for p in path.split("/") if p]
    return have[:len(want)] == want


def _backend_of(ns: str, spec: dict | None) -> Backend | None:
    svc = (spec or {}).get("service") or {}
    port = svc.get("port") or {}
    number = port.get("number")
    if not svc.get("name") or (number is None and not port.get("name")):
        return None
    return Backend(ns, svc["name"], int(number) if number is not None else str(port["name"]))


def rules_of(ingress: dict) -> tuple[list[PathRule], Backend | None]:
    """An Ingress's path rules and its default backend."""
    ns, name = ingress["metadata"].get("namespace", "default"), ingress["metadata"]["name"]
    spec = ingress.get("spec") or {}
    out = []
    for rule in spec.get("rules") or []:
        if not isinstance(rule, dict):
            continue
        for p in ((rule.get("http") or {}).get("paths") or []):
            backend = _backend_of(ns, p.get("backend")) if isinstance(p, dict) else None
            if backend is None:
                continue
            out.append(PathRule(str(rule.get("host") or ""), str(p.get("path") or "/"),
                                str(p.get("pathType") or "Prefix"), backend, f"{ns}/{name}"))
    return out, _backend_of(ns, spec.get("defaultBackend"))


def route(rules: list[PathRule], defaults: list[Backend], host: str, path: str) -> Backend | None:
    """The backend for a request, as ingress-nginx picks it: rules of a host
    that matches exactly before wildcard before any host; then the longest
    matching path, Exact before Prefix at the same length."""
    path = path.split("?", 1)[0] or "/"

    def host_rank(r: PathRule) -> int:
        return 2 if r.host and not r.host.startswith("*.") else (1 if r.host else 0)
    candidates = [r for r in rules if host_matches(r.host, host) and path_matches(r.path_type, r.path, path)]
    if not candidates:
        return defaults[0] if defaults else None
    best = max(candidates, key=lambda r: (host_rank(r), len(r.path.rstrip("/")), r.path_type == "Exact"))
    return best.backend


def tls_host_matches(hosts: list[str], server_name: str) -> bool:
    return any(host_matches(h, server_name) for h in hosts)


# -- the controller ------------------------------------------------------------------
class IngressController(Controller):
    name = "ingress"
    watches = (INGRESS, INGRESSCLASS, SECRET, SERVICE)
    resync_seconds = 10.0

    def __init__(self, store: Store, state_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(store)
        self.state_dir = Path(state_dir)
        self.host, self._want_port = host, port
        self.sock: socket.socket | None = None
        self.rules: list[PathRule] = []
        self.defaults: list[Backend] = []
        self._tls: list[tuple[list[str], ssl.SSLContext]] = []
        self._contexts: dict[tuple[str, str, str], ssl.SSLContext] = {}
        self._fallback: ssl.SSLContext | None = None
        self._accept_thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1] if self.sock else 0

    def keys_for(self, change):
        if change.key == SECRET.key and change.obj.get("type") != "kubernetes.io/tls":
            return []
        if change.key == SERVICE.key:
            return []  # backends are looked up per request
        return ["all"]

    def all_keys(self):
        return ["all"]

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cert = ensure_serving_cert(self.state_dir / "default-cert", ("localhost",))
        self._fallback = self._context(cert.cert_file, cert.key_file)
        self._fallback.sni_callback = self._pick_cert
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, self._want_port))
        self.sock.listen(128)
        self._accept_thread = threading.Thread(target=self._accept, name="ingress-accept", daemon=True)
        self._accept_thread.start()
        super().start()
        log.info("ingress controller on %s:%s", self.host, self.port)

    def stop(self) -> None:
        super().stop()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
        if self._accept_thread:
            self._accept_thread.join(timeout=5)

    # -- reconcile -----------------------------------------------------------------
    def served(self, ingress: dict, classes: dict[str, dict]) -> bool:
        cls = (ingress.get("spec") or {}).get("ingressClassName") or \
            (ingress["metadata"].get("annotations") or {}).get("kubernetes.io/ingress.class")
        if not cls or cls not in classes:
            return True
        return (classes[cls].get("spec") or {}).get("controller") == CONTROLLER

    def reconcile(self, key):
        classes = {c["metadata"]["name"]: c for c in self.store.list(INGRESSCLASS)[0]}
        rules: list[PathRule] = []
        defaults: list[Backend] = []
        tls: list[tuple[list[str], ssl.SSLContext]] = []
        for ing in self.store.list(INGRESS)[0]:
            if ing["metadata"].get("deletionTimestamp") or not self.served(ing, classes):
                continue
            r, d = rules_of(ing)
            rules += r
            if d:
                defaults.append(d)
            ns = ing["metadata"]["namespace"]
            for t in (ing.get("spec") or {}).get("tls") or []:
                if not isinstance(t, dict) or not t.get("secretName"):
                    continue
                ctx = self._secret_context(ns, t["secretName"])
                if ctx is not None:
                    tls.append(([str(h) for h in t.get("hosts") or []], ctx))
            self._publish(ing)
        self.rules, self.defaults, self._tls = rules, defaults, tls
        return None

    def _context(self, cert_file: Path | str, key_file: Path | str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert_file), str(key_file))
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def _secret_context(self, ns: str, name: str) -> ssl.SSLContext | None:
        secret = self.store.try_get(SECRET, ns, name)
        if secret is None:
            log.warning("ingress TLS: secret %s/%s not found", ns, name)
            return None
        key = (ns, name, secret["metadata"].get("resourceVersion", ""))
        if key in self._contexts:
            return self._contexts[key]
        data = secret.get("data") or {}
        try:
            crt, pem_key = base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"])
        except (KeyError, ValueError):
            log.warning("ingress TLS: secret %s/%s has no tls.crt/tls.key", ns, name)
            return None
        digest = hashlib.sha256(f"{ns}/{name}".encode()).hexdigest()[:16]
        certs = self.state_dir / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = certs / f"{digest}.crt", certs / f"{digest}.key"
        for path, blob in ((cert_file, crt), (key_file, pem_key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
        try:
            ctx = self._context(cert_file, key_file)
        except (ssl.SSLError, OSError) as exc:
            log.warning("ingress TLS: secret %s/%s: not a usable certificate and key: %s", ns, name, exc)
            return None
        self._contexts = {k: v for k, v in self._contexts.items() if k[:2] != (ns, name)}
        self._contexts[key] = ctx
        return ctx

    def _publish(self, ing: dict) -> None:
        want = {"ingress": [{"ip": "127.0.0.1", "ports": [{"port": self.port, "protocol": "TCP"}]}]}
        if (ing.get("status") or {}).get("loadBalancer") == want:
            return

        def apply(obj):
            obj["status"] = {**(obj.get("status") or {}), "loadBalancer": want}
        try:
            self.store.modify(INGRESS, ing["metadata"]["namespace"], ing["metadata"]["name"], apply,
                              subresource="status")
        except ApiError:
            pass  # deleted meanwhile

    # -- serving ---------------------------------------------------------------------
    def _pick_cert(self, sock: ssl.SSLObject, server_name: str | None, _ctx) -> None:
        tls = self._tls
        chosen = next((ctx for hosts, ctx in tls if server_name and tls_host_matches(hosts, server_name)), None)
        if chosen is None and tls:
            chosen = tls[0][1]  # as ingress-nginx: the first certificate, not its fake one, when nothing matches
        if chosen is not None:
            sock.context = chosen

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, peer), name="ingress-conn", daemon=True).start()

    def _serve(self, conn: socket.socket, peer) -> None:
        upstream = None
        try:
            conn.settimeout(30)
            first = conn.recv(1, socket.MSG_PEEK)
            if not first:
                return
            scheme = "http"
            if first[0] == 0x16:
                conn = self._fallback.wrap_socket(conn, server_side=True)
                scheme = "https"
            head, rest = _read_head(conn)
            if head is None:
                return
            method, target, host, lines = _parse_head(head)
            if method is None:
                _answer(conn, 400, "bad request")
                return
            backend = route(self.rules, self.defaults, host, target)
            if backend is None:
                _answer(conn, 404, "default backend - 404")
                return
            address = self._address(backend)
            if address is None:
                _answer(conn, 503, f"service {backend.namespace}/{backend.service} port {backend.port} "
                                   "is not available")
                return
            try:
                upstream = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
            except OSError:
                _answer(conn, 502, "bad gateway")
                return
            fwd = [lines[0]] + [h for h in lines[1:] if h.split(":", 1)[0].strip().lower() not in
                                ("connection", "keep-alive", "proxy-connection", "x-forwarded-for",
                                 "x-forwarded-proto", "x-forwarded-host")]
            fwd += [f"X-Forwarded-For: {peer[0]}", f"X-Forwarded-Proto: {scheme}", f"X-Forwarded-Host: {host}",
                    "Connection: close"]
            upstream.sendall(("\r\n".join(fwd) + "\r\n\r\n").encode("latin-1") + rest)
            _pipe(conn, upstream)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.debug("ingress connection from %s: %s", peer, exc)
        finally:
            for s in (upstream, conn):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def _address(self, b: Backend) -> tuple[str, int] | None:
        svc = self.store.try_get(SERVICE, b.namespace, b.service)
        if svc is None:
            return None
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            return None
        for p in spec.get("ports") or []:
            if (isinstance(b.port, int) and p.get("port") == b.port) or p.get("name") == b.port:
                return ip, int(p["port"])
        return None


def _read_head(conn) -> tuple[bytes | None, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
        if len(buf) > MAX_HEAD:
            _answer(conn, 431, "request header fields too large")
            return None, b""
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str | None, str, str, list[str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None, "", "", lines
    host = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "host":
            host = value.strip()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return parts[0], parts[1], host, lines


def _answer(conn, code: int, text: str) -> None:
    reasons = {400: "Bad Request", 404: "Not Found", 431: "Request Header Fields Too Large", 502: "Bad Gateway",
               503: "Service Unavailable"}
    body = (text + "\n").encode()
    conn.sendall(f"HTTP/1.1 {code} {reasons.get(code, '')}\r\nContent-Type: text/plain\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)


def _pipe(a, b) -> None:
    """Copy both ways until either side closes (TLS sockets may hold decrypted bytes: check pending())."""
    socks = [a, b]
    for s in socks:
        s.setblocking(False)
    while True:
        ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
        if not ready:
            ready, _, _ = select.select(socks, [], [], IDLE_TIMEOUT)
            if not ready:
                return
        for s in ready:
            other = b if s is a else a
            try:
                data = s.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            if not data:
                return
            _send_all(other, data)


def _send_all(s, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = s.send(view)
            view = view[n:]
        except (ssl.SSLWantWriteError, BlockingIOError, ssl.SSLWantReadError):
            select.select([], [s], [], CONNECT_TIMEOUT)
