"""The API as its image runs it: gunicorn (PID of the process started here)
under the platform's own interpreter (.venv-platform, `make setup`)."""
from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import threading
import time
from pathlib import Path

from pgserver import free_port

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_VENV = ROOT / ".venv-platform"


def platform_python() -> str:
    exe = PLATFORM_VENV / "bin" / "python"
    assert exe.exists(), f"the platform's environment {PLATFORM_VENV} is missing: run `make setup`"
    return str(exe)


class RunningApi:
    def __init__(self, proc: subprocess.Popen, port: int, log_dir: Path):
        self.proc, self.port, self.log_dir = proc, port, log_dir
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()

    def wait_serving(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/health")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                assert self.proc.poll() is None, "the API exited: " + "".join(self.lines[-20:])
                assert time.monotonic() < deadline, "the API did not start: " + "".join(self.lines[-20:])
                time.sleep(0.1)


@contextlib.contextmanager
def running_api(database_url: str, config_dir: Path, log_dir: Path, **env_extra: str):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, GAUDI3_API_HOST="127.0.0.1", GAUDI3_API_PORT=str(port),
               GAUDI3_CONFIG_DIR=str(config_dir), GAUDI3_LOG_DIR=str(log_dir), **env_extra)
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.Popen([platform_python(), "-m", "gaudi3_scale.api.server"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    api = RunningApi(proc, port, log_dir)
    try:
        api.wait_serving()
        yield api
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
