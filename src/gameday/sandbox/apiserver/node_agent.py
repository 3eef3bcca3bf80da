"""What the API server needs from the node (the kubelet): the contract between
the two, written once. The API server checks that the pod and container exist
before it calls; the agent may still raise `gameday.sandbox.store.ApiError`
(e.g. 400 'previous terminated container "c" in pod "p" not found'), which is
answered to the client as a Status."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Iterator, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu_cores: float  # average over the agent's last sampling window
    memory_bytes: int  # resident set size of the container's processes


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    containers: tuple[ContainerUsage, ...] = ()


@dataclass(frozen=True)
class NodeUsage:
    name: str
    cpu_cores: float
    memory_bytes: int


@dataclass(frozen=True)
class Usage:
    """One sample of what `kubectl top` shows (metrics.k8s.io)."""
    timestamp: float  # unix seconds when sampled
    window_seconds: float
    nodes: tuple[NodeUsage, ...] = ()
    pods: tuple[PodUsage, ...] = field(default=())


@runtime_checkable
class ExecProcess(Protocol):
    """subprocess.Popen-like. Pipes are binary; `stdin` is None unless asked
    for; with tty=True `stderr` may be None (merged into stdout)."""
    stdin: IO[bytes] | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


@runtime_checkable
class NodeAgent(Protocol):
    def logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
             since_seconds: float | None = None, tail_lines: int | None = None,
             timestamps: bool = False, follow: bool = False) -> Iterator[bytes]:
        """The container's log, as chunks of bytes (whole lines). With follow the
        iterator keeps yielding until the container stops (or the caller closes
        it: the API server calls `.close()` on the iterator when the client goes
        away, so a generator's `finally` is the place to clean up). While
        following an idle log, yield b"" now and then (say each second): the
        API server uses it to notice a client that went away."""
        ...

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str],
             stdin: bool, tty: bool) -> ExecProcess:
        """Start `command` in the container's environment (its env, working
        directory, user and rewritten paths). Raise ApiError(404/400) when the
        command cannot start; a missing executable is a process that exits 126/127."""
        ...

    def usage(self) -> Usage:
        """Current CPU/memory of the node and of each running pod's containers."""
        ...
