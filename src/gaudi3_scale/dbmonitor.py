"""Background watch of the database: is it up, how fast, how many jobs in
each status. Scrapes and request handlers read the last result and never wait
on the database themselves (a scrape that blocked during an outage would make
the process look down too)."""
from __future__ import annotations

import logging
import threading
import time

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import jobs
from .db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)


class DatabaseMonitor:
    def __init__(self, db: Database, registry: CollectorRegistry, interval: float = 1.0,
                 stats_every: float = 5.0, manage_schema: bool = False):
        self.db = db
        self.interval = interval
        self.stats_every = stats_every
        self.manage_schema = manage_schema
        self.up = False
        self.latency: float | None = None
        self.last_error = "not checked yet"
        self.schema_ready = False
        self.stats: jobs.JobStats | None = None
        self._stats_at = 0.0
        self._stop = threading.Event()
        self._checked = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-monitor", daemon=True)
        self._up_gauge = Gauge("gaudi3_scale_database_up", "1 when the last database check answered", registry=registry)
        self._latency_gauge = Gauge("gaudi3_scale_database_check_seconds", "Duration of the last database check", registry=registry)
        registry.register(_JobStatsCollector(self))

    def start(self) -> "DatabaseMonitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def wait_checked(self, timeout: float) -> bool:
        return self._checked.wait(timeout)

    def check_now(self) -> None:
        try:
            if self.manage_schema and not self.schema_ready:
                jobs.ensure_schema(self.db)
                self.schema_ready = True
                log.info("database schema ready (training_jobs)")
            latency = self.db.ping()
            if time.monotonic() - self._stats_at >= self.stats_every:
                self.stats = jobs.stats(self.db)
                self._stats_at = time.monotonic()
        except DatabaseUnavailable as exc:
            if self.up or not self._checked.is_set():
                log.error("database unreachable: %s", exc)
            self.up, self.last_error = False, str(exc)
            self._up_gauge.set(0)
        except Exception as exc:  # a bug or a schema problem must not kill the thread
            log.error("database check failed: %s", exc)
            self.up, self.last_error = False, str(exc)
            self._up_gauge.set(0)
        else:
            if not self.up:
                log.info("database reachable (%.0f ms)", latency * 1000)
            self.up, self.latency, self.last_error = True, latency, ""
            self._up_gauge.set(1)
            self._latency_gauge.set(latency)
        finally:
            self._checked.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check_now()
            self._stop.wait(self.interval)


class _JobStatsCollector:
    """Jobs by status and the failed-attempt count, read from the database
    (so they survive trainer restarts and every replica reports the same)."""

    def __init__(self, monitor: DatabaseMonitor):
        self.monitor = monitor

    def describe(self):
        return []

    def collect(self):
        stats = self.monitor.stats
        if stats is None:
            return
        by_status = GaugeMetricFamily("training_jobs", "Training jobs by status", labels=["status"])
        for status, count in sorted(stats.by_status.items()):
            by_status.add_metric([status], count)
        yield by_status
        yield CounterMetricFamily("training_job_failures", "Failed training attempts, ever", value=stats.failures_total)
