"""Alert state probes: Prometheus (`/api/v1/alerts`) and Alertmanager
(`/api/v2/alerts`), both found through their Services."""
from __future__ import annotations

import json
import urllib.request

from ..httpcheck import poll
from .kube import service_url

PROMETHEUS = ("prometheus", "monitoring")
ALERTMANAGER = ("alertmanager", "monitoring")


def _get_json(url: str, timeout: float = 3.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def prometheus_firing(base_url: str) -> dict[str, dict]:
    """Alert name -> labels of alerts in state `firing` in Prometheus."""
    data = _get_json(base_url + "/api/v1/alerts")
    return {a["labels"].get("alertname", "?"): a["labels"] for a in data.get("data", {}).get("alerts", [])
            if a.get("state") == "firing"}


def alertmanager_firing(base_url: str) -> dict[str, dict]:
    """Alert name -> labels of active (not silenced) alerts in Alertmanager."""
    data = _get_json(base_url + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
    return {a["labels"].get("alertname", "?"): a["labels"] for a in data
            if (a.get("status") or {}).get("state", "active") == "active"}


def firing_alerts(configuration=None, secrets=None) -> set[str]:
    """Names of alerts firing in Prometheus or Alertmanager."""
    names: set[str] = set()
    for (svc, ns), fn in ((PROMETHEUS, prometheus_firing), (ALERTMANAGER, alertmanager_firing)):
        try:
            names |= set(fn(service_url(svc, ns, configuration, secrets)))
        except Exception:
            continue
    return names


def alert_firing(name: str, configuration=None, secrets=None) -> bool:
    return name in firing_alerts(configuration, secrets)


def alert_not_firing(name: str, configuration=None, secrets=None) -> bool:
    return name not in firing_alerts(configuration, secrets)


def wait_for_alert(name: str, timeout: float = 60, configuration=None, secrets=None) -> bool:
    """Probe that waits (bounded) until the alert fires: the on-call's pager."""
    return bool(poll(lambda: alert_firing(name, configuration, secrets), timeout, interval=0.25))


def wait_alert_resolved(name: str, timeout: float = 120, configuration=None, secrets=None) -> bool:
    return bool(poll(lambda: alert_not_firing(name, configuration, secrets), timeout, interval=0.5))
