"""A throwaway PostgreSQL server for the platform's unit tests: initdb and
postgres from the local PostgreSQL installation, run as an unprivileged user
when the tests run as root (the server refuses root)."""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def pg_bindir() -> Path | None:
    """PostgreSQL server binaries: `pg_config --bindir`, else the Debian layout."""
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    candidates.extend(versions)
    for path in candidates:
        if (path / "initdb").exists() and (path / "postgres").exists():
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    user: str = "gaudi3"
    password: str = "gaudi3-test"
    database: str = "gaudi3_scale"
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _demote(self):
        if os.geteuid() != 0:
            return None
        nobody = pwd.getpwnam("nobody")
        def preexec():
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        return preexec

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            os.chown(pwfile, nobody.pw_uid, nobody.pw_gid)
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
             "-A", "scram-sha-256", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, preexec_fn=self._demote(), cwd=self.root,
        )

    def start(self, timeout: float = 60) -> None:
        log = open(self.root / "postgres.log", "ab")
        self.process = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.root), "-c", "fsync=off", "-c", "max_connections=60", "-c", "shared_buffers=16MB"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=self._demote(), cwd=self.root,
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        admin = f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres"
        while True:
            try:
                with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{self.database}"')
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"postgres exited: {(self.root / 'postgres.log').read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"postgres not ready within {timeout}s")
                time.sleep(0.2)

    def create_database(self, name: str) -> str:
        """A fresh database on this server (tests that must not see each
        other's jobs); returns its URL."""
        import psycopg

        admin = f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"

    def stop(self, fast: bool = True) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(2 if fast else 15)  # SIGINT = fast shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        """Crash the server (SIGKILL to the postmaster and its children)."""
        if self.process and self.process.poll() is None:
            pid = self.process.pid
            for child in _children(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, 9)
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry.name))
    return out


@contextlib.contextmanager
def running_postgres():
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries found")
    root = Path(tempfile.mkdtemp(prefix="gaudi3-pg-"))
    os.chmod(root, 0o755)
    server = PgServer(bindir, root, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
