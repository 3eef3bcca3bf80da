"""What the runbook assumes of the manifests, checked statically (the sandbox
tests run them): the database Deployment, the API's logs and canary labels
and the Ingress (as the platform's chart renders them), the training Job
template."""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from gameday import programs

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def docs(path: str) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all((DEPLOY / path).read_text()) if d}


def chart() -> dict[tuple[str, str], dict]:
    """The platform's objects as production's release renders them."""
    out = subprocess.run([programs.find("helm") or "helm", "template", "gaudi3-scale", str(DEPLOY / "helm" / "gaudi3-scale"),
                          "--namespace", "gaudi3-scale"], capture_output=True, text=True, timeout=60, check=True).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def test_postgres_is_a_recreated_deployment_with_pg_stat_statements():
    db = docs("database/postgres.yaml")
    assert ("StatefulSet", "postgres") not in db
    dep = db[("Deployment", "postgres")]
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert "shared_preload_libraries=pg_stat_statements" in container["args"]
    env = {e["name"] for e in container["env"]}
    assert {"PGHOST", "PGUSER", "PGPASSWORD", "PGDATABASE"} <= env
    claims = {v["persistentVolumeClaim"]["claimName"] for v in dep["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"postgres-data", "postgres-backup"}
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in db[("ConfigMap", "postgres-initdb")]["data"]["10-extensions.sql"]


def test_api_stable_and_canary_with_logs_on_an_emptydir():
    api = chart()
    for name, version in (("gaudi3-scale-api", "stable"), ("gaudi3-scale-api-canary", "canary")):
        spec = api[("Deployment", name)]["spec"]
        assert spec["selector"]["matchLabels"]["version"] == version
        assert spec["template"]["metadata"]["labels"]["version"] == version
        pod = spec["template"]["spec"]
        assert {"name": "logs", "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]
        assert {"name": "logs", "mountPath": "/app/logs"} in pod["containers"][0]["volumeMounts"]
    assert "version" not in api[("Service", "gaudi3-scale-api")]["spec"]["selector"]  # both behind one Service


def test_training_job_is_the_cronjobs_template():
    cron = docs("training/batch-training-cronjob.yaml")[("CronJob", "gaudi3-scale-batch-training")]
    job = docs("training/batch-training-job.yaml")[("Job", "gaudi3-scale-batch-training")]
    assert cron["spec"]["jobTemplate"]["spec"] == job["spec"]
    for obj in (cron, job, job["spec"]["template"]):
        assert obj["metadata"]["labels"]["app.kubernetes.io/component"] == "training"


def test_ingress_routes_the_api_host_with_tls():
    ing = chart()
    spec = ing[("Ingress", "gaudi3-scale-api")]["spec"]
    assert spec["tls"] == [{"hosts": ["api.gaudi3scale.com"], "secretName": "gaudi3-scale-api-tls"}]
    rule = spec["rules"][0]
    assert rule["host"] == "api.gaudi3scale.com"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "gaudi3-scale-api"
    assert ing[("Secret", "gaudi3-scale-api-tls")]["type"] == "kubernetes.io/tls"
