"""`python -m gaudi3_scale.device.selftest --backend cuda|hpu|sim`: allocate,
report used/total, prove an over-allocation raises OOM, free. Exit 0 when all
checks pass, 1 on a failed check, 77 (skipped) when the backend cannot run here."""
from __future__ import annotations

import argparse
import json
import sys

from .base import BACKENDS, DeviceOutOfMemory, DeviceUnavailable, open_device

SKIPPED = 77


def run(backend: str | None) -> dict:
    device = open_device(backend)
    total = device.total_bytes()
    before = device.used_bytes()
    chunk = max(total // 10, 1)
    allocation = device.allocate(chunk)
    during = device.used_bytes()
    oom = False
    try:
        extra = device.allocate(total * 2)
        device.free(extra)
    except DeviceOutOfMemory:
        oom = True
    device.free(allocation)
    after = device.used_bytes()
    return {
        "backend": device.backend, "total_bytes": total, "used_before": before,
        "allocated": chunk, "used_during": during, "used_after": after,
        "checks": {
            "allocation_visible": during - before >= chunk * 0.9,
            "over_allocation_raises_oom": oom,
            "freed": after < during,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gaudi3_scale.device.selftest")
    parser.add_argument("--backend", choices=BACKENDS, default=None)
    args = parser.parse_args(argv)
    try:
        report = run(args.backend)
    except DeviceUnavailable as exc:
        print(json.dumps({"backend": args.backend, "skipped": str(exc)}))
        return SKIPPED
    print(json.dumps(report, indent=2))
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
