"""The platform API's sustained requests per second through the sandbox
(the Service's host port, its proxy, two API pods on gunicorn), with
Prometheus scraping every target and Locust on the same machine's cores.

    python bench/bench_api.py [--kubeconfig F] [--seconds 20] [--users 64] [--workers 1]

Two loads, no think time: /health reads (target >= 1,000 req/s at 0%
failures) and the write mix (reads, job submissions, job reads). Prints the
median req/s after ramp-up, the failure ratio and the median p95.
Without --kubeconfig it uses a running sandbox ($GAMEDAY_SANDBOX_DIR or
./.gameday/sandbox) or starts one for the benchmark."""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from _target import sandbox_kubeconfig
from gameday.load import LoadRun
from gameday.target import Target, default_sandbox_dir

HERE = Path(__file__).resolve().parent
API = ("gaudi3-scale-api", "gaudi3-scale")
TARGET_RPS = 1000.0


def sustained(host: str, locustfile: Path, users: int, workers: int, seconds: float) -> tuple[float, float, float, int]:
    """(median rps after ramp-up, failure ratio, median p95 ms, requests)."""
    run = LoadRun(host, users=users, spawn_rate=max(users / 2.0, 1.0), workers=workers, locustfile=locustfile)
    run.start()
    try:
        run.wait_for_samples(int(seconds) + 3, timeout=seconds + 120)
    finally:
        run.stop()
    steady = [s for s in run.samples[3:] if s.users >= users] or run.samples
    requests = sum(s.requests for s in steady)
    failures = sum(s.failures for s in steady)
    return (statistics.median(s.rps for s in steady), failures / requests if requests else 0.0,
            statistics.median(s.p95_ms for s in steady), requests)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", default=None)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--users", type=int, default=64)
    p.add_argument("--workers", type=int, default=1, help="Locust worker processes (0: one process)")
    args = p.parse_args(argv)

    def run(kubeconfig: Path) -> int:
        host = Target.connect(kubeconfig).service_url(*API)
        print(f"API through the sandbox ({host}), Prometheus scraping, Locust {args.users} users, "
              f"{'1 process' if not args.workers else f'master + {args.workers} worker(s)'}, {args.seconds:.0f} s each:")
        status = 0
        for label, name in (("/health reads", "health.py"), ("write mix   ", "mix.py")):
            rps, fail, p95, n = sustained(host, HERE / "locustfiles" / name, args.users, args.workers, args.seconds)
            verdict = ""
            if name == "health.py":
                met = rps >= TARGET_RPS and fail == 0
                verdict = f"  (target >= {TARGET_RPS:.0f} req/s at 0% failures: {'met' if met else 'NOT met'})"
            print(f"  {label}: {rps:7.1f} req/s, {fail:6.2%} failed of {n}, p95 {p95:.0f} ms{verdict}", flush=True)
        return status

    if args.kubeconfig:
        return run(Path(args.kubeconfig))
    with sandbox_kubeconfig(default_sandbox_dir()) as kubeconfig:
        return run(kubeconfig)


if __name__ == "__main__":
    sys.exit(main())
