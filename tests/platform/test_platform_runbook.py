"""The runbook's lines against the platform in the sandbox, as an operator
pastes them (kubectl, the runbook's scripts run from its workspace runbook/).
Where a line fails for a reason of the runbook's own, the test says so and
checks that reason; the platform is not bent to make it pass.
Shares the session's sandbox; each test leaves the platform at steady state."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from test_platform_sandbox import NS, WAIT, http, kubectl, wait_for, wait_for_job

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "runbook"   # the runbook's "./": its scripts/, tests/, backup-recovery/


def run(sandbox, argv: list[str], cwd: Path = WORKSPACE, timeout: float = 180, **env) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig), **env))


def kexec(sandbox, target: str, ns: str, *command: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return run(sandbox, ["kubectl", "exec", target, "-n", ns, "--", *command], timeout=timeout)


@pytest.fixture(scope="module")
def api(sandbox):
    url = sandbox.service_url("gaudi3-scale-api", NS)
    wait_for(lambda: http("GET", url + "/health/ready")[0] == 200, what="/health/ready 200")
    return url


# -- Database -----------------------------------------------------------------

def test_psql_in_deployment_postgres_connects_with_no_arguments(sandbox, api):
    out = kexec(sandbox, "deployment/postgres", "database", "psql", "-c", "SELECT count(*) FROM training_jobs;")
    assert out.returncode == 0, out.stderr
    assert "count" in out.stdout and "(1 row)" in out.stdout
    size = kexec(sandbox, "deployment/postgres", "database", "psql", "-c",
                 "SELECT pg_size_pretty(pg_database_size('gaudi3_scale'));")
    assert size.returncode == 0 and "pg_size_pretty" in size.stdout, size.stderr
    strategy = json.loads(kubectl(sandbox, "get", "deployment", "postgres", "-n", "database", "-o", "json"))
    assert strategy["spec"]["strategy"]["type"] == "Recreate"


def test_pg_stat_statements_is_preloaded_and_created(sandbox, api):
    ok = kexec(sandbox, "deployment/postgres", "database", "psql", "-c",
               "SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 5;")
    assert ok.returncode == 0, ok.stderr
    assert "mean_exec_time" in ok.stdout and "rows)" in ok.stdout
    # The runbook's own line names `mean_time`, renamed `mean_exec_time` in
    # PostgreSQL 13: a runbook defect (the runbook check reports it).
    runbook = kexec(sandbox, "deployment/postgres", "database", "psql", "-c",
                    "SELECT query, mean_time, calls FROM pg_stat_statements ORDER BY mean_time DESC LIMIT 5;")
    assert runbook.returncode != 0 and 'column "mean_time" does not exist' in runbook.stderr


def test_backup_tool_at_the_runbooks_path(sandbox, api):
    tool = "./backup-recovery/scripts/backup-automation.sh"
    backup = run(sandbox, [tool, "backup"])
    assert backup.returncode == 0, backup.stderr
    # The dump's path inside the pod is /backup/database/postgres-*.sql.gz (as the runbook's restore names it); the
    # sandbox without mount namespaces prints the claim's host directory.
    assert "/database/postgres-" in backup.stdout and ".sql.gz" in backup.stdout
    check = run(sandbox, [tool, "health-check"])
    assert check.returncode == 0 and "backup OK" in check.stdout, check.stderr
    # The dump holds pg_stat_statements too: restoring it (as the platform's
    # owner, in one transaction) recreates the extension with the data.
    restored = run(sandbox, [tool, "restore-db", "latest"])
    assert restored.returncode == 0, restored.stderr
    after = kexec(sandbox, "deployment/postgres", "database", "psql", "-Atc",
                  "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements';")
    assert after.returncode == 0 and after.stdout.strip() == "1", after.stderr


# -- API --------------------------------------------------------------------

def test_api_container_has_curl_psycopg2_psutil_and_database_url(sandbox, api):
    health = kexec(sandbox, "deployment/gaudi3-scale-api", NS, "sh", "-c", 'curl -fsS "http://$GAUDI3_API_HOST:8000/health"')
    assert health.returncode == 0 and '"ok"' in health.stdout, health.stderr
    db = kexec(sandbox, "deployment/gaudi3-scale-api", NS, "python", "-c",
               "import os, psycopg2, psutil\n"
               "psycopg2.connect(os.environ['DATABASE_URL']).close()\n"
               "print('Database: CONNECTED', round(psutil.Process(os.getpid()).memory_info().rss / 2**20), 'MB')")
    assert db.returncode == 0 and "Database: CONNECTED" in db.stdout, db.stderr


def test_api_logs_are_files_under_app_logs(sandbox, api):
    for _ in range(5):
        http("GET", api + "/health")
    # The runbook's `find` line runs as written.
    found = kexec(sandbox, "deployment/gaudi3-scale-api", NS, "find", "/app/logs", "-name", "*.log", "-mtime", "+7",
                  "-delete")
    assert found.returncode == 0, found.stderr
    # `du -sh /app/logs/*` and `tar czf ... /app/logs/*.log` as written leave
    # the glob to the operator's own shell (no shell runs in the container):
    # the runbook's defect. Through a shell in the container they work.
    sizes = kexec(sandbox, "deployment/gaudi3-scale-api", NS, "sh", "-c", "du -sh /app/logs/*")
    assert sizes.returncode == 0 and "access.log" in sizes.stdout and "error.log" in sizes.stdout, sizes.stderr
    stamp = time.strftime("%Y%m%d")
    tar = kexec(sandbox, "deployment/gaudi3-scale-api", NS, "sh", "-c",
                f"tar czf /app/logs/archive-{stamp}.tar.gz /app/logs/*.log && ls /app/logs")
    assert tar.returncode == 0 and f"archive-{stamp}.tar.gz" in tar.stdout, tar.stderr
    literal = kexec(sandbox, "deployment/gaudi3-scale-api", NS, "du", "-sh", "/app/logs/*")
    assert literal.returncode != 0  # the unexpanded glob: no file named `*`


# -- Trainer ----------------------------------------------------------------

def test_trainer_hl_smi_metrics_and_latest_checkpoint(sandbox, api):
    smi = kexec(sandbox, "deployment/gaudi3-scale-trainer", NS, "hl-smi")
    assert smi.returncode == 0 and "HL-SMI Version" in smi.stdout and "MiB /" in smi.stdout, smi.stderr
    metrics = kexec(sandbox, "deployment/gaudi3-scale-trainer", NS, "sh", "-c",
                    'curl -fsS "http://$GAUDI3_TRAINER_HOST:8080/metrics"')
    assert metrics.returncode == 0 and "training_steps_total" in metrics.stdout, metrics.stderr

    status, job = http("POST", api + "/jobs", {"name": "runbook-checkpoint", "steps": 20})
    assert status == 201, job
    wait_for_job(api, job["id"], what="job completed")
    keys = kexec(sandbox, "deployment/gaudi3-scale-trainer", NS, "python", "-c",
                 "import torch; print(torch.load('/app/models/latest.ckpt').keys())")
    assert keys.returncode == 0, keys.stderr
    assert "'model_state_dict'" in keys.stdout and "'step'" in keys.stdout and "'job_id'" in keys.stdout


# -- Canary -----------------------------------------------------------------

def test_stable_and_canary_pods_carry_the_runbooks_labels(sandbox, api):
    stable = kubectl(sandbox, "get", "pods", "-l", "version=stable", "-n", NS, "-o", "name").split()
    assert len(stable) >= 2 and all("gaudi3-scale-api-" in p for p in stable)
    kubectl(sandbox, "scale", "deployment/gaudi3-scale-api-canary", "--replicas=1", "-n", NS)
    try:
        wait_for(lambda: "Running" in kubectl(sandbox, "get", "pods", "-l", "version=canary", "-n", NS, check=False),
                 what="a canary pod running")
        logs = run(sandbox, ["kubectl", "logs", "-l", "version=canary", "-n", NS, "--tail=50"])
        assert logs.returncode == 0, logs.stderr
    finally:
        kubectl(sandbox, "scale", "deployment/gaudi3-scale-api-canary", "--replicas=0", "-n", NS)
    wait_for(lambda: kubectl(sandbox, "get", "pods", "-l", "version=canary", "-n", NS, "-o", "name",
                             check=False).strip() == "", what="the canary gone")


# -- Training Jobs ----------------------------------------------------------

def _job_manifest(name: str, args: list[str]) -> str:
    import yaml

    job = yaml.safe_load((ROOT / "deploy/training/batch-training-job.yaml").read_text())
    job["metadata"]["name"] = name
    job["spec"]["template"]["spec"]["containers"][0]["args"] = args
    return json.dumps(job)


def _apply(sandbox, manifest: str) -> None:
    out = subprocess.run(["kubectl", "apply", "-f", "-"], input=manifest, text=True, capture_output=True, timeout=60,
                         env=dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig)))
    assert out.returncode == 0, out.stderr


def _condition(sandbox, name: str) -> str:
    job = json.loads(kubectl(sandbox, "get", "job", name, "-n", NS, "-o", "json", check=False) or "{}")
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed"):
            return c["type"]
    return ""


def test_batch_training_job_completes(sandbox, api):
    _apply(sandbox, _job_manifest("batch-training-ok", ["--batch", "runbook-batch:20"]))
    try:
        wait_for(lambda: _condition(sandbox, "batch-training-ok") == "Complete", what="the Job complete")
        listed = kubectl(sandbox, "get", "jobs", "-l", "app.kubernetes.io/component=training", "-n", NS)
        assert "batch-training-ok" in listed
        logs = run(sandbox, ["kubectl", "logs", "job/batch-training-ok", "-n", NS, "--tail=100"])
        assert logs.returncode == 0 and "completed" in logs.stdout + logs.stderr, logs.stderr
    finally:
        kubectl(sandbox, "delete", "job", "batch-training-ok", "-n", NS, check=False)


def test_failing_training_job_and_the_runbooks_four_lines(sandbox, api):
    name = "batch-training-broken"
    _apply(sandbox, _job_manifest(name, ["--batch", "no-step-count"]))  # a bad release of the batch config
    try:
        wait_for(lambda: _condition(sandbox, name) == "Failed", what="the Job failed")
        # 1. Check failed jobs
        listed = run(sandbox, ["kubectl", "get", "jobs", "-l", "app.kubernetes.io/component=training", "-n", NS])
        assert listed.returncode == 0 and name in listed.stdout
        # 2. Get failure details
        described = run(sandbox, ["kubectl", "describe", "job", name, "-n", NS])
        assert described.returncode == 0 and "BackoffLimitExceeded" in described.stdout, described.stdout
        # 3. Check logs
        logs = run(sandbox, ["kubectl", "logs", f"job/{name}", "-n", NS, "--tail=100"])
        assert logs.returncode == 0 and "NAME:STEPS" in logs.stdout + logs.stderr, logs.stderr
        # The alert, from the Job's state, where the sandbox exports kube-state-metrics' Job series.
        prom = sandbox.service_url("prometheus", "monitoring")
        series = http("GET", prom + "/api/v1/query?query=kube_job_status_failed")[1]
        if series.get("data", {}).get("result"):
            wait_for(lambda: any(a["labels"]["alertname"] == "TrainingJobFailed" and a["state"] == "firing"
                                 and a["labels"].get("job_name") == name
                                 for a in http("GET", prom + "/api/v1/alerts")[1]["data"]["alerts"]),
                     what="TrainingJobFailed firing for the Job")
    finally:
        # 4. Restart job if safe
        deleted = run(sandbox, ["kubectl", "delete", "job", name, "-n", NS])
    assert deleted.returncode == 0, deleted.stderr
    wait_for(lambda: name not in kubectl(sandbox, "get", "jobs", "-n", NS, check=False), what="the Job deleted")


# -- The runbook's scripts ---------------------------------------------------

def test_notify_scripts_reach_the_receiver(sandbox, api):
    receiver = sandbox.service_url("notifications", "monitoring")
    wait_for(lambda: http("GET", receiver + "/health")[0] == 200, what="the notification receiver")
    since = time.time() - 1
    incident = run(sandbox, ["./scripts/notify-incident.sh", "P0", "System outage detected"])
    assert incident.returncode == 0, incident.stderr
    deploy = run(sandbox, ["./scripts/notify-deployment.sh", "Starting deployment of version abc123"])
    assert deploy.returncode == 0, deploy.stderr
    got = http("GET", f"{receiver}/notifications?since={since}")[1]["notifications"]
    assert [(n["kind"], n["severity"], n["message"]) for n in got][-2:] == [
        ("incident", "P0", "System outage detected"), ("deployment", "", "Starting deployment of version abc123")]
    bad = run(sandbox, ["./scripts/notify-incident.sh", "P0"])
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_smoke_tests_check_the_api_end_to_end(sandbox, api):
    out = run(sandbox, ["./tests/smoke-tests.sh"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "smoke tests: all passed" in out.stdout and out.stdout.count("ok ") >= 6
    # Against an address where no API answers, it fails and says which checks.
    down = run(sandbox, ["./tests/smoke-tests.sh"], API_URL="http://127.0.0.1:9")
    assert down.returncode == 1 and "FAIL  health" in down.stdout
