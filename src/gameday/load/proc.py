"""The Locust process: `python -m gameday.load.proc ...`. Runs Locust in
library mode (local, master or worker) and, as master or local, prints one
JSON sample per second on stdout: requests, failures, latency percentiles and
a histogram for that second, users, and the job ids acknowledged meanwhile.
Stops when stdin closes or on SIGTERM/SIGINT. Never imported by the harness."""
import locust  # noqa: F401  first: it monkey-patches with gevent before ssl is loaded

import argparse
import importlib.util
import inspect
import json
import signal
import sys
import time

import gevent
from locust import User
from locust.env import Environment
from locust.stats import StatsEntry

from gameday.load.acked import ACK_MESSAGE
from gameday.sla.measure import percentile_from_hist


def load_user_classes(path: str) -> list[type]:
    spec = importlib.util.spec_from_file_location("gameday_locustfile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, User) and c.__module__ == module.__name__ and not getattr(c, "abstract", False)]
    if not classes:
        raise SystemExit(f"{path}: no Locust User classes")
    return classes


def percentile(hist: dict[int, int], q: float) -> float:
    """The sample's q-quantile; 0 for a second without requests."""
    return percentile_from_hist(hist, q) or 0.0


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="gameday.load.proc")
    p.add_argument("--locustfile", required=True)
    p.add_argument("--host", default=None)
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--spawn-rate", type=float, default=5.0)
    p.add_argument("--role", choices=("local", "master", "worker"), default="local")
    p.add_argument("--master-host", default="127.0.0.1")
    p.add_argument("--master-port", type=int, default=5557)
    p.add_argument("--expect-workers", type=int, default=1)
    args = p.parse_args(argv)

    classes = load_user_classes(args.locustfile)
    env = Environment(user_classes=classes, host=args.host)
    stopping = gevent.event.Event()

    def on_signal(*_):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.role == "worker":
        import locust.runners as lr
        lr.WORKER_REPORT_INTERVAL = 1.0  # the master samples once a second
        runner = env.create_worker_runner(args.master_host, args.master_port)
        gevent.spawn(lambda: (stopping.wait(), runner.quit()))
        runner.greenlet.join()
        return 0

    acked: list[str] = []
    if args.role == "master":
        runner = env.create_master_runner(args.master_host, args.master_port)
        runner.register_message(ACK_MESSAGE, lambda msg, **_: acked.append(str(msg.data)))
        deadline = time.time() + 120
        while len(runner.clients.ready) < args.expect_workers and time.time() < deadline and not stopping.is_set():
            gevent.sleep(0.1)
        if len(runner.clients.ready) < args.expect_workers:
            emit({"type": "error", "message": f"only {len(runner.clients.ready)} of {args.expect_workers} workers connected"})
            runner.quit()
            return 3
    else:
        runner = env.create_local_runner()
        env.gameday_acked = acked  # the locustfile appends here
    runner.start(args.users, spawn_rate=args.spawn_rate)
    emit({"type": "started", "t": time.time(), "role": args.role})

    gevent.spawn(_stdin_reader, stopping)  # stdin closing means the harness is done or gone

    prev_hist: dict[int, int] = {}
    prev_req = prev_fail = 0
    next_tick = time.time() + 1.0
    while True:
        stopping.wait(timeout=max(0.0, next_tick - time.time()))
        now = time.time()
        total: StatsEntry = env.stats.total
        hist = dict(total.response_times)
        delta = {k: v - prev_hist.get(k, 0) for k, v in hist.items() if v - prev_hist.get(k, 0) > 0}
        req, fail = total.num_requests, total.num_failures
        d_req, d_fail = req - prev_req, fail - prev_fail
        interval = max(1e-3, now - (next_tick - 1.0))
        ids, acked[:] = list(acked), []
        emit({"type": "sample", "t": now, "requests": d_req, "failures": d_fail, "rps": d_req / interval,
              "p50_ms": percentile(delta, 0.5), "p95_ms": percentile(delta, 0.95), "p99_ms": percentile(delta, 0.99),
              "users": int(runner.user_count), "total_requests": req, "total_failures": fail,
              "hist": delta, "acked": ids})
        prev_hist, prev_req, prev_fail = hist, req, fail
        next_tick += 1.0
        if stopping.is_set():
            break
    runner.quit()
    emit({"type": "stopped", "t": time.time()})
    return 0


def _stdin_reader(stopping) -> None:
    from gevent.os import make_nonblocking, nb_read
    fd = sys.stdin.fileno()
    try:
        make_nonblocking(fd)
        while nb_read(fd, 4096):
            pass
    except OSError:
        pass
    stopping.set()


if __name__ == "__main__":
    sys.exit(main())
