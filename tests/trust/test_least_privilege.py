"""Least privilege, tested: the drills' Role (deploy/rbac) grants every verb
the project's drills, the shipped experiments and the runbook's kubectl
lines need, and no other; removed one at a time, each verb makes a drill
that needs it refuse before anything is injected, with one line naming the
verb, the resource and the namespace (exit 3).

Runs on the sandbox's API server alone (its RBAC is the real model: Roles,
ClusterRoles, bindings, SelfSubjectAccessReview), with the Role applied as
a user applies it and a kubeconfig whose user is the `gameday` account."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from gameday.drill import experiment as experiment_mod
from gameday.drill import permissions as P
from gameday.project.loader import load as load_project
from gameday.runbook.check import load_runbook
from gameday.sandbox import resources as R
from gameday.sandbox.apiserver.kubeconfig import service_account_kubeconfig

from tests.sandbox.helpers import api_server  # tests/sandbox/helpers.py

ROOT = Path(__file__).resolve().parents[2]
RBAC = ROOT / "deploy" / "rbac"
SA_NS, SA = "gaudi3-scale", "gameday"
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))


def _runbook():
    project = load_project(ROOT / "gameday.yaml")
    return project, load_runbook(project.resolve(project.runbooks[0]))


def _drills() -> dict[str, list[P.Need]]:
    """Each drill the project can run and what it needs: every shipped
    experiment, the project's own drills (presets, steady state, services)
    and the runbook's kubectl lines, as the `gameday` account runs them."""
    project, runbook = _runbook()
    out = {"gameday.yaml": P.for_project(project), "the runbook": P.for_runbook(runbook, project.namespaces[0])}
    for path in EXPERIMENTS:
        spec = experiment_mod.load(path, project)
        out[path.name] = P.for_experiment(spec.doc, spec.checks)
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("least-privilege")
    with api_server(state, [ROOT / "deploy" / "namespaces.yaml", RBAC / "harness.yaml", RBAC / "ledger.yaml"]) \
            as (api, _, admin):
        yield api, admin, service_account_kubeconfig(admin, SA_NS, SA, state / "sa")


def _sa_client(sa_kc: Path):
    return config.new_client_from_config(config_file=str(sa_kc))


def _bound_roles(admin: Path) -> list[tuple[str, str | None, dict]]:
    """(kind, namespace, role object) of every Role and ClusterRole bound to the `gameday` account."""
    with config.new_client_from_config(config_file=str(admin)) as api:
        rbac = client.RbacAuthorizationV1Api(api)
        out = []
        subject = lambda b: any(s.kind == "ServiceAccount" and s.name == SA and s.namespace == SA_NS  # noqa: E731
                                for s in b.subjects or [])
        for b in rbac.list_cluster_role_binding().items:
            if subject(b):
                out.append(("ClusterRole", None, api.sanitize_for_serialization(rbac.read_cluster_role(b.role_ref.name))))
        for b in rbac.list_role_binding_for_all_namespaces().items:
            if subject(b):
                ns = b.metadata.namespace
                role = (rbac.read_cluster_role(b.role_ref.name) if b.role_ref.kind == "ClusterRole"
                        else rbac.read_namespaced_role(b.role_ref.name, ns))
                out.append((b.role_ref.kind, ns, api.sanitize_for_serialization(role)))
        return out


def _grants(admin: Path) -> set[tuple[str, str, str]]:
    out = set()
    for _kind, _ns, role in _bound_roles(admin):
        for rule in role.get("rules") or []:
            for g in rule.get("apiGroups") or []:
                for r in rule.get("resources") or []:
                    for v in rule.get("verbs") or []:
                        out.add((v, g, r))
    return out


def test_the_role_grants_every_drill_what_it_needs(server):
    _, _, sa_kc = server
    with _sa_client(sa_kc) as api:
        refused = {name: [n.text() for n in P.denied(api, needs)] for name, needs in _drills().items()}
    assert {k: v for k, v in refused.items() if v} == {}
    checked = sum(len(v) for v in _drills().values())
    print(f"RBAC: {checked} needs of {len(refused)} drills checked with SelfSubjectAccessReview, 0 refused")


def test_the_role_grants_no_verb_that_no_drill_uses(server):
    _, admin, _ = server
    used = {(n.verb, n.group, n.resource) for needs in _drills().values() for n in needs}
    unused = sorted(_grants(admin) - used)
    assert unused == [], f"deploy/rbac grants verbs no drill uses (verb, group, resource): {unused}"


def _without(role: dict, rule_index: int, verb: str) -> dict:
    body = copy.deepcopy(role)
    for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
        body["metadata"].pop(k, None)
    rule = body["rules"][rule_index]
    rule["verbs"] = [v for v in rule["verbs"] if v != verb]
    if not rule["verbs"]:
        del body["rules"][rule_index]
    return body


def test_each_verb_removed_makes_the_drill_that_needs_it_refuse(server):
    """Every verb of every rule bound to the account, removed in turn: a
    drill that needs it is refused before anything runs, naming it."""
    _, admin, sa_kc = server
    drills = _drills()
    removed = overlapping = 0
    bound = _bound_roles(admin)

    def also_granted(name: str, verb: str, group: str, resource: str, ns: str | None) -> bool:
        """Another role bound to the account grants it where `ns` needs it (kubectl drain's cluster-wide
        pod list covers the namespaced one): removing it here refuses nothing, rightly."""
        return any(r["metadata"]["name"] != name and (scope is None or scope == ns)
                   and any(verb in x["verbs"] and group in x["apiGroups"] and resource in x["resources"]
                           for x in r.get("rules") or [])
                   for _k, scope, r in bound)

    with config.new_client_from_config(config_file=str(admin)) as api:
        rbac = client.RbacAuthorizationV1Api(api)
        for kind, ns, role in bound:
            name = role["metadata"]["name"]
            for i, rule in enumerate(role["rules"]):
                for verb in rule["verbs"]:
                    for group in rule["apiGroups"]:
                        for resource in rule["resources"]:
                            needing = {d: [n for n in needs if (n.verb, n.group, n.resource) == (verb, group, resource)
                                           and (ns is None or n.namespace == ns)]
                                       for d, needs in drills.items()}
                            needing = {d: [n for n in ns_ if not also_granted(name, verb, group, resource, n.namespace)]
                                       for d, ns_ in needing.items() if ns_}
                            if needing and not any(needing.values()):
                                overlapping += 1
                            needing = {d: ns_ for d, ns_ in needing.items() if ns_}
                            if not needing:
                                continue  # granted for another namespace's binding only; the unused test covers grants
                            smaller = _without(role, i, verb)
                            (rbac.replace_cluster_role(name, smaller) if kind == "ClusterRole"
                             else rbac.replace_namespaced_role(name, ns, smaller))
                            try:
                                drill, needs = next(iter(needing.items()))
                                with _sa_client(sa_kc) as sa:
                                    with pytest.raises(P.PermissionDenied) as err:
                                        P.require(sa, drills[drill], f"user {SA!r}", drill)
                                assert needs[0].text() in err.value.message or \
                                    f"{verb} {needs[0].resource_text}" in err.value.message, err.value.message
                                assert err.value.exit_code == 3
                                removed += 1
                            finally:
                                restore = _without(role, i, "")   # the role as it was
                                (rbac.replace_cluster_role(name, restore) if kind == "ClusterRole"
                                 else rbac.replace_namespaced_role(name, ns, restore))
    assert removed >= 40, removed
    print(f"RBAC: {removed} verbs removed one at a time, each refused by the drill that needs it "
          f"({overlapping} also granted by another bound role)")


def _sa_kubeconfig_with_context(sa_kc: Path, out: Path) -> Path:
    """The account's kubeconfig, its context on the allowlist of this test only (--allow-context)."""
    doc = yaml.safe_load(sa_kc.read_text())
    out.write_text(yaml.safe_dump(doc))
    out.chmod(0o600)
    return out


def test_dry_run_and_run_refuse_a_missing_verb_in_one_line_with_exit_3(server, tmp_path):
    """`gameday run --dry-run` asks the cluster (SelfSubjectAccessReview) and
    `gameday run` refuses before the steady state or any fault."""
    _, admin, sa_kc = server
    kc = _sa_kubeconfig_with_context(sa_kc, tmp_path / "sa.kubeconfig")
    context = yaml.safe_load(kc.read_text())["current-context"]
    exp = ROOT / "experiments" / "database-network-cut.json"
    cmd = [sys.executable, "-m", "gameday.cli", "run", str(exp), "--kubeconfig", str(kc), "--allow-context", context,
           "--reports", str(tmp_path / "reports")]
    env = {**os.environ, "KUBECONFIG": str(kc)}
    ok = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "permissions:" in ok.stdout and "all granted" in ok.stdout, ok.stdout

    with config.new_client_from_config(config_file=str(admin)) as api:
        rbac = client.RbacAuthorizationV1Api(api)
        role = api.sanitize_for_serialization(rbac.read_cluster_role("gameday-drill"))
        i = next(i for i, r in enumerate(role["rules"]) if "networkpolicies" in r["resources"])
        rbac.replace_cluster_role("gameday-drill", _without(role, i, "create"))
        try:
            for extra in (["--dry-run"], []):
                bad = subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
                assert bad.returncode == 3, bad.stdout + bad.stderr
                line = [x for x in bad.stderr.splitlines() if x.strip()]
                assert len(line) == 1 and "Traceback" not in bad.stderr, bad.stderr
                assert "may not create networkpolicies.networking.k8s.io in namespace database" in line[0], line[0]
                assert "nothing was injected" in line[0]
            # nothing ran: no ledger, no policy, no timeline past the refusal
            assert not (tmp_path / "reports" / "database-network-cut.junit.xml").exists()
            core = client.CoreV1Api(api)
            assert not [c for c in core.list_config_map_for_all_namespaces().items
                        if c.metadata.name.startswith("gameday-ledger-")]
            assert not client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
        finally:
            rbac.replace_cluster_role("gameday-drill", _without(role, i, ""))
    print(json.dumps({"rbac_denials_checked": 2}))


def test_gameday_drill_refuses_before_any_scenario_when_a_preset_lacks_its_verb(server, tmp_path):
    """`gameday drill --kubeconfig` asks for the project's drills and the
    runbook's lines first: the drain-node preset without evictions is refused."""
    _, admin, sa_kc = server
    context = yaml.safe_load(sa_kc.read_text())["current-context"]
    with config.new_client_from_config(config_file=str(admin)) as api:
        rbac = client.RbacAuthorizationV1Api(api)
        role = api.sanitize_for_serialization(rbac.read_cluster_role("gameday-drill"))
        i = next(i for i, r in enumerate(role["rules"]) if r["resources"] == ["pods/eviction"])
        rbac.replace_cluster_role("gameday-drill", _without(role, i, "create"))
        nodes = api.sanitize_for_serialization(rbac.read_cluster_role("gameday-nodes"))
        j = next(j for j, r in enumerate(nodes["rules"]) if r["resources"] == ["pods/eviction"])
        rbac.replace_cluster_role("gameday-nodes", _without(nodes, j, "create"))
        try:
            out = subprocess.run([sys.executable, "-m", "gameday.cli", "drill", "--kubeconfig", str(sa_kc),
                                  "--allow-context", context, "--reports", str(tmp_path / "reports")],
                                 capture_output=True, text=True, timeout=180, cwd=ROOT,
                                 env={**os.environ, "KUBECONFIG": str(sa_kc)})
        finally:
            rbac.replace_cluster_role("gameday-drill", _without(role, i, ""))
            rbac.replace_cluster_role("gameday-nodes", _without(nodes, j, ""))
    assert out.returncode == 3, out.stdout[-2000:] + out.stderr[-2000:]
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "may not create pods/eviction cluster-wide (needed by the runbook: kubectl drain <node-name>)" in lines[0]
    assert "create pods/eviction in namespace gaudi3-scale" in lines[0] and "gameday.yaml" in lines[0], lines[0]
    assert not (tmp_path / "reports" / "junit.xml").exists()  # no scenario ran
