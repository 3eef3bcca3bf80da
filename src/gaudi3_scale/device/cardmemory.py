"""Card-wide memory read the way node tools read it, without opening the
device: an exporter must never take the card (a Gaudi card serves one process
at a time). sim: the ledger; hpu: `hl-smi`; cuda: `nvidia-smi`."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from .base import DeviceUnavailable

MiB = 1024 * 1024
_QUERIES = {
    "hpu": ("hl-smi", ["-Q", "memory.used,memory.total", "-f", "csv,noheader,nounits"]),
    "cuda": ("nvidia-smi", ["--query-gpu=memory.used,memory.total", "--format=csv,noheader,nounits", "-i", "0"]),
}


def parse_smi_csv(text: str) -> tuple[int, int]:
    """First card of `used, total` in MiB (both tools' CSV) -> bytes. Pure."""
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0].replace(".", "", 1).isdigit():
            return int(float(parts[0]) * MiB), int(float(parts[1]) * MiB)
    raise ValueError(f"no memory figures in: {text.strip()[:200]!r}")


@dataclass
class SmiReader:
    backend: str

    def __post_init__(self):
        tool, self._args = _QUERIES[self.backend]
        self._tool = shutil.which(tool)
        if self._tool is None:
            raise DeviceUnavailable(f"{tool} is not installed")

    def _read(self) -> tuple[int, int]:
        out = subprocess.run([self._tool, *self._args], capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError(f"{self._tool} failed: {(out.stderr or out.stdout).strip()[:200]}")
        return parse_smi_csv(out.stdout)

    def used_bytes(self) -> int:
        return self._read()[0]

    def total_bytes(self) -> int:
        return self._read()[1]


def open_reader(backend: str | None = None):
    """Something with .backend, used_bytes() and total_bytes() for the card."""
    import os

    name = (backend or os.environ.get("GAUDI3_DEVICE") or "sim").strip().lower()
    if name == "sim":
        from .sim import SimDevice

        return SimDevice.from_env()
    if name in _QUERIES:
        return SmiReader(name)
    raise ValueError(f"unknown device backend {name!r}: choose one of sim, hpu, cuda")
