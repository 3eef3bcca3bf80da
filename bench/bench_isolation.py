"""The cost of container isolation: time from creating N pods (a shell
sleeping: `gameday-test/shell`) to all Ready, in a bare sandbox with each pod
in its own namespaces (bwrap, ip netns) and in one without
(GAMEDAY_SANDBOX_ISOLATION=0), as a ratio; and the memory (PSS) of an idle
isolated pod: its bwrap monitor plus the container's processes.
Median of BENCH_RUNS runs (default 3), N = BENCH_PODS (default 20).
Needs root on Linux with bwrap; otherwise prints why and exits 0."""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gameday.sandbox.cluster import Sandbox  # noqa: E402
from gameday.sandbox.kubelet.usage import group_pss  # noqa: E402
from gameday.sandbox.podnet import isolation_available  # noqa: E402
from gameday.sandbox.resources import POD  # noqa: E402

TEST_CONFIG = ROOT / "tests" / "sandbox" / "manifests" / "sandbox" / "sandbox.yaml"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PODS = int(os.environ.get("BENCH_PODS", "20"))
NS = "sbtest"


def _pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i}", "namespace": NS},
            "spec": {"nodeName": "sandbox-node", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "sh", "image": "gameday-test/shell"}]}}


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def one_run(isolated: bool) -> tuple[float, float | None]:
    """Seconds from creating PODS pods to all Ready, and PSS bytes per idle pod (isolated only)."""
    os.environ["GAMEDAY_SANDBOX_ISOLATION"] = "1" if isolated else "0"
    with tempfile.TemporaryDirectory(prefix="gameday-bench-iso-") as state:
        sb = Sandbox(state, config=TEST_CONFIG)
        sb.start()
        try:
            sb.wait_ready(240)
            node = sb.kubelet.node_name
            started = time.monotonic()
            for i in range(PODS):
                pod = _pod(i)
                pod["spec"]["nodeName"] = node
                sb.store.create(POD, pod)
            deadline = started + 600
            while True:
                pods = [p for p in sb.store.list(POD, NS)[0] if p["metadata"]["name"].startswith("bench-")]
                if len(pods) == PODS and all(_ready(p) for p in pods):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{PODS} pods not Ready within 600 s")
                time.sleep(0.05)  # polls the store; bounded by the deadline
            elapsed = time.monotonic() - started
            pss = None
            if isolated:
                time.sleep(2)  # idle: let the pods settle before measuring
                pids = [c.proc.pid for (ns, name), rt in list(sb.kubelet.pods.items())
                        if name.startswith("bench-") for c in rt.containers() if c.proc]
                pss = sum(group_pss(pid) for pid in pids) / max(1, len(pids))
            return elapsed, pss
        finally:
            sb.stop()


def main() -> int:
    ok, why = isolation_available()
    if not ok:
        print(f"isolation overhead: not measured ({why})")
        return 0
    with_iso, without, pss = [], [], []
    for i in range(RUNS):
        t, p = one_run(True)
        with_iso.append(t)
        pss.append(p)
        t0, _ = one_run(False)
        without.append(t0)
        print(f"run {i + 1}: {PODS} pods Ready in {t:.2f} s isolated, {t0:.2f} s without; "
              f"{p / 2**20:.1f} MiB PSS per idle isolated pod")
    a, b = statistics.median(with_iso), statistics.median(without)
    print(f"isolation overhead: {PODS} pods create->Ready median {a:.2f} s isolated vs {b:.2f} s without "
          f"= ratio {a / b:.2f} over {RUNS} runs; memory per idle isolated pod (PSS, bwrap + sh + sleep) "
          f"median {statistics.median(pss) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    os.environ.pop("GAMEDAY_SANDBOX_ISOLATION", None)
    sys.exit(main())
