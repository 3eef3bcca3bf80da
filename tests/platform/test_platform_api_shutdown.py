"""SIGTERM: the API (gunicorn) keeps answering through its drain period,
telling keep-alive clients to reconnect (Connection: close), then exits 0.
SIGUSR1 reopens its log files (the runbook's log rotation)."""
from __future__ import annotations

import http.client
import os
import signal
import threading
import time

from apiproc import running_api


def test_sigterm_drains_then_exits(postgres, tmp_path):
    with running_api(postgres.url, tmp_path, tmp_path / "logs", GAUDI3_API_DRAIN_SECONDS="5") as api:
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        conn.request("GET", "/health")
        first = conn.getresponse()
        first.read()
        assert first.status == 200 and first.getheader("Connection") != "close"

        api.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not any("draining" in line for line in api.lines):
            assert time.monotonic() < deadline, "no drain after SIGTERM"
            time.sleep(0.02)
        # Still answering while draining, on the same keep-alive connection,
        # and asking the client to reconnect elsewhere.
        conn.request("GET", "/health")
        during = conn.getresponse()
        during.read()
        assert during.status == 200 and during.getheader("Connection") == "close"
        assert api.proc.wait(60) == 0


def test_logs_are_files_and_sigusr1_reopens_them(postgres, tmp_path):
    logs = tmp_path / "logs"
    with running_api(postgres.url, tmp_path, logs) as api:
        # Requests keep flowing on a keep-alive connection through the rotation: none may fail.
        stop, results = threading.Event(), []

        def load():
            client = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
            while not stop.is_set():
                try:
                    client.request("GET", "/health")
                    response = client.getresponse()
                    response.read()
                    results.append(response.status)
                except OSError as exc:
                    results.append(repr(exc))
                    client = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        conn.request("GET", "/health")
        conn.getresponse().read()
        access = logs / "access.log"
        deadline = time.monotonic() + 30
        while "GET /health" not in (access.read_text() if access.exists() else ""):
            assert time.monotonic() < deadline, "no access log line for GET /health"
            time.sleep(0.05)
        assert (logs / "error.log").exists()

        # The runbook's rotation: archive, move the files away, SIGUSR1 to the
        # server (here the gunicorn this test started itself, never PID 1).
        os.rename(access, logs / "access.log.1")
        api.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not access.exists():
            assert time.monotonic() < deadline, "SIGUSR1 did not reopen access.log"
            time.sleep(0.05)
        # The master reopens at once, its worker when it next wakes: ask
        # until a request lands in the new file (bounded).
        deadline = time.monotonic() + 30
        while "after-rotation" not in access.read_text():
            assert time.monotonic() < deadline, "the reopened access.log gets no new lines: " + access.read_text()
            conn.request("GET", "/health?after-rotation")
            conn.getresponse().read()
            time.sleep(0.2)
        stop.set()
        loader.join(30)
        assert results and all(r == 200 for r in results), [r for r in results if r != 200][:5]
        assert api.proc.poll() is None
