"""Watch delivery latency of the sandbox API server: the time from a client
starting a create to another client's watch receiving its ADDED event, over
the real HTTPS API with the kubernetes client. Target: within 50 ms.

    python bench/bench_watch.py [--events 200] [--runs 5]
"""
from __future__ import annotations

import argparse
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kubernetes import client, config, watch

from gameday.sandbox.apiserver import ApiServer
from gameday.sandbox.store import Store

TARGET_MS = 50.0
WAIT = 120.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def one_run(kubeconfig: Path, namespace: str, events: int) -> list[float]:
    writer = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    reader = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    writer.create_namespace({"metadata": {"name": namespace}})
    rv = writer.list_namespaced_config_map(namespace).metadata.resource_version
    started: dict[str, float] = {}
    arrivals: queue.Queue = queue.Queue()

    def consume() -> None:
        for ev in watch.Watch().stream(reader.list_namespaced_config_map, namespace, resource_version=rv,
                                       timeout_seconds=int(WAIT)):
            if ev["type"] == "ADDED":
                name = ev["object"].metadata.name
                arrivals.put((name, time.perf_counter() - started.get(name, time.perf_counter())))
                if name == f"cm-{events - 1}":
                    return

    threading.Thread(target=consume, daemon=True).start()
    # A first object proves the watch is connected: its set-up is not what is measured.
    writer.create_namespaced_config_map(namespace, {"metadata": {"name": "connected"}})
    arrivals.get(timeout=WAIT)
    latencies = []
    for i in range(events):
        name = f"cm-{i}"
        started[name] = time.perf_counter()
        writer.create_namespaced_config_map(namespace, {"metadata": {"name": name}, "data": {"i": str(i)}})
        # One create at a time, each after the previous event: latency, not throughput.
        got, seconds = arrivals.get(timeout=WAIT)
        assert got == name, (got, name)
        latencies.append(seconds * 1000)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gameday-bench-watch-") as tmp:
        state = Path(tmp)
        server = ApiServer(Store(), state_dir=state).start()
        try:
            kubeconfig = server.write_kubeconfig(state / "kubeconfig")
            medians, p95s = [], []
            for run in range(args.runs):
                ms = one_run(kubeconfig, f"bench-{run}", args.events)
                if len(ms) < args.events:
                    print(f"run {run + 1}: only {len(ms)} of {args.events} events arrived")
                    return 1
                medians.append(statistics.median(ms))
                p95s.append(percentile(ms, 0.95))
                print(f"run {run + 1}: {len(ms)} events, median {medians[-1]:.1f} ms, p95 {p95s[-1]:.1f} ms")
        finally:
            server.stop()
    median, p95 = statistics.median(medians), statistics.median(p95s)
    verdict = "within" if p95 <= TARGET_MS else "OVER"
    print(f"watch delivery (create -> event): median {median:.1f} ms, p95 {p95:.1f} ms "
          f"(median of {args.runs} runs x {args.events} events; target {TARGET_MS:.0f} ms: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
