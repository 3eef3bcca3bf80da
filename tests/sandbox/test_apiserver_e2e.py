"""The API server end to end with the real kubelet and controllers (the
session's bare sandbox): kubectl logs (-l --since, -f), exec, top and drain."""
from __future__ import annotations

import os
import queue
import subprocess
import threading

import pytest
from kubernetes import client

from gameday.sandbox import resources as R

from .helpers import api_client, eventually, kubectl

NS = "sbtest"  # the bare sandbox's namespace (tests/sandbox/manifests)
APP = "apiserver-e2e"
WAIT = 120.0


@pytest.fixture(scope="module")
def talker(bare_sandbox):
    """Two pods that print a line at start and then wait."""
    apps = client.AppsV1Api(api_client(bare_sandbox))
    labels = {"app": APP}
    apps.create_namespaced_deployment(NS, {
        "metadata": {"name": APP, "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                "name": "talk", "image": "gameday-test/shell:1",
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "args": ["echo started $POD_NAME; exec sleep 3600"]}]}}}})
    core = client.CoreV1Api(api_client(bare_sandbox))
    yield core
    apps.delete_namespaced_deployment(APP, NS)


def ready_pods(core) -> list[str]:
    pods = core.list_namespaced_pod(NS, label_selector=f"app={APP}").items
    return sorted(p.metadata.name for p in pods if not p.metadata.deletion_timestamp and any(
        c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])))


def two_ready(core) -> list[str]:
    return eventually(lambda: len(ready_pods(core)) == 2 and ready_pods(core), timeout=WAIT,
                      what=f"two ready {APP} pods")


def test_logs_of_a_pod_and_by_selector_since(bare_sandbox, talker):
    pods = two_ready(talker)
    eventually(lambda: f"started {pods[0]}" in kubectl(bare_sandbox, "logs", pods[0], "-n", NS).stdout,
               timeout=WAIT, what="the first log line")
    out = eventually(lambda: (o := kubectl(bare_sandbox, "logs", "-l", f"app={APP}", "-n", NS,
                                           "--since=30m").stdout).count("started") == 2 and o,
                     timeout=WAIT, what="both pods' lines")
    assert all(f"started {p}" in out for p in pods)


def test_logs_follow_streams_until_the_client_stops(bare_sandbox, talker):
    pod = two_ready(talker)[0]
    env = dict(os.environ, KUBECONFIG=str(bare_sandbox.kubeconfig))
    proc = subprocess.Popen(["kubectl", "logs", "-f", pod, "-n", NS], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=WAIT).startswith(f"started {pod}")
        assert proc.poll() is None, "a follow stays open while the container runs"
    finally:
        proc.terminate()
        proc.wait(timeout=WAIT)


def test_exec_runs_in_the_container(bare_sandbox, talker):
    pod = two_ready(talker)[0]
    assert kubectl(bare_sandbox, "exec", pod, "-n", NS, "--", "echo", "hi").stdout == "hi\n"
    env = kubectl(bare_sandbox, "exec", f"deployment/{APP}", "-n", NS, "--", "sh", "-c", "echo $POD_NAME").stdout
    assert env.strip().startswith(f"{APP}-")
    failed = kubectl(bare_sandbox, "exec", pod, "-n", NS, "--", "sh", "-c", "exit 7", check=False)
    assert failed.returncode == 7


def test_exec_output_of_a_short_command_is_never_lost(bare_sandbox, talker):
    # kubectl (up to 1.32) drops a frame that arrives before it registered its streams; a command that
    # prints at once and exits lost its whole output now and then (exec_ws.FIRST_FRAME_HOLD).
    pod = two_ready(talker)[0]
    outs = [kubectl(bare_sandbox, "exec", pod, "-n", NS, "--", "echo", str(i)) for i in range(30)]
    lost = [(i, o.stdout, o.stderr.strip()) for i, o in enumerate(outs) if o.stdout != f"{i}\n"]
    assert not lost, f"{len(lost)} of {len(outs)} execs lost their output: {lost[:3]}"


def test_top_pods_reads_the_kubelet_usage(bare_sandbox, talker):
    pods = two_ready(talker)
    out = eventually(lambda: (o := kubectl(bare_sandbox, "top", "pods", "-n", NS, "-l", f"app={APP}",
                                           check=False)).returncode == 0 and all(p in o.stdout for p in pods)
                     and o.stdout, timeout=WAIT, what="kubectl top pods listing the pods")
    assert out.splitlines()[0].split()[:3] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]


def test_drain_evicts_and_uncordon_lets_pods_back(bare_sandbox, talker):
    before = two_ready(talker)
    node = bare_sandbox.config.node.name
    try:
        out = kubectl(bare_sandbox, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                      f"--pod-selector=app={APP}", "--timeout=120s", timeout=WAIT + 30)
        assert f"node/{node} drained" in out.stdout + out.stderr
        assert bare_sandbox.store.get(R.NODE, None, node)["spec"]["unschedulable"] is True
        left = {p.metadata.name for p in talker.list_namespaced_pod(NS, label_selector=f"app={APP}").items}
        assert not left & set(before), "the evicted pods are gone"
    finally:
        kubectl(bare_sandbox, "uncordon", node)
    after = two_ready(talker)
    assert not set(after) & set(before)
