"""Accelerator memory: one small interface, three backends (hpu, cuda, sim)."""
from .base import Allocation, Device, DeviceOutOfMemory, DeviceUnavailable, open_device

__all__ = ["Allocation", "Device", "DeviceOutOfMemory", "DeviceUnavailable", "open_device"]
