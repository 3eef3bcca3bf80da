"""Real accelerators through torch: Habana's `hpu` device and `cuda`.

torch and habana_frameworks are imported lazily, only when such a device is
opened, so the platform installs and runs without them elsewhere."""
from __future__ import annotations

from .base import Allocation, DeviceOutOfMemory, DeviceUnavailable


def _import_torch():
    try:
        import torch
    except ImportError as exc:
        raise DeviceUnavailable("torch is not installed") from exc
    return torch


class CudaDevice:
    backend = "cuda"

    def __init__(self, index: int = 0):
        torch = _import_torch()
        if not torch.cuda.is_available():
            raise DeviceUnavailable("torch.cuda reports no CUDA device")
        self._torch = torch
        self.device = torch.device("cuda", index)

    def total_bytes(self) -> int:
        return int(self._torch.cuda.mem_get_info(self.device)[1])

    def used_bytes(self) -> int:
        # Card-wide (every process), as nvidia-smi reports it.
        free, total = self._torch.cuda.mem_get_info(self.device)
        return int(total - free)

    def allocate(self, nbytes: int) -> Allocation:
        torch = self._torch
        try:
            # A plain device tensor: cudaMalloc through the caching allocator,
            # never managed memory (which could spill to host instead of OOM).
            tensor = torch.empty(int(nbytes), dtype=torch.uint8, device=self.device)
            tensor.fill_(1)  # touch it so the memory is really committed
            torch.cuda.synchronize(self.device)
        except torch.cuda.OutOfMemoryError as exc:
            free = int(torch.cuda.mem_get_info(self.device)[0])
            raise DeviceOutOfMemory(self.backend, int(nbytes), free, str(exc).splitlines()[0]) from exc
        return Allocation(int(nbytes), tensor)

    def free(self, allocation: Allocation) -> None:
        if allocation.handle is None:
            return
        allocation.handle = None
        # Give the cached blocks back to the driver so other processes see them free.
        self._torch.cuda.empty_cache()


class HpuDevice:
    backend = "hpu"

    def __init__(self):
        torch = _import_torch()
        try:
            import habana_frameworks.torch.hpu as hthpu  # noqa: F401  registers the device
        except ImportError as exc:
            raise DeviceUnavailable("habana_frameworks.torch is not installed") from exc
        if not hthpu.is_available():
            raise DeviceUnavailable("no Gaudi device is visible (habana_frameworks)")
        self._torch, self._hpu = torch, hthpu
        self.device = torch.device("hpu")

    def _stats(self) -> dict:
        return self._hpu.memory_stats()

    def total_bytes(self) -> int:
        return int(self._stats()["Limit"])

    def used_bytes(self) -> int:
        # Habana's runtime reports this process's use; hl-smi is the card-wide view.
        return int(self._stats()["InUse"])

    def allocate(self, nbytes: int) -> Allocation:
        torch = self._torch
        try:
            tensor = torch.ones(int(nbytes), dtype=torch.uint8, device=self.device)
            self._hpu.synchronize()
        except RuntimeError as exc:
            # Habana surfaces OOM as a RuntimeError naming the allocator.
            if "memory" not in str(exc).lower():
                raise
            stats = self._stats()
            free = int(stats["Limit"]) - int(stats["InUse"])
            raise DeviceOutOfMemory(self.backend, int(nbytes), free, str(exc).splitlines()[0]) from exc
        return Allocation(int(nbytes), tensor)

    def free(self, allocation: Allocation) -> None:
        allocation.handle = None
