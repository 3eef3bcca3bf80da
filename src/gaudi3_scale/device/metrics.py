"""Card memory as Prometheus gauges, read at scrape time (hl-smi's view)."""
from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


class DeviceMemoryCollector:
    def __init__(self, device, node: str):
        self.device, self.node = device, node

    def describe(self):
        return []

    def collect(self):
        try:
            used, total = self.device.used_bytes(), self.device.total_bytes()
            if used < 0 or total <= 0:
                raise ValueError(f"implausible figures used={used} total={total}")
        except Exception as exc:  # a scrape must not fail because the card hiccuped
            log.error("cannot read %s memory: %s", self.device.backend, exc)
            return
        labels = ["node", "backend"]
        for name, doc, value in (
            ("hpu_memory_used_bytes", "Accelerator memory in use on the card, all processes", used),
            ("hpu_memory_total_bytes", "Accelerator memory capacity", total),
        ):
            family = GaugeMetricFamily(name, doc, labels=labels)
            family.add_metric([self.node, self.device.backend], value)
            yield family
