"""pods/exec over WebSocket with the Kubernetes channel subprotocols
(v5/v4/v1 .channel.k8s.io): each binary message starts with a channel byte,
0 stdin, 1 stdout, 2 stderr, 3 error (a Status with the exit code), 4 resize;
v5 adds 255 "close this stream" (the client's end of stdin)."""
from __future__ import annotations

import base64
import hashlib
import json
import struct
import logging
import threading
import time
from typing import IO, Any
from urllib.parse import parse_qs

from .. import resources as R
from ..store import Store
from . import validation
from .http import Request, Upgrade
from .node_agent import ExecProcess, NodeAgent
from .routing import Route
from .subresources import method_not_allowed, no_agent, pick_container

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
MAX_MESSAGE = 16 * 1024 * 1024
# kubectl up to 1.32 starts reading the connection before it has registered
# its stdout/stderr streams, and drops a frame that arrives in between
# ("Unknown stream id 1, discarding message"): a short command's whole output
# can be lost. On a real cluster the API server -> kubelet -> runtime hops
# delay the first frame past that window; the sandbox, one process away,
# holds its first frame as long. The client sends nothing that says it is
# ready, so this is a bound, not a wait on a condition.
FIRST_FRAME_HOLD = 0.15
log = logging.getLogger("gameday.sandbox.apiserver")


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


class WebSocket:
    """The server side of RFC 6455 over a connected stream (no extensions)."""

    def __init__(self, rfile: IO[bytes], wfile: IO[bytes]):
        self.rfile, self.wfile = rfile, wfile
        self._lock = threading.Lock()
        self.closed = False

    def send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        with self._lock:
            if self.closed:
                return
            try:
                self.wfile.write(head + payload)
                self.wfile.flush()
            except (OSError, ValueError):
                self.closed = True

    def close(self, code: int = 1000) -> None:
        self.send(OP_CLOSE, struct.pack("!H", code))
        with self._lock:
            self.closed = True

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    def receive(self) -> tuple[int, bytes]:
        """One whole message (fragments joined); control frames answered here."""
        parts: list[bytes] = []
        first_op = None
        while True:
            b1, b2 = self._read_exact(2)
            fin, opcode, masked, n = b1 & 0x80, b1 & 0x0F, b2 & 0x80, b2 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read_exact(8))[0]
            if n > MAX_MESSAGE:
                raise EOFError
            mask = self._read_exact(4) if masked else b""
            data = self._read_exact(n) if n else b""
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == OP_PING:
                self.send(OP_PONG, data)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                return OP_CLOSE, data
            if first_op is None:
                first_op = opcode
            parts.append(data)
            if fin:
                return first_op, b"".join(parts)


def _exit_status(code: int, command: list[str], protocol: str) -> bytes:
    if protocol == "channel.k8s.io":
        return f"command terminated with non-zero exit code: exit status {code}".encode() if code else b""
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command [{' '.join(command)}], "
                   f"exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }).encode()


def _pump(pipe: IO[bytes] | None, channel: int, ws: WebSocket) -> None:
    if pipe is None:
        return
    read = getattr(pipe, "read1", None) or pipe.read
    try:
        while True:
            chunk = read(65536)
            if not chunk:
                return
            ws.send(OP_BINARY, bytes([channel]) + chunk)
    except (OSError, ValueError):
        return


def _feed(ws: WebSocket, proc: ExecProcess, protocol: str, done: threading.Event) -> None:
    """Client -> process: stdin data, stdin close (v5), resize (ignored)."""
    try:
        while not done.is_set():
            op, data = ws.receive()
            if op == OP_CLOSE:
                break
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel == STDIN and proc.stdin is not None and payload:
                try:
                    proc.stdin.write(payload)
                    proc.stdin.flush()
                except (OSError, ValueError):
                    pass
            elif channel == CLOSE and protocol.startswith("v5") and payload[:1] == bytes([STDIN]):
                _close_quietly(proc.stdin)
    except (EOFError, OSError, ValueError):
        pass
    if not done.is_set():
        # The client went away while the command still runs: stop it.
        _close_quietly(proc.stdin)
        try:
            proc.kill()
        except (OSError, ValueError):
            pass


def _close_quietly(f: Any) -> None:
    try:
        if f is not None:
            f.close()
    except (OSError, ValueError):
        pass


def session(proc: ExecProcess, command: list[str], protocol: str):
    def run(rfile: IO[bytes], wfile: IO[bytes]) -> None:
        ws = WebSocket(rfile, wfile)
        done = threading.Event()
        feeder = threading.Thread(target=_feed, args=(ws, proc, protocol, done), daemon=True,
                                  name="exec-stdin")
        feeder.start()
        done.wait(FIRST_FRAME_HOLD)  # the output waits in the pipes (see FIRST_FRAME_HOLD)
        pumps = [threading.Thread(target=_pump, args=(pipe, ch, ws), daemon=True, name=f"exec-ch{ch}")
                 for pipe, ch in ((proc.stdout, STDOUT), (proc.stderr, STDERR))]
        for t in pumps:
            t.start()
        for t in pumps:
            t.join()
        code = proc.wait()
        done.set()
        ws.send(OP_BINARY, bytes([ERROR]) + _exit_status(code, command, protocol))
        ws.close()
        _close_quietly(proc.stdin)
        feeder.join(timeout=5)
    return run


def exec_upgrade(store: Store, agent: NodeAgent | None, route: Route, req: Request, raw_query: str) -> Upgrade:
    if req.method not in ("GET", "POST"):
        raise method_not_allowed()
    if req.header("Upgrade").lower() != "websocket":
        raise validation.bad_request("pods/exec needs a WebSocket upgrade (Upgrade: websocket, protocol "
                                     "v5.channel.k8s.io or v4.channel.k8s.io); SPDY is not served by the sandbox")
    offered = [p.strip() for p in req.header("Sec-WebSocket-Protocol").split(",") if p.strip()]
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    if protocol is None:
        raise validation.bad_request(f"unsupported WebSocket subprotocols {offered}: use one of {list(PROTOCOLS)}")
    key = req.header("Sec-WebSocket-Key")
    if not key:
        raise validation.bad_request("missing Sec-WebSocket-Key header")
    pod = store.get(R.POD, route.namespace, route.name)
    params = parse_qs(raw_query, keep_blank_values=True)
    command = params.get("command") or []
    if not command:
        raise validation.bad_request("you must specify at least 1 command")
    container = pick_container(pod, req.query.get("container"))
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise validation.bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
    if agent is None:
        raise no_agent()
    proc = agent.exec(route.namespace or "", route.name or "", container, command,
                      stdin=req.flag("stdin"), tty=req.flag("tty"))
    return Upgrade(protocol, accept_key(key), session(proc, command, protocol))



# -- attach -------------------------------------------------------------------
ATTACH_EXIT_WAIT = 30.0  # seconds to wait for the kubelet to record the exit code after the log ends


def _container_status(store: Store, namespace: str, name: str, container: str) -> dict | None:
    pod = store.try_get(R.POD, namespace, name)
    for cs in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container:
            return cs
    return None


def _exit_code_of(store: Store, namespace: str, name: str, container: str, restarts_before: int,
                  deadline: float) -> int | None:
    """The exit code of the run that was attached once the kubelet has
    recorded it: its terminated state, or, when it was restarted since (a
    restartPolicy Always pod), its last state. None: not known in time."""
    while True:
        cs = _container_status(store, namespace, name, container)
        if cs is None:
            return None
        state, last = cs.get("state") or {}, cs.get("lastState") or {}
        if state.get("terminated") is not None:
            return int(state["terminated"].get("exitCode") or 0)
        if int(cs.get("restartCount") or 0) > restarts_before and last.get("terminated") is not None:
            return int(last["terminated"].get("exitCode") or 0)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)  # the kubelet records the exit moments after the log ends; bounded above


def log_attach_session(store: Store, agent: NodeAgent, namespace: str, name: str, container: str,
                       protocol: str):
    """attach from the container's log: its output from the start (so a short
    command's output is not lost before the client attached), then its exit
    code. Input is not delivered (the node agent offers no stdin of a running
    container); what the client types is read and dropped."""
    def run(rfile: IO[bytes], wfile: IO[bytes]) -> None:
        ws = WebSocket(rfile, wfile)
        before = int((_container_status(store, namespace, name, container) or {}).get("restartCount") or 0)
        chunks = agent.logs(namespace, name, container, follow=True)
        gone = threading.Event()

        def drain() -> None:
            try:
                while True:
                    op, _ = ws.receive()
                    if op == OP_CLOSE:
                        break
            except (EOFError, OSError, ValueError):
                pass
            gone.set()
        threading.Thread(target=drain, daemon=True, name="attach-stdin").start()
        gone.wait(FIRST_FRAME_HOLD)  # see FIRST_FRAME_HOLD
        try:
            for chunk in chunks:
                if gone.is_set() or ws.closed:
                    return
                if chunk:
                    ws.send(OP_BINARY, bytes([STDOUT]) + chunk)
        except Exception:
            log.exception("attach to %s/%s %s: the log stream failed", namespace, name, container)
        finally:
            getattr(chunks, "close", lambda: None)()
        code = _exit_code_of(store, namespace, name, container, before, time.monotonic() + ATTACH_EXIT_WAIT)
        ws.send(OP_BINARY, bytes([ERROR]) + _exit_status(code or 0, [container], protocol))
        ws.close()
    return run


def attach_upgrade(store: Store, agent: NodeAgent | None, route: Route, req: Request, raw_query: str) -> Upgrade:
    """pods/attach over WebSocket (`kubectl attach`, `kubectl run -it`)."""
    if req.method not in ("GET", "POST"):
        raise method_not_allowed()
    if req.header("Upgrade").lower() != "websocket":
        raise validation.bad_request("pods/attach needs a WebSocket upgrade (Upgrade: websocket, protocol "
                                     "v5.channel.k8s.io or v4.channel.k8s.io); SPDY is not served by the sandbox")
    offered = [p.strip() for p in req.header("Sec-WebSocket-Protocol").split(",") if p.strip()]
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    if protocol is None:
        raise validation.bad_request(f"unsupported WebSocket subprotocols {offered}: use one of {list(PROTOCOLS)}")
    key = req.header("Sec-WebSocket-Key")
    if not key:
        raise validation.bad_request("missing Sec-WebSocket-Key header")
    pod = store.get(R.POD, route.namespace, route.name)
    container = pick_container(pod, req.query.get("container"))
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise validation.bad_request(f"cannot attach a container in a completed pod; current phase is {phase}")
    if agent is None:
        raise no_agent()
    ns, name = route.namespace or "", route.name or ""
    attach = getattr(agent, "attach", None)
    if attach is not None:  # a node agent that can hand over the container's own stdio
        proc = attach(ns, name, container, stdin=req.flag("stdin"), tty=req.flag("tty"))
        return Upgrade(protocol, accept_key(key), session(proc, [container], protocol))
    return Upgrade(protocol, accept_key(key), log_attach_session(store, agent, ns, name, container, protocol))
