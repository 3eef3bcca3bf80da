"""`hl-smi` for the simulated card (the sandbox's trainer image has it on
PATH; Gaudi nodes run Habana's own tool). Prints what Habana's hl-smi prints
for one card, in its layout: the summary table (no options) and the CSV
query (`-Q memory.used,memory.total -f csv[,noheader][,nounits]`), so the
runbook's `kubectl exec deployment/gaudi3-scale-trainer -- hl-smi` and
scripts parsing its CSV read the card's memory as they would on a Gaudi node.
Values the simulation does not have (power, temperature) print as N/A."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .base import DeviceUnavailable, open_device

MiB = 1024 * 1024
VERSION = "hl-1.21.0-fw-59.1.0.0 (sim)"
DRIVER = "1.21.0-sim"
NAME = "HL-325L"
BUS_ID = "0000:00:00.0"
QUERIES = ("timestamp", "name", "bus_id", "driver_version", "index", "memory.total", "memory.used", "memory.free",
           "utilization.aip", "module_id")
UNITS = {"memory.total": "MiB", "memory.used": "MiB", "memory.free": "MiB", "utilization.aip": "%"}


def _holders(device) -> list[tuple[str, int]]:
    directory = getattr(device, "directory", None)
    held: dict[str, int] = {}
    if directory is not None:
        for path in Path(directory).glob("*.alloc"):
            pid = path.stem.split("-", 1)[0]
            held[pid] = held.get(pid, 0) + int(path.stem.rsplit("-", 1)[-1])
    return sorted(held.items(), key=lambda kv: -kv[1])


def summary(device) -> str:
    used, total = device.used_bytes() // MiB, device.total_bytes() // MiB
    memory = f"{used}MiB / {total}MiB"
    lines = [
        "+-----------------------------------------------------------------------------+",
        f"| HL-SMI Version: {VERSION:>59} |",
        f"| Driver Version: {DRIVER:>59} |",
        "|-------------------------------+----------------------+----------------------+",
        "| AIP  Name       Persistence-M| Bus-Id        Disp.A | Volatile Uncor-Events|",
        "| Fan  Temp  Perf  Pwr:Usage/Cap|         Memory-Usage | AIP-Util  Compute M. |",
        "|===============================+======================+======================|",
        f"|   0  {NAME:<10}         N/A  | {BUS_ID}     N/A |                   0  |",
        f"| N/A   N/A   N/A    N/A / N/A  | {memory:>20} | {round(100 * used / total) if total else 0:>5}%           N/A |",
        "|-------------------------------+----------------------+----------------------+",
        "| Compute Processes:                                               AIP Memory |",
        "|  AIP       PID   Type   Process name                             Usage      |",
        "|=============================================================================|",
    ]
    holders = _holders(device)
    if not holders:
        lines.append("|   0        N/A   N/A    N/A                                      N/A        |")
    for pid, size in holders:
        usage = f"{size // MiB} MiB"
        lines.append(f"|   0  {pid:>8}   C      {'python':<40} {usage:<11}|")
    lines.append("+=============================================================================+")
    return "\n".join(lines)


def query(device, fields: list[str], fmt: set[str]) -> str:
    used, total = device.used_bytes() // MiB, device.total_bytes() // MiB
    values = {"timestamp": time.strftime("%a %b %d %H:%M:%S %Y"), "name": NAME, "bus_id": BUS_ID,
              "driver_version": DRIVER, "index": "0", "module_id": "0", "memory.total": str(total),
              "memory.used": str(used), "memory.free": str(total - used),
              "utilization.aip": str(round(100 * used / total) if total else 0)}
    units = "nounits" not in fmt
    out = []
    if "noheader" not in fmt:
        out.append(", ".join(f"{f} [{UNITS[f]}]" if units and f in UNITS else f for f in fields))
    out.append(", ".join(f"{values[f]} {UNITS[f]}" if units and f in UNITS else values[f] for f in fields))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hl-smi", description=__doc__.splitlines()[0])
    parser.add_argument("-Q", "--query-aip", default=None, help="comma-separated queries: " + ", ".join(QUERIES))
    parser.add_argument("-f", "--format", default="csv", help="csv[,noheader][,nounits]")
    parser.add_argument("-v", "--version", action="store_true")
    args = parser.parse_args(argv)
    if args.version:
        print(f"hl-smi {VERSION}")
        return 0
    try:
        device = open_device()
    except (DeviceUnavailable, ValueError) as exc:
        print(f"hl-smi: error: {exc}", file=sys.stderr)
        return 2
    if args.query_aip:
        fields = [f.strip() for f in args.query_aip.split(",") if f.strip()]
        unknown = [f for f in fields if f not in QUERIES]
        if unknown:
            print(f"hl-smi: error: unknown query {', '.join(unknown)} (known: {', '.join(QUERIES)})", file=sys.stderr)
            return 2
        print(query(device, fields, {p.strip() for p in args.format.split(",")}))
        return 0
    print(summary(device))
    return 0


if __name__ == "__main__":
    sys.exit(main())
