"""The runbook's hostnames reaching the target with no change to the line.

For each mapped URL (`https://api.example.com` -> `service:NAME.NS` or a
URL), a front listens on a loopback address of its own: the session's
/etc/hosts gives that address to the hostname, and for `https` the front
terminates TLS with a certificate for the hostname signed by a CA made for
this run, which only the session trusts (CURL_CA_BUNDLE and friends). It
then forwards the bytes to the target's address (the Service's load-balancer
address, as the harness finds it everywhere else). This stands in for the
target's Ingress TLS and DNS, which an operator's machine would get from the
real zone; nothing else on the machine trusts the CA.

Port 443/80 on a loopback address needs the right to bind low ports; where
that is missing the front takes any port and the session's `~/.curlrc`
says `connect-to` (curl only)."""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

log = logging.getLogger(__name__)
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class _Front:
    hostname: str
    scheme: str
    ip: str
    port: int
    upstream: tuple[str, int]
    server: socket.socket


@dataclass
class HostMapping:
    fronts: list[_Front] = field(default_factory=list)
    ca_bundle: Path | None = None
    curlrc: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, hosts: dict[str, str], target, folder: Path) -> "HostMapping":
        mapping = cls()
        if not hosts:
            return mapping
        folder.mkdir(parents=True, exist_ok=True)
        names = tuple(urllib.parse.urlparse(u).hostname or "" for u in hosts)
        ctx = None
        if any(urllib.parse.urlparse(u).scheme == "https" for u in hosts):
            from ..sandbox.apiserver.tls import ensure_serving_cert
            cert = ensure_serving_cert(folder, hosts=tuple(n for n in names if n))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert.cert_file, cert.key_file)
            bundle = folder / "ca-bundle.crt"
            system = SYSTEM_CA.read_bytes() if SYSTEM_CA.exists() else b""
            bundle.write_bytes(system + b"\n" + cert.ca_pem)
            mapping.ca_bundle = bundle
        for i, (url, dest) in enumerate(sorted(hosts.items()), start=1):
            u = urllib.parse.urlparse(url)
            if u.scheme not in ("http", "https") or not u.hostname:
                raise UserError(f"runbook hosts: {url!r} is not an http(s) URL of the runbook")
            upstream = _upstream(dest, target)
            port = u.port or (443 if u.scheme == "https" else 80)
            ip = f"127.{77}.{(i >> 8) & 255}.{i & 255}"
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                server.bind((ip, port))
            except OSError:
                server.bind((ip, 0))
                mapping.curlrc += f"connect-to = {u.hostname}:{port}:{ip}:{server.getsockname()[1]}\n"
            server.listen(64)
            front = _Front(u.hostname, u.scheme, ip, server.getsockname()[1], upstream, server)
            mapping.fronts.append(front)
            threading.Thread(target=mapping._serve, args=(front, ctx if u.scheme == "https" else None),
                             daemon=True, name=f"runbook-host-{u.hostname}").start()
        return mapping

    def hosts_file(self) -> str:
        lines = ["127.0.0.1 localhost", "::1 localhost"]
        lines += [f"{f.ip} {f.hostname}" for f in self.fronts]
        return "\n".join(lines) + "\n"

    def _serve(self, front: _Front, ctx: ssl.SSLContext | None) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = front.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn, front, ctx), daemon=True).start()

    def _handle(self, conn: socket.socket, front: _Front, ctx) -> None:
        try:
            conn.settimeout(30)
            if ctx is not None:
                conn = ctx.wrap_socket(conn, server_side=True)
            up = socket.create_connection(front.upstream, timeout=30)
        except (OSError, ssl.SSLError) as exc:
            log.info("host front %s: %s", front.hostname, exc)
            conn.close()
            return
        t = threading.Thread(target=_pipe, args=(up, conn), daemon=True)
        t.start()
        _pipe(conn, up)
        t.join(30)

    def stop(self) -> None:
        self._stop.set()
        for f in self.fronts:
            try:
                f.server.close()
            except OSError:
                pass


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


def _upstream(dest: str, target) -> tuple[str, int]:
    """`service:NAME.NS[:PORT]` (its external address) or `http://HOST:PORT`."""
    if dest.startswith("service:"):
        ref = dest[len("service:"):]
        ref, _, port = ref.partition(":")
        name, _, ns = ref.partition(".")
        url = target.service_url(name, ns or "default", int(port) if port else None)
    else:
        url = dest
    u = urllib.parse.urlparse(url)
    if not u.hostname:
        raise UserError(f"runbook hosts: {dest!r} is neither service:NAME.NAMESPACE nor a URL")
    return u.hostname, u.port or (443 if u.scheme == "https" else 80)
