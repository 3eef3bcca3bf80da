"""The platform's Helm chart (deploy/helm/gaudi3-scale), rendered by the real
helm binary: lint, the production objects (the key facts written out here;
the chart replaced deploy/platform object for object), the canary and rolling releases,
the staging values and the `helm test` hook."""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import yaml

from gameday import programs

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "gaudi3-scale"
STAGING_VALUES = CHART / "values-staging.yaml"
# `make setup` installs helm 3 into .venv/bin; the sandbox needs it too, so a missing helm fails here.
HELM = programs.find("helm") or "helm"

NS = "gaudi3-scale"
STAGING_NS = "gaudi3-scale-staging"
# Labels the chart adds to each object's metadata, never to selectors or pod templates.
HELM_LABELS = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance"}
API_SELECTOR = {"app.kubernetes.io/name": "gaudi3-scale", "app.kubernetes.io/component": "api"}
TRAINER_SELECTOR = {"app.kubernetes.io/name": "gaudi3-scale", "app.kubernetes.io/component": "trainer"}
PROD_DB = "postgresql://gaudi3:gaudi3-reference-password@postgres.database.svc.cluster.local:5432/gaudi3_scale"
STAGING_DB = PROD_DB + "_staging"

Objects = dict[tuple[str, str], dict]


def helm(*args: str) -> str:
    proc = subprocess.run([HELM, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def render(*args: str, namespace: str = NS) -> Objects:
    out = helm("template", "gaudi3-scale", str(CHART), "--namespace", namespace, *args)
    return by_key(yaml.safe_load_all(out))


def by_key(docs) -> Objects:
    objects: Objects = {}
    for doc in docs:
        if doc:
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{key} rendered twice"
            objects[key] = doc
    return objects


def hooks(objects: Objects) -> Objects:
    return {k: o for k, o in objects.items() if "helm.sh/hook" in (o["metadata"].get("annotations") or {})}


def released(objects: Objects) -> Objects:
    """The release's objects, without its hooks."""
    return {k: o for k, o in objects.items() if k not in hooks(objects)}


def without_chart_metadata(obj: dict) -> dict:
    """The object as a plain manifest: the chart's helm labels and the claim's keep policy dropped."""
    obj = yaml.safe_load(yaml.safe_dump(obj))
    meta = obj["metadata"]
    meta["labels"] = {k: v for k, v in meta.get("labels", {}).items() if k not in HELM_LABELS}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != "helm.sh/resource-policy"}
    meta.pop("annotations", None)
    if annotations:
        meta["annotations"] = annotations
    return obj


def deployment(objects: Objects, name: str) -> dict:
    return objects[("Deployment", name)]


def container(dep: dict) -> dict:
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    return c


def env(dep: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(dep)["env"]}


@pytest.fixture(scope="module")
def default() -> Objects:
    return render()


@pytest.fixture(scope="module")
def staging() -> Objects:
    return render("-f", str(STAGING_VALUES), namespace=STAGING_NS)


def test_chart_metadata_and_lint():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"], chart["appVersion"]) == ("gaudi3-scale", "0.1.0", "0.1.0")
    assert (CHART / "templates" / "_helpers.tpl").is_file()
    helm("lint", str(CHART), "--namespace", NS)
    helm("lint", str(CHART), "-f", str(STAGING_VALUES), "--namespace", STAGING_NS)


def test_every_object_carries_the_helm_labels_in_the_release_namespace(default, staging):
    for objects, ns in ((default, NS), (staging, STAGING_NS)):
        for key, obj in objects.items():
            assert obj["metadata"]["namespace"] == ns, key
            labels = obj["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "Helm", key
            assert labels["helm.sh/chart"] == "gaudi3-scale-0.1.0", key


def test_default_render_key_facts(default):
    """What the sandbox, alert rules, runbook and tests rely on, written out
    (the chart rendered deploy/platform's objects exactly when it replaced them)."""
    assert sorted(released(default)) == sorted([
        ("ConfigMap", "gaudi3-scale-config"), ("Secret", "gaudi3-scale-secrets"), ("Secret", "gaudi3-scale-api-tls"),
        ("Deployment", "gaudi3-scale-api"), ("Deployment", "gaudi3-scale-api-canary"), ("Service", "gaudi3-scale-api"),
        ("HorizontalPodAutoscaler", "gaudi3-scale-api-hpa"), ("PodDisruptionBudget", "gaudi3-scale-api-pdb"),
        ("Ingress", "gaudi3-scale-api"), ("PersistentVolumeClaim", "gaudi3-scale-models"),
        ("Deployment", "gaudi3-scale-trainer"), ("Service", "gaudi3-scale-trainer"),
    ])
    for name, version, replicas in (("gaudi3-scale-api", "stable", 2), ("gaudi3-scale-api-canary", "canary", 0)):
        dep = deployment(default, name)
        spec = dep["spec"]
        assert spec["replicas"] == replicas
        assert spec["selector"] == {"matchLabels": {**API_SELECTOR, "version": version}}
        assert spec["template"]["metadata"]["labels"] == {**API_SELECTOR, "app.kubernetes.io/part-of": "gaudi3-scale",
                                                          "version": version}
        assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        assert spec["revisionHistoryLimit"] == 5 and spec["template"]["spec"]["terminationGracePeriodSeconds"] == 10
        # Prometheus finds the pods by these (the alert rules' API targets).
        assert spec["template"]["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics"}
        c = container(dep)
        assert c["name"] == "api" and c["image"] == "ghcr.io/gaudi3-scale/api:0.1.0"
        assert c["ports"] == [{"name": "http", "containerPort": 8000}]
        assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
        assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
        assert c["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
        assert env(dep) == {
            "GAUDI3_API_HOST": "0.0.0.0", "GAUDI3_API_PORT": "8000",
            "DATABASE_URL": {"secretKeyRef": {"name": "gaudi3-scale-secrets", "key": "DATABASE_URL"}},
            "GAUDI3_CONFIG_DIR": "/etc/gaudi3-scale",
            "TRAINER_URL": "http://gaudi3-scale-trainer.gaudi3-scale.svc.cluster.local:8080",
            "GAUDI3_DEFAULT_JOB_STEPS": "60", "GAUDI3_LOG_DIR": "/app/logs"}
        assert spec["template"]["spec"]["volumes"] == [{"name": "config", "configMap": {"name": "gaudi3-scale-config"}},
                                                       {"name": "logs", "emptyDir": {"sizeLimit": "1Gi"}}]
    svc = default[("Service", "gaudi3-scale-api")]["spec"]
    assert svc["type"] == "LoadBalancer" and svc["selector"] == API_SELECTOR
    assert svc["ports"] == [{"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"},
                            {"name": "api", "port": 8000, "targetPort": 8000, "protocol": "TCP"}]
    hpa = default[("HorizontalPodAutoscaler", "gaudi3-scale-api-hpa")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gaudi3-scale-api"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert default[("PodDisruptionBudget", "gaudi3-scale-api-pdb")]["spec"] == {"minAvailable": 1,
                                                                               "selector": {"matchLabels": API_SELECTOR}}
    ing = default[("Ingress", "gaudi3-scale-api")]["spec"]
    assert ing["tls"] == [{"hosts": ["api.gaudi3scale.com"], "secretName": "gaudi3-scale-api-tls"}]
    assert ing["rules"][0]["host"] == "api.gaudi3scale.com"
    assert ing["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "gaudi3-scale-api", "port": {"name": "http"}}
    tls = default[("Secret", "gaudi3-scale-api-tls")]
    assert tls["type"] == "kubernetes.io/tls" and set(tls["data"]) == {"tls.crt", "tls.key"}
    assert default[("ConfigMap", "gaudi3-scale-config")]["data"] == {"maintenance_mode": "false", "api_latency_ms": "0"}
    assert default[("Secret", "gaudi3-scale-secrets")]["stringData"] == {"DATABASE_URL": PROD_DB}

    trainer = deployment(default, "gaudi3-scale-trainer")
    assert trainer["spec"]["replicas"] == 1 and trainer["spec"]["strategy"] == {"type": "Recreate"}
    assert trainer["spec"]["selector"] == {"matchLabels": TRAINER_SELECTOR}
    pod = trainer["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gaudi.habana.ai/gaudi": "true"} and pod["terminationGracePeriodSeconds"] == 30
    assert trainer["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8080"
    c = container(trainer)
    assert c["image"] == "ghcr.io/gaudi3-scale/trainer:0.1.0"
    assert c["resources"]["limits"] == {"memory": "1Gi", "habana.ai/gaudi": "1"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "gaudi3-scale-models"}} in pod["volumes"]
    assert env(trainer)["MODEL_DIR"] == "/app/models"
    tsvc = default[("Service", "gaudi3-scale-trainer")]["spec"]
    assert tsvc["selector"] == TRAINER_SELECTOR
    assert tsvc["ports"] == [{"name": "metrics", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]
    pvc = default[("PersistentVolumeClaim", "gaudi3-scale-models")]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert pvc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_in_cluster_urls_follow_the_release_namespace():
    objects = render(namespace="elsewhere")
    assert env(deployment(objects, "gaudi3-scale-api"))["TRAINER_URL"] == \
        "http://gaudi3-scale-trainer.elsewhere.svc.cluster.local:8080"
    (test_pod,) = hooks(objects).values()
    assert "http://gaudi3-scale-api.elsewhere.svc.cluster.local:80/health" in test_pod["spec"]["containers"][0]["args"]


def test_canary_release_runs_the_new_tag_on_its_share_of_pods():
    objects = render("--set", "deployment.strategy=canary", "--set", "deployment.canary.weight=20",
                     "--set", "image.tag=abc")
    canary = deployment(objects, "gaudi3-scale-api-canary")
    assert canary["spec"]["replicas"] == 1
    assert container(canary)["image"] == "ghcr.io/gaudi3-scale/api:abc"
    assert canary["spec"]["template"]["metadata"]["labels"]["version"] == "canary"
    assert canary["spec"]["selector"]["matchLabels"]["version"] == "canary"
    stable = deployment(objects, "gaudi3-scale-api")
    assert stable["spec"]["replicas"] == 2
    # helm template reads no cluster: the stable image falls back to image.tag
    # (on a cluster, `lookup` keeps the image the stable pods run).
    assert container(stable)["image"] == "ghcr.io/gaudi3-scale/api:abc"
    assert container(deployment(objects, "gaudi3-scale-trainer"))["image"] == "ghcr.io/gaudi3-scale/trainer:0.1.0"


def test_stable_image_is_read_from_the_live_deployment_on_a_canary_release():
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert 'lookup "apps/v1" "Deployment" .Release.Namespace' in helpers


@pytest.mark.parametrize("replicas,weight", [(2, 0), (2, 20), (2, 50), (2, 100), (3, 34), (10, 30), (10, 31)])
def test_canary_replicas_are_the_weight_of_the_api_replicas_rounded_up(replicas, weight):
    objects = render("--set", "deployment.strategy=canary", "--set", f"deployment.canary.weight={weight}",
                     "--set", f"api.replicas={replicas}")
    assert deployment(objects, "gaudi3-scale-api-canary")["spec"]["replicas"] == max(1, math.ceil(replicas * weight / 100))


def test_rolling_release_scales_the_canary_to_zero():
    objects = render("--set", "deployment.strategy=rolling", "--set", "deployment.canary.weight=20",
                     "--set", "image.tag=abc")
    assert deployment(objects, "gaudi3-scale-api-canary")["spec"]["replicas"] == 0
    stable = deployment(objects, "gaudi3-scale-api")
    assert stable["spec"]["replicas"] == 2
    assert container(stable)["image"] == "ghcr.io/gaudi3-scale/api:abc"


def test_the_runbooks_promote_without_a_tag_deploys_the_charts_default():
    """The runbook's step 4 (`--set deployment.strategy=rolling`, no image.tag,
    no --reuse-values) deploys the chart's appVersion, not the canary's tag."""
    objects = render("--set", "deployment.strategy=rolling")
    assert container(deployment(objects, "gaudi3-scale-api"))["image"] == "ghcr.io/gaudi3-scale/api:0.1.0"


@pytest.mark.parametrize("bad", ["deployment.strategy=blue-green", "deployment.canary.weight=101",
                                 "deployment.canary.weight=-1"])
def test_invalid_release_settings_are_refused(bad):
    proc = subprocess.run([HELM, "template", "gaudi3-scale", str(CHART), "--set", bad],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and bad.split("=")[0] in proc.stderr


def test_staging_values_render_one_api_pod_on_its_own_database(staging):
    assert sorted(released(staging)) == sorted([
        ("ConfigMap", "gaudi3-scale-config"), ("Secret", "gaudi3-scale-secrets"),
        ("Deployment", "gaudi3-scale-api"), ("Deployment", "gaudi3-scale-api-canary"), ("Service", "gaudi3-scale-api"),
    ])  # no trainer, claim, HPA, Ingress, TLS Secret or PDB
    assert deployment(staging, "gaudi3-scale-api")["spec"]["replicas"] == 1
    assert deployment(staging, "gaudi3-scale-api-canary")["spec"]["replicas"] == 0
    assert staging[("Secret", "gaudi3-scale-secrets")]["stringData"] == {"DATABASE_URL": STAGING_DB}
    for name in ("gaudi3-scale-api", "gaudi3-scale-api-canary"):
        dep = deployment(staging, name)
        assert "TRAINER_URL" not in env(dep)  # no trainer in staging
        assert dep["spec"]["selector"]["matchLabels"] == {**API_SELECTOR, "version": dep["spec"]["selector"]["matchLabels"]["version"]}
        assert container(dep)["image"] == "ghcr.io/gaudi3-scale/api:0.1.0"
    assert staging[("Service", "gaudi3-scale-api")]["spec"]["selector"] == API_SELECTOR


def test_staging_database_and_namespace_exist():
    initdb = {(d["kind"], d["metadata"]["name"]): d for d in
              yaml.safe_load_all((ROOT / "deploy" / "database" / "postgres.yaml").read_text()) if d}
    scripts = "\n".join(initdb[("ConfigMap", "postgres-initdb")]["data"].values())
    assert "CREATE DATABASE gaudi3_scale_staging;" in scripts  # owner: the user running initdb, the platform's
    names = {d["metadata"]["name"] for d in yaml.safe_load_all((ROOT / "deploy" / "namespaces.yaml").read_text()) if d}
    assert STAGING_NS in names


def test_helm_test_hook_checks_api_health_through_the_service(default, staging):
    for objects, ns in ((default, NS), (staging, STAGING_NS)):
        (pod,) = hooks(objects).values()
        assert pod["kind"] == "Pod"
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
        spec = pod["spec"]
        assert spec["restartPolicy"] == "Never"
        (c,) = spec["containers"]
        assert c["image"].split(":")[0] == "busybox"
        assert "command" not in c  # busybox has no entrypoint: args are the applet (the sandbox maps it the same)
        assert c["args"] == ["wget", "-qO-", f"http://gaudi3-scale-api.{ns}.svc.cluster.local:80/health"]
        # Not one of the platform's pods: no selector of the Service or of `kubectl logs -l` picks it.
        assert pod["metadata"]["labels"].get("app.kubernetes.io/name") != "gaudi3-scale"


def test_runbook_workspace_reaches_the_chart_as_deployment_helm():
    link = ROOT / "runbook" / "deployment"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert (ROOT / "runbook" / "deployment" / "helm" / "gaudi3-scale" / "Chart.yaml").is_file()
