"""Cut pods off the network with a NetworkPolicy (deny all ingress to the
selected pods), and remove it. The sandbox enforces it in its service proxy;
a real cluster's CNI does."""
from __future__ import annotations

from .kube import ignore_not_found, networking

MARK = {"app.kubernetes.io/managed-by": "gameday"}


def deny_ingress(name: str, ns: str, pod_selector: dict, configuration=None, secrets=None) -> str:
    """Create (or replace) a policy that denies all ingress to the pods."""
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns, "labels": dict(MARK)},
            "spec": {"podSelector": {"matchLabels": dict(pod_selector)}, "policyTypes": ["Ingress"], "ingress": []}}
    api = networking(configuration, secrets)
    ignore_not_found(api.delete_namespaced_network_policy, name, ns)
    api.create_namespaced_network_policy(ns, body)
    return name


def remove_policy(name: str, ns: str, configuration=None, secrets=None) -> None:
    """Delete the policy; already gone is fine (rollbacks are idempotent)."""
    ignore_not_found(networking(configuration, secrets).delete_namespaced_network_policy, name, ns)


def policy_absent(name: str, ns: str, configuration=None, secrets=None) -> bool:
    from kubernetes.client.rest import ApiException
    try:
        networking(configuration, secrets).read_namespaced_network_policy(name, ns, _request_timeout=10)
        return False
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
