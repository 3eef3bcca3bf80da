"""The API (gunicorn + Flask, the platform's interpreter) against a real PostgreSQL server, no sandbox."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from apiproc import running_api


def call(base: str, method: str, path: str, body: dict | bytes | None = None, timeout: float = 30):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, resp.headers, raw
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def jbody(raw: bytes) -> dict:
    return json.loads(raw)


@pytest.fixture(scope="module")
def api(postgres, tmp_path_factory):
    config_dir = tmp_path_factory.mktemp("config")
    with running_api(postgres.url, config_dir, tmp_path_factory.mktemp("logs")) as proc:
        assert poll(lambda: call(proc.base, "GET", "/health/ready")[0], 200, timeout=60) == 200
        yield proc.base, config_dir, proc


def test_health_and_ready(api):
    base, _, _ = api
    assert call(base, "GET", "/health")[0] == 200
    status, _, raw = call(base, "GET", "/health/ready")
    assert status == 200 and jbody(raw)["database"]["status"] == "up"


def test_job_roundtrip_and_listing(api):
    base, _, _ = api
    status, headers, raw = call(base, "POST", "/jobs", {"name": "resnet", "steps": 12})
    assert status == 201
    job = jbody(raw)
    assert job["status"] == "queued" and job["steps"] == 12
    assert headers["Location"] == f"/jobs/{job['id']}"
    status, _, raw = call(base, "GET", f"/jobs/{job['id']}")
    assert status == 200 and jbody(raw)["name"] == "resnet"
    status, _, raw = call(base, "GET", "/jobs?status=queued")
    assert status == 200 and job["id"] in [j["id"] for j in jbody(raw)["jobs"]]
    assert call(base, "GET", "/jobs/999999999")[0] == 404


@pytest.mark.parametrize("body", [b"not json", b"[1]", json.dumps({"steps": 0}).encode(),
                                  json.dumps({"steps": "ten"}).encode(), json.dumps({"name": ""}).encode()])
def test_bad_job_is_400_with_a_message(api, body):
    base, _, _ = api
    status, _, raw = call(base, "POST", "/jobs", body)
    assert status == 400 and jbody(raw)["message"]


def test_bad_status_filter_and_unknown_route(api):
    base, _, _ = api
    assert call(base, "GET", "/jobs?status=bogus")[0] == 400
    assert call(base, "GET", "/nope")[0] == 404
    assert call(base, "DELETE", "/jobs")[0] == 405


def test_maintenance_mode_blocks_writes_not_reads(api):
    base, config_dir, _ = api
    (config_dir / "maintenance_mode").write_text("true")
    try:
        # The setting is re-read at most once a second: poll, bounded.
        status = poll(lambda: call(base, "POST", "/jobs", {"name": "m"})[0], 503)
        assert status == 503
        _, headers, raw = call(base, "POST", "/jobs", {"name": "m"})
        assert jbody(raw)["error"] == "maintenance" and headers["Retry-After"]
        assert call(base, "GET", "/jobs")[0] == 200
    finally:
        (config_dir / "maintenance_mode").write_text("false")
    assert poll(lambda: call(base, "POST", "/jobs", {"name": "m"})[0], 201) == 201


def test_metrics_count_requests_by_route_and_status(api):
    base, _, _ = api
    call(base, "GET", "/jobs/424242")
    status, _, raw = call(base, "GET", "/metrics")
    text = raw.decode()
    assert status == 200
    assert 'http_requests_total{method="GET",route="/jobs/{id}",status="404"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "gaudi3_scale_database_up 1.0" in text


def test_injected_latency_slows_jobs_but_not_health(api):
    base, config_dir, _ = api
    (config_dir / "api_latency_ms").write_text("400")
    try:
        poll(lambda: "0.4" in call(base, "GET", "/metrics")[2].decode().split("gaudi3_scale_api_injected_latency_seconds ")[1][:4], True)
        import time
        start = time.monotonic()
        assert call(base, "GET", "/jobs?limit=1")[0] == 200
        assert time.monotonic() - start >= 0.4
    finally:
        (config_dir / "api_latency_ms").write_text("0")


def poll(fn, want, timeout: float = 20.0, interval: float = 0.2):
    import time

    deadline = time.monotonic() + timeout
    got = fn()
    while got != want and time.monotonic() < deadline:
        time.sleep(interval)
        got = fn()
    return got
