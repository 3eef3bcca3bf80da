"""The API while its database is gone or hung: it answers 503 with a reason
(bounded waits), keeps serving /health, and recovers by itself."""
from __future__ import annotations

import os
import signal

import pytest

from apiproc import running_api
from pgserver import _children, running_postgres
from test_platform_api import call, jbody, poll


@pytest.fixture
def outage_api(tmp_path):
    with running_postgres() as pg:
        with running_api(pg.url, tmp_path / "config", tmp_path / "logs") as api:
            yield api.base, pg


def signal_postgres(pg, sig):
    for pid in [pg.process.pid, *_children(pg.process.pid)]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def test_database_killed_then_back(outage_api):
    base, pg = outage_api
    assert poll(lambda: call(base, "GET", "/health/ready")[0], 200, timeout=60) == 200
    status, _, raw = call(base, "POST", "/jobs", {"name": "committed"})
    assert status == 201
    job_id = jbody(raw)["id"]

    pg.kill()
    status, _, raw = call(base, "POST", "/jobs", {"name": "during"})
    assert status == 503 and jbody(raw)["error"] == "database_unavailable"
    assert call(base, "GET", "/health/ready")[0] == 503
    assert call(base, "GET", "/health")[0] == 200  # the process is fine
    assert poll(lambda: "gaudi3_scale_database_up 0.0" in call(base, "GET", "/metrics")[2].decode(), True)

    pg.start()
    assert poll(lambda: call(base, "GET", "/health/ready")[0], 200, timeout=60) == 200
    status, _, raw = call(base, "GET", f"/jobs/{job_id}")
    assert status == 200 and jbody(raw)["name"] == "committed"
    assert call(base, "POST", "/jobs", {"name": "after"})[0] == 201


def test_hung_database_answers_503_instead_of_hanging(outage_api):
    base, pg = outage_api
    assert poll(lambda: call(base, "GET", "/jobs?limit=1")[0], 200, timeout=60) == 200  # a pooled connection
    signal_postgres(pg, signal.SIGSTOP)
    try:
        # The pooled connection's query hangs until the watchdog closes it;
        # a new connection then gives up at the connect timeout.
        status, _, raw = call(base, "GET", "/jobs?limit=1", timeout=60)
        assert status == 503 and jbody(raw)["error"] == "database_unavailable"
        assert call(base, "POST", "/jobs", {"name": "hung"}, timeout=60)[0] == 503
    finally:
        signal_postgres(pg, signal.SIGCONT)
    assert poll(lambda: call(base, "GET", "/jobs?limit=1")[0], 200, timeout=60) == 200
