"""`gameday sandbox up|status|url|kubeconfig|down` as a user runs them:
a detached sandbox that leaves no process behind, and one-line errors."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from gameday.sandbox.cli import leftover_processes
from gameday.sandbox.testing import TEST_CONFIG, state_dir

from .helpers import eventually

pytestmark = pytest.mark.sandbox


@pytest.fixture()
def sbdir():
    """A state directory outside pytest's basetemp (see gameday.sandbox.testing.state_dir)."""
    path = state_dir("cli-test")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def gameday(state: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, GAMEDAY_SANDBOX_DIR=str(state))
    return subprocess.run([sys.executable, "-m", "gameday.cli", "sandbox", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_up_status_url_down_leaves_no_process(sbdir):
    state = sbdir / "sb"
    try:
        up = gameday(state, "up", "--wait", "--config", str(TEST_CONFIG))
        assert up.returncode == 0, up.stderr
        kubeconfig = up.stdout.strip().splitlines()[-1]
        assert Path(kubeconfig).exists()
        assert gameday(state, "kubeconfig").stdout.strip() == kubeconfig
        status = gameday(state, "status")
        assert status.returncode == 0 and "sandbox-node" in status.stdout and "Running" in status.stdout
        url = gameday(state, "url", "web", "-n", "sbtest").stdout.strip()
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
        assert len(leftover_processes(state.resolve())) >= 3  # the daemon and its two pods
    finally:
        down = gameday(state, "down")
    assert down.returncode == 0, down.stderr
    assert leftover_processes(state.resolve()) == []
    after = gameday(state, "status")
    assert after.returncode == 2 and after.stderr.count("\n") == 1 and "no sandbox is running" in after.stderr


def _accepted(port: int) -> bool:
    """The listening socket's accept queue is empty (ss: a LISTEN socket's
    Recv-Q is its queue): the proxy has taken the connection in."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=30).stdout
    return bool(out.strip()) and all(line.split()[1] == "0" for line in out.splitlines() if line.strip())


def _answers(url) -> bool:
    try:
        with urllib.request.urlopen(url.geturl(), timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_foreground_sigterm_stops_everything(sbdir):
    state = (sbdir / "fg").resolve()
    env = dict(os.environ, GAMEDAY_SANDBOX_DIR=str(state))
    proc = subprocess.Popen([sys.executable, "-m", "gameday.cli", "sandbox", "up", "--foreground", "--wait",
                             "--config", str(TEST_CONFIG)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # the kubeconfig path, once ready
        assert line.strip().endswith("kubeconfig"), proc.stderr.read() if proc.poll() is not None else line
        assert len(leftover_processes(state)) >= 3
        # A client connected through a Service's proxy when the sandbox stops:
        # its connection is closed and its handler finished, not left pending.
        url = urllib.parse.urlsplit(gameday(state, "url", "web", "-n", "sbtest").stdout.strip())
        eventually(lambda: _answers(url), what="the web Service answers")
        client = socket.create_connection((url.hostname, url.port), timeout=10)
        try:
            eventually(lambda: _accepted(url.port), what="the proxy accepted the connection")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=120) == 0
        finally:
            client.close()
        err = proc.stderr.read()
        assert "Task was destroyed but it is pending" not in err, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    eventually(lambda: leftover_processes(state) == [], what="no process left")


def test_bad_manifest_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "manifests"
    bad.mkdir()
    (bad / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [oops\n")
    result = gameday(tmp_path / "sb", "up", "--manifests", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "broken.yaml" in result.stderr and "Traceback" not in result.stderr
    missing = gameday(tmp_path / "sb", "up", "--manifests", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such manifest directory" in missing.stderr
    assert not (tmp_path / "sb" / "sandbox.json").exists()
    invalid = tmp_path / "invalid"
    invalid.mkdir()
    (invalid / "d.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
                                    "spec: {replicas: many}\n")
    refused = gameday(tmp_path / "sb2", "up", "--manifests", str(invalid))
    assert refused.returncode == 2 and "d.yaml (document 1)" in refused.stderr and "spec.replicas" in refused.stderr
    assert leftover_processes((tmp_path / "sb2").resolve()) == []


def test_sigkilled_sandbox_takes_its_pods_along(sbdir):
    """Nothing outlives the sandbox, even killed with SIGKILL (parent-death signal)."""
    state = (sbdir / "killed").resolve()
    up = gameday(state, "up", "--wait", "--config", str(TEST_CONFIG))
    assert up.returncode == 0, up.stderr
    import json
    daemon = json.loads((state / "sandbox.json").read_text())["pid"]
    pods = [p for p in leftover_processes(state) if p != daemon]
    assert pods
    try:
        os.kill(daemon, signal.SIGKILL)
        eventually(lambda: not [p for p in pods if os.path.exists(f"/proc/{p}")
                                and open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"],
                   what="pods gone with the sandbox")
    finally:
        for p in leftover_processes(state):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
