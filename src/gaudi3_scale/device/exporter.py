"""`python -m gaudi3_scale.device.exporter`: the node's accelerator-memory
exporter (what Habana's metric exporter is on a real Gaudi node). It keeps
reporting while the trainer crashes, so an out-of-memory fault stays visible."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from prometheus_client import CollectorRegistry, disable_created_metrics

from ..httpmetrics import serve
from .base import BACKENDS, DeviceUnavailable
from .cardmemory import open_reader
from .metrics import DeviceMemoryCollector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gaudi3_scale.device.exporter", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GAUDI3_EXPORTER_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GAUDI3_EXPORTER_PORT", "9101")))
    parser.add_argument("--backend", choices=BACKENDS, default=None)
    args = parser.parse_args(argv)
    disable_created_metrics()  # fewer series for a 1 s scrape
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        device = open_reader(args.backend)
    except (DeviceUnavailable, ValueError) as exc:
        print(f"hpu exporter: error: {exc}", file=sys.stderr)
        return 2
    registry = CollectorRegistry()
    registry.register(DeviceMemoryCollector(device, os.environ.get("NODE_NAME", "unknown")))
    server = serve(args.host, args.port, registry, {"/health": lambda: (200, {"status": "ok"})})
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.info("exporting %s memory on %s:%d", device.backend, args.host, args.port)
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
