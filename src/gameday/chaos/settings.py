"""Runtime settings the platform reads from ConfigMap `gaudi3-scale-config`:
maintenance mode (the runbook's `kubectl patch configmap`) and injected API
latency."""
from __future__ import annotations

from .kube import core

CONFIGMAP = "gaudi3-scale-config"
NS = "gaudi3-scale"
MAINTENANCE_KEY = "maintenance_mode"
LATENCY_KEY = "api_latency_ms"


def patch_config(data: dict, name: str = CONFIGMAP, ns: str = NS, configuration=None, secrets=None) -> None:
    core(configuration, secrets).patch_namespaced_config_map(name, ns, {"data": {k: str(v) for k, v in data.items()}})


def read_config(key: str, name: str = CONFIGMAP, ns: str = NS, configuration=None, secrets=None) -> str | None:
    cm = core(configuration, secrets).read_namespaced_config_map(name, ns, _request_timeout=10)
    return (cm.data or {}).get(key)


def set_maintenance_mode(enabled: bool = True, name: str = CONFIGMAP, ns: str = NS, configuration=None, secrets=None) -> None:
    patch_config({MAINTENANCE_KEY: "true" if enabled else "false"}, name, ns, configuration, secrets)


def maintenance_mode_off(name: str = CONFIGMAP, ns: str = NS, configuration=None, secrets=None) -> bool:
    """Probe: maintenance mode is not on."""
    return (read_config(MAINTENANCE_KEY, name, ns, configuration, secrets) or "false").strip().lower() not in ("true", "1", "yes", "on")


def set_api_latency(ms: float, key: str = LATENCY_KEY, name: str = CONFIGMAP, ns: str = NS, configuration=None, secrets=None) -> None:
    patch_config({key: str(ms)}, name, ns, configuration, secrets)


def clear_api_latency(key: str = LATENCY_KEY, name: str = CONFIGMAP, ns: str = NS, configuration=None, secrets=None) -> None:
    patch_config({key: "0"}, name, ns, configuration, secrets)
