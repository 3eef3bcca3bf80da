"""Running a sandbox until told to stop: in the foreground of `gameday
sandbox up --foreground`, or as the detached process `gameday sandbox up`
starts (`python -m gameday.sandbox.daemon`). SIGTERM, SIGINT and SIGHUP stop
it, and everything it started goes with it."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from ..errors import UserError
from .cluster import Sandbox


def run(state_dir: Path, config: Path | None, manifests: list[Path] | None, on_started=None) -> int:
    """Start a sandbox, call on_started(sandbox), serve until a signal; 0 when stopped cleanly."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    sb = Sandbox(state_dir, config=config, manifests=manifests, apply_default=not manifests)
    try:
        sb.start()
        if on_started is not None:
            on_started(sb)
        while not stop.wait(1.0):
            pass
    finally:
        sb.stop()
        for s, h in previous.items():
            signal.signal(s, h)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gameday.sandbox.daemon")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--manifests", type=Path, action="append")
    args = parser.parse_args(argv)
    # Detached: no terminal; the log file is stdout/stderr.
    try:
        return run(args.state_dir, args.config, args.manifests)
    except UserError as exc:
        print(f"gameday: error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
