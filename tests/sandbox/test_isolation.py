"""Container isolation (Linux, root): each pod has its own PID, mount and
network namespace. Against the platform sandbox through stock kubectl.

Isolation is proven before anything is signalled: the signal test first
reads /proc/1/cmdline through `kubectl exec` and requires the container's
entrypoint; only then does it send `kill -USR1 1`, which reaches the pod's
PID 1 (a shell of this test's own pod that traps USR1) and nothing else."""
from __future__ import annotations

import subprocess
import time

import pytest

from gameday.sandbox.controllers.pvc import claim_dir
from gameday.sandbox.kubelet.kubelet import signals_pid1
from gameday.sandbox.podnet import PodNetwork, cleanup_block, isolation_available
from gameday.sandbox.resources import PVC, SERVICE

ISOLATED, WHY = isolation_available()
needs_isolation = pytest.mark.skipif(not ISOLATED, reason=f"no container isolation here: {WHY}")
NS = "gaudi3-scale"
TEST_NS = "isolation-test"
WAIT = 180.0
SCRIPT = "trap 'echo got-usr1' USR1; echo waiting; while :; do sleep 1; done"


def kubectl(sb, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", str(sb.kubeconfig), *args], capture_output=True,
                          text=True, timeout=timeout)


def wait_for(fn, what: str, timeout: float = WAIT, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)  # polls kubectl; bounded by the deadline
    pytest.fail(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")


# -- without a sandbox -----------------------------------------------------------
def test_exec_commands_that_signal_pid_1_are_recognised():
    assert signals_pid1(["kill", "-USR1", "1"])
    assert signals_pid1(["sh", "-c", "sleep 1; kill -s TERM 1"])
    assert signals_pid1(["kill", "-9", "-1"])
    assert not signals_pid1(["kill", "-USR1", "12"])
    assert not signals_pid1(["ls", "1"])


def test_without_isolation_exec_refuses_to_signal_pid_1(tmp_path):
    from gameday.sandbox.images import Catalog
    from gameday.sandbox.kubelet.kubelet import Kubelet
    from gameday.sandbox.store import ApiError, Store
    kubelet = Kubelet(Store(), "node", tmp_path, Catalog.load([]), pod_ip_prefix="127.250")
    assert not kubelet.isolated  # the old signature: loopback pods
    with pytest.raises(ApiError) as err:
        kubelet.exec("default", "any", "main", ["kill", "-USR1", "1"])
    assert (err.value.code, err.value.reason) == (403, "Forbidden")


@needs_isolation
def test_a_pod_network_namespace_is_removed_with_its_block():
    import socket

    from gameday.sandbox.cluster import _CLAIM_PORT
    block = 252  # outside the blocks sandboxes claim (20-219); held, so no starting sandbox cleans it meanwhile
    claim = socket.socket()
    claim.bind((f"127.{block}.255.254", _CLAIM_PORT))
    net = PodNetwork(block, isolated=True)
    net.start()
    try:
        pod = net.attach(net.allocate_pod_ip(set()))
        assert pod.netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        addr = subprocess.run(["ip", "-n", pod.netns, "-br", "addr", "show", "eth0"], capture_output=True,
                              text=True).stdout
        assert pod.ip in addr
    finally:
        cleanup_block(block)  # what the next `up` does after a SIGKILLed sandbox
        claim.close()
    assert pod.netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert f"gd{block}-" not in links
    local = subprocess.run(["ip", "route", "show", "table", "local"], capture_output=True, text=True).stdout
    assert f"198.19.{block}.0/24" not in local


# -- against the platform sandbox ------------------------------------------------
@pytest.fixture(scope="module")
def trap_pod(sandbox):
    if not sandbox.network.isolated:
        pytest.skip(f"the sandbox's pods are not isolated: {WHY}")
    kubectl(sandbox, "create", "namespace", TEST_NS)
    manifest = f"""
apiVersion: v1
kind: Pod
metadata: {{name: trap, namespace: {TEST_NS}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sh
    image: ghcr.io/gaudi3-scale/tools:0.1.0
    command: [sh, -c, "{SCRIPT}"]
"""
    r = subprocess.run(["kubectl", "--kubeconfig", str(sandbox.kubeconfig), "apply", "-f", "-"], input=manifest,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: kubectl(sandbox, "get", "pod", "trap", "-n", TEST_NS, "-o",
                             "jsonpath={.status.containerStatuses[0].ready}").stdout == "true", "the trap pod Ready")
    yield "trap"
    kubectl(sandbox, "delete", "namespace", TEST_NS, "--wait=false")


@pytest.mark.sandbox
def test_pid_1_is_the_entrypoint_and_kill_usr1_reaches_only_it(sandbox, trap_pod):
    cmdline = kubectl(sandbox, "exec", "-n", TEST_NS, trap_pod, "--", "cat", "/proc/1/cmdline")
    assert cmdline.returncode == 0, cmdline.stderr
    # Proof first: PID 1 in the pod is the container's entrypoint, not the host's init.
    assert cmdline.stdout.split("\0")[:3] == ["sh", "-c", SCRIPT]
    r = kubectl(sandbox, "exec", "-n", TEST_NS, trap_pod, "--", "kill", "-USR1", "1")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "got-usr1" in kubectl(sandbox, "logs", "-n", TEST_NS, trap_pod).stdout,
             "the pod's PID 1 to log the USR1 it trapped")
    # Its own PID space: only the pod's processes are visible.
    pids = kubectl(sandbox, "exec", "-n", TEST_NS, trap_pod, "--", "sh", "-c", "ls /proc | grep -c '^[0-9]'")
    assert int(pids.stdout.strip()) < 10


@pytest.mark.sandbox
def test_localhost_in_the_trainer_is_the_trainer_and_its_claim_is_at_app_models(sandbox):
    if not sandbox.network.isolated:
        pytest.skip(f"the sandbox's pods are not isolated: {WHY}")
    target = "deployment/gaudi3-scale-trainer"
    metrics = wait_for(lambda: (r := kubectl(sandbox, "exec", "-n", NS, target, "--", "curl", "-s", "-m", "10",
                                             "http://localhost:8080/metrics")).returncode == 0 and r.stdout,
                       "the trainer's metrics on localhost:8080")
    assert "# TYPE" in metrics
    pvc = sandbox.store.get(PVC, NS, "gaudi3-scale-models")
    host = claim_dir(sandbox.state_dir, pvc)
    marker = host / "isolation-test-marker"
    marker.write_text("written on the node's disk\n")
    try:
        listing = kubectl(sandbox, "exec", "-n", NS, target, "--", "ls", "/app/models")
        assert listing.returncode == 0, listing.stderr
        assert "isolation-test-marker" in listing.stdout.split()
        assert sorted(listing.stdout.split()) == sorted(p.name for p in host.iterdir())
    finally:
        marker.unlink()


@pytest.mark.sandbox
def test_localhost_in_the_api_is_the_api_and_service_names_resolve(sandbox):
    if not sandbox.network.isolated:
        pytest.skip(f"the sandbox's pods are not isolated: {WHY}")
    target = "deployment/gaudi3-scale-api"
    code = wait_for(lambda: kubectl(sandbox, "exec", "-n", NS, target, "--", "curl", "-s", "-o", "/dev/null",
                                    "-w", "%{http_code}", "-m", "10", "http://localhost:8000/health").stdout
                    == "200", "the api's /health on localhost:8000")
    assert code
    ip = sandbox.store.get(SERVICE, "database", "postgres")["spec"]["clusterIP"]
    got = kubectl(sandbox, "exec", "-n", NS, target, "--", "getent", "hosts", "postgres.database.svc.cluster.local")
    assert got.stdout.split()[:1] == [ip]
    # Its own network: the pod's eth0 holds its IP, and the host's interfaces are not there.
    pod_ip = kubectl(sandbox, "get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=api", "-o",
                     "jsonpath={.items[0].status.podIP}").stdout
    assert pod_ip.startswith(f"198.18.{sandbox.block}.")
    links = kubectl(sandbox, "exec", "-n", NS, target, "--", "cat", "/proc/net/dev").stdout
    assert {line.split(":")[0].strip() for line in links.splitlines()[2:]} == {"lo", "eth0"}
