"""Harness side of the load: starts the Locust process(es) and hands each
per-second sample to a callback. Locust is never imported here."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from .sample import LoadSample


def default_locustfile() -> Path:
    """loadtests/locustfile.py of the project (or of the working directory)."""
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        candidate = base / "loadtests" / "locustfile.py"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("loadtests/locustfile.py not found; pass locustfile=")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoadRun:
    """Locust running against `host`: one process (`workers=0`) or a master
    plus `workers` worker processes. `on_sample` is called from a reader
    thread once a second."""

    def __init__(self, host: str, users: int = 10, spawn_rate: float | None = None, workers: int = 0,
                 locustfile: str | os.PathLike | None = None, on_sample: Callable[[LoadSample], None] | None = None,
                 log_path: str | os.PathLike | None = None):
        self.host = host
        self.users = users
        self.spawn_rate = spawn_rate or max(1.0, float(users))
        self.workers = workers
        self.locustfile = Path(locustfile) if locustfile else default_locustfile()
        self.on_sample = on_sample
        self.log_path = Path(log_path) if log_path else None
        self.samples: list[LoadSample] = []
        self.acked: list[str] = []
        self.error: str | None = None
        self._procs: list[subprocess.Popen] = []
        self._reader: threading.Thread | None = None
        self._started = threading.Event()
        self._log = None

    def _cmd(self, role: str, port: int) -> list[str]:
        return [sys.executable, "-m", "gameday.load.proc", "--locustfile", str(self.locustfile),
                "--host", self.host, "--users", str(self.users), "--spawn-rate", str(self.spawn_rate),
                "--role", role, "--master-port", str(port), "--expect-workers", str(self.workers)]

    def start(self, timeout: float = 120.0) -> "LoadRun":
        port = _free_port()
        role = "master" if self.workers else "local"
        stderr = subprocess.DEVNULL
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
            stderr = self._log
        # own session: a Ctrl-C meant for the harness must not kill the load
        # before the harness has finished its rollbacks
        master = subprocess.Popen(self._cmd(role, port), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=stderr, start_new_session=True)
        self._procs.append(master)
        for _ in range(self.workers):
            self._procs.append(subprocess.Popen(self._cmd("worker", port), stdin=subprocess.PIPE,
                                                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True))
        self._reader = threading.Thread(target=self._read, args=(master,), name="load-reader", daemon=True)
        self._reader.start()
        if not self._started.wait(timeout):
            self.stop()
            raise RuntimeError(self.error or f"Locust did not start within {timeout:.0f}s")
        if self.error:
            self.stop()
            raise RuntimeError(self.error)
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            kind = obj.get("type")
            if kind == "started":
                self._started.set()
            elif kind == "error":
                self.error = obj.get("message", "Locust failed")
                self._started.set()
            elif kind == "sample":
                sample = LoadSample.from_json(obj)
                self.samples.append(sample)
                self.acked.extend(sample.acked)
                if self.on_sample:
                    try:
                        self.on_sample(sample)
                    except Exception:
                        pass
        if not self._started.is_set():
            self.error = self.error or f"Locust exited with {proc.wait()} before starting"
            self._started.set()

    def wait_for_samples(self, n: int, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.samples) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.samples) >= n

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every Locust process (bounded; killed if they do not stop)."""
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    proc.stdin.close()
                except Exception:
                    pass
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._reader:
            self._reader.join(5)
        for proc in self._procs:
            if proc.stdout:
                proc.stdout.close()
        self._procs.clear()
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> "LoadRun":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
