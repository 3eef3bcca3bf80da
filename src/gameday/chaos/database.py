"""Database outages: kill the PostgreSQL pod, scale its StatefulSet to zero
(and back), cut it off with a NetworkPolicy."""
from __future__ import annotations

from . import network, workload

DEFAULT_NS = "database"
DEFAULT_NAME = "postgres"
DEFAULT_SELECTOR = "app.kubernetes.io/name=postgres"
POLICY = "gameday-cut-off-database"


def kill_database_pod(ns: str = DEFAULT_NS, label_selector: str = DEFAULT_SELECTOR, configuration=None, secrets=None) -> list[str]:
    return workload.kill_pods(label_selector, ns, qty=1, configuration=configuration, secrets=secrets)


def scale_database(replicas: int, name: str = DEFAULT_NAME, ns: str = DEFAULT_NS, configuration=None, secrets=None) -> None:
    workload.scale_statefulset(name, replicas, ns, configuration, secrets)


def cut_off_database(ns: str = DEFAULT_NS, pod_labels: dict | None = None, configuration=None, secrets=None) -> str:
    return network.deny_ingress(POLICY, ns, pod_labels or {"app.kubernetes.io/name": DEFAULT_NAME}, configuration, secrets)


def restore_database_network(ns: str = DEFAULT_NS, configuration=None, secrets=None) -> None:
    network.remove_policy(POLICY, ns, configuration, secrets)


def database_ready(name: str = DEFAULT_NAME, ns: str = DEFAULT_NS, configuration=None, secrets=None) -> bool:
    return workload.statefulset_ready(name, ns, configuration, secrets)
