"""A container's environment, as Kubernetes builds it: the image's ENV, the
Service variables of the pod's namespace, envFrom, then env (each value
$(VAR)-expanded against what came before), valueFrom configMap/secret/
fieldRef/resourceFieldRef."""
from __future__ import annotations

import base64
import math
import re

from ..controllers.quantity import parse_quantity
from .rewrite import expand_vars


class EnvError(Exception):
    """A referenced ConfigMap/Secret/key is missing (CreateContainerConfigError)."""


def service_env(services: list[dict]) -> dict[str, str]:
    """FOO_SERVICE_HOST, FOO_SERVICE_PORT, FOO_PORT_8080_TCP... for each Service with a cluster IP."""
    env: dict[str, str] = {}
    for svc in services:
        ip = svc.get("spec", {}).get("clusterIP")
        ports = svc.get("spec", {}).get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        name = re.sub(r"[^A-Z0-9_]", "_", svc["metadata"]["name"].upper())
        first = ports[0]
        env[f"{name}_SERVICE_HOST"] = ip
        env[f"{name}_SERVICE_PORT"] = str(first["port"])
        env[f"{name}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"
        for p in ports:
            proto = p.get("protocol", "TCP")
            if p.get("name"):
                env[f"{name}_SERVICE_PORT_{re.sub(r'[^A-Z0-9_]', '_', p['name'].upper())}"] = str(p["port"])
            prefix = f"{name}_PORT_{p['port']}_{proto}"
            env[prefix] = f"{proto.lower()}://{ip}:{p['port']}"
            env[f"{prefix}_PROTO"] = proto.lower()
            env[f"{prefix}_PORT"] = str(p["port"])
            env[f"{prefix}_ADDR"] = ip
    return env


def _field(pod: dict, path: str) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    m = re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    values = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"), "status.podIP": status.get("podIP"),
        "status.podIPs": status.get("podIP"), "status.hostIP": status.get("hostIP"),
        "status.hostIPs": status.get("hostIP"),
    }
    if path not in values:
        raise EnvError(f"unsupported fieldRef {path!r}")
    return str(values[path] or "")


def _resource(container: dict, ref: dict) -> str:
    res = container.get("resources") or {}
    kind, _, what = ref.get("resource", "").partition(".")
    value = (res.get(kind) or {}).get(what)
    if value is None and kind == "requests":
        value = (res.get("limits") or {}).get(what)
    if value is None:
        return "0"
    divisor = parse_quantity(ref.get("divisor", "1") or "1")
    return str(int(math.ceil(parse_quantity(value) / divisor)))


def build_env(pod: dict, container: dict, *, image_env: dict[str, str], services: list[dict],
              lookup: callable) -> dict[str, str]:
    """The container's variables. `lookup(kind, name)` returns a ConfigMap's
    or Secret's data as str -> str (decoded), or None when missing."""
    env: dict[str, str] = dict(image_env)
    env.update(service_env(services))
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind in ("configMapRef", "secretRef"):
            ref = src.get(kind)
            if ref is None:
                continue
            data = lookup(kind, ref.get("name"))
            if data is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'{"configmap" if kind == "configMapRef" else "secret"} "{ref.get("name")}" not found')
            for k, v in data.items():
                env[prefix + k] = v
    for var in container.get("env") or []:
        name = var.get("name")
        if "valueFrom" not in var:
            env[name] = expand_vars(str(var.get("value", "")), env)
            continue
        src = var["valueFrom"] or {}
        if "fieldRef" in src:
            env[name] = _field(pod, src["fieldRef"].get("fieldPath", ""))
        elif "resourceFieldRef" in src:
            env[name] = _resource(container, src["resourceFieldRef"])
        else:
            kind = "configMapRef" if "configMapKeyRef" in src else "secretRef"
            ref = src.get("configMapKeyRef") or src.get("secretKeyRef") or {}
            data = lookup(kind, ref.get("name"))
            label = "configmap" if kind == "configMapRef" else "secret"
            if data is None or ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                what = f'{label} "{ref.get("name")}" not found' if data is None else \
                    f'couldn\'t find key {ref.get("key")} in {label.capitalize()} {pod["metadata"]["namespace"]}/{ref.get("name")}'
                raise EnvError(what)
            env[name] = data[ref["key"]]
    return env


def decode_secret(secret: dict) -> dict[str, str]:
    out = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode("utf-8", "replace")
        except (ValueError, TypeError):
            out[k] = ""
    out.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return out
