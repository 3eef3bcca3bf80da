"""What a drill declares it needs (gameday.drill.permissions): every fault
kind and every provider a shipped experiment calls has a declaration, and
the runbook's kubectl lines map to the verbs kubectl sends."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.drill import permissions as P
from gameday.faults import KINDS

ROOT = Path(__file__).resolve().parents[2]


def test_every_fault_kind_declares_its_verbs():
    assert sorted(P.FAULT_NEEDS) == sorted(KINDS)
    for name, fn in P.FAULT_NEEDS.items():
        needs = fn({"namespace": "shop", "kind": "deployment", "node_selector": "a=b"})
        assert needs and all(n.verb and n.resource for n in needs), name


def test_every_provider_of_the_shipped_experiments_declares_its_verbs():
    for path in sorted((ROOT / "experiments").glob("*.json")):
        doc = json.loads(path.read_text())
        acts = [*doc["steady-state-hypothesis"]["probes"], *doc["method"], *doc.get("rollbacks", [])]
        for a in acts:
            p = a["provider"]
            if p["type"] == "python":
                assert f"{p['module']}.{p['func']}" in P.PROVIDER_NEEDS, (path.name, a["name"])


@pytest.mark.parametrize("line,want", [
    ("kubectl get pods -n shop", {"list pods in namespace shop"}),
    ("kubectl get deployment web -n shop", {"get deployments.apps in namespace shop"}),
    ("kubectl describe pod p1 -n shop", {"get pods in namespace shop", "list events in namespace shop"}),
    ("kubectl logs deployment/web -n shop --tail=5",
     {"get pods/log in namespace shop", "get deployments.apps in namespace shop", "list pods in namespace shop"}),
    ("kubectl exec p1 -n shop -- true", {"create pods/exec in namespace shop", "get pods in namespace shop"}),
    ("kubectl scale deployment web --replicas=3 -n shop", {"patch deployments/scale.apps in namespace shop"}),
    ("kubectl rollout undo deployment/web -n shop",
     {"get deployments.apps in namespace shop", "patch deployments.apps in namespace shop",
      "list replicasets.apps in namespace shop"}),
    ("kubectl delete pod p1 -n shop --wait=false", {"delete pods in namespace shop"}),
    ("kubectl delete pod p1 -n shop",
     {"delete pods in namespace shop", "list pods in namespace shop", "watch pods in namespace shop"}),
    ("kubectl top nodes", {"list nodes.metrics.k8s.io cluster-wide"}),
    ("kubectl describe networkpolicy -n db",
     {"list networkpolicies.networking.k8s.io in namespace db", "get networkpolicies.networking.k8s.io in namespace db",
      "list events in namespace db"}),
    ("kubectl drain n1 --ignore-daemonsets",
     {"get nodes cluster-wide", "patch nodes cluster-wide", "list pods cluster-wide", "get pods cluster-wide",
      "create pods/eviction cluster-wide"}),
    ("kubectl uncordon n1", {"get nodes cluster-wide", "patch nodes cluster-wide"}),
    ("kubectl get pods -A", {"list pods cluster-wide"}),
    ("kubectl auth can-i get pods", set()),
])
def test_kubectl_lines_map_to_their_verbs(line, want):
    assert {n.text() for n in P.for_kubectl(line.split(), "default")} == want


# --- helm lines ------------------------------------------------------------------

CHART = ROOT / "deploy" / "helm" / "gaudi3-scale"
STORAGE = {f"{v} secrets in namespace shop" for v in ("list", "get", "create", "update", "delete")}


def _tiny_chart(where: Path) -> Path:
    """A chart whose kinds sit in a template, in a .tpl helper, and (not counted) in a test hook."""
    (where / "templates" / "tests").mkdir(parents=True)
    (where / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (where / "templates" / "app.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web}\n")
    (where / "templates" / "_helpers.tpl").write_text(
        '{{- define "tiny.workload" -}}\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n{{- end }}\n')
    (where / "templates" / "tests" / "smoke.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: smoke, annotations: {helm.sh/hook: test}}\n")
    (where / "templates" / "NOTES.txt").write_text("kind: Secret is not what this says\n")
    return where


def test_chart_resources_reads_templates_and_helpers_but_not_test_hooks(tmp_path):
    assert P.chart_resources(_tiny_chart(tmp_path / "tiny")) == [
        ("", "services"), ("apps", "statefulsets"), ("networking.k8s.io", "networkpolicies")]
    assert P.chart_resources(tmp_path / "no-chart-here") == []
    real = P.chart_resources(CHART)
    assert ("", "pods") not in real   # only the helm test hook makes a Pod
    assert {("apps", "deployments"), ("", "services"), ("", "configmaps"), ("", "secrets"),
            ("autoscaling", "horizontalpodautoscalers"), ("networking.k8s.io", "ingresses"),
            ("policy", "poddisruptionbudgets"), ("", "persistentvolumeclaims")} == set(real)


def _helm(line: str, **kw) -> set[str]:
    return {n.text() for n in P.for_helm(line.split(), "default", **kw)}


@pytest.mark.parametrize("line", ["helm list -n shop", "helm history web -n shop", "helm --namespace=shop status web",
                                  "helm get values web --namespace shop"])
def test_helm_reads_of_history_list_the_release_secrets(line):
    assert _helm(line) == {"list secrets in namespace shop"}


def test_helm_test_updates_its_revision_and_runs_hook_pods():
    assert _helm("helm test web -n shop") == {
        "list secrets in namespace shop", "get secrets in namespace shop", "update secrets in namespace shop",
        *(f"{v} pods in namespace shop" for v in ("create", "delete", "get", "list", "watch"))}


def test_helm_upgrade_touches_the_charts_kinds_and_wait_its_replicasets(tmp_path):
    _tiny_chart(tmp_path / "charts" / "tiny")
    plain = _helm("helm upgrade web charts/tiny -n shop --set image.tag=2", base=tmp_path)
    kinds = {f"{v} {r} in namespace shop" for v in ("get", "patch")
             for r in ("services", "statefulsets.apps", "networkpolicies.networking.k8s.io")}
    lookup = {"get deployments.apps in namespace shop"}   # the chart's lookup of the live Deployment
    assert plain == STORAGE | kinds | lookup
    waited = _helm("helm upgrade --install web charts/tiny --wait --namespace shop -f v.yaml", base=tmp_path)
    assert waited == plain | {"list replicasets.apps in namespace shop"}
    assert not any("pods" in n for n in waited)   # the test hook is not installed by an upgrade


def test_helm_upgrade_of_the_platform_chart_needs_each_of_its_kinds():
    got = _helm("helm upgrade gaudi3-scale helm/gaudi3-scale -n shop --wait", base=ROOT / "deploy")
    assert STORAGE <= got
    for resource in ("deployments.apps", "services", "configmaps", "secrets", "persistentvolumeclaims",
                     "horizontalpodautoscalers.autoscaling", "ingresses.networking.k8s.io",
                     "poddisruptionbudgets.policy"):
        assert {f"get {resource} in namespace shop", f"patch {resource} in namespace shop"} <= got, resource
    assert "list replicasets.apps in namespace shop" in got


def test_helm_rollback_touches_the_kinds_of_the_chart_its_release_is_upgraded_with(tmp_path):
    _tiny_chart(tmp_path / "charts" / "tiny")
    got = _helm("helm rollback web 2 -n shop", base=tmp_path, charts={"web": "charts/tiny"})
    assert got == STORAGE | {f"{v} {r} in namespace shop" for v in ("get", "patch")
                             for r in ("services", "statefulsets.apps", "networkpolicies.networking.k8s.io")}
    # a release no upgrade in the runbook names: only its history is known
    assert _helm("helm rollback other -n shop", base=tmp_path, charts={"web": "charts/tiny"}) == STORAGE


def test_runbook_rollback_maps_to_the_chart_its_upgrade_line_names(tmp_path):
    from gameday.runbook.parse import parse
    _tiny_chart(tmp_path / "charts" / "tiny")
    # upgraded in staging, rolled back in shop: shop's kinds can only come from the rollback line
    text = ("# R\n\n## Deploy\n\n### Upgrade\n```bash\nhelm upgrade web ./charts/tiny -n staging --wait\n```\n\n"
            "### Roll back\n```bash\nhelm history web -n shop\nhelm rollback web -n shop\n```\n")
    runbook = parse(text, str(tmp_path / "runbook.md"))
    got = {n.text() for n in P.for_runbook(runbook, "default")}
    kinds = {f"{v} {r} in namespace shop" for v in ("get", "patch")
             for r in ("services", "statefulsets.apps", "networkpolicies.networking.k8s.io")}
    assert {n for n in got if n.endswith("namespace shop")} == STORAGE | kinds
    assert {"patch statefulsets.apps in namespace staging", "list replicasets.apps in namespace staging"} <= got
    rollback_only = parse("# R\n\n## D\n\n### Back\n```bash\nhelm rollback web -n shop\n```\n",
                          str(tmp_path / "other.md"))
    assert {n.text() for n in P.for_runbook(rollback_only, "default")} == STORAGE


def test_runbook_rollback_maps_to_its_chart_when_flags_come_before_the_release(tmp_path):
    from gameday.runbook.parse import parse
    _tiny_chart(tmp_path / "charts" / "tiny")
    text = ("# R\n\n## Deploy\n\n### Upgrade\n```bash\nhelm upgrade --install --wait -n staging web ./charts/tiny\n```\n\n"
            "### Roll back\n```bash\nhelm rollback web -n shop\n```\n")
    got = {n.text() for n in P.for_runbook(parse(text, str(tmp_path / "runbook.md")), "default")}
    assert "patch services in namespace shop" in got and "patch services in namespace staging" in got
