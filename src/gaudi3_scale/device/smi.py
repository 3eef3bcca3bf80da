"""`python -m gaudi3_scale.device.smi`: the card's memory at a glance, the
part of `hl-smi` / `nvidia-smi` the runbook's HPU-memory procedure reads.
On the sim card it also lists which processes hold memory."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .base import BACKENDS, DeviceUnavailable, open_device

MiB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gaudi3_scale.device.smi", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default=None)
    args = parser.parse_args(argv)
    try:
        device = open_device(args.backend)
    except (DeviceUnavailable, ValueError) as exc:
        print(f"smi: error: {exc}", file=sys.stderr)
        return 2
    used, total = device.used_bytes(), device.total_bytes()
    print(f"{'Backend':<8} {'Memory-Usage':>28} {'Util':>6}")
    print(f"{device.backend:<8} {used // MiB:>12}MiB / {total // MiB:>9}MiB {used / total:>6.0%}")
    directory = getattr(device, "directory", None)
    if directory is not None:
        holders: dict[str, int] = {}
        for path in Path(directory).glob("*.alloc"):
            pid, _, size = path.stem.split("-", 2)
            holders[pid] = holders.get(pid, 0) + int(size.rsplit("-", 1)[-1])
        print("Processes:")
        for pid, size in sorted(holders.items(), key=lambda kv: -kv[1]):
            print(f"  pid {pid:>8} {size // MiB:>12}MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
