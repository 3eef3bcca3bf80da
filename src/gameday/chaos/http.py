"""HTTP health probes through the Service's external address (found via the
Kubernetes API, as on a real cluster)."""
from __future__ import annotations

import urllib.error
import urllib.request

from .kube import poll, service_url


def get_status(url: str, timeout: float = 2.0) -> int:
    """HTTP status of GET url; 0 when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 0


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
    req = urllib.request.Request(service_url(service, ns, configuration, secrets) + path, method=method,
                                 data=body.encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
