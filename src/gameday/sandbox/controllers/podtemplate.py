"""Pods from a pod template, as the workload controllers create them, and
the small time helpers they share."""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json

from .base import owner_ref, pod_ready_since


def new_pod(template: dict, owner: dict, *, name: str | None = None, generate_name: str | None = None,
            labels: dict | None = None) -> dict:
    tmeta = template.get("metadata") or {}
    spec = copy.deepcopy(template.get("spec") or {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    spec.setdefault("volumes", [])  # clients (chaosk8s drain) iterate it without a None check
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        c.setdefault("imagePullPolicy", "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
    meta = {
        "namespace": owner["metadata"].get("namespace"),
        "labels": {**(tmeta.get("labels") or {}), **(labels or {})},
        "annotations": dict(tmeta.get("annotations") or {}),
        "ownerReferences": [owner_ref(owner)],
    }
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name
    return {"metadata": meta, "spec": spec, "status": {"phase": "Pending"}}


def template_hash(template: dict) -> str:
    """A stable short hash of a pod template (pod-template-hash, revision hashes)."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()
    # Kubernetes renders its hash with "safe" characters; any stable lowercase string works.
    return "".join(ch for ch in digest if ch in "bcdfghjklmnpqrstvwxz2456789")[:10] or digest[:10]


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return _dt.datetime.strptime(text.replace(".000000", "")[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=_dt.timezone.utc).timestamp()
    except ValueError:
        return None


def is_available(pod: dict, min_ready_seconds: int, now: float) -> bool:
    since = parse_time(pod_ready_since(pod))
    if since is None:
        return False
    return min_ready_seconds <= 0 or now - since >= min_ready_seconds


def condition(conds: list[dict], type_: str) -> dict | None:
    for c in conds or []:
        if c.get("type") == type_:
            return c
    return None


def set_condition(conds: list[dict], type_: str, status: str, reason: str, message: str,
                  now: str, update_time: bool = False) -> list[dict]:
    """Set a condition, keeping lastTransitionTime unless the status changes."""
    out = [c for c in conds or [] if c.get("type") != type_]
    old = condition(conds, type_)
    new = {"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": now if not old or old.get("status") != status else old.get("lastTransitionTime")}
    if update_time or (old and "lastUpdateTime" in old) or type_ in ("Available", "Progressing"):
        new["lastUpdateTime"] = now if update_time or not old else old.get("lastUpdateTime", now)
    if old and all(old.get(k) == new.get(k) for k in ("status", "reason", "message")) and not update_time:
        new = old
    out.append(new)
    return sorted(out, key=lambda c: c["type"])
