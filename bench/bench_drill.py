"""Drill engine benchmarks, on the sandbox with the reference platform:

1. Timing fidelity: over N pod-kill drills, time to recover as the harness
   measured it (fault injected -> steady state restored, from its watchers)
   against the ground truth the sandbox recorded in the objects themselves:
   the replacement pod's Ready condition lastTransitionTime (microseconds),
   measured from the same fault time. The fault time itself is checked
   against the killed pod's metadata.deletionTimestamp, which the API server
   stamps in whole seconds as Kubernetes does (so only to that resolution).
   Target: within 250 ms.
2. Load: requests per second the harness's Locust runner sustains against
   the API with the sandbox running, single process and master + workers.

    python bench/bench_drill.py [--drills 5] [--kubeconfig F] [--load-seconds 15]

Without --kubeconfig it uses a running sandbox ($GAMEDAY_SANDBOX_DIR or
./.gameday/sandbox) or starts one for the benchmark."""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

from gameday.drill import Drill
from _target import sandbox_kubeconfig
from gameday.load import LoadRun
from gameday.target import Target, default_sandbox_dir
from gameday.timeline import read

TARGET_MS = 250.0
API = ("gaudi3-scale-api", "gaudi3-scale")


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def ground_truth(events) -> tuple[float, float, float, float]:
    """(harness ttr, true ttr, harness fault time - deletionTimestamp (1 s
    resolution), harness restored - Ready lastTransitionTime)."""
    fault = next(e for e in events if e.kind == "fault_injected")
    restored = next(e for e in events if e.kind == "steady_state_restored")
    killed = next(e for e in events if e.kind == "pod_status" and e.get("deleted") and e.get("deleted_at")
                  and e.t >= fault.t - 2.0)
    deleted_at = ts(killed.get("deleted_at"))
    since = restored.get("since")
    ready = [ts(e.get("ready_since")) for e in events
             if e.kind == "pod_status" and e.get("ready") and not e.get("deleted") and e.get("ready_since")
             and e.t > fault.t and e.get("pod") != killed.get("pod") and e.t <= since + 1.0]
    if not ready:
        raise RuntimeError("no replacement pod became ready in the timeline")
    truth_ready = max(ready)
    return since - fault.t, truth_ready - fault.t, fault.t - deleted_at, since - truth_ready


def timing(target: Target, drills: int, users: int, reports: Path) -> list[tuple[float, float, float, float]]:
    rows = []
    for i in range(drills):
        with Drill(target, f"bench-pod-kill-{i}", reports,
                   steady_state=[{"deployment": API[0], "ns": API[1]}]) as d:
            if users:
                d.start_load(users=users)
            d.confirm_steady_state(within=180, settle=2)
            # a 1 s grace period: the API server stamps deletionTimestamp (the
            # ground truth of the fault); a 0 s one deletes without a stamp
            d.inject("kill-api-pod", grace_period=1)
            if d.wait_recovered(within=180, settle=2) is None:
                raise RuntimeError(f"drill {i}: the API did not recover within 180 s")
        row = ground_truth(read(d.timeline_path))
        rows.append(row)
        print(f"  drill {i + 1}: harness {row[0] * 1000:8.1f} ms   truth {row[1] * 1000:8.1f} ms   "
              f"diff {(row[0] - row[1]) * 1000:+7.1f} ms", flush=True)
    return rows


def load(target: Target, users: int, workers: int, seconds: float) -> tuple[float, float, float]:
    """(median rps after ramp-up, failure ratio, median p95 ms)."""
    run = LoadRun(target.service_url(*API), users=users, spawn_rate=max(users / 3.0, 1.0), workers=workers)
    run.start()
    try:
        run.wait_for_samples(int(seconds) + 3, timeout=seconds + 120)
    finally:
        run.stop()
    steady = [s for s in run.samples[3:] if s.users >= users] or run.samples
    requests = sum(s.requests for s in steady)
    failures = sum(s.failures for s in steady)
    return (statistics.median(s.rps for s in steady), failures / requests if requests else 0.0,
            statistics.median(s.p95_ms for s in steady))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drills", type=int, default=5)
    p.add_argument("--drill-users", type=int, default=5, help="Locust users during the timing drills")
    p.add_argument("--kubeconfig", default=None)
    p.add_argument("--load-seconds", type=float, default=15)
    p.add_argument("--load-users", default="20,200,500", help="comma-separated user counts")
    args = p.parse_args(argv)

    def run(kubeconfig: Path) -> int:
        target = Target.connect(kubeconfig)
        with tempfile.TemporaryDirectory(prefix="gameday-bench-") as tmp:
            print(f"timing fidelity: {args.drills} pod-kill drills (time to recover, harness vs sandbox pod status)")
            rows = timing(target, args.drills, args.drill_users, Path(tmp))
        diffs = [abs(h - t) * 1000 for h, t, _, _ in rows]
        print(f"  |harness - truth|: median {statistics.median(diffs):.1f} ms, max {max(diffs):.1f} ms "
              f"(target <= {TARGET_MS:.0f} ms: {'met' if max(diffs) <= TARGET_MS else 'NOT met'})")
        consistent = all(-0.05 <= r[2] < 1.25 for r in rows)
        print(f"  fault time vs deletionTimestamp (1 s resolution): "
              f"{'consistent' if consistent else 'INCONSISTENT'} in all drills "
              f"(offsets {', '.join(f'{r[2]:+.2f}s' for r in rows)})")
        print(f"  restore seen after Ready: median {statistics.median(r[3] for r in rows) * 1000:+.1f} ms")
        print(f"  time to recover (truth): median {statistics.median(r[1] for r in rows):.2f} s")
        print(f"load sustained by the harness against the API ({args.load_seconds:.0f} s each, sandbox running):")
        for users in [int(u) for u in args.load_users.split(",") if u.strip()]:
            for workers in (0, 2):
                rps, fail, p95 = load(target, users, workers, args.load_seconds)
                mode = "1 process" if not workers else f"master + {workers} workers"
                print(f"  {users:4d} users, {mode:20s}: {rps:7.1f} req/s, {fail:6.2%} failed, p95 {p95:.0f} ms", flush=True)
        return 0

    if args.kubeconfig:
        return run(Path(args.kubeconfig))
    with sandbox_kubeconfig(default_sandbox_dir()) as kubeconfig:
        return run(kubeconfig)


if __name__ == "__main__":
    sys.exit(main())
