"""Safety: the rollback registry (every injected fault's undo, run always,
last in first out), signal handling that turns SIGTERM into an interrupt the
drill can clean up after, and abort conditions on the load."""
from __future__ import annotations

from ..timeline.events import Kinds

import logging
import os
import signal
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from ..timeline import TimelineWriter

log = logging.getLogger("gameday.drill.safety")


class DrillInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived: stop, roll back, report. A
    KeyboardInterrupt so that no `except Exception` swallows it and Chaos
    Toolkit treats it as the interrupt it is (and plays its rollbacks)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class Rollback:
    fault: str
    fn: Callable[[], Any]
    done: bool = False


class RollbackRegistry:
    """Undo actions for injected faults, run newest first. Each runs once
    even if `run_all` is called again (from a signal during cleanup)."""

    def __init__(self, timeline: TimelineWriter | None = None):
        self.timeline = timeline
        self._items: deque[Rollback] = deque()
        self._lock = threading.RLock()
        self.failures: list[str] = []

    def register(self, fault: str, fn: Callable[[], Any]) -> None:
        with self._lock:
            self._items.append(Rollback(fault, fn))

    def pending(self) -> list[str]:
        with self._lock:
            return [r.fault for r in self._items if not r.done]

    def run_all(self, attempts: int = 3) -> list[str]:
        """Run every pending rollback; returns the faults whose rollback failed."""
        failed: list[str] = []
        with self._lock:
            items = [r for r in reversed(self._items) if not r.done]
        for item in items:
            if self.timeline:
                self.timeline.emit("rollback_started", fault=item.fault)
            error = ""
            for _ in range(attempts):
                try:
                    item.fn()
                    error = ""
                    break
                except Exception as exc:  # retried; reported if it never works
                    error = f"{exc.__class__.__name__}: {str(exc)[:300]}"
            item.done = not error
            if error:
                failed.append(item.fault)
                self.failures.append(f"{item.fault}: {error}")
            if self.timeline:
                self.timeline.emit("rollback_finished", fault=item.fault, ok=not error,
                                   **({"error": error} if error else {}))
        return failed


class SignalGuard:
    """While active (main thread only), SIGTERM and SIGINT raise
    DrillInterrupted in the main thread. Chaos Toolkit swaps in its own
    SIGTERM handler while an experiment runs and puts this one back after,
    so its own rollbacks still trigger. `shield()` ignores signals during
    cleanup, remembering that one came."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._shielded = False
        self.active = False

    def _handler(self, signum, frame) -> None:
        self.received = signum
        if not self._shielded:
            raise DrillInterrupted(signum)

    def _abort_handler(self, signum, frame) -> None:
        # SIGUSR1 is how an abort stops a running Chaos Toolkit method; one
        # arriving just after the method ended must not kill the process
        # (its default action), the drill's own waits see the abort flag.
        pass

    def install(self) -> "SignalGuard":
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handler)
        if hasattr(signal, "SIGUSR1"):
            self._previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, self._abort_handler)
        self.active = True
        return self

    def shield(self) -> None:
        self._shielded = True

    def restore(self) -> None:
        if not self.active:
            return
        for sig, prev in self._previous.items():
            signal.signal(sig, prev)
        self.active = False


@dataclass(frozen=True)
class AbortCondition:
    """Abort when the error rate stays above `error_rate` for `seconds`
    consecutive one-second samples (samples with no requests don't count)."""

    error_rate: float
    seconds: int

    def describe(self) -> str:
        return f"error rate above {self.error_rate:.0%} for {self.seconds}s"


class AbortMonitor:
    """Fed one load sample a second; trips once."""

    def __init__(self, condition: AbortCondition | None, on_trip: Callable[[str], None]):
        self.condition = condition
        self.on_trip = on_trip
        self.streak = 0
        self.tripped: str | None = None

    def feed(self, requests: int, failures: int) -> None:
        if self.condition is None or self.tripped or requests <= 0:
            return
        if failures / requests > self.condition.error_rate:
            self.streak += 1
        else:
            self.streak = 0
        if self.streak >= self.condition.seconds:
            self.tripped = f"abort: {self.condition.describe()}"
            self.on_trip(self.tripped)


def interrupt_experiment() -> None:
    """Ask a running Chaos Toolkit experiment to stop and roll back: SIGUSR1
    is its `exit_gracefully` (only while its handlers are installed)."""
    os.kill(os.getpid(), signal.SIGUSR1)


# -- the drill's ledger: recover first, then record -----------------------------
def open_ledger(configuration: dict, timeline: TimelineWriter | None = None):
    """Before a drill touches anything: undo what earlier drills that are no
    longer alive left (said on the timeline as `recovered`), then open this
    drill's ledger and lease. Sets configuration["gameday_drill"] so the
    Chaos Toolkit providers of gameday.faults record into the same ledger.
    A cluster that cannot be read here is logged, not fatal: the drill's own
    reachability check says it properly."""
    from urllib3.exceptions import HTTPError as Unreachable

    from . import ledger as ledger_mod
    from . import recover as recover_mod
    try:
        report = recover_mod.recover(configuration)
        if timeline is not None and (report.undone or report.failed):
            timeline.emit(Kinds.recovered, faults=len(report.undone), drills=report.drills, failed=report.failed,
                          detail="; ".join(x.line() for x in report.undone)[:2000])
    except Unreachable as exc:  # the drill's reachability check says it, in one line
        log.info("recovering earlier drills' faults: cluster unreachable: %s", str(exc)[:300])
        return ledger_mod.Ledger(configuration)
    except Exception as exc:
        log.warning("recovering earlier drills' faults failed: %s: %s", exc.__class__.__name__, str(exc)[:300])
    led = ledger_mod.Ledger(configuration)
    configuration["gameday_drill"] = led.drill
    try:
        led.open()
    except Exception as exc:
        log.warning("the drill's ledger could not be opened: %s: %s", exc.__class__.__name__, str(exc)[:300])
    return ledger_mod.register(led)


def close_ledger(ledger) -> None:
    """After the rollbacks: the lease goes, and the ledger if nothing is left in it."""
    if ledger is None:
        return
    try:
        ledger.close()
    except Exception as exc:
        log.warning("closing the drill's ledger failed: %s", exc)

