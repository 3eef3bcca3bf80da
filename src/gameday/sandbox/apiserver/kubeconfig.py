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
    """Write it readable by its owner only (it holds the token), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(kubeconfig_dict(server, ca_pem, token, cluster_name, user, namespace), fh,
                       sort_keys=False)
    os.replace(tmp, path)
    return path
