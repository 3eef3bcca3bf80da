"""How a drill ended: the values of `drill_finished.outcome` and of a run's
result. A str enum, so the timeline's JSON keeps the plain words."""
from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    FINISHED = "finished"            # ran to the end; the verdict says whether it met its SLA
    NOT_RUN = "not-run"              # the steady state did not hold before the fault
    ABORTED = "aborted"              # an abort condition tripped
    INTERRUPTED = "interrupted"      # Ctrl-C or SIGTERM; faults rolled back
    ERROR = "error"                  # an exception in the drill
    ROLLBACK_FAILED = "rollback-failed"

    def __str__(self) -> str:
        return self.value
