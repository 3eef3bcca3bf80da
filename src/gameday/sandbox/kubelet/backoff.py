"""CrashLoopBackOff: the delay before the next restart of a container. Pure."""
from __future__ import annotations


def next_delay(restarts: int, base: float, cap: float) -> float:
    """Kubernetes restarts a crashed container at once the first time, then
    waits base, 2*base, 4*base, ... up to cap."""
    if restarts <= 0:
        return 0.0
    return min(cap, base * (2 ** (restarts - 1)))


def should_reset(ran_seconds: float, cap: float) -> bool:
    """A container that ran long enough without crashing starts its back-off afresh."""
    return ran_seconds >= max(2 * cap, 10.0)
