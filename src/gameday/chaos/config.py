"""ConfigMap keys a platform reads at runtime (a maintenance switch, an
injected latency): set one, read one back. Names come from the caller."""
from __future__ import annotations

from .kube import core


def set_config(configmap: str, ns: str, key: str, value, configuration=None, secrets=None) -> None:
    core(configuration, secrets).patch_namespaced_config_map(configmap, ns, {"data": {key: str(value)}})


def read_config(configmap: str, ns: str, key: str, configuration=None, secrets=None) -> str | None:
    cm = core(configuration, secrets).read_namespaced_config_map(configmap, ns, _request_timeout=10)
    return (cm.data or {}).get(key)
