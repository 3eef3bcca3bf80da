"""A pod's volumes as directories: emptyDir under the pod's directory,
configMap/secret/downwardAPI/projected materialized as files (their content
rewritten like the container's strings), persistentVolumeClaim as the claim's
directory, hostPath under the sandbox's state directory (the node's disk)."""
from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Callable

from ..controllers.pvc import claim_dir


class VolumeError(Exception):
    """A volume cannot be set up yet (missing ConfigMap, unbound claim)."""


def _write_items(target: Path, data: dict[str, bytes], items: list | None, mode: int | None,
                 rewrite: Callable[[str], str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, tuple[bytes, int | None]] = {}
    if items:
        for item in items:
            if item.get("key") in data:
                wanted[item.get("path") or item["key"]] = (data[item["key"]], item.get("mode"))
    else:
        wanted = {k: (v, None) for k, v in data.items()}
    for rel, (content, item_mode) in wanted.items():
        try:
            content = rewrite(content.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            pass  # binary data stays as it is
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_bytes() == content:
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(content)
        os.chmod(tmp, item_mode if item_mode is not None else (mode if mode is not None else 0o644))
        os.replace(tmp, path)  # atomic, as the kubelet's symlink swap is


def host_path(vol: dict, pod_dir: Path, state_dir: Path, pvc_lookup: Callable[[str], dict | None]) -> Path:
    """Where a volume lives on the node's disk (raises VolumeError for an unbound claim)."""
    if "persistentVolumeClaim" in vol:
        claim = vol["persistentVolumeClaim"].get("claimName")
        pvc = pvc_lookup(claim)
        if pvc is None:
            raise VolumeError(f'persistentvolumeclaim "{claim}" not found')
        if (pvc.get("status") or {}).get("phase") != "Bound":
            raise VolumeError(f'persistentvolumeclaim "{claim}" is not bound')
        return claim_dir(state_dir, pvc)
    if "hostPath" in vol:
        return state_dir / "hostpath" / vol["hostPath"].get("path", "/").lstrip("/")
    return pod_dir / "volumes" / vol["name"]


def materialize(pod: dict, pod_dir: Path, state_dir: Path, *, lookup: Callable[[str, str], dict | None],
                pvc_lookup: Callable[[str], dict | None], rewrite: Callable[[str], str],
                field: Callable[[str], str]) -> dict[str, Path]:
    """Create or refresh every volume; return volume name -> host directory.
    `lookup(kind, name)` gives a ConfigMap's/Secret's raw data (str -> bytes)."""
    out: dict[str, Path] = {}
    for vol in pod.get("spec", {}).get("volumes") or []:
        name = vol["name"]
        target = pod_dir / "volumes" / name
        if "emptyDir" in vol:
            target.mkdir(parents=True, exist_ok=True)
        elif "configMap" in vol or "secret" in vol:
            src = vol.get("configMap") or vol.get("secret") or {}
            kind = "configMap" if "configMap" in vol else "secret"
            ref = src.get("name") if kind == "configMap" else src.get("secretName")
            data = lookup(kind, ref)
            if data is None:
                if not src.get("optional"):
                    raise VolumeError(f'{kind.lower()} "{ref}" not found')
                data = {}
            _write_items(target, data, src.get("items"), src.get("defaultMode"), rewrite)
        elif "downwardAPI" in vol:
            data = {i["path"]: field(i["fieldRef"]["fieldPath"]).encode()
                    for i in vol["downwardAPI"].get("items") or [] if "fieldRef" in i}
            _write_items(target, data, None, vol["downwardAPI"].get("defaultMode"), rewrite)
        elif "projected" in vol:
            data: dict[str, bytes] = {}
            for source in vol["projected"].get("sources") or []:
                if "configMap" in source or "secret" in source:
                    kind = "configMap" if "configMap" in source else "secret"
                    src = source[kind]
                    got = lookup(kind, src.get("name")) or {}
                    items = src.get("items")
                    if items:
                        data.update({i.get("path") or i["key"]: got[i["key"]] for i in items if i["key"] in got})
                    else:
                        data.update(got)
                elif "downwardAPI" in source:
                    data.update({i["path"]: field(i["fieldRef"]["fieldPath"]).encode()
                                 for i in source["downwardAPI"].get("items") or [] if "fieldRef" in i})
                elif "serviceAccountToken" in source:
                    data[source["serviceAccountToken"].get("path", "token")] = b"sandbox-service-account-token"
            _write_items(target, data, None, vol["projected"].get("defaultMode"), rewrite)
        elif "persistentVolumeClaim" in vol:
            target = host_path(vol, pod_dir, state_dir, pvc_lookup)
            target.mkdir(parents=True, exist_ok=True)
        elif "hostPath" in vol:
            target = host_path(vol, pod_dir, state_dir, pvc_lookup)
            if vol["hostPath"].get("type") in ("File", "FileOrCreate", "Socket", "CharDevice", "BlockDevice"):
                target.parent.mkdir(parents=True, exist_ok=True)
                if vol["hostPath"].get("type") == "FileOrCreate":
                    target.touch(exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)  # unknown kinds: an empty directory
        out[name] = target
    return out


def raw_data(obj: dict | None, kind: str) -> dict[str, bytes] | None:
    """A ConfigMap's or Secret's data as bytes."""
    if obj is None:
        return None
    if kind == "secret":
        out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        out.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
        return out
    out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return out
