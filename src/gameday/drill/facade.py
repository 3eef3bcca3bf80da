"""The Drill facade. Work in progress: signatures are the contract."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from ..sla import Sla, Verdict
from ..target import Target


class SteadyStateNotMet(Exception):
    """The platform was not at steady state before the fault: the drill did not run."""


class DrillAborted(Exception):
    """An abort condition tripped (e.g. error rate over its bound for N seconds)."""


class Drill:
    """One drill against a target: load, watchers, faults with rollbacks, the
    timeline, the verdict. Use as a context manager (close() always runs).

        with Drill(target, "api-pod-kill", "reports") as d:
            d.start_load(users=10)
            d.confirm_steady_state()
            d.inject("kill-api-pod")
            d.wait_for_alert("ApiDown", within=30)
            with d.step("restart-api"):
                ...
            d.wait_recovered(within=90, settle=3)
            verdict = d.judge(["time_to_recover <= 90s"])
    """

    def __init__(self, target: Target, name: str, reports_dir: str | Path = "reports", *,
                 detection_alert: str | None = None, live=None):
        raise NotImplementedError

    def start_load(self, users: int = 10, spawn_rate: float | None = None, workers: int = 0,
                   host: str | None = None) -> None:
        """Start Locust (own processes) against the API service; one
        `load_sample` a second and `writes_acked` go to the timeline."""

    def confirm_steady_state(self, within: float = 120.0, settle: float = 2.0) -> None:
        """Wait (bounded) until the steady-state checks hold for `settle`
        seconds; raises SteadyStateNotMet with the reason otherwise."""

    def inject(self, fault: str, **params) -> None:
        """Inject a named fault (gameday.chaos.faults.FAULTS) and register its rollback."""

    def wait_for_alert(self, name: str, within: float) -> float | None:
        """Seconds from the fault to `name` firing, or None if it did not within the bound."""

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Record a runbook step's start and finish around the block."""
        yield

    def wait_recovered(self, within: float, settle: float = 3.0) -> float | None:
        """Seconds from the fault until steady state held (for `settle`
        seconds), or None if not within the bound."""

    def verify_writes(self) -> list[str]:
        """Read back every acknowledged job id; returns the missing ones."""

    def judge(self, slas: list[str | Sla]) -> Verdict:
        """The verdict from the timeline alone."""

    def close(self) -> None:
        """Roll back every fault (always), stop load and watchers, finish the timeline and reports."""
