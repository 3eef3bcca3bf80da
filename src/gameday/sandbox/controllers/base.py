"""The machinery every reconcile loop shares: a de-duplicating work queue
with delayed re-adds, and a Controller base that feeds it from the store's
listeners and a periodic resync."""
from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import Callable, Hashable, Iterable

from ..resources import Resource
from ..store import Change, Store

log = logging.getLogger("gameday.sandbox.controllers")


class WorkQueue:
    """Keys to reconcile. A key queued twice is reconciled once; a key being
    reconciled and queued again is reconciled again afterwards (never twice at
    the same time), as client-go's workqueue does."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._order: list[Hashable] = []
        self._queued: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._seq = 0
        self._closed = False

    def add(self, key: Hashable) -> None:
        with self._cond:
            if key not in self._queued:
                self._queued.add(key)
                self._order.append(key)
                self._cond.notify()

    def add_after(self, key: Hashable, seconds: float) -> None:
        if seconds <= 0:
            self.add(key)
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (time.monotonic() + seconds, self._seq, key))
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Hashable | None:
        """The next key, or None when closed or after timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    if key not in self._queued:
                        self._queued.add(key)
                        self._order.append(key)
                if self._closed:
                    return None
                if self._order:
                    key = self._order.pop(0)
                    self._queued.discard(key)
                    return key
                wait = None
                if self._delayed:
                    wait = max(0.0, self._delayed[0][0] - now)
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Controller:
    """A level-triggered reconcile loop on one worker thread.

    Subclasses set `watches` (resources whose changes matter), map a change to
    the keys it affects (`keys_for`), list every key for the resync
    (`all_keys`) and implement `reconcile(key)`, which may return seconds after
    which the key is reconciled again."""

    name = "controller"
    watches: tuple[Resource, ...] = ()
    resync_seconds = 10.0

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue = WorkQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watch_keys = {r.key for r in self.watches}

    # -- to override -------------------------------------------------------
    def keys_for(self, change: Change) -> Iterable[Hashable]:
        meta = change.obj.get("metadata", {})
        return [(meta.get("namespace", ""), meta.get("name"))]

    def all_keys(self) -> Iterable[Hashable]:
        return []

    def reconcile(self, key: Hashable) -> float | None:
        raise NotImplementedError

    # -- machinery ---------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        # Called under the store lock: only enqueue.
        if change.key in self._watch_keys:
            try:
                for key in self.keys_for(change):
                    if key is not None:
                        self.queue.add(key)
            except Exception:  # a listener must never break a store write
                log.exception("%s: mapping a change to keys failed", self.name)

    def start(self) -> None:
        self.store.add_listener(self._on_change)
        for target in (self._work, self._resync):
            t = threading.Thread(target=target, name=f"{self.name}-{target.__name__}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.queue.close()
        for t in self._threads:
            t.join(timeout=5)

    def _resync(self) -> None:
        while not self._stop.is_set():
            try:
                for key in self.all_keys():
                    self.queue.add(key)
            except Exception:
                log.exception("%s: resync failed", self.name)
            self._stop.wait(self.resync_seconds)

    def _work(self) -> None:
        work_loop(self.queue, self._stop, self.reconcile, self.name)


def work_loop(queue: "WorkQueue", stop: threading.Event, handle: Callable[[Hashable], float | None],
              name: str) -> None:
    """A reconcile worker: take keys until the queue closes; a handler that
    asks for another look (seconds) or fails (1 s) gets its key back later."""
    while not stop.is_set():
        key = queue.get()
        if key is None:
            return
        try:
            again = handle(key)
        except Exception:
            log.exception("%s: handling %s failed", name, key)
            again = 1.0
        if again is not None and not stop.is_set():
            queue.add_after(key, again)


def owner_uid(obj: dict) -> str | None:
    """The uid of the object's controller owner, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def owner_ref(owner: dict) -> dict:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def owner_key_of(change: Change, kind: str) -> tuple[str, str] | None:
    """(namespace, name) of the controlling owner of a kind, for a dependent's change."""
    for obj in (change.obj, change.old or {}):
        for ref in obj.get("metadata", {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == kind:
                return (obj["metadata"].get("namespace", ""), ref.get("name"))
    return None


def is_pod_ready(pod: dict) -> bool:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_ready_since(pod: dict) -> str | None:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return cond.get("lastTransitionTime")
    return None


def is_pod_active(pod: dict) -> bool:
    """Counts toward a controller's replicas: not being deleted, not finished."""
    return not pod["metadata"].get("deletionTimestamp") and \
        pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
