"""How a fault marks the cluster before it changes it, so that anyone can
find and undo it later (`gameday recover`), whoever ran it:

- an object a fault *creates* carries labels naming the drill, the fault and
  an expiry (unix seconds);
- an object a fault *changes* carries, in annotation `gameday.io/restore`, a
  JSON map fault-id -> {kind, drill, expires, undo: what to restore}, written
  in the same request as the change."""
from __future__ import annotations

import json
import time
from typing import Any

MANAGED = {"app.kubernetes.io/managed-by": "gameday"}
DRILL = "gameday.io/drill"
FAULT = "gameday.io/fault"        # the fault kind
FAULT_ID = "gameday.io/fault-id"
EXPIRES = "gameday.io/expires"
RESTORE = "gameday.io/restore"


def created_labels(ledger, kind: str, fault_id: str) -> dict[str, str]:
    """Labels for an object a fault creates."""
    return {**MANAGED, DRILL: ledger.drill, FAULT: kind, FAULT_ID: fault_id, EXPIRES: str(int(ledger.expires))}


def restore_entries(obj_metadata) -> dict[str, dict]:
    """The restore entries of an object (a client model's metadata or a dict)."""
    ann = (obj_metadata.get("annotations") if isinstance(obj_metadata, dict)
           else getattr(obj_metadata, "annotations", None)) or {}
    try:
        entries = json.loads(ann.get(RESTORE) or "{}")
    except ValueError:
        return {}
    return entries if isinstance(entries, dict) else {}


def with_entry(obj_metadata, ledger, kind: str, fault_id: str, undo: dict[str, Any]) -> str:
    """The annotation value with this fault's entry added (an existing entry
    of the same fault is kept: the first recorded value is the one to restore)."""
    entries = restore_entries(obj_metadata)
    entries.setdefault(fault_id, {"kind": kind, "drill": ledger.drill, "expires": int(ledger.expires),
                                  "undo": undo})
    return json.dumps(entries, sort_keys=True)


def without(entries: dict[str, dict], ids) -> str | None:
    """The annotation value once these entries are undone (None: remove it)."""
    rest = {k: v for k, v in entries.items() if k not in set(ids)}
    return json.dumps(rest, sort_keys=True) if rest else None


def pick(entries: dict[str, dict], kind: str, state: dict, match=lambda undo: True) -> list[tuple[str, dict]]:
    """The entries a rollback undoes: this fault's (state["id"]) or, with no
    id (a Chaos Toolkit rollback, a recovery), every entry of this kind that
    matches. Oldest first: the first one holds the value from before any fault."""
    fid = state.get("id")
    out = [(k, v) for k, v in entries.items()
           if v.get("kind") == kind and (k == fid if fid else match(v.get("undo") or {}))]
    return sorted(out, key=lambda kv: kv[0])


def expired(expires: Any, now: float | None = None) -> bool:
    try:
        return float(expires) <= (now if now is not None else time.time())
    except (TypeError, ValueError):
        return True
