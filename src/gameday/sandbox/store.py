"""The sandbox's object store: what etcd plus the generic registry are to a
real API server. Objects are plain JSON dicts; every write gets the next
resourceVersion and is fanned out to watches; a bounded history lets a watch
resume from a resourceVersion (410 Gone when it is too old).

Everything handed out is a deep copy: callers may mutate what they get."""
from __future__ import annotations

import copy
import datetime as _dt
import itertools
import queue
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .resources import EVENT, Resource
from .selectors import Requirement, labels_match, parse_field_selector, parse_label_selector

HISTORY = 20000


class ApiError(Exception):
    """An error the API server answers with a Kubernetes Status object."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.plural}{"." + res.group if res.group else ""} "{name}" not found',
                    {"name": name, "group": res.group, "kind": res.plural})


def conflict(res: Resource, name: str, why: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.plural} "{name}": {why}',
                    {"name": name, "group": res.group, "kind": res.plural})


def already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{res.plural} "{name}" already exists',
                    {"name": name, "group": res.group, "kind": res.plural})


def invalid(res: Resource, name: str, why: str) -> ApiError:
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {why}',
                    {"name": name, "group": res.group, "kind": res.kind})


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso_micro() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Change:
    rv: int
    key: str  # resource storage key
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict
    old: dict | None


class Watch:
    """One client's watch: a queue of (type, object) filtered for it."""

    def __init__(self, store: "Store", key: str, namespace: str | None,
                 labels: tuple[Requirement, ...], fields: Callable[[dict], bool]):
        self._store = store
        self.key = key
        self.namespace = namespace
        self._labels = labels
        self._fields = fields
        self._queue: "queue.Queue[tuple[str, dict] | None]" = queue.Queue()
        self.closed = False

    def _matches(self, obj: dict | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return labels_match(self._labels, meta.get("labels")) and self._fields(obj)

    def _offer(self, change: Change) -> None:
        if change.key != self.key:
            return
        now, before = self._matches(change.obj), self._matches(change.old)
        if change.type == "DELETED":
            if now:
                self._queue.put(("DELETED", change.obj))
        elif now:
            self._queue.put(("MODIFIED" if before else "ADDED", change.obj))
        elif before:
            # The object left this watch's selection: to the watcher it is gone.
            self._queue.put(("DELETED", change.obj))

    def next(self, timeout: float | None = None) -> tuple[str, dict] | None:
        """The next event, or None on timeout or close."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is None:
            self.closed = True
        return item

    def close(self) -> None:
        self._store._unsubscribe(self)
        self._queue.put(None)


class Store:
    def __init__(self, history: int = HISTORY) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], dict]] = {}
        self._rv = itertools.count(1)
        self._last_rv = 0
        self._history: deque[Change] = deque(maxlen=history)
        self._watches: list[Watch] = []
        self._listeners: list[Callable[[Change], None]] = []

    # -- reads -------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        return str(self._last_rv)

    def get(self, res: Resource, namespace: str | None, name: str) -> dict:
        with self._lock:
            obj = self._objects.get(res.key, {}).get((namespace or "", name))
            if obj is None:
                raise not_found(res, name)
            return copy.deepcopy(obj)

    def try_get(self, res: Resource, namespace: str | None, name: str) -> dict | None:
        try:
            return self.get(res, namespace, name)
        except ApiError:
            return None

    def list(self, res: Resource, namespace: str | None = None, label_selector: str | tuple | None = None,
             field_selector: str | None = None) -> tuple[list[dict], str]:
        labels = label_selector if isinstance(label_selector, tuple) else parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self._objects.get(res.key, {}).items())
                if (not namespace or ns == namespace)
                and labels_match(labels, obj["metadata"].get("labels"))
                and fields(obj)
            ]
            return items, str(self._last_rv)

    # -- writes ------------------------------------------------------------
    def _commit(self, res: Resource, type_: str, obj: dict, old: dict | None) -> dict:
        rv = next(self._rv)
        self._last_rv = rv
        obj["metadata"]["resourceVersion"] = str(rv)
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        bucket = self._objects.setdefault(res.key, {})
        if type_ == "DELETED":
            bucket.pop((ns, name), None)
        else:
            bucket[(ns, name)] = obj
        change = Change(rv, res.key, type_, copy.deepcopy(obj), copy.deepcopy(old) if old else None)
        self._history.append(change)
        for w in list(self._watches):
            w._offer(change)
        for listener in list(self._listeners):
            listener(change)
        return copy.deepcopy(obj)

    def create(self, res: Resource, obj: dict, namespace: str | None = None) -> dict:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise invalid(res, "", "metadata.name: Required value: name or generateName is required")
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        with self._lock:
            ns = meta.get("namespace", "")
            if (ns, meta["name"]) in self._objects.get(res.key, {}):
                raise already_exists(res, meta["name"])
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            meta["generation"] = 1
            meta.pop("deletionTimestamp", None)
            return self._commit(res, "ADDED", obj, None)

    def update(self, res: Resource, obj: dict, subresource: str | None = None,
               check_version: bool = True) -> dict:
        """Replace an object. With subresource='status' only its status is taken;
        otherwise its status is kept as stored (as for any type with a status
        subresource). A stale resourceVersion is a 409 Conflict."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name", "")
        ns = meta.get("namespace", "") if res.namespaced else ""
        with self._lock:
            old = self._objects.get(res.key, {}).get((ns, name))
            if old is None:
                raise not_found(res, name)
            want_rv = meta.get("resourceVersion")
            if check_version and want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name, "the object has been modified; please apply your changes "
                                          "to the latest version and try again")
            new = copy.deepcopy(old)
            if subresource == "status":
                new["status"] = obj.get("status", {})
            else:
                for k in list(new):
                    if k not in ("metadata", "status", "apiVersion", "kind"):
                        del new[k]
                for k, v in obj.items():
                    if k not in ("metadata", "status", "apiVersion", "kind"):
                        new[k] = v
                if "status" not in res.subresources and "status" in obj:
                    new["status"] = obj["status"]
                for k in ("labels", "annotations", "ownerReferences", "finalizers"):
                    if k in meta:
                        new["metadata"][k] = meta[k]
                    else:
                        new["metadata"].pop(k, None)
                if _spec_of(new) != _spec_of(old):
                    new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            if new == old:
                return copy.deepcopy(old)
            result = self._commit(res, "MODIFIED", new, old)
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") \
                    and res.kind != "Pod" and not _namespace_finalizers(res, new):
                return self._commit(res, "DELETED", copy.deepcopy(new), new)
            return result

    def modify(self, res: Resource, namespace: str | None, name: str,
               change: Callable[[dict], Any], subresource: str | None = None) -> dict:
        """Read-modify-write under the store lock: never conflicts."""
        with self._lock:
            obj = self.get(res, namespace, name)
            change(obj)
            obj["metadata"].pop("resourceVersion", None)
            return self.update(res, obj, subresource=subresource, check_version=False)

    def delete(self, res: Resource, namespace: str | None, name: str,
               grace_seconds: int | None = None, preconditions: dict | None = None) -> dict:
        """Delete an object. A pod bound to a node and still running is only
        marked (deletionTimestamp): the kubelet stops it within its grace
        period and then removes it with grace_seconds=0."""
        with self._lock:
            obj = self.get(res, namespace, name)
            if preconditions and preconditions.get("uid") and preconditions["uid"] != obj["metadata"]["uid"]:
                raise conflict(res, name, "Precondition failed: UID in precondition does not match")
            if res.kind == "Pod" and grace_seconds != 0 and obj.get("spec", {}).get("nodeName") \
                    and obj.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                if grace_seconds is None:
                    grace_seconds = obj["spec"].get("terminationGracePeriodSeconds", 30)
                meta = obj["metadata"]
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = now_iso()
                    meta["deletionGracePeriodSeconds"] = grace_seconds
                elif grace_seconds < meta.get("deletionGracePeriodSeconds", 30):
                    meta["deletionGracePeriodSeconds"] = grace_seconds
                else:
                    return obj
                old = self._objects[res.key][(obj["metadata"].get("namespace", ""), name)]
                return self._commit(res, "MODIFIED", obj, old)
            if _namespace_finalizers(res, obj):
                # A namespace is removed once its contents are (spec.finalizers
                # emptied by whoever empties it): until then it is Terminating.
                if obj["metadata"].get("deletionTimestamp"):
                    return obj
                obj["metadata"]["deletionTimestamp"] = now_iso()
                obj.setdefault("status", {})["phase"] = "Terminating"
                old = self._objects[res.key][("", name)]
                return self._commit(res, "MODIFIED", obj, old)
            if obj["metadata"].get("finalizers"):
                if not obj["metadata"].get("deletionTimestamp"):
                    obj["metadata"]["deletionTimestamp"] = now_iso()
                    old = self._objects[res.key][(obj["metadata"].get("namespace", ""), name)]
                    return self._commit(res, "MODIFIED", obj, old)
                return obj
            old = self._objects[res.key][(obj["metadata"].get("namespace", ""), name)]
            return self._commit(res, "DELETED", obj, old)

    # -- watches -----------------------------------------------------------
    def watch(self, res: Resource, namespace: str | None = None, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None) -> Watch:
        """Watch from resource_version (exclusive). Without one (or "0"), the
        watch starts with an ADDED event for every current object."""
        w = Watch(self, res.key, namespace, parse_label_selector(label_selector),
                  parse_field_selector(field_selector))
        with self._lock:
            if resource_version in (None, "", "0"):
                items, _ = self.list(res, namespace, w._labels, field_selector)
                for obj in items:
                    w._queue.put(("ADDED", obj))
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    raise ApiError(400, "BadRequest", f"invalid resourceVersion {resource_version!r}")
                oldest = self._history[0].rv if self._history else self._last_rv + 1
                if since < oldest - 1 and since < self._last_rv:
                    raise ApiError(410, "Expired", f"too old resource version: {since} ({oldest - 1})")
                for change in self._history:
                    if change.rv > since:
                        w._offer(change)
            self._watches.append(w)
        return w

    def _unsubscribe(self, w: Watch) -> None:
        with self._lock:
            if w in self._watches:
                self._watches.remove(w)

    def add_listener(self, fn: Callable[[Change], None]) -> None:
        """In-process subscribers (controllers' work queues). Called under the
        store lock: they must only enqueue, never call back into the store."""
        with self._lock:
            self._listeners.append(fn)

    def close_watches(self) -> None:
        with self._lock:
            for w in list(self._watches):
                w.close()

    def kinds(self) -> Iterable[str]:
        return list(self._objects)


def _namespace_finalizers(res: Resource, obj: dict) -> bool:
    return res.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def _spec_of(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def record_event(store: Store, involved: dict, reason: str, message: str, type_: str = "Normal",
                 component: str = "sandbox") -> None:
    """A core/v1 Event about an object (what `kubectl describe` lists)."""
    meta = involved.get("metadata", {})
    ns = meta.get("namespace") or "default"
    ts = now_iso()
    try:
        store.create(EVENT, {
            "metadata": {"generateName": f"{meta.get('name', 'object')}.", "namespace": ns},
            "involvedObject": {
                "kind": involved.get("kind"), "apiVersion": involved.get("apiVersion"),
                "name": meta.get("name"), "namespace": ns, "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason, "message": message, "type": type_,
            "source": {"component": component},
            "firstTimestamp": ts, "lastTimestamp": ts, "eventTime": None, "count": 1,
            "reportingComponent": component, "reportingInstance": "",
        })
    except ApiError:
        pass
