"""Fault kinds: what a drill can do to a cluster, with targets as
parameters (never platform names), each with its rollback. Every fault is
recorded in the cluster before it is applied (see `gameday.faults.marks` and
`gameday.drill.ledger`), so `gameday recover` can undo it whoever ran it.

    from gameday.faults import KINDS
    kind = KINDS["pod-kill"]
    params = kind.validate({"selector": "app=web", "namespace": "shop"}, "features/x.feature:12")
    state = kind.inject(configuration, ledger, **params)
    kind.rollback(configuration, state, **params)
"""
from __future__ import annotations

from .accelerator import ACCELERATOR_HOG
from .base import FaultKind, Param
from .config import CONFIG_SET
from .network import NETWORK_CUT, NETWORK_DELAY, NETWORK_LOSS
from .nodes import NODE_DRAIN
from .pods import POD_KILL, PROCESS_FREEZE
from .workloads import SET_IMAGE, WORKLOAD_SCALE

KINDS: dict[str, FaultKind] = {k.name: k for k in (
    POD_KILL, PROCESS_FREEZE, WORKLOAD_SCALE, NETWORK_CUT, NETWORK_DELAY, NETWORK_LOSS, CONFIG_SET, SET_IMAGE,
    NODE_DRAIN, ACCELERATOR_HOG)}

__all__ = ["KINDS", "FaultKind", "Param"]
