"""The accelerator memory interface every backend implements.

The trainer and `hpu-hog` speak only to this interface, so the same fault
(another process taking the card's memory) behaves alike on a Gaudi card
(`hpu`), a CUDA GPU (`cuda`) and the simulated card the sandbox uses (`sim`)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

BACKENDS = ("sim", "hpu", "cuda")
BACKEND_ENV = "GAUDI3_DEVICE"


class DeviceOutOfMemory(Exception):
    """The card has not enough free memory for an allocation. Backends raise a
    subclass (or chain the framework's own OOM error as the cause)."""

    def __init__(self, backend: str, requested: int, free: int, detail: str = ""):
        self.backend, self.requested, self.free = backend, requested, free
        super().__init__(
            f"{backend} out of memory: requested {requested} bytes, {free} free"
            + (f" ({detail})" if detail else "")
        )


class DeviceUnavailable(Exception):
    """The backend cannot run here (framework not installed, no card)."""


@dataclass
class Allocation:
    """Memory held on the card until `Device.free` (or process exit)."""

    nbytes: int
    handle: object = field(repr=False, default=None)


class Device(Protocol):
    backend: str

    def total_bytes(self) -> int:
        """Capacity of the card."""

    def used_bytes(self) -> int:
        """Memory in use on the whole card, by every process (what hl-smi or
        nvidia-smi would show), not only this one."""

    def allocate(self, nbytes: int) -> Allocation:
        """Take `nbytes` of card memory; raises DeviceOutOfMemory."""

    def free(self, allocation: Allocation) -> None:
        """Give an allocation back (idempotent)."""


def open_device(backend: str | None = None) -> Device:
    """The device for `backend`, or the one named by $GAUDI3_DEVICE (sim when
    unset: the container image for real clusters sets hpu)."""
    name = (backend or os.environ.get(BACKEND_ENV) or "sim").strip().lower()
    if name == "sim":
        from .sim import SimDevice

        return SimDevice.from_env()
    if name == "hpu":
        from .torch_backends import HpuDevice

        return HpuDevice()
    if name == "cuda":
        from .torch_backends import CudaDevice

        return CudaDevice()
    raise ValueError(f"unknown device backend {name!r}: choose one of {', '.join(BACKENDS)}")
