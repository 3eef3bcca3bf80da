"""Reconcile loops of the sandbox: each controller owns one kind of object,
is fed keys by the store's listeners plus a periodic resync, reads desired
and observed state from the store, acts, and is idempotent."""
from __future__ import annotations

from .base import Controller, WorkQueue

__all__ = ["Controller", "WorkQueue", "all_controllers"]


def all_controllers(store, config, state_dir, usage=None) -> list[Controller]:
    """Every control-plane controller of the sandbox, in start order (each
    node's own status reporter runs with its kubelet: see gameday.sandbox.nodes).
    `config` is the SandboxConfig; `usage()` gives the kubelets' metrics (the HPA's input)."""
    from .daemonset import DaemonSetController
    from .deployment import DeploymentController
    from .disruption import DisruptionController
    from .endpoints import EndpointsController
    from .gc import GarbageCollector
    from .hpa import HpaController
    from .job import JobController
    from .node import NodeLifecycleController
    from .pvc import PvcController
    from .replicaset import ReplicaSetController
    from .scheduler import Scheduler
    from .statefulset import StatefulSetController

    life, scale = config.lifecycle, config.autoscaler
    controllers = [
        NodeLifecycleController(store, life.grace_seconds, life.default_toleration_seconds),
        PvcController(store, state_dir),
        Scheduler(store),
        DeploymentController(store),
        ReplicaSetController(store),
        StatefulSetController(store),
        DaemonSetController(store),
        JobController(store),
        EndpointsController(store),
        DisruptionController(store),
        GarbageCollector(store),
    ]
    if usage is not None:
        controllers.append(HpaController(store, usage, scale.sync_seconds, scale.tolerance,
                                         scale.downscale_stabilization_seconds))
    return controllers
