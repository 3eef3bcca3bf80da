"""100 pods across three nodes, from create to all Ready (median of several
runs), and the pod start rate. Each run: a fresh sandbox with three nodes and
no platform, one Deployment of 100 `busybox sleep` pods created through the
API, timed until every pod is Ready, then deleted (and waited for).
Target: 100 pods Ready within 30 s on a 2-core machine."""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter

from gameday.sandbox.cluster import Sandbox
from gameday.sandbox.config import DEFAULT_NODES, SandboxConfig
from gameday.sandbox.controllers.base import is_pod_ready
from gameday.sandbox.resources import DEPLOYMENT, NAMESPACE, POD

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PODS = int(os.environ.get("BENCH_PODS", "100"))
TARGET_SECONDS = 30.0
BOUND_SECONDS = 300.0  # a run that takes longer is reported as failed
NS = "bench"


def _deployment() -> dict:
    labels = {"app": "bench"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "namespace": NS},
            "spec": {"replicas": PODS, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "main", "image": "busybox", "command": ["sleep", "3600"],
                    "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}}}}


def one_run(state: str) -> tuple[float, Counter]:
    sb = Sandbox(state, config=SandboxConfig(nodes=DEFAULT_NODES))
    sb.start()
    try:
        sb.store.create(NAMESPACE, {"metadata": {"name": NS}, "spec": {}})
        started = time.monotonic()
        sb.store.create(DEPLOYMENT, sb.api.prepare_create(DEPLOYMENT, _deployment()))
        while True:
            pods = [p for p in sb.store.list(POD, NS)[0] if not p["metadata"].get("deletionTimestamp")]
            if len(pods) >= PODS and all(is_pod_ready(p) for p in pods):
                return time.monotonic() - started, Counter(p["spec"].get("nodeName") for p in pods)
            if time.monotonic() - started > BOUND_SECONDS:
                raise TimeoutError(f"{sum(map(is_pod_ready, pods))}/{PODS} pods Ready after {BOUND_SECONDS:g} s")
            time.sleep(0.1)  # polls the store; bounded above
    finally:
        sb.stop()


def main() -> int:
    times = []
    for i in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="gameday-bench-nodes-") as state:
            try:
                elapsed, spread = one_run(state)
            except Exception as exc:
                print(f"run {i + 1}: failed: {exc}", file=sys.stderr)
                return 1
        times.append(elapsed)
        print(f"run {i + 1}: {elapsed:.2f} s ({', '.join(f'{n}: {c}' for n, c in sorted(spread.items()))})")
    median = statistics.median(times)
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(f"{PODS} pods across {len(DEFAULT_NODES)} nodes, create -> all Ready: median {median:.2f} s over "
          f"{RUNS} runs (min {min(times):.2f}, max {max(times):.2f}); {verdict} the {TARGET_SECONDS:g} s target")
    print(f"pod start rate: {PODS / median:.1f} pods/s (median run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
