"""Reconcile loops of the sandbox: each controller owns one kind of object,
is fed keys by the store's listeners plus a periodic resync, reads desired
and observed state from the store, acts, and is idempotent."""
from __future__ import annotations

from .base import Controller, WorkQueue

__all__ = ["Controller", "WorkQueue", "all_controllers"]


def all_controllers(store, node_name: str, node_config, state_dir) -> list[Controller]:
    """Every controller of the sandbox, in start order."""
    from .deployment import DeploymentController
    from .endpoints import EndpointsController
    from .gc import GarbageCollector
    from .job import JobController
    from .node import NodeController
    from .pvc import PvcController
    from .replicaset import ReplicaSetController
    from .scheduler import Scheduler
    from .statefulset import StatefulSetController

    return [
        NodeController(store, node_config),
        PvcController(store, state_dir),
        Scheduler(store, node_name),
        DeploymentController(store),
        ReplicaSetController(store),
        StatefulSetController(store),
        JobController(store),
        EndpointsController(store),
        GarbageCollector(store),
    ]
