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
