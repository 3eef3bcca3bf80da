"""The reference platform deployed in the sandbox, reached only as production
is: the API's host port, Prometheus, Alertmanager, kubectl and the Kubernetes
API. Tests run in file order and share the session's sandbox; each leaves the
platform at steady state."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NS = "gaudi3-scale"
WAIT = 180.0  # generous: two shared cores run the platform, the sandbox and other tests


def http(method: str, url: str, body: dict | None = None, timeout: float = 15):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        return 0, {"error": str(exc)}
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"raw": raw.decode(errors="replace")}


def wait_for(fn, timeout: float = WAIT, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def wait_for_job(api: str, job_id, what: str, stall: float = WAIT, cap: float = 540.0) -> dict:
    """The job, once completed. The trainer takes queued jobs oldest first and
    the drills before this test leave their load's jobs queued (a long drill
    under load leaves a few hundred), so the bound is on progress: fail when
    neither the jobs ahead of this one nor its own steps moved for `stall`
    seconds, or after `cap` seconds in all."""
    start = last_move = time.monotonic()
    seen = None
    while True:
        job = http("GET", f"{api}/jobs/{job_id}")[1]
        if job.get("status") == "completed":
            return job
        listed = [j for status in ("queued", "running")
                  for j in http("GET", f"{api}/jobs?status={status}&limit=1000")[1].get("jobs", [])]
        ahead = sum(1 for j in listed if int(j.get("id", 0)) < int(job_id))
        now = time.monotonic()
        state = (ahead, job.get("status"), job.get("progress_step"))
        if state != seen:
            seen, last_move = state, now
        if now - last_move > stall or now - start > cap:
            raise AssertionError(f"timed out after {now - start:.0f}s waiting for {what} "
                                 f"({ahead} jobs ahead; nothing moved for {now - last_move:.0f}s; last: {job!r})")
        time.sleep(1.0)


def kubectl(sandbox, *args: str, check: bool = True) -> str:
    out = subprocess.run(["kubectl", *args], env=dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig)),
                         capture_output=True, text=True, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


@pytest.fixture(scope="module")
def urls(sandbox):
    return {
        "api": sandbox.service_url("gaudi3-scale-api", NS),
        "prometheus": sandbox.service_url("prometheus", "monitoring"),
        "alertmanager": sandbox.service_url("alertmanager", "monitoring"),
    }


def prometheus_alerts(urls) -> dict[str, str]:
    status, body = http("GET", urls["prometheus"] + "/api/v1/alerts")
    if status != 200:
        return {}
    return {a["labels"]["alertname"]: a["state"] for a in body["data"]["alerts"]}


def firing(urls, name: str) -> bool:
    return prometheus_alerts(urls).get(name) == "firing"


def alertmanager_active(urls) -> list[str]:
    status, body = http("GET", urls["alertmanager"] + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
    return [a["labels"]["alertname"] for a in body] if status == 200 else ["<alertmanager unreachable>"]


def metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def trainer_metrics(sandbox) -> str:
    # Through the trainer's Service proxy, as Prometheus would reach the pod.
    url = sandbox.service_url("gaudi3-scale-trainer", NS)
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
            return resp.read().decode()
    except OSError:
        return ""


def test_health_answers_through_the_api_host_port(urls):
    status, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(http("GET", urls["api"] + "/health")),
                            what="/health 200")
    assert body == {"status": "ok"}
    assert wait_for(lambda: http("GET", urls["api"] + "/health/ready")[0] == 200, what="/health/ready 200")


def test_a_posted_job_completes(urls):
    status, job = http("POST", urls["api"] + "/jobs", {"name": "sandbox-smoke", "steps": 20})
    assert status == 201, job
    done = wait_for_job(urls["api"], job["id"], what=f"job {job['id']} completed")
    assert done["progress_step"] == 20 and done["loss"] is not None


def test_prometheus_scrapes_every_platform_target(urls):
    want = {"api": 2, "trainer": 1, "exporter": 1}

    def targets_up():
        status, body = http("GET", urls["prometheus"] + "/api/v1/targets")
        if status != 200:
            return None
        up: dict[str, int] = {}
        for t in body["data"]["activeTargets"]:
            if t["labels"].get("namespace") not in ("gaudi3-scale", "monitoring"):
                continue   # staging's API is scraped too; this is production's platform
            component = t["labels"].get("app_kubernetes_io_component", "")
            if t["health"] == "up":
                up[component] = up.get(component, 0) + 1
        return up if all(up.get(k, 0) >= n for k, n in want.items()) else None

    up = wait_for(targets_up, what="every platform target up")
    assert up["api"] == 2


def test_no_alert_fires_at_steady_state(urls):
    assert wait_for(lambda: alertmanager_active(urls) == [], what="Alertmanager with no active alert") is True


def test_maintenance_mode_turns_writes_to_503_and_back(sandbox, urls):
    patch = lambda v: kubectl(sandbox, "patch", "configmap", "gaudi3-scale-config", "-n", NS,  # noqa: E731
                              "-p", json.dumps({"data": {"maintenance_mode": v}}))
    patch("true")
    try:
        status, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(
            http("POST", urls["api"] + "/jobs", {"name": "during-maintenance"})), what="writes answer 503")
        assert body["error"] == "maintenance" and "maintenance mode" in body["message"]
        assert http("GET", urls["api"] + "/jobs?limit=5")[0] == 200  # reads keep working
    finally:
        patch("false")
    # Both replicas must accept writes again (the proxy spreads requests over them).
    wait_for(lambda: all(http("POST", urls["api"] + "/jobs", {"name": "after", "steps": 5})[0] == 201 for _ in range(4)),
             what="writes accepted again")


def test_killed_postgres_fails_readiness_fires_database_down_and_loses_no_committed_job(sandbox, urls):
    committed = []
    for i in range(5):
        status, job = http("POST", urls["api"] + "/jobs", {"name": f"before-outage-{i}", "steps": 5})
        assert status == 201, job
        committed.append(job["id"])
    # The outage is held until it has been seen: a killed postgres pod's successor starts in a few seconds here,
    # which may be shorter than a scrape plus a rule evaluation, so the alert's firing would be a race.
    kubectl(sandbox, "scale", "deployment/postgres", "-n", "database", "--replicas=0")
    try:
        kubectl(sandbox, "delete", "pod", "-l", "app.kubernetes.io/name=postgres", "-n", "database",
                "--grace-period=0", "--force", "--wait=false")
        wait_for(lambda: http("GET", urls["api"] + "/health/ready", timeout=10)[0] == 503, what="/health/ready 503")
        wait_for(lambda: firing(urls, "DatabaseDown"), what="DatabaseDown firing")
        # The API stays up and says why, quickly (bounded connect timeout), while the database is away.
        assert http("GET", urls["api"] + "/health")[0] == 200
    finally:
        kubectl(sandbox, "scale", "deployment/postgres", "-n", "database", "--replicas=1")

    wait_for(lambda: http("GET", urls["api"] + "/health/ready")[0] == 200, what="/health/ready 200 again")
    wait_for(lambda: "DatabaseDown" not in prometheus_alerts(urls), what="DatabaseDown resolved")
    for job_id in committed:
        status, job = http("GET", f"{urls['api']}/jobs/{job_id}")
        assert status == 200 and job["id"] == job_id, f"committed job {job_id} lost: {status} {job}"


def test_hpu_hog_fires_the_alert_fails_training_and_the_trainer_resumes_from_its_checkpoint(sandbox, urls):
    from kubernetes import client, config

    config.load_kube_config(config_file=str(sandbox.kubeconfig))
    core = client.CoreV1Api()
    status, job = http("POST", urls["api"] + "/jobs", {"name": "long-training", "steps": 600})
    assert status == 201, job
    job_id = job["id"]
    wait_for(lambda: http("GET", f"{urls['api']}/jobs/{job_id}")[1].get("progress_step", 0) >= 20,
             what="two checkpoints of the long job")

    trainer = core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/component=trainer").items[0]
    restarts_before = trainer.status.container_statuses[0].restart_count
    tc = trainer.spec.containers[0]
    hog = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "test-hpu-hog", "namespace": NS},
        "spec": {
            "nodeName": trainer.spec.node_name, "restartPolicy": "Never", "terminationGracePeriodSeconds": 5,
            "volumes": [{"name": "hpu-sim", "hostPath": {"path": "/var/run/gaudi3-sim"}}],
            "containers": [{
                "name": "hog", "image": tc.image,
                "command": ["hpu-hog", "--fraction", "0.9", "--hold", "25s", "--grab-timeout", "60s"],
                "env": [{"name": e.name, "value": e.value} for e in tc.env if e.value is not None],
                "volumeMounts": [{"name": "hpu-sim", "mountPath": "/var/run/gaudi3-sim"}],
            }],
        },
    }
    core.create_namespaced_pod(NS, hog)
    try:
        wait_for(lambda: firing(urls, "HpuMemoryHigh"), what="HpuMemoryHigh firing")
        failed = wait_for(lambda: (lambda j: j if j.get("failures", 0) >= 1 else None)(
            http("GET", f"{urls['api']}/jobs/{job_id}")[1]), what="the job's attempt failed")
        assert "out of memory" in failed["error"]
        checkpoint_step = failed["progress_step"]
        assert checkpoint_step >= 20 and checkpoint_step % 10 == 0
        wait_for(lambda: core.read_namespaced_pod_status(trainer.metadata.name, NS)
                 .status.container_statuses[0].restart_count > restarts_before, what="the trainer restarted")
        wait_for(lambda: firing(urls, "TrainingJobFailed"), what="TrainingJobFailed firing")
    finally:
        core.delete_namespaced_pod("test-hpu-hog", NS, grace_period_seconds=5)

    # After the hog leaves, the restarted trainer resumes from the checkpoint.
    resumed = f"resumed job {job_id} from checkpoint at step {checkpoint_step}"
    wait_for(lambda: resumed in kubectl(sandbox, "logs", "deployment/gaudi3-scale-trainer", "-n", NS, check=False),
             what=repr(resumed))
    wait_for(lambda: metric(trainer_metrics(sandbox), "training_resumed_from_step") == checkpoint_step,
             what=f"training_resumed_from_step == {checkpoint_step}")
    wait_for(lambda: http("GET", f"{urls['api']}/jobs/{job_id}")[1].get("status") == "completed",
             what="the resumed job completed")
    wait_for(lambda: "HpuMemoryHigh" not in prometheus_alerts(urls), what="HpuMemoryHigh resolved")


def test_a_crash_looping_pod_fires_pod_crash_looping(sandbox, urls):
    # The rule reads kube-state-metrics series; in the sandbox its discovery
    # server stands in for kube-state-metrics, so the same rule fires.
    manifest = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "crashloop-probe", "namespace": "gaudi3-scale"}, "spec": {
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": "ghcr.io/gaudi3-scale/tools", "command": ["false"]}]}})
    subprocess.run(["kubectl", "--kubeconfig", str(sandbox.kubeconfig), "apply", "-f", "-"], input=manifest,
                   text=True, check=True, capture_output=True, timeout=60)
    try:
        # Another pod may be crash-looping already (the trainer after an
        # out-of-memory test): wait for the alert about this very pod.
        def firing_for_probe():
            alerts = http("GET", urls["prometheus"] + "/api/v1/alerts")[1]["data"]["alerts"]
            return any(a["labels"]["alertname"] == "PodCrashLooping" and a["state"] == "firing"
                       and a["labels"].get("pod") == "crashloop-probe" for a in alerts)
        assert wait_for(firing_for_probe, what="PodCrashLooping firing for crashloop-probe")
    finally:
        kubectl(sandbox, "delete", "pod", "crashloop-probe", "-n", "gaudi3-scale", "--grace-period=0", "--force",
                check=False)
