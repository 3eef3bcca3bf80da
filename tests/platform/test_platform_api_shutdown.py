"""SIGTERM: the API keeps answering through its drain period, telling
keep-alive clients to reconnect (Connection: close), then exits 0."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time

from pgserver import free_port


def test_sigterm_drains_then_exits(postgres, tmp_path):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=postgres.url, GAUDI3_API_HOST="127.0.0.1", GAUDI3_API_PORT=str(port),
               GAUDI3_CONFIG_DIR=str(tmp_path), GAUDI3_API_DRAIN_SECONDS="5")
    proc = subprocess.Popen([sys.executable, "-m", "gaudi3_scale.api.server"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        conn = None
        while conn is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/health")
                first = conn.getresponse()
                first.read()
            except OSError:
                conn = None
                assert time.monotonic() < deadline and proc.poll() is None, "the API did not start"
                time.sleep(0.1)
        assert first.status == 200 and first.getheader("Connection") != "close"

        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not any("draining" in line for line in lines):
            assert time.monotonic() < deadline, "no drain after SIGTERM"
            time.sleep(0.02)
        # Still answering while draining, on the same keep-alive connection,
        # and asking the client to reconnect elsewhere.
        conn.request("GET", "/health")
        during = conn.getresponse()
        during.read()
        assert during.status == 200 and during.getheader("Connection") == "close"
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
