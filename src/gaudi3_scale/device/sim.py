"""A simulated accelerator card whose memory is shared by every process on
the node, so one process's allocation really leaves less for the others.

The card is a directory (a hostPath volume in the manifests). Each allocation
is one file named `<owner>-<id>-<bytes>.alloc` that its owner keeps locked
with flock; a file whose lock can be taken belongs to a dead process (the
kernel drops flock locks on exit, as a real driver frees a dead process's
memory) and is reclaimed. Allocation decisions are made under one ledger lock
so two processes can never both take the last free bytes."""
from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path

from .base import Allocation, DeviceOutOfMemory

DIR_ENV = "GAUDI3_SIM_DIR"
CAPACITY_ENV = "GAUDI3_SIM_CAPACITY_BYTES"
DEFAULT_CAPACITY = 128 * 1024**3  # a Gaudi 3 card has 128 GB of HBM
DEFAULT_DIR = "/var/run/gaudi3-sim"


class SimOutOfMemoryError(DeviceOutOfMemory):
    """The simulated card's OOM (the `sim` backend's own error type)."""


class SimDevice:
    backend = "sim"

    def __init__(self, directory: str | os.PathLike, capacity: int = DEFAULT_CAPACITY):
        if capacity <= 0:
            raise ValueError(f"simulated card capacity must be positive, got {capacity}")
        self.directory = Path(directory)
        self.capacity = int(capacity)
        self.directory.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls) -> "SimDevice":
        raw = os.environ.get(CAPACITY_ENV, str(DEFAULT_CAPACITY))
        try:
            capacity = int(float(raw))
        except ValueError:
            raise ValueError(f"${CAPACITY_ENV} must be a number of bytes, got {raw!r}") from None
        return cls(os.environ.get(DIR_ENV, DEFAULT_DIR), capacity)

    def total_bytes(self) -> int:
        return self.capacity

    def used_bytes(self) -> int:
        with self._ledger():
            return self._live_bytes()

    def allocate(self, nbytes: int) -> Allocation:
        nbytes = int(nbytes)
        if nbytes <= 0:
            raise ValueError(f"allocation size must be positive, got {nbytes}")
        with self._ledger():
            free = self.capacity - self._live_bytes()
            if nbytes > free:
                raise SimOutOfMemoryError(self.backend, nbytes, free)
            name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}-{nbytes}.alloc"
            # Lock before the file becomes visible under its final name, so a
            # concurrent reader never mistakes it for a dead owner's.
            tmp = self.directory / f".{name}.tmp"
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(tmp, self.directory / name)
            return Allocation(nbytes, (fd, name))

    def free(self, allocation: Allocation) -> None:
        if allocation.handle is None:
            return
        fd, name = allocation.handle
        allocation.handle = None
        with self._ledger():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.directory / name)
        os.close(fd)

    @contextlib.contextmanager
    def _ledger(self):
        fd = os.open(self.directory / ".ledger.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock

    def _live_bytes(self) -> int:
        total = 0
        for path in self.directory.glob("*.alloc"):
            try:
                size = int(path.stem.rsplit("-", 1)[1])
            except (IndexError, ValueError):
                continue  # not ours
            if _owner_alive(path):
                total += size
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        return total


def _owner_alive(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True  # its owner holds the lock: alive
    finally:
        os.close(fd)
    return False
