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
