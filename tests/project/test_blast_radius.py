"""The blast radius of gameday.yaml: a fault or an operator command aimed
outside `target.namespaces` is refused before anything runs; presets
resolve to fault kinds with the scenario's parameters over the preset's."""
from __future__ import annotations

from pathlib import Path

import pytest

from gameday.bdd.library import ScenarioRun
from gameday.chaos.faults import resolve
from gameday.errors import UserError
from gameday.project import load

ROOT = Path(__file__).resolve().parents[2]
PROJECT = load(ROOT / "gameday.yaml")


def test_a_preset_resolves_to_its_kind_with_overrides():
    r = resolve(PROJECT, "kill-api-pod", {"count": 2})
    assert r.kind.name == "pod-kill" and r.params["count"] == 2 and r.params["namespace"] == "gaudi3-scale"


def test_a_kind_by_name_is_validated():
    with pytest.raises(UserError, match="parameter 'selector' is required"):
        resolve(PROJECT, "pod-kill", {"namespace": "gaudi3-scale"})


def test_a_fault_outside_the_namespaces_is_refused():
    with pytest.raises(UserError, match="outside the blast radius"):
        resolve(PROJECT, "pod-kill", {"selector": "k8s-app=kube-dns", "namespace": "kube-system"})
    with pytest.raises(UserError, match="outside the blast radius"):
        resolve(PROJECT, "kill-api-pod", {"namespace": "kube-system"})


def test_an_unknown_fault_names_the_presets_and_kinds():
    with pytest.raises(UserError, match="unknown fault 'explode'.*kill-api-pod.*pod-kill"):
        resolve(PROJECT, "explode", {})


class _NoTarget:
    context = "none"

    def kubectl(self, *a, **kw):  # never reached: the command is refused first
        raise AssertionError("a refused command ran")


def test_an_operator_command_outside_the_namespaces_is_refused(tmp_path):
    run = ScenarioRun(_NoTarget(), "s", tmp_path, project=PROJECT)
    for argv in (["kubectl", "delete", "pod", "x", "-n", "kube-system"],
                 ["kubectl", "delete", "pods", "--all", "--namespace=kube-system"],
                 ["kubectl", "delete", "pods", "--all", "-A"]):
        with pytest.raises(UserError, match="blast radius"):
            run._check_blast_radius(argv, "f.feature:3")
    run._check_blast_radius(["kubectl", "get", "pods", "-n", "gaudi3-scale"], "f.feature:4")
    run._check_blast_radius(["kubectl", "get", "pods", "-A"], "f.feature:5")  # reading is not touching


def test_project_placeholders_resolve_without_a_scenario_binding(tmp_path):
    run = ScenarioRun(_NoTarget(), "s", tmp_path, project=PROJECT)
    assert run.binding("pod-name").selector == "app.kubernetes.io/component=api"
    assert run.resolve("deployment-name") == "gaudi3-scale-api"
