"""The stock kubectl against the API server: get (tables, -o wide, -o json),
describe, apply, scale, patch, delete, cordon, rollout restart, wait, top,
logs and exec (exec over WebSocket, as kubectl 1.30+ speaks it).

Logs, exec and metrics come from a node agent; here a small stand-in for the
kubelet (`ProcessNodeAgentStandIn`) runs exec commands as real local
processes and serves fixed log lines, so that the API server's side of those
protocols is tested on its own. End-to-end with the real kubelet lives with
the sandbox cluster tests."""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gameday.sandbox import resources as R
from gameday.sandbox.apiserver import ApiServer, ContainerUsage, NodeUsage, PodUsage, Usage
from gameday.sandbox.store import ApiError, Store

NS = "kubectl-tests"
WAIT = 120

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


class ProcessNodeAgentStandIn:
    """Stands in for the kubelet: exec runs the command as a local process,
    logs are fixed lines per container, usage is a fixed sample."""

    def __init__(self):
        self.log_calls: list[dict] = []

    def logs(self, namespace, pod, container, *, previous=False, since_seconds=None, tail_lines=None,
             timestamps=False, follow=False):
        self.log_calls.append(dict(namespace=namespace, pod=pod, container=container, previous=previous,
                                   since_seconds=since_seconds, tail_lines=tail_lines, follow=follow))
        if previous and pod != "crashy":
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{pod}" '
                                              "not found")
        lines = [f"{'previous' if previous else 'current'} {pod}/{container} line {i}\n" for i in range(5)]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines else []
        yield from (line.encode() for line in lines)

    def exec(self, namespace, pod, container, command, stdin, tty):
        return subprocess.Popen(list(command), stdin=subprocess.PIPE if stdin else None,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def usage(self):
        return Usage(time.time(), 10.0, nodes=(NodeUsage("node-1", 0.5, 512 * 2**20),),
                     pods=(PodUsage(NS, "api-1", (ContainerUsage("api", 0.25, 100 * 2**20),)),))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("apiserver")
    api = ApiServer(Store(), node_agent=ProcessNodeAgentStandIn(), state_dir=state).start()
    api.write_kubeconfig(state / "kubeconfig")
    _seed(api.store)
    yield api
    api.stop()


def _ready_pod(name: str, labels: dict, containers=("api",), **status) -> dict:
    return {"metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": {"nodeName": "node-1", "containers": [{"name": c, "image": "busybox"} for c in containers]},
            "status": {"phase": "Running", "podIP": "127.1.0.9", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": c, "ready": True, "restartCount": 0, "image": "busybox",
                                              "imageID": "", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
                                             for c in containers], **status}}


def _seed(store: Store) -> None:
    """What the controllers and kubelet would have made: written to the store directly."""
    store.create(R.NAMESPACE, {"metadata": {"name": NS}, "spec": {"finalizers": ["kubernetes"]},
                               "status": {"phase": "Active"}})
    store.create(R.NODE, {"metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
                          "spec": {}, "status": {
                              "conditions": [{"type": "Ready", "status": "True"}],
                              "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                              "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                              "nodeInfo": {"kubeletVersion": "v1.32.0-gameday", "osImage": "sandbox"},
                              "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
    labels = {"app.kubernetes.io/name": "gaudi3-scale", "app.kubernetes.io/component": "api"}
    store.create(R.DEPLOYMENT, {"metadata": {"name": "api", "namespace": NS, "labels": labels},
                                "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                                    "metadata": {"labels": labels},
                                    "spec": {"containers": [{"name": "api", "image": "gaudi3-scale-api:1"}]}}},
                                "status": {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                                           "availableReplicas": 2}})
    for name in ("api-1", "api-2"):
        store.create(R.POD, _ready_pod(name, labels))
    crash = _ready_pod("crashy", {"app": "crashy"}, phase="Running")
    crash["status"]["containerStatuses"][0].update(ready=False, restartCount=3, state={
        "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T00:00:00Z"}})
    store.create(R.POD, crash)
    store.create(R.POD, _ready_pod("two", {"app": "two"}, containers=("main", "sidecar")))
    store.create(R.JOB, {"metadata": {"name": "train", "namespace": NS, "labels": {"app.kubernetes.io/component":
                                                                                     "training"}},
                         "spec": {"completions": 1, "selector": {"matchLabels": {"job-name": "train"}},
                                  "template": {"metadata": {"labels": {"job-name": "train"}}, "spec": {
                                      "restartPolicy": "Never", "containers": [{"name": "t", "image": "trainer"}]}}},
                         "status": {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z",
                                    "completionTime": "2026-01-01T00:02:00Z",
                                    "conditions": [{"type": "Complete", "status": "True"}]}})
    store.create(R.PVC, {"metadata": {"name": "data", "namespace": NS},
                         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                  "volumeName": "pv-data"},
                         "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}})
    store.create(R.ENDPOINTS, {"metadata": {"name": "api", "namespace": NS}, "subsets": [
        {"addresses": [{"ip": "127.1.0.9"}, {"ip": "127.1.0.10"}], "ports": [{"port": 8000, "protocol": "TCP"}]}]})
    store.create(R.CONFIGMAP, {"metadata": {"name": "gaudi3-scale-config", "namespace": NS},
                               "data": {"maintenance_mode": "false"}})


def kubectl(server: ApiServer, *args: str, check: bool = True, input: str | None = None,
            kubeconfig: Path | None = None) -> subprocess.CompletedProcess:
    cmd = ["kubectl", "--kubeconfig", str(kubeconfig or server.state_dir / "kubeconfig"),
           "--cache-dir", str(server.state_dir / "kubectl-cache"), "--request-timeout", "60s", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} -> {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def _table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_get_pods_table_selector_wide_and_json(server):
    rows = _table(kubectl(server, "get", "pods", "-n", NS).stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["api-1"][1:3] == ["1/1", "Running"]
    assert by_name["crashy"][1:4] == ["0/1", "CrashLoopBackOff", "3"]
    assert by_name["two"][1] == "2/2"
    selected = _table(kubectl(server, "get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=api",
                              "--no-headers").stdout)
    assert sorted(r[0] for r in selected) == ["api-1", "api-2"]
    wide = _table(kubectl(server, "get", "pods", "-n", NS, "-o", "wide", "-l", "app=crashy").stdout)
    assert wide[0][-6:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert "127.1.0.9" in wide[1] and "node-1" in wide[1]
    doc = json.loads(kubectl(server, "get", "pods", "-n", NS, "-o", "json").stdout)
    assert sorted(i["metadata"]["name"] for i in doc["items"]) == ["api-1", "api-2", "crashy", "two"]


@pytest.mark.parametrize("resource,header,row", [
    ("deployments", ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], ["api", "2/2", "2", "2"]),
    ("jobs", ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], ["train", "Complete", "1/1", "2m"]),
    ("pvc", ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
             "AGE"], ["data", "Bound", "pv-data", "1Gi", "RWO"]),
    ("endpoints", ["NAME", "ENDPOINTS", "AGE"], ["api", "127.1.0.9:8000,127.1.0.10:8000"]),
])
def test_get_tables_of_workloads(server, resource, header, row):
    rows = _table(kubectl(server, "get", resource, "-n", NS).stdout)
    assert rows[0] == header
    assert rows[1][:len(row)] == row


def test_get_nodes_cordon_and_uncordon(server):
    rows = _table(kubectl(server, "get", "nodes").stdout)
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] and rows[1][:2] == ["node-1", "Ready"]
    kubectl(server, "cordon", "node-1")
    assert server.store.get(R.NODE, None, "node-1")["spec"]["unschedulable"] is True
    assert _table(kubectl(server, "get", "nodes", "--no-headers").stdout)[0][1] == "Ready,SchedulingDisabled"
    kubectl(server, "uncordon", "node-1")
    assert not server.store.get(R.NODE, None, "node-1")["spec"].get("unschedulable")


def test_describe_pod_and_deployment(server):
    from gameday.sandbox.store import record_event
    record_event(server.store, server.store.get(R.POD, NS, "crashy"), "BackOff",
                 "Back-off restarting failed container api", type_="Warning")
    out = kubectl(server, "describe", "pod", "crashy", "-n", NS).stdout
    assert "Name:" in out and "crashy" in out and "CrashLoopBackOff" in out
    assert "Back-off restarting failed container api" in out, "describe lists the pod's events"
    out = kubectl(server, "describe", "deployment", "api", "-n", NS).stdout
    assert "Replicas:" in out and "2 desired" in out and "gaudi3-scale-api:1" in out
    out = kubectl(server, "describe", "pods", "-l", "app.kubernetes.io/name=gaudi3-scale", "-n", NS).stdout
    assert out.count("Name:         api-") == 2


def test_scale_and_rollout_restart(server):
    kubectl(server, "scale", "deployment", "api", "--replicas=5", "-n", NS)
    assert server.store.get(R.DEPLOYMENT, NS, "api")["spec"]["replicas"] == 5
    kubectl(server, "rollout", "restart", "deployment/api", "-n", NS)
    annotations = server.store.get(R.DEPLOYMENT, NS, "api")["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    kubectl(server, "scale", "deployment", "api", "--replicas=2", "-n", NS)


def test_patch_configmap(server):
    kubectl(server, "patch", "configmap", "gaudi3-scale-config", "-n", NS, "-p", '{"data":{"maintenance_mode":"true"}}')
    assert server.store.get(R.CONFIGMAP, NS, "gaudi3-scale-config")["data"] == {"maintenance_mode": "true"}
    bad = kubectl(server, "patch", "configmap", "gaudi3-scale-config", "-n", NS, "-p", '{"data": {"x": 1}}',
                  check=False)
    assert bad.returncode != 0 and "data[x]: expected a string" in bad.stderr
    kubectl(server, "patch", "configmap", "gaudi3-scale-config", "-n", NS, "--type=json",
            "-p", '[{"op":"replace","path":"/data/maintenance_mode","value":"false"}]')
    assert server.store.get(R.CONFIGMAP, NS, "gaudi3-scale-config")["data"] == {"maintenance_mode": "false"}


def test_apply_creates_then_updates_and_rejects_invalid(server, tmp_path):
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: {NS}\n"
                        "data:\n  a: '1'\n")
    kubectl(server, "apply", "-f", str(manifest))
    manifest.write_text(manifest.read_text().replace("'1'", "'2'"))
    assert "configured" in kubectl(server, "apply", "-f", str(manifest)).stdout
    assert server.store.get(R.CONFIGMAP, NS, "applied")["data"] == {"a": "2"}
    bad = tmp_path / "pod.yaml"
    bad.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  namespace: {NS}\n"
                   "spec:\n  containers:\n  - name: c\n")
    proc = kubectl(server, "apply", "-f", str(bad), check=False)
    assert proc.returncode != 0 and "spec.containers[0].image: Required value" in proc.stderr
    assert server.store.try_get(R.POD, NS, "broken") is None


def test_delete_pod_by_label_and_wait_for_delete(server):
    server.store.create(R.POD, {"metadata": {"name": "doomed", "namespace": NS, "labels": {"doomed": "yes"}},
                                "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    out = kubectl(server, "delete", "pod", "-l", "doomed=yes", "-n", NS).stdout
    assert 'pod "doomed" deleted' in out
    assert server.store.try_get(R.POD, NS, "doomed") is None
    kubectl(server, "wait", "--for=delete", "pod/doomed", "-n", NS, "--timeout=60s")


def test_unauthorized_kubeconfig(server, tmp_path):
    bad = tmp_path / "kubeconfig"
    bad.write_text((server.state_dir / "kubeconfig").read_text().replace(server.token, "not-the-token"))
    proc = kubectl(server, "get", "pods", "-n", NS, check=False, kubeconfig=bad)
    assert proc.returncode != 0 and "Unauthorized" in proc.stderr


def test_logs_pick_the_container_and_pass_options(server):
    agent = server.node_agent
    out = kubectl(server, "logs", "api-1", "-n", NS, "--tail=2").stdout
    assert out.splitlines() == ["current api-1/api line 3", "current api-1/api line 4"]
    assert kubectl(server, "logs", "crashy", "-n", NS, "--previous").stdout.startswith("previous crashy/api")
    missing = kubectl(server, "logs", "api-1", "-n", NS, "--previous", check=False)
    assert missing.returncode != 0 and "previous terminated container" in missing.stderr
    agent.log_calls.clear()
    out = kubectl(server, "logs", "-l", "app.kubernetes.io/name=gaudi3-scale", "-n", NS, "--since=30m").stdout
    assert {c["pod"] for c in agent.log_calls} == {"api-1", "api-2"}
    assert all(c["since_seconds"] == 1800 for c in agent.log_calls)
    assert "current api-2/api line 0" in out
    raw = subprocess.run(["kubectl", "--kubeconfig", str(server.state_dir / "kubeconfig"), "get", "--raw",
                          f"/api/v1/namespaces/{NS}/pods/two/log"], capture_output=True, text=True, timeout=WAIT)
    assert raw.returncode != 0 and "a container name must be specified for pod two" in raw.stderr


def test_exec_over_websocket_exit_codes_and_stdin(server):
    assert kubectl(server, "exec", "api-1", "-n", NS, "--", "echo", "hi").stdout == "hi\n"
    assert kubectl(server, "exec", "deployment/api", "-n", NS, "--", "echo", "via-deployment").stdout == \
        "via-deployment\n"
    failed = kubectl(server, "exec", "api-1", "-n", NS, "--", "sh", "-c", "echo oops >&2; exit 3", check=False)
    assert failed.returncode == 3 and "oops" in failed.stderr
    fed = kubectl(server, "exec", "-i", "api-1", "-n", NS, "--", "cat", input="piped through\n")
    assert fed.stdout == "piped through\n"


def test_exec_with_the_python_client(server):
    from kubernetes import client, config
    from kubernetes.stream import stream
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(server.state_dir / "kubeconfig")))
    out = stream(api.connect_get_namespaced_pod_exec, "api-1", NS, command=["sh", "-c", "echo out; echo err >&2"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert "out" in out and "err" in out
    resp = stream(api.connect_get_namespaced_pod_exec, "api-1", NS, command=["sh", "-c", "exit 4"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=WAIT)
    assert resp.returncode == 4


def test_top_pods_and_nodes(server):
    pods = _table(kubectl(server, "top", "pods", "-n", NS).stdout)
    assert pods[0][:3] == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and pods[1][:3] == ["api-1", "250m", "100Mi"]
    nodes = _table(kubectl(server, "top", "nodes").stdout)
    assert nodes[1][:2] == ["node-1", "500m"]


def test_create_generators_send_protobuf(server):
    # kubectl's typed clients encode these in the Kubernetes protobuf format.
    kubectl(server, "create", "namespace", "made-by-create")
    kubectl(server, "create", "configmap", "settings", "-n", "made-by-create", "--from-literal=mode=fast")
    kubectl(server, "create", "secret", "generic", "creds", "-n", "made-by-create", "--from-literal=pw=hunter2")
    assert server.store.get(R.NAMESPACE, None, "made-by-create")["status"]["phase"] == "Active"
    assert server.store.get(R.CONFIGMAP, "made-by-create", "settings")["data"] == {"mode": "fast"}
    assert server.store.get(R.SECRET, "made-by-create", "creds")["data"] == {"pw": "aHVudGVyMg=="}
    kubectl(server, "create", "deployment", "d", "--image=busybox", "--replicas=2", "-n", "made-by-create")
    made = server.store.get(R.DEPLOYMENT, "made-by-create", "d")["spec"]
    assert made["replicas"] == 2 and made["template"]["spec"]["containers"][0]["image"] == "busybox"
    # A kind the decoder does not know: 415 with the hint to send JSON.
    ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    type_meta = b"\n\x07apps/v1\x12\x0bStatefulSet"
    body = b"k8s\x00" + b"\n" + bytes([len(type_meta)]) + type_meta
    req = urllib.request.Request(f"{server.url}/apis/apps/v1/namespaces/made-by-create/statefulsets", data=body,
                                 method="POST", headers={"Authorization": f"Bearer {server.token}",
                                                         "Content-Type": "application/vnd.kubernetes.protobuf"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, context=ctx, timeout=WAIT)
    assert refused.value.code == 415 and "send it as JSON" in refused.value.read().decode()
    kubectl(server, "delete", "namespace", "made-by-create", "--timeout=60s")
    assert server.store.try_get(R.NAMESPACE, None, "made-by-create") is None
