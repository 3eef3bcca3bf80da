"""A kubeconfig for the sandbox: its CA inline, a bearer-token user, one context."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml


def kubeconfig_dict(server: str, ca_pem: bytes, token: str, cluster_name: str = "gameday-sandbox",
                    user: str = "gameday-admin", namespace: str | None = None) -> dict:
    context: dict = {"cluster": cluster_name, "user": user}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster_name, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        }}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster_name, "context": context}],
        "current-context": cluster_name,
    }


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, token: str,
                     cluster_name: str = "gameday-sandbox", user: str = "gameday-admin",
                     namespace: str | None = None) -> Path:
    """The admin's kubeconfig (kubeconfig_dict), written as _write_private writes."""
    return _write_private(Path(path), kubeconfig_dict(server, ca_pem, token, cluster_name, user, namespace))


def _write_private(path: Path, doc: dict) -> Path:
    """Write it readable by its owner only (it holds a token), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    os.replace(tmp, path)
    return path


SERVICE_ACCOUNTS = object()  # context_namespace's default: the ServiceAccount's own namespace


def service_account_kubeconfig(admin_kubeconfig: Path | str, namespace: str, name: str, path: Path | str,
                               seconds: int = 24 * 3600, context_namespace: str | None | object = SERVICE_ACCOUNTS
                               ) -> Path:
    """A kubeconfig whose user is a ServiceAccount: its server and CA from
    `admin_kubeconfig`, a token from TokenRequest (what `kubectl create token
    NAME -n NS` asks for), so everything run with it is held to the
    ServiceAccount's RBAC. Its context's namespace is `context_namespace`:
    by default the ServiceAccount's, None for none (kubectl's `default`).
    Raises kubernetes.client.ApiException as the server answers (404: no
    such ServiceAccount)."""
    from kubernetes import client, config

    data = yaml.safe_load(Path(admin_kubeconfig).read_text())
    ctx_name = data.get("current-context")
    ctx = next(c["context"] for c in data["contexts"] if c["name"] == ctx_name)
    cluster = next(c for c in data["clusters"] if c["name"] == ctx["cluster"])
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(admin_kubeconfig)))
    answer = api.create_namespaced_service_account_token(name, namespace, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)))
    user = f"system:serviceaccount:{namespace}:{name}"
    context = {"cluster": cluster["name"], "user": user}
    if context_namespace is SERVICE_ACCOUNTS:
        context_namespace = namespace
    if context_namespace:
        context["namespace"] = context_namespace
    return _write_private(Path(path), {"apiVersion": "v1", "kind": "Config", "preferences": {},
                                       "clusters": [cluster],
                                       "users": [{"name": user, "user": {"token": answer.status.token}}],
                                       "contexts": [{"name": cluster["name"], "context": context}],
                                       "current-context": cluster["name"]})
