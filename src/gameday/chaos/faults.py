"""The named faults the Drill facade injects (`drill.inject(name, **params)`),
each with the rollback that undoes it. Actions and rollbacks take the
provider `configuration` (kubeconfig and context) plus the fault's params;
rollbacks are idempotent so running one twice is harmless."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import accelerator, database, settings, workload

API_NS = "gaudi3-scale"
API_SELECTOR = "app.kubernetes.io/component=api"
API_DEPLOYMENT = "gaudi3-scale-api"


@dataclass(frozen=True)
class Fault:
    name: str
    doc: str
    action: Callable[..., Any]
    rollback: Callable[..., Any] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)


def _no_rollback(**_: Any) -> None:
    return None


def _restore_image(configuration, name=API_DEPLOYMENT, ns=API_NS, previous_image=None, **_):
    if previous_image:
        workload.ensure_image(name, previous_image, ns, configuration=configuration)


def _set_bad_image(configuration, name=API_DEPLOYMENT, ns=API_NS, image="ghcr.io/gaudi3-scale/api:broken", **_):
    return {"previous_image": workload.set_image(name, image, ns, configuration=configuration)}


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("kill-api-pod", "Kill `qty` API pods (default one; grace_period 0: a crash).",
          lambda configuration, qty=1, grace_period=0, **_: workload.kill_pods(
              API_SELECTOR, API_NS, qty=qty, grace_period=grace_period, configuration=configuration)),
    Fault("kill-all-api-pods", "Kill every API pod at once (P0 outage).",
          lambda configuration, **_: workload.kill_pods(API_SELECTOR, API_NS, all=True, configuration=configuration)),
    Fault("kill-database-pod", "Kill the PostgreSQL pod.",
          lambda configuration, **_: database.kill_database_pod(configuration=configuration)),
    Fault("scale-database-to-zero", "Scale the PostgreSQL StatefulSet to 0 (rollback: back to `replicas`).",
          lambda configuration, **_: database.scale_database(0, configuration=configuration),
          lambda configuration, replicas=1, **_: database.scale_database(replicas, configuration=configuration)),
    Fault("cut-off-database", "Deny all ingress to PostgreSQL with a NetworkPolicy (rollback: delete it).",
          lambda configuration, **_: database.cut_off_database(configuration=configuration),
          lambda configuration, **_: database.restore_database_network(configuration=configuration)),
    Fault("hpu-hog", "Take the trainer node's accelerator memory with hpu-hog (rollback: delete the hog pod).",
          lambda configuration, fraction=0.95, hold_seconds=60, **_: accelerator.start_hpu_hog(
              fraction=fraction, hold_seconds=hold_seconds, configuration=configuration),
          lambda configuration, **_: accelerator.stop_hpu_hog(configuration=configuration)),
    Fault("maintenance-mode", "Turn maintenance mode on (rollback: off).",
          lambda configuration, **_: settings.set_maintenance_mode(True, configuration=configuration),
          lambda configuration, **_: settings.set_maintenance_mode(False, configuration=configuration)),
    Fault("api-latency", "Slow every API response by `ms` (rollback: 0).",
          lambda configuration, ms=1500, **_: settings.set_api_latency(ms, configuration=configuration),
          lambda configuration, **_: settings.clear_api_latency(configuration=configuration)),
    Fault("failing-rollout", "Roll the API out to an image that cannot start (rollback: the previous image).",
          _set_bad_image, _restore_image),
    Fault("drain-node", "Cordon the node and evict the API pods (rollback: uncordon).",
          lambda configuration, **_: workload.drain_node(pod_selector=API_SELECTOR, ns=API_NS, configuration=configuration),
          lambda configuration, **_: workload.uncordon_all_nodes(configuration=configuration)),
)}
