"""The Kubernetes client for providers: built per (kubeconfig, context) from
`configuration`/`secrets`/environment, never the module-global config (which
the kubernetes client reads once)."""
from __future__ import annotations

import os
import threading
from typing import Any

from chaoslib.exceptions import ActivityFailed

_clients: dict[tuple[str, str | None], Any] = {}
_lock = threading.Lock()


def _lookup(key: str, configuration: dict | None, secrets: dict | None) -> str | None:
    for source in (configuration or {}, secrets or {}):
        if source.get(key):
            return str(source[key])
    for source in (secrets or {}).values() if isinstance(secrets, dict) else ():
        if isinstance(source, dict) and source.get(key):
            return str(source[key])
    return None


def kubeconfig_and_context(configuration: dict | None = None, secrets: dict | None = None) -> tuple[str, str | None]:
    path = (_lookup("kubeconfig_path", configuration, secrets) or _lookup("KUBECONFIG", configuration, secrets)
            or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
    context = (_lookup("kubernetes_context", configuration, secrets) or _lookup("KUBERNETES_CONTEXT", configuration, secrets)
               or os.environ.get("KUBERNETES_CONTEXT") or None)
    return os.path.expanduser(path.split(os.pathsep)[0]), context


def api_client(configuration: dict | None = None, secrets: dict | None = None):
    from kubernetes import config
    key = kubeconfig_and_context(configuration, secrets)
    with _lock:
        if key not in _clients:
            if not os.path.exists(key[0]):
                raise ActivityFailed(f"kubeconfig {key[0]} not found; set KUBECONFIG or configuration.kubeconfig_path")
            _clients[key] = config.new_client_from_config(config_file=key[0], context=key[1])
        return _clients[key]


def core(configuration=None, secrets=None):
    from kubernetes import client
    return client.CoreV1Api(api_client(configuration, secrets))


def apps(configuration=None, secrets=None):
    from kubernetes import client
    return client.AppsV1Api(api_client(configuration, secrets))


def networking(configuration=None, secrets=None):
    from kubernetes import client
    return client.NetworkingV1Api(api_client(configuration, secrets))


def ignore_not_found(fn, *args, **kwargs):
    """Call fn; a 404 means already gone (rollbacks are idempotent)."""
    from kubernetes.client.rest import ApiException
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def service_url(name: str, namespace: str, configuration=None, secrets=None) -> str:
    """External http://HOST:PORT of a Service: configuration.service_urls
    override, else its load-balancer ingress."""
    overrides = (configuration or {}).get("service_urls") or {}
    if f"{name}.{namespace}" in overrides:
        return overrides[f"{name}.{namespace}"].rstrip("/")
    svc = core(configuration, secrets).read_namespaced_service(name, namespace, _request_timeout=10)
    for ing in (svc.status.load_balancer.ingress or []) if svc.status and svc.status.load_balancer else []:
        host = ing.ip or ing.hostname
        ports = [p.port for p in (ing.ports or []) if p.port] or [p.port for p in svc.spec.ports or []]
        if host and ports:
            return f"http://{host}:{ports[0]}"
    raise ActivityFailed(f"service {name}.{namespace} has no external address; set configuration.service_urls")
