"""Runbook lines that failed against the sandbox for the sandbox's reasons:
`kubectl label pod`, `kubectl create job ... -- CMD` (a protobuf body),
`kubectl auth can-i`, `kubectl run -it --rm` (pods/attach)."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from .helpers import WAIT, eventually, kubectl

NS = "sbtest"


def _web_pod(sb) -> str:
    pods = json.loads(kubectl(sb, "get", "pods", "-n", NS, "-l", "app=web", "-o", "json").stdout)["items"]
    return next(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp"))


def test_label_a_controller_made_pod(bare_sandbox):
    # Pods a ReplicaSet made: written by the controller, not through the API's defaulting.
    pod = _web_pod(bare_sandbox)
    out = kubectl(bare_sandbox, "label", "pod", pod, "-n", NS, "gameday.dev/marked=yes")
    assert f"pod/{pod} labeled" in out.stdout
    got = json.loads(kubectl(bare_sandbox, "get", "pod", pod, "-n", NS, "-o", "json").stdout)
    assert got["metadata"]["labels"]["gameday.dev/marked"] == "yes"
    kubectl(bare_sandbox, "annotate", "pod", pod, "-n", NS, "gameday.dev/note=hi")
    # A spec change is still refused, with the real wording.
    refused = kubectl(bare_sandbox, "patch", "pod", pod, "-n", NS, "--type=json", "-p",
                      '[{"op":"replace","path":"/spec/restartPolicy","value":"Never"}]', check=False)
    assert refused.returncode != 0 and "pod updates may not change fields" in refused.stderr
    kubectl(bare_sandbox, "label", "pod", pod, "-n", NS, "gameday.dev/marked-")


def test_create_job_with_a_command(bare_sandbox):
    sb = bare_sandbox
    out = kubectl(sb, "create", "job", "say-hi", "-n", NS, "--image=busybox", "--", "echo", "hi")
    assert "job.batch/say-hi created" in out.stdout
    try:
        job = json.loads(kubectl(sb, "get", "job", "say-hi", "-n", NS, "-o", "json").stdout)
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["echo", "hi"] and container["image"] == "busybox"
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        waited = kubectl(sb, "wait", "--for=condition=complete", "job/say-hi", "-n", NS, f"--timeout={int(WAIT)}s",
                         check=False)
        assert waited.returncode == 0, waited.stderr
        assert kubectl(sb, "logs", "job/say-hi", "-n", NS).stdout == "hi\n"
    finally:
        kubectl(sb, "delete", "job", "say-hi", "-n", NS, "--cascade=foreground", check=False)


def test_auth_can_i_as_the_admin(bare_sandbox):
    assert kubectl(bare_sandbox, "auth", "can-i", "delete", "pods", "-n", NS).stdout.strip() == "yes"
    assert kubectl(bare_sandbox, "auth", "can-i", "*", "*").stdout.strip() == "yes"


@pytest.mark.parametrize("restart", [["--restart=Never"], []], ids=["restart-never", "as-the-runbook-writes-it"])
def test_run_it_rm_busybox_wget_a_service(bare_sandbox, restart):
    # The runbook's line: kubectl run debug-pod --image=busybox -it --rm -- wget -qO- http://SVC.NS.svc.cluster.local/health
    sb = bare_sandbox
    env = dict(os.environ, KUBECONFIG=str(sb.kubeconfig))
    proc = subprocess.run(["kubectl", "run", "debug-pod", "-n", NS, "--image=busybox", "-it", "--rm", *restart,
                           f"--pod-running-timeout={int(WAIT)}s", "--",
                           "wget", "-qO-", f"http://web.{NS}.svc.cluster.local/"],
                          env=env, capture_output=True, text=True, timeout=WAIT * 2, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Directory listing" in proc.stdout, proc.stdout + proc.stderr
    assert 'pod "debug-pod" deleted' in proc.stdout + proc.stderr
    eventually(lambda: kubectl(sb, "get", "pod", "debug-pod", "-n", NS, check=False).returncode != 0,
               what="the --rm pod gone")


def test_attach_refuses_a_completed_pod(bare_sandbox):
    sb = bare_sandbox
    env = dict(os.environ, KUBECONFIG=str(sb.kubeconfig))
    kubectl(sb, "run", "done-already", "-n", NS, "--restart=Never", "--image=busybox", "--", "true")
    try:
        eventually(lambda: json.loads(kubectl(sb, "get", "pod", "done-already", "-n", NS, "-o", "json").stdout)
                   ["status"].get("phase") == "Succeeded", what="the pod completes")
        out = subprocess.run(["kubectl", "attach", "done-already", "-n", NS], env=env, capture_output=True,
                             text=True, timeout=WAIT, stdin=subprocess.DEVNULL)
        assert out.returncode != 0 and "completed pod" in out.stderr
    finally:
        kubectl(sb, "delete", "pod", "done-already", "-n", NS, "--grace-period=0", "--force", check=False)


@pytest.fixture(scope="module")
def api_only(tmp_path_factory):
    """An API server alone (nothing runs what is created): the kubectl create generators' bodies."""
    from gameday.sandbox.apiserver import ApiServer
    from gameday.sandbox.store import Store
    state = tmp_path_factory.mktemp("fidelity")
    api = ApiServer(Store(), state_dir=state).start()
    try:
        yield api.write_kubeconfig(state / "kubeconfig")
    finally:
        api.stop()


def _k(kc, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", str(kc), *args], capture_output=True, text=True, timeout=60)


def _json(kc, *args) -> dict:
    p = _k(kc, "get", *args, "-o", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_kubectl_create_generators_send_protobuf_the_server_reads(api_only):
    kc = api_only
    made = [("deployment", "d1", "--image=busybox", "--replicas=2", "--port=80"),
            ("service", "clusterip", "s1", "--tcp=80:8080"), ("service", "nodeport", "s2", "--tcp=81:web"),
            ("role", "r1", "--verb=get", "--verb=list", "--resource=pods", "--resource-name=x"),
            ("rolebinding", "rb1", "--role=r1", "--serviceaccount=default:sa1", "--group=g1"),
            ("clusterrole", "cr1", "--verb=get", "--non-resource-url=/logs"),
            ("clusterrolebinding", "crb1", "--clusterrole=cr1", "--user=u1"),
            ("ingress", "i1", "--class=cls", "--rule=foo.com/bar*=s1:80,tls=my-cert", "--rule=/x=s2:http"),
            ("poddisruptionbudget", "p1", "--selector=app=x", "--max-unavailable=50%"),
            ("job", "j1", "--image=busybox", "--", "echo", "hi")]
    for args in made:
        p = _k(kc, "create", *args)
        assert p.returncode == 0, f"kubectl create {' '.join(args)}: {p.stderr}"
    d = _json(kc, "deployment", "d1")["spec"]
    assert d["replicas"] == 2 and d["selector"] == {"matchLabels": {"app": "d1"}}
    assert d["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert _json(kc, "service", "s1")["spec"]["ports"][0]["targetPort"] == 8080
    s2 = _json(kc, "service", "s2")["spec"]
    assert s2["type"] == "NodePort" and s2["ports"][0]["targetPort"] == "web"
    assert _json(kc, "role", "r1")["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"],
                                                  "resourceNames": ["x"]}]
    rb = _json(kc, "rolebinding", "rb1")
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"}
    assert {"kind": "ServiceAccount", "name": "sa1", "namespace": "default"} in rb["subjects"]
    assert {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "g1"} in rb["subjects"]
    assert _json(kc, "clusterrole", "cr1")["rules"] == [{"verbs": ["get"], "nonResourceURLs": ["/logs"]}]
    ing = _json(kc, "ingress", "i1")["spec"]
    assert ing["ingressClassName"] == "cls" and ing["tls"] == [{"hosts": ["foo.com"], "secretName": "my-cert"}]
    assert ing["rules"][0] == {"host": "foo.com", "http": {"paths": [{"path": "/bar", "pathType": "Prefix", "backend": {
        "service": {"name": "s1", "port": {"number": 80}}}}]}}
    assert ing["rules"][1]["http"]["paths"][0]["backend"]["service"]["port"] == {"name": "http"}
    assert _json(kc, "pdb", "p1")["spec"]["maxUnavailable"] == "50%"
