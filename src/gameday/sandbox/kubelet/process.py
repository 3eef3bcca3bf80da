"""Starting container processes: as the container's user, in a process group
of their own, with PR_SET_PDEATHSIG so that nothing outlives the sandbox even
when it is killed with SIGKILL.

PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so
every process is started from one long-lived spawner thread."""
from __future__ import annotations

import concurrent.futures
import ctypes
import os
import queue
import shutil
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

PR_SET_PDEATHSIG = 1
NOBODY = (65534, 65534)

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _libc = None


@dataclass(frozen=True)
class RunAs:
    uid: int
    gid: int

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid() and self.gid == os.getegid()


def _preexec(run_as: RunAs, parent: int) -> Callable[[], None]:
    def fn() -> None:
        if not run_as.is_self:
            os.setgroups([])
            os.setgid(run_as.gid)
            os.setuid(run_as.uid)
        # After setuid: changing credentials clears the parent-death signal.
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(137)  # the sandbox died while we were starting
    return fn


class Spawner:
    """A long-lived thread through which every process is started."""

    def __init__(self) -> None:
        self._jobs: "queue.Queue[tuple[Callable, concurrent.futures.Future] | None]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kubelet-spawner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to the caller
                fut.set_exception(exc)

    def popen(self, argv: list[str], *, env: dict, cwd: str, run_as: RunAs, stdin=None,
              stdout=None, stderr=None, umask: int = -1) -> subprocess.Popen:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        parent = os.getpid()
        setpriv = _setpriv()
        if setpriv:
            # No Python between fork and exec (a preexec_fn can deadlock on a lock another
            # thread held at fork): setpriv sets the death signal after the user change.
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
            user = {} if run_as.is_self else {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
            kwargs = {**user}
        else:
            kwargs = {"preexec_fn": _preexec(run_as, parent)}

        def start() -> subprocess.Popen:
            return subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
                                    start_new_session=True, close_fds=True, umask=umask, **kwargs)
        self._jobs.put((start, fut))
        return fut.result(timeout=60)

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5)


def main_pid(proc: subprocess.Popen, wait: float = 5.0) -> int | None:
    """The host PID of a container's main process. An isolated container's
    Popen is bwrap, which stays outside as a monitor; the container's PID 1 is
    its only child (waited for while bwrap sets the namespaces up, bounded)."""
    if not getattr(proc, "isolated", False):
        return proc.pid
    known = getattr(proc, "pid1", None)
    if known is not None:
        return known
    deadline = time.monotonic() + wait
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                children = f.read().split()
        except OSError:
            children = []
        if children:
            proc.pid1 = int(children[0])
            return proc.pid1
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)  # bwrap forks its child within milliseconds; bounded above
    return None


def stop_main(proc: subprocess.Popen, sig: int) -> None:
    """Ask a container to stop: its stop signal to its main process only, as a
    container runtime does (the rest of the group is killed when time is up).
    A PID 1 that has no handler for the signal ignores it, as in a container."""
    pid = main_pid(proc)
    if pid is None:
        return  # not started yet, or gone: the group is killed when time is up
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def signal_group(pid: int, sig: int) -> None:
    """Signal a container's process group (its pid leads it); gone is fine."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@lru_cache(maxsize=1)
def _setpriv() -> str | None:
    return shutil.which("setpriv")


def can_execute(path: str, run_as: RunAs) -> bool:
    """Whether a user may run the program at path: every directory on the way
    searchable and the file executable for that user (root may do anything)."""
    if run_as.uid == 0:
        return os.path.exists(path)
    p = Path(os.path.realpath(path))
    try:
        for d in list(p.parents)[::-1]:
            if not _allowed(os.stat(d), run_as, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
                return False
        st = os.stat(p)
    except OSError:
        return False
    return _allowed(st, run_as, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH) and \
        _allowed(st, run_as, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH) and \
        _interpreter_ok(p, run_as)


def _interpreter_ok(path: Path, run_as: RunAs) -> bool:
    """A script (console scripts such as hpu-hog) runs only if its #!
    interpreter is executable by the user too (a venv's python may live
    under a directory closed to other users)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    if not head.startswith(b"#!"):
        return True
    parts = head[2:].split(b"\n", 1)[0].split()
    if not parts:
        return True
    interpreter = os.fsdecode(parts[0])
    return interpreter == str(path) or can_execute(interpreter, run_as)


def _allowed(st: os.stat_result, run_as: RunAs, u: int, g: int, o: int) -> bool:
    if st.st_uid == run_as.uid:
        return bool(st.st_mode & u)
    if st.st_gid == run_as.gid:
        return bool(st.st_mode & g)
    return bool(st.st_mode & o)


def make_traversable(path: Path) -> None:
    """Let other users reach the sandbox's state directory: pytest and mkdtemp
    create 0700 directories, and pods may run as an unprivileged user. Only
    the search bit is added, only on directories this process owns."""
    me = os.geteuid()
    for d in [path, *path.parents]:
        try:
            st = os.stat(d)
        except OSError:
            continue
        if st.st_uid == me and not st.st_mode & stat.S_IXOTH:
            try:
                os.chmod(d, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
            except OSError:
                pass


def chown_tree(path: Path, run_as: RunAs) -> None:
    if os.geteuid() != 0 or run_as.is_self:
        return
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
            try:
                os.lchown(name, run_as.uid, run_as.gid)
            except OSError:
                pass
