"""One sandbox's life, run by test_tmp_clean.py under bwrap with a private
/tmp: start a bare sandbox whose state directory is given, run a PostgreSQL
pod (its socket), inject and roll back a fault with a ledger, run `gameday
recover`, stop while the web Deployment's pods are being replaced and a pod
that ignores SIGTERM holds its node's stop for the grace period, remove the
state directory as the suite's fixtures do, and check that nothing of the
sandbox runs on (no thread it started) nor re-creates that directory. Prints
the socket path it saw."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from kubernetes import client, config

from gameday.drill.ledger import Ledger
from gameday.faults import KINDS
from gameday.sandbox.cluster import Sandbox
from gameday.sandbox.testing import TEST_CONFIG


def main(state: str) -> int:
    before = set(threading.enumerate())
    sb = Sandbox(Path(state), config=TEST_CONFIG)
    sb.start()
    try:
        sb.wait_ready(240)
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(sb.kubeconfig)))
        core.create_namespaced_pod("sbtest", {"metadata": {"name": "pg"}, "spec": {"containers": [{
            "name": "postgres", "image": "postgres:15", "env": [{"name": "POSTGRES_PASSWORD", "value": "x"}]}]}})
        # The server's socket, where the pod sees it (PG_SOCKET_DIR: the pod's
        # own /run when isolated, the sandbox's run directory otherwise).
        probe = ["kubectl", "--kubeconfig", str(sb.kubeconfig), "exec", "pg", "-n", "sbtest", "--", "sh", "-c",
                 'test -S "$PG_SOCKET_DIR/.s.PGSQL.5432" && echo "$PG_SOCKET_DIR/.s.PGSQL.5432"']
        deadline = time.monotonic() + 180
        socket = ""
        while time.monotonic() < deadline and not socket:
            out = subprocess.run(probe, capture_output=True, text=True, timeout=60)
            socket = out.stdout.strip() if out.returncode == 0 else ""
            if not socket:
                time.sleep(1)
        if not socket:
            print("the postgres pod never had its socket", flush=True)
            return 1
        print(f"socket: {socket}", flush=True)
        cfg = {"kubeconfig_path": str(sb.kubeconfig)}
        led = Ledger(cfg).open()
        kind = KINDS["network-cut"]
        p = kind.validate({"service": "web", "namespace": "sbtest"}, "tmp-life")
        kind.rollback(cfg, kind.inject(cfg, led, **p), **p)
        led.close()
        rec = subprocess.run([sys.executable, "-m", "gameday.cli", "recover", "--kubeconfig", str(sb.kubeconfig)],
                             capture_output=True, text=True, timeout=120)
        print(rec.stdout.strip(), rec.stderr.strip(), flush=True)
        core.delete_namespaced_pod("pg", "sbtest", grace_period_seconds=0)
        # Its node's stop lasts the grace period (the window in which the power
        # controller once rebooted the node: a kubelet outlived the sandbox).
        core.create_namespaced_pod("sbtest", {"metadata": {"name": "stubborn"}, "spec": {"containers": [{
            "name": "shell", "image": "gameday-test/shell", "args": ["trap '' TERM; while :; do sleep 1; done"]}]}})
        sb.wait_ready(60)
        # The ReplicaSet is replacing these while the sandbox stops.
        core.delete_collection_namespaced_pod("sbtest", label_selector="app=web", grace_period_seconds=0)
    finally:
        sb.stop()
    shutil.rmtree(state)
    return left_running(before, Path(state))


def left_running(before: set, state: Path, bound: float = 30.0) -> int:
    """1 (and what) when a thread the sandbox started outlives `bound` seconds
    after its stop, or its removed state directory came back meanwhile."""
    deadline = time.monotonic() + bound
    while True:
        threads = sorted(t.name for t in threading.enumerate() if t not in before and t.is_alive())
        if not threads or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polls the threads' ends; the bound is the deadline above
    came_back = sorted(str(p.relative_to(state)) for p in state.rglob("*")) if state.exists() else []
    if threads:
        print(f"threads of the sandbox still running {bound:g}s after its stop: {threads}", flush=True)
    if state.exists():
        print(f"the state directory came back after its removal: {came_back}", flush=True)
    return 1 if threads or state.exists() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
