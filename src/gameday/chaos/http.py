"""HTTP health probes through the Service's external address (found via the
Kubernetes API, as on a real cluster)."""
from __future__ import annotations

from ..httpcheck import request, status as get_status
from ..httpcheck import poll
from .kube import service_url


def service_healthy(service: str, ns: str, path: str = "/health", expect: int = 200, timeout: float = 2.0,
                    configuration=None, secrets=None) -> bool:
    """Probe: GET path on the service answers `expect`."""
    return get_status(service_url(service, ns, configuration, secrets) + path, timeout) == expect


def wait_service_healthy(service: str, ns: str, path: str = "/health", expect: int = 200, timeout: float = 120,
                         configuration=None, secrets=None) -> bool:
    """Probe that waits (bounded) until the service answers `expect`."""
    base = service_url(service, ns, configuration, secrets)
    return bool(poll(lambda: get_status(base + path) == expect, timeout))


def service_status(service: str, ns: str, path: str = "/health", method: str = "GET", body: str | None = None,
                   configuration=None, secrets=None) -> int:
    """Probe: the status code of one request (for tolerance checks like 503 in maintenance)."""
    return request(method, service_url(service, ns, configuration, secrets) + path,
                   body.encode() if body is not None else None, timeout=5).status
