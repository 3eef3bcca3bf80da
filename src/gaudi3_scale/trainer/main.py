"""`gaudi3-scale-trainer`: trains queued jobs; /metrics and /health on 8080.

Exit codes: 0 stopped by SIGTERM/SIGINT (the current job checkpointed and
requeued), 1 the accelerator ran out of memory (the job is marked failed; the
kubelet restarts the container, which resumes from the checkpoint), 2 bad
configuration."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from prometheus_client import CollectorRegistry, ProcessCollector, disable_created_metrics

from .. import jobs
from ..db import Database, DatabaseUnavailable
from ..dbmonitor import DatabaseMonitor
from ..device import DeviceOutOfMemory, DeviceUnavailable, open_device
from ..device.metrics import DeviceMemoryCollector
from ..httpmetrics import serve
from .settings import TrainerSettings
from .worker import JobInterrupted, TrainerMetrics, Worker

log = logging.getLogger("gaudi3_scale.trainer")
EXIT_OOM = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gaudi3-scale-trainer", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help="device backend: sim, hpu or cuda (default $GAUDI3_DEVICE, else sim)")
    parser.add_argument("--batch", metavar="NAME:STEPS", default=None,
                        help="batch mode (a Kubernetes Job): train this one run, resuming its unfinished row and "
                             "checkpoint if any, then exit (0 done, 1 failed)")
    args = parser.parse_args(argv)
    batch = None
    if args.batch is not None:
        name, _, steps = args.batch.rpartition(":")
        if not name or not steps.isdigit() or not 1 <= int(steps) <= 100_000:
            print(f"gaudi3-scale-trainer: error: --batch takes NAME:STEPS (steps 1 to 100000), got {args.batch!r}",
                  file=sys.stderr)
            return 2
        batch = jobs.NewJob(name=name, steps=int(steps))
    disable_created_metrics()  # fewer series for a 1 s scrape
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings = TrainerSettings.from_env()
    import torch  # after argument parsing: `--help` stays fast

    # A small model: one thread, so the trainer does not take every core of the node.
    torch.set_num_threads(max(1, int(os.environ.get("TRAINER_TORCH_THREADS", "1"))))
    try:
        db = Database.from_env()
        device = open_device(args.backend)
    except (SystemExit, DeviceUnavailable, ValueError) as exc:
        print(f"gaudi3-scale-trainer: error: {exc}", file=sys.stderr)
        return 2

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    metrics = TrainerMetrics(registry)
    registry.register(DeviceMemoryCollector(device, settings.node))
    monitor = DatabaseMonitor(db, registry, manage_schema=True).start()
    stop = threading.Event()
    worker = Worker(db, device, settings, metrics, stop)

    def health():
        job = worker.current
        return 200, {"status": "ok", "job": job and job["id"], "step": worker.step if job else None,
                     "database": "up" if monitor.up else "down"}

    try:
        server = serve(settings.host, settings.port, registry, {"/health": health})
    except OSError as exc:
        print(f"gaudi3-scale-trainer: error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _f: (log.info("signal %d: stopping after this step", signum), stop.set()))
    log.info("trainer %s on %s:%d, device %s (%d bytes), models in %s", settings.worker, settings.host,
             settings.port, device.backend, device.total_bytes(), settings.model_dir)
    try:
        worker.load_weights()
        if batch is not None:
            return run_batch(db, worker, batch, settings)
        worker.run()
    except DeviceOutOfMemory as exc:
        if not getattr(exc, "reported", False):
            log.error("%s out of memory loading the model: %s", device.backend.upper(), exc)
        return EXIT_OOM
    except JobInterrupted:
        pass
    finally:
        worker.release_weights()
        monitor.stop()
        server.shutdown()
    log.info("trainer stopped")
    return 0


def run_batch(db: Database, worker: Worker, batch: jobs.NewJob, settings: TrainerSettings) -> int:
    try:
        jobs.ensure_schema(db)
        row = jobs.start_batch(db, batch, settings.worker)
    except DatabaseUnavailable as exc:
        log.error("batch run %r: cannot start, database unavailable: %s", batch.name, exc)
        return 1
    log.info("batch run %r: training job %d (%d steps)", batch.name, row["id"], row["steps"])
    worker.train(row)
    final = jobs.get(db, row["id"])
    if final is None or final["status"] != "completed":
        log.error("batch run %r: job %d ended %s", batch.name, row["id"], final and final["status"])
        return 1
    log.info("batch run %r: job %d completed", batch.name, row["id"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
