"""The sandbox's Kubernetes API server: HTTPS on 127.0.0.1, bearer-token
auth, one thread per connection (watches and log follows are long-lived),
HTTP/1.1 keep-alive, chunked streams, WebSocket upgrades for exec."""
from __future__ import annotations

import logging
import secrets
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

from .. import resources as R
from ..store import ApiError, Store
from .dispatch import Api
from .handlers import Admission
from .http import Request, Response, Stream, Upgrade, dumps
from .authz import ADMIN, Authenticator, impersonate, token_request as authz_token_request
from .kubeconfig import write_kubeconfig
from .namespaces import NamespaceFinalizer
from .node_agent import NodeAgent
from .routing import split_query
from .tls import ensure_serving_cert

log = logging.getLogger("gameday.sandbox.apiserver")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_OPEN_PATHS = ("/healthz", "/livez", "/readyz")
IDLE_SECONDS = 300  # an idle keep-alive connection is closed after this
MAX_BODY = 3 * 1024 * 1024  # as the real API server's request size limit
_UNAUTHORIZED = dumps(ApiError(401, "Unauthorized", "Unauthorized").status())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gameday-sandbox-apiserver"
    sys_version = ""
    timeout = IDLE_SECONDS
    server: "_Server"

    def log_message(self, fmt: str, *args) -> None:  # access log only at debug level
        log.debug("%s " + fmt, self.client_address[0], *args)

    def _serve(self) -> None:
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length else 0
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BODY:
            self.close_connection = True
            left = min(size, 16 * MAX_BODY)  # drained, so the client reads the answer instead of a reset
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
            err = ApiError(413, "RequestEntityTooLarge", f"the request body is larger than {MAX_BODY} bytes") \
                if size > MAX_BODY else ApiError(400, "BadRequest", "invalid Content-Length header")
            self._send(Response(err.code, dumps(err.status())))
            return
        body = self.rfile.read(size) if size else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        parts = urlsplit(self.path)
        user = self.server.authenticator.authenticate(self.headers.get("Authorization", ""))
        if parts.path in _OPEN_PATHS and user is None:
            user = ADMIN  # health checks need no credentials (and reach nothing else)
        if user is None:
            self._send(Response(401, _UNAUTHORIZED))
            return
        try:
            user = impersonate(self.server.api.authorizer, user, self.headers)
        except ApiError as err:
            self._send(Response(err.code, dumps(err.status())))
            return
        req = Request(self.command, parts.path, split_query(parts.query), self.headers, body)
        answer = self.server.api.handle(req, parts.query, user)
        if isinstance(answer, Stream):
            self._stream(answer)
        elif isinstance(answer, Upgrade):
            self._upgrade(answer)
        else:
            self._send(answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_chunked(self) -> bytes:
        out, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            total += size
            if size == 0 or total > MAX_BODY:
                self.rfile.readline()
                return b"".join(out)
            out.append(self.rfile.read(size))
            self.rfile.readline()

    def _head(self, code: int, content_type: str | None, extra: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {code} {self.responses.get(code, ('',))[0]}"]
        if content_type:
            lines += [f"Content-Type: {content_type}", "Cache-Control: no-cache, private",
                      "X-Content-Type-Options: nosniff"]
        lines += [f"{k}: {v}" for k, v in extra.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, resp: Response) -> None:
        body = b"" if self.command == "HEAD" else resp.body
        self.wfile.write(self._head(resp.code, resp.content_type, {"Content-Length": str(len(resp.body))}) + body)
        self.log_request(resp.code, len(body))

    def _client_gone(self) -> bool:
        # A watch's client sends nothing after its request: readable means closed.
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _stream(self, stream: Stream) -> None:
        self.close_connection = True  # a stream ends the connection (its end may be a client's hang-up)
        try:
            self.wfile.write(self._head(stream.code, stream.content_type,
                                        {"Transfer-Encoding": "chunked", "Connection": "close"}))
            for chunk in stream.chunks:
                if chunk is None:
                    if self._client_gone() or self.server.stopping.is_set():
                        return
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                if self.server.stopping.is_set():
                    return
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, ValueError):
            pass  # the client hung up
        except Exception:  # the source failed mid-stream: the answer has begun, so end it
            log.exception("stream of %s %s failed", self.command, self.path)
        finally:
            stream.close()
            close = getattr(stream.chunks, "close", None)
            if close:
                close()

    def _upgrade(self, up: Upgrade) -> None:
        self.close_connection = True
        self.wfile.write(self._head(101, None, {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": up.accept_key,
            "Sec-WebSocket-Protocol": up.protocol, **up.extra_headers}))
        self.connection.settimeout(None)  # an interactive session may idle
        up.run(self.rfile, self.wfile)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, api: Api, context: ssl.SSLContext, authenticator: Authenticator):
        super().__init__(address, _Handler)
        self.api, self.context, self.authenticator = api, context, authenticator
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def finish_request(self, request, client_address) -> None:
        # The TLS handshake runs here, in the connection's thread, so a slow
        # client never blocks accept().
        request.settimeout(30)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._conns_lock:
            self._conns.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ValueError):
            pass
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ApiServer:
    """The Kubernetes REST API over a Store.

    node_agent: the kubelet side (logs, exec, metrics), or None (those answer 503).
    admission: mutating/validating plugins run on every create and update."""

    def __init__(self, store: Store, node_agent: NodeAgent | None = None, host: str = "127.0.0.1", port: int = 0,
                 state_dir: Path | str = Path("."), admission: Sequence[Admission] = (), token: str | None = None):
        self.store = store
        self.node_agent = node_agent
        self.host, self._port = host, port
        self.state_dir = Path(state_dir)
        self.token = token or secrets.token_urlsafe(32)
        cert = ensure_serving_cert(self.state_dir, (host, "localhost") if host != "localhost" else ("localhost",))
        self.ca_pem: bytes = cert.ca_pem
        self._cert = cert
        self.namespaces = NamespaceFinalizer(store)
        self.api = Api(store, node_agent, admission, self.namespaces.poke, ca_pem=self.ca_pem)
        self.authenticator = Authenticator(store, self.token, self.api.tokens)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> "ApiServer":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self._cert.cert_file, self._cert.key_file)
        context.set_alpn_protocols(["http/1.1"])
        self._server = _Server((self.host, self._port), self.api, context, self.authenticator)
        self.api.address = f"{self.host}:{self.port}"
        self._ensure_system_namespaces()
        self.namespaces.start()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="apiserver", daemon=True)
        self._thread.start()
        return self

    def _ensure_system_namespaces(self) -> None:
        # As a real API server does at start-up.
        for name in SYSTEM_NAMESPACES:
            if self.store.try_get(R.NAMESPACE, None, name) is None:
                try:
                    self.store.create(R.NAMESPACE, self.api.verbs.prepare_create(
                        R.NAMESPACE, {"metadata": {"name": name}}))
                except ApiError:
                    pass  # created meanwhile by someone else
        # The bootstrap ClusterRole users bind to for "everything" (the others
        # of the real bootstrap policy are left out: nothing here binds them).
        if self.store.try_get(R.CLUSTERROLE, None, "cluster-admin") is None:
            try:
                self.store.create(R.CLUSTERROLE, {"metadata": {
                    "name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
                    "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                              {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
            except ApiError:
                pass

    def prepare_create(self, res, obj: dict) -> dict:
        """Default, admit and validate `obj` as a create through the API would
        (raises ApiError): for objects written to the store directly, such as
        the manifests the sandbox applies at start."""
        return self.api.verbs.prepare_create(res, obj)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stopping.set()
        self.api.verbs.close_watches()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self.namespaces.stop()
        if self._thread:
            self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path | str, cluster_name: str = "gameday-sandbox",
                         user: str = "gameday-admin", namespace: str | None = None) -> Path:
        return write_kubeconfig(Path(path), self.url, self.ca_pem, self.token, cluster_name, user, namespace)

    def service_account_token(self, namespace: str, name: str, seconds: int = 24 * 3600) -> str:
        """A token for a ServiceAccount, as TokenRequest hands out (raises ApiError when it does not exist)."""
        return authz_token_request(self.store, self.api.tokens, namespace, name,
                                   {"spec": {"expirationSeconds": seconds}})["status"]["token"]
