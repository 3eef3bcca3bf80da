"""RBAC in the sandbox's API server: every user but its admin is held to
Roles, ClusterRoles and their bindings; ServiceAccount tokens (TokenRequest
and token Secrets); SelfSubjectAccessReview so `kubectl auth can-i` answers
from RBAC; 403s worded as the real API server words them.

The Role under test is the harness's own, deploy/rbac/harness.yaml, applied
as a user would apply it; kubectl and the kubernetes client run with a
kubeconfig whose user is the `gameday` ServiceAccount."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client import ApiException

from gameday.sandbox import resources as R
from gameday.sandbox.apiserver.kubeconfig import service_account_kubeconfig

from .helpers import api_server

ROOT = Path(__file__).resolve().parents[2]
SA_NS, SA = "gaudi3-scale", "gameday"
USER = f"system:serviceaccount:{SA_NS}:{SA}"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("rbac")
    with api_server(state, [ROOT / "deploy" / "namespaces.yaml", ROOT / "deploy" / "rbac"]) as (api, store, admin):
        for ns in (SA_NS, "database", "monitoring", "kube-system"):
            store.create(R.POD, api.prepare_create(R.POD, {"metadata": {"name": "victim", "namespace": ns},
                                                           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))
        yield api, store, admin, service_account_kubeconfig(admin, SA_NS, SA, state / "sa")


def kubectl(kc: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", str(kc), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": str(kc)})


def core(kc: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kc)))


def test_service_account_kubeconfig_names_the_service_account(server):
    _, _, _, sa_kc = server
    doc = yaml.safe_load(sa_kc.read_text())
    assert doc["users"][0]["name"] == USER
    assert oct(sa_kc.stat().st_mode & 0o777) == "0o600"
    who = kubectl(sa_kc, "auth", "whoami", "-o", "json")
    assert who.returncode == 0, who.stderr
    assert '"username": "' + USER + '"' in who.stdout.replace('":"', '": "')



def test_service_account_kubeconfig_context_namespace(server, tmp_path):
    """The ServiceAccount's namespace by default (`gameday sandbox kubeconfig
    --as-serviceaccount`); the one asked for, or none, when named (a drill
    keeps the admin context's default namespace)."""
    _, _, admin, sa_kc = server
    namespace = lambda kc: yaml.safe_load(kc.read_text())["contexts"][0]["context"].get("namespace")  # noqa: E731
    assert namespace(sa_kc) == SA_NS
    assert namespace(service_account_kubeconfig(admin, SA_NS, SA, tmp_path / "db", context_namespace="database")) \
        == "database"
    bare = service_account_kubeconfig(admin, SA_NS, SA, tmp_path / "bare", context_namespace=None)
    assert namespace(bare) is None
    assert "in default namespace" in kubectl(bare, "get", "pods").stderr  # kubectl's default, not SA_NS


def test_drills_on_the_sandbox_run_as_sandbox_user_in_the_admins_namespace(server, tmp_path):
    """`gameday run` on the sandbox: the project's `target.sandbox_user`, with
    the admin context's default namespace (a runbook line without -n means
    what it meant)."""
    from gameday.bdd.targets import as_sandbox_user
    from gameday.project.loader import load
    from gameday.target import Target
    api, _, _, _ = server
    project = load(ROOT / "gameday.yaml")
    for admin_ns in (None, "database"):
        admin = api.write_kubeconfig(tmp_path / f"admin-{admin_ns}", namespace=admin_ns)
        drills = as_sandbox_user(Target.connect(admin), project)
        assert drills.user_name() == USER
        assert yaml.safe_load(drills.kubeconfig.read_text())["contexts"][0]["context"].get("namespace") == admin_ns

def test_the_role_grants_what_it_lists_and_nothing_else(server):
    _, _, _, sa_kc = server
    assert kubectl(sa_kc, "get", "pods", "-n", SA_NS).returncode == 0
    assert kubectl(sa_kc, "get", "pods", "-n", "database").returncode == 0
    denied = kubectl(sa_kc, "delete", "pod", "victim", "-n", "kube-system")
    assert denied.returncode != 0
    assert ('Error from server (Forbidden): pods "victim" is forbidden: User "system:serviceaccount:gaudi3-scale:'
            'gameday" cannot delete resource "pods" in API group "" in the namespace "kube-system"') \
        in denied.stderr
    # A verb the Role does not list, in a namespace it is bound in.
    denied = kubectl(sa_kc, "create", "configmap", "x", "-n", SA_NS)
    assert 'cannot create resource "configmaps" in API group "" in the namespace "gaudi3-scale"' in denied.stderr
    # Cluster scope: nodes are granted by gameday-nodes, namespaces are not.
    assert kubectl(sa_kc, "get", "nodes").returncode == 0
    denied = kubectl(sa_kc, "get", "namespaces")
    assert 'namespaces is forbidden: User "system:serviceaccount:gaudi3-scale:gameday" cannot list resource ' \
           '"namespaces" in API group "" at the cluster scope' in denied.stderr
    # A subresource is its own resource to RBAC; exec over WebSocket (a GET) needs create.
    # (monitoring: the account may read pods everywhere, as `kubectl drain` needs, not exec into them)
    denied = kubectl(sa_kc, "exec", "victim", "-n", "monitoring", "--", "true")
    assert 'pods "victim" is forbidden: User "system:serviceaccount:gaudi3-scale:gameday" cannot create resource ' \
           '"pods/exec" in API group "" in the namespace "monitoring"' in denied.stderr
    allowed = kubectl(sa_kc, "exec", "victim", "-n", SA_NS, "--", "true")
    assert "forbidden" not in allowed.stderr.lower()  # past RBAC (no node agent here to run it)
    denied = kubectl(sa_kc, "create", "token", SA, "-n", SA_NS)
    assert 'cannot create resource "serviceaccounts/token"' in denied.stderr


def test_the_client_gets_a_403_status(server):
    _, _, _, sa_kc = server
    api = core(sa_kc)
    assert [p.metadata.name for p in api.list_namespaced_pod(SA_NS).items] == ["victim"]
    with pytest.raises(ApiException) as err:
        api.delete_namespaced_pod("victim", "kube-system")
    assert err.value.status == 403
    body = yaml.safe_load(err.value.body)
    assert body["reason"] == "Forbidden" and body["details"] == {"name": "victim", "kind": "pods"}
    with pytest.raises(ApiException) as err:
        api.list_namespaced_secret("kube-system")
    assert err.value.status == 403


def test_auth_can_i_answers_from_rbac(server):
    _, _, admin, sa_kc = server
    def can(*args):
        p = kubectl(sa_kc, "auth", "can-i", *args)
        return p.stdout.strip()
    assert can("delete", "pods", "-n", SA_NS) == "yes"
    assert can("delete", "pods", "-n", "kube-system") == "no"
    assert can("create", "pods/exec", "-n", "database") == "yes"
    assert can("patch", "deployments.apps", "-n", SA_NS) == "yes"
    assert can("delete", "deployments.apps", "-n", SA_NS) == "yes"   # a scenario's leftover deployment
    assert can("delete", "statefulsets.apps", "-n", SA_NS) == "no"
    assert can("get", "services", "-n", "monitoring") == "yes"
    assert can("get", "services", "--subresource=proxy", "-n", "monitoring") == "no"  # no drill uses it
    assert can("patch", "nodes") == "yes"
    assert can("delete", "nodes") == "no"
    listed = kubectl(sa_kc, "auth", "can-i", "--list", "-n", SA_NS)
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith("pods ") and "delete" in line and "deletecollection" not in line
               for line in listed.stdout.splitlines()), listed.stdout
    # The admin is never checked, and may ask as someone else (impersonation).
    assert kubectl(admin, "auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    assert kubectl(admin, "auth", "can-i", "delete", "nodes", f"--as={USER}").stdout.strip() == "no"
    assert kubectl(admin, "auth", "can-i", "delete", "pods", "-n", SA_NS, f"--as={USER}").stdout.strip() == "yes"
    # The ServiceAccount may not impersonate anyone.
    denied = kubectl(sa_kc, "get", "pods", "-n", SA_NS, "--as=gameday-admin")
    assert 'cannot impersonate resource "users" in API group ""' in denied.stderr


def test_a_role_change_takes_effect_at_once(server):
    _, store, admin, sa_kc = server
    assert kubectl(sa_kc, "get", "configmaps", "-n", "kube-system").returncode != 0
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "cm-reader", "namespace": "kube-system"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "cm-reader", "namespace": "kube-system"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
               "subjects": [{"kind": "Group", "name": "system:serviceaccounts:gaudi3-scale"}]}
    applied = subprocess.run(
        ["kubectl", "--kubeconfig", str(admin), "apply", "-f", "-"], input=yaml.safe_dump_all([role, binding]),
        capture_output=True, text=True, timeout=60)
    assert applied.returncode == 0, applied.stderr
    assert kubectl(sa_kc, "get", "configmaps", "-n", "kube-system").returncode == 0
    assert kubectl(sa_kc, "get", "configmap", "x", "-n", "kube-system").returncode != 0  # get is not list
    assert kubectl(admin, "delete", "rolebinding", "cm-reader", "-n", "kube-system").returncode == 0
    assert kubectl(sa_kc, "get", "configmaps", "-n", "kube-system").returncode != 0


def test_token_secret_and_its_end(server, tmp_path):
    api, store, admin, _ = server
    admin_api = core(admin)
    admin_api.create_namespaced_service_account("default", client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="short-lived")))
    admin_api.create_namespaced_secret("default", client.V1Secret(
        metadata=client.V1ObjectMeta(name="short-lived-token",
                                     annotations={"kubernetes.io/service-account.name": "short-lived"}),
        type="kubernetes.io/service-account-token"))
    secret = admin_api.read_namespaced_secret("short-lived-token", "default")
    token = base64.b64decode(secret.data["token"]).decode()
    assert base64.b64decode(secret.data["namespace"]) == b"default"
    kc = yaml.safe_load(admin.read_text())
    kc["users"][0]["user"]["token"] = token
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(kc))
    denied = kubectl(path, "get", "pods")
    assert 'User "system:serviceaccount:default:short-lived" cannot list resource "pods"' in denied.stderr
    # A forged or dead token is not a user at all: 401.
    kc["users"][0]["user"]["token"] = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    path.write_text(yaml.safe_dump(kc))
    assert "Unauthorized" in kubectl(path, "get", "pods").stderr
    kc["users"][0]["user"]["token"] = token
    path.write_text(yaml.safe_dump(kc))
    admin_api.delete_namespaced_service_account("short-lived", "default")
    assert "Unauthorized" in kubectl(path, "get", "pods").stderr


def test_gameday_sandbox_kubeconfig_as_serviceaccount(server, tmp_path, capsys):
    from gameday.cli import main
    _, _, admin, _ = server
    # A running sandbox's state directory, as `gameday sandbox up` leaves it (this process stands in for its pid).
    from gameday.sandbox.cluster import process_start
    (tmp_path / "sandbox.json").write_text(json.dumps({"pid": os.getpid(), "pid_start": process_start(os.getpid()),
                                                       "kubeconfig": str(admin)}))
    assert main(["sandbox", "kubeconfig", "--state-dir", str(tmp_path), "--as-serviceaccount",
                 f"{SA_NS}/{SA}"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == tmp_path and yaml.safe_load(path.read_text())["users"][0]["name"] == USER
    assert kubectl(path, "auth", "can-i", "delete", "pods").stdout.strip() == "yes"  # its context's namespace
    assert kubectl(path, "auth", "can-i", "delete", "pods", "-n", "default").stdout.strip() == "no"
    assert main(["sandbox", "kubeconfig", "--state-dir", str(tmp_path), "--as-serviceaccount", "gameday"]) == 2
    assert "expected NAMESPACE/NAME" in capsys.readouterr().err
    assert main(["sandbox", "kubeconfig", "--state-dir", str(tmp_path), "--as-serviceaccount", "default/nobody"]) == 2
    assert 'serviceaccount "nobody" not found in namespace "default"' in capsys.readouterr().err


def test_kubectl_create_token_as_the_harness_yaml_says(server, tmp_path):
    # deploy/rbac/harness.yaml: `kubectl create token gameday -n gaudi3-scale` makes the harness's token.
    _, _, admin, _ = server
    made = kubectl(admin, "create", "token", SA, "-n", SA_NS, "--duration=2h")
    assert made.returncode == 0, made.stderr
    kc = yaml.safe_load(admin.read_text())
    kc["users"][0]["user"]["token"] = made.stdout.strip()
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(kc))
    assert kubectl(path, "auth", "whoami").stdout.count(USER) == 1
    short = kubectl(admin, "create", "token", SA, "-n", SA_NS, "--duration=1m")
    assert short.returncode != 0 and "may not specify a duration less than 10 minutes" in short.stderr


VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


def test_every_verb_of_the_harness_role_is_granted_and_no_other(server, capsys):
    """Each (verb, resource) of deploy/rbac/harness.yaml, read straight from the
    file, asked by SelfSubjectAccessReview as the ServiceAccount: granted where
    a binding puts it, denied elsewhere and for every verb it does not list."""
    _, _, _, sa_kc = server
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac" / "harness.yaml").read_text()) if d]
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d.get("rules") or [] for d in docs
             if d["kind"] in ("Role", "ClusterRole")}
    bound: dict[str | None, list[dict]] = {}  # namespace (None: cluster-wide) -> rules
    for d in docs:
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = d["roleRef"]
            ns = d["metadata"].get("namespace") if d["kind"] == "RoleBinding" else None
            key = (ref["kind"], ns if ref["kind"] == "Role" else None, ref["name"])
            bound.setdefault(ns, []).extend(roles[key])
    asked = {(g, r) for rules in roles.values() for rule in rules for g in rule.get("apiGroups", [])
             for r in rule.get("resources", [])}
    authz = client.AuthorizationV1Api(config.new_client_from_config(config_file=str(sa_kc)))
    checked = denials = 0
    for ns in ("gaudi3-scale", "database", "monitoring", "kube-system"):
        for group, resource in sorted(asked):
            for verb in VERBS:
                want = any(verb in rule["verbs"] and group in rule.get("apiGroups", []) and resource in
                           rule.get("resources", []) for rule in bound.get(ns, []) + bound.get(None, []))
                res, _, sub = resource.partition("/")
                review = authz.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
                    spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
                        namespace=ns, verb=verb, group=group, resource=res, subresource=sub or None))))
                assert review.status.allowed == want, (ns, verb, group, resource)
                checked += 1
                denials += not want
    assert denials > checked // 2  # most of the grid is refused: the Role is narrow
    with capsys.disabled():
        print(f"\nRBAC: {checked} (namespace, verb, resource) checks of deploy/rbac/harness.yaml, {denials} denials")
