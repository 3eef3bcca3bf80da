"""`hpu-hog`: take a fraction of the accelerator's memory, hold it, give it back.

The fault the HPU out-of-memory experiments inject, the same on a real card:
    hpu-hog --fraction 0.9 --hold 30s --backend sim|hpu|cuda
It grabs memory in chunks, retrying as other processes free theirs (like a
greedy neighbour job), holds it for --hold, then frees it; SIGTERM and SIGINT
free it at once."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from ..durations import parse_duration
from .base import BACKENDS, DeviceOutOfMemory, DeviceUnavailable, open_device

CHUNKS = 32


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--fraction must be a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"--fraction must be in (0, 1], got {value}")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hpu-hog", description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=_fraction, default=0.9, help="share of the card's total memory (default 0.9)")
    parser.add_argument("--hold", type=_duration, default=30.0, help="how long to hold it (default 30s)")
    parser.add_argument("--backend", choices=BACKENDS, default=None, help="device backend (default $GAUDI3_DEVICE, else sim)")
    parser.add_argument("--grab-timeout", type=_duration, default=15.0,
                        help="how long to keep retrying for memory other processes still hold (default 15s)")
    return parser


def grab(device, target: int, deadline: float, stop: threading.Event) -> list:
    """Allocate `target` bytes in chunks, retrying until `deadline`."""
    chunk = max(target // CHUNKS, 1)
    held, got = [], 0
    while got < target and not stop.is_set():
        size = min(chunk, target - got)
        try:
            held.append(device.allocate(size))
            got += size
        except DeviceOutOfMemory:
            if time.monotonic() >= deadline:
                break
            stop.wait(0.05)  # someone else holds it; their next free lets us in
    return held


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device = open_device(args.backend)
    except (DeviceUnavailable, ValueError) as exc:
        print(f"hpu-hog: error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    total = device.total_bytes()
    target = int(total * args.fraction)
    held = grab(device, target, time.monotonic() + args.grab_timeout, stop)
    got = sum(a.nbytes for a in held)
    try:
        print(f"hpu-hog: holding {got} of {target} bytes requested ({got / total:.0%} of {total}) "
              f"on {device.backend} for {args.hold:g}s", flush=True)
        stop.wait(args.hold)
    finally:
        for allocation in held:
            device.free(allocation)
        print(f"hpu-hog: freed {got} bytes", flush=True)
    if got < target:
        print(f"hpu-hog: error: could take only {got} of {target} bytes within {args.grab_timeout:g}s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
