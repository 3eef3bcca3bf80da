"""The garbage collector: dependents whose owners are all gone are deleted,
as with background propagation. (Namespace deletion is the API server's
namespace finalizer.)"""
from __future__ import annotations

import time

from ..resources import EVENT, RESOURCES, by_kind
from ..store import ApiError
from .base import Controller
from .podtemplate import parse_time

EVENT_TTL_SECONDS = 3600
MAX_EVENTS = 5000

# Kinds that own others in the sandbox.
_OWNER_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "Job", "DaemonSet", "Service", "CronJob"}
# Served in several versions but stored once: visit each storage once.
# Events are many and never owned: left out of the scans.
_STORED = [r for r in {r.key: r for r in RESOURCES}.values() if r.kind != "Event"]


class GarbageCollector(Controller):
    name = "garbage-collector"
    watches = tuple(r for r in _STORED if r.namespaced)
    resync_seconds = 15.0

    def keys_for(self, change):
        if change.type == "DELETED" and change.obj.get("kind") in _OWNER_KINDS:
            return ["*"]
        if change.type == "ADDED" and change.obj["metadata"].get("ownerReferences"):
            return ["*"]  # a dependent created after its owner went
        return []

    def all_keys(self):
        return ["*"]

    def reconcile(self, key):
        self._expire_events()
        live: set[str] = set()
        dependents: list[tuple] = []
        for res in _STORED:
            items, _ = self.store.list(res)
            for obj in items:
                live.add(obj["metadata"]["uid"])
                refs = obj["metadata"].get("ownerReferences") or []
                if refs:
                    dependents.append((res, obj, refs))
        for res, obj, refs in dependents:
            if all(ref.get("uid") not in live for ref in refs):
                if obj["metadata"].get("deletionTimestamp") or any(self._owner_exists(obj, ref) for ref in refs):
                    continue
                try:
                    self.store.delete(res, obj["metadata"].get("namespace"), obj["metadata"]["name"])
                except ApiError:
                    pass
        return None

    def _expire_events(self) -> None:
        """Events live an hour (the API server's default TTL), and at most
        MAX_EVENTS are kept, so that a long drill does not grow without bound."""
        now = time.monotonic()
        if now - getattr(self, "_events_checked", -1e9) < self.resync_seconds:
            return
        self._events_checked = now
        events, _ = self.store.list(EVENT)
        if not events:
            return
        cutoff = time.time() - EVENT_TTL_SECONDS
        events.sort(key=lambda e: e.get("lastTimestamp") or e["metadata"].get("creationTimestamp") or "")
        excess = len(events) - MAX_EVENTS
        for i, event in enumerate(events):
            stamp = parse_time(event.get("lastTimestamp") or event["metadata"].get("creationTimestamp"))
            if i >= excess and (stamp is None or stamp >= cutoff):
                break
            try:
                self.store.delete(EVENT, event["metadata"]["namespace"], event["metadata"]["name"])
            except ApiError:
                pass

    def _owner_exists(self, obj: dict, ref: dict) -> bool:
        """Look the owner up again: the scan above is not one snapshot, and an
        owner created after its kind was listed must not orphan its dependents."""
        res = by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if res is None:
            return False
        owner = self.store.try_get(res, obj["metadata"].get("namespace") if res.namespaced else None,
                                   ref.get("name", ""))
        return owner is not None and owner["metadata"].get("uid") == ref.get("uid")
