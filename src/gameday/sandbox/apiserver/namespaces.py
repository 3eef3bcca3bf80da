"""Namespace deletion: a Terminating namespace's contents are deleted, and
the namespace itself once they are gone (the real namespace controller's
job, done here because nothing else in the sandbox empties namespaces)."""
from __future__ import annotations

import threading

from .. import resources as R
from ..store import ApiError, Store
from .crd import custom_resources

RESYNC_SECONDS = 2.0


class NamespaceFinalizer:
    def __init__(self, store: Store):
        self.store = store
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="apiserver-namespace-finalizer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(RESYNC_SECONDS)
            self._wake.clear()
            try:
                self.reconcile()
            except ApiError:
                pass  # raced with another writer: the next round sees the new state

    def reconcile(self) -> None:
        for ns in self.store.list(R.NAMESPACE)[0]:
            if ns["metadata"].get("deletionTimestamp") and (ns.get("spec") or {}).get("finalizers"):
                self._empty(ns["metadata"]["name"])

    def _empty(self, name: str) -> None:
        for res, obj in self._contents(name):
            if not obj["metadata"].get("deletionTimestamp"):
                try:
                    self.store.delete(res, name, obj["metadata"]["name"])
                except ApiError:
                    pass  # gone already
        if not self._contents(name):  # running pods wait for the kubelet: a later round
            def finalize(ns: dict) -> None:
                ns.setdefault("spec", {})["finalizers"] = []
            self.store.modify(R.NAMESPACE, None, name, finalize)

    def _contents(self, name: str) -> list:
        # Custom resources too: one Resource per storage (a definition's versions share one).
        custom = list({r.key: r for r in custom_resources(self.store)}.values())
        return [(res, obj) for res in (*R.RESOURCES, *custom)
                # autoscaling/v1 shares its storage with v2
                if res.namespaced and not (res.group == "autoscaling" and res.version == "v1")
                for obj in self.store.list(res, name)[0]]
