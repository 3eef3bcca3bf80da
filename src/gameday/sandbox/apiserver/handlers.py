"""The REST verbs on stored resources: get, list, watch, create, update, patch,
delete, deletecollection (and the status subresource). Every write is
decoded, defaulted, admitted and validated completely before the store sees
it, so a bad request changes nothing."""
from __future__ import annotations

import copy
import datetime as dt
import json
import random
import threading
from typing import Any, Callable, Iterator, Sequence

import yaml

from .. import resources as R
from ..resources import Resource
from ..selectors import SelectorError, parse_field_selector, parse_label_selector
from ..store import ApiError, Store, already_exists, conflict, not_found, now_iso
from . import defaults, patch as patching, protobuf, shapes, tables, validation
from .http import Request, Response, Stream, dumps, json_response, success_status
from .routing import Route

# Admission plugins (e.g. the sandbox's cluster-IP allocator): called with
# (operation "CREATE"/"UPDATE", resource, new object, old object or None)
# after defaulting and before validation; they may mutate or raise ApiError.
Admission = Callable[[str, Resource, dict, "dict | None"], None]

_JSON_TYPES = ("application/json", "", "*/*")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
# The real API server creates these on PUT when missing (AllowCreateOnUpdate).
_CREATE_ON_UPDATE = {"endpoints", "events", "leases"}
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
WATCH_IDLE_POLL = 1.0  # seconds between checks that a quiet watch's client is still there


def media_type(req: Request) -> str:
    return req.header("Content-Type").split(";")[0].strip().lower()


def _decode(req: Request, allow: Sequence[str], what: str) -> Any:
    ctype = media_type(req)
    if ctype not in allow and not (ctype in _JSON_TYPES and "application/json" in allow):
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media types include: "
                       f"{', '.join(a for a in allow if a)}")
    if not req.body.strip():
        raise validation.bad_request(f"the {what} is empty: send a JSON object")
    if ctype == protobuf.CONTENT_TYPE:
        try:
            return protobuf.decode(req.body)
        except LookupError as exc:
            raise ApiError(415, "UnsupportedMediaType", f"the sandbox decodes protobuf only for "
                           f"{', '.join(k for _, k in protobuf.SCHEMAS)}, not {exc}: send it as JSON "
                           "(e.g. kubectl create -f FILE or kubectl apply -f FILE)")
        except protobuf.ProtobufError as exc:
            raise validation.bad_request(f"couldn't decode the {what}: {exc}")
    try:
        if ctype in _YAML_TYPES or ctype == patching.APPLY:
            return _jsonable(yaml.safe_load(req.body))
        return _jsonable(json.loads(req.body))
    except RecursionError:
        raise validation.bad_request(f"the {what} nests too deeply")
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise validation.bad_request(f"couldn't decode the {what}: {first}")


_MAX_DEPTH, _MAX_NODES = 64, 200_000  # bounds for YAML aliases (recursive or exponential)


def _jsonable(value: Any, depth: int = 0, budget: list | None = None) -> Any:
    """YAML's extra types as the JSON the real server would have decoded
    (timestamps as RFC 3339 strings, other keys as strings), refusing
    documents whose aliases nest without end or blow up."""
    budget = budget if budget is not None else [_MAX_NODES]
    budget[0] -= 1
    if depth > _MAX_DEPTH or budget[0] < 0:
        raise validation.bad_request(f"the body nests deeper than {_MAX_DEPTH} levels or expands past "
                                     f"{_MAX_NODES} values (check YAML anchors and aliases)")
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v, depth + 1, budget) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def decode_object(req: Request, res: Resource) -> dict:
    obj = _decode(req, ("application/json", protobuf.CONTENT_TYPE) + _YAML_TYPES, "request body")
    if not isinstance(obj, dict):
        raise validation.bad_request(f"the request body must be a JSON object, not {type(obj).__name__}")
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version is not None and api_version != res.api_version and not (
            res.kind == "HorizontalPodAutoscaler" and str(api_version).startswith("autoscaling/")):
        raise validation.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({res.api_version})")
    if kind is not None and kind != res.kind:
        raise validation.bad_request(f"the kind in the data ({kind}) does not match the expected kind "
                                     f"({res.kind}) of {res.plural}: send it to its own resource path")
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise validation.bad_request("metadata must be an object")
    return obj


def _namespace_matches(res: Resource, route: Route, obj: dict) -> None:
    meta = obj["metadata"]
    if not res.namespaced:
        meta.pop("namespace", None)
        return
    if meta.get("namespace") and route.namespace and meta["namespace"] != route.namespace:
        raise validation.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
    meta["namespace"] = route.namespace


def dry_run(req: Request) -> bool:
    value = req.query.get("dryRun", "")
    if value not in ("", "All"):
        raise validation.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return value == "All"


def selectors(req: Request) -> tuple[str | None, str | None]:
    ls, fs = req.query.get("labelSelector") or None, req.query.get("fieldSelector") or None
    try:
        parse_label_selector(ls)
        parse_field_selector(fs)
    except SelectorError as exc:
        raise validation.bad_request(f"unable to parse requirement: {exc}")
    return ls, fs



RETURNS_DELETED_OBJECT = frozenset({"Pod", "Service", "PersistentVolumeClaim", "PersistentVolume"})

class Verbs:
    def __init__(self, store: Store, admission: Sequence[Admission] = (),
                 on_namespace_deleted: Callable[[], None] = lambda: None):
        self.store = store
        self.admission = list(admission)
        self.on_namespace_deleted = on_namespace_deleted
        self._watches_lock = threading.Lock()
        self.open_watches: set = set()

    # -- reads --------------------------------------------------------------
    def get(self, route: Route, req: Request) -> Response:
        obj = self.store.get(route.res, route.namespace, route.name)
        if tables.wants_table(req.header("Accept")):
            return json_response(200, tables.table(route.res, [obj], obj["metadata"]["resourceVersion"],
                                                   req.query.get("includeObject", "PartialObjectMetadata")))
        return json_response(200, obj)

    def list(self, route: Route, req: Request) -> Response:
        ls, fs = selectors(req)
        items, rv = self.store.list(route.res, route.namespace, ls, fs)
        if tables.wants_table(req.header("Accept")):
            return json_response(200, tables.table(route.res, items, rv,
                                                   req.query.get("includeObject", "PartialObjectMetadata")))
        return json_response(200, {"kind": f"{route.res.kind}List", "apiVersion": route.res.api_version,
                                   "metadata": {"resourceVersion": rv}, "items": items})

    def watch(self, route: Route, req: Request, clock: Callable[[], float]) -> Stream:
        ls, fs = selectors(req)
        if route.name:
            fs = f"metadata.name={route.name}" + (f",{fs}" if fs else "")
        try:
            timeout = float(req.query["timeoutSeconds"]) if req.query.get("timeoutSeconds") else None
        except ValueError:
            raise validation.bad_request(f"timeoutSeconds: invalid value {req.query['timeoutSeconds']!r}")
        as_table = tables.wants_table(req.header("Accept"))
        include = req.query.get("includeObject", "PartialObjectMetadata")
        res = route.res
        try:
            w = self.store.watch(res, route.namespace, req.query.get("resourceVersion") or None, ls, fs)
        except ApiError as err:
            if err.code != 410:
                raise
            # As the real API server: a 200 stream with one ERROR event.
            return Stream(200, iter([dumps({"type": "ERROR", "object": err.status()}) + b"\n"]))
        with self._watches_lock:
            self.open_watches.add(w)
        deadline = None if timeout is None else clock() + timeout

        def events() -> Iterator[bytes | None]:
            first = True
            while True:
                wait = WATCH_IDLE_POLL if deadline is None else min(WATCH_IDLE_POLL, deadline - clock())
                if wait <= 0:
                    return
                item = w.next(timeout=wait)
                if item is None:
                    if w.closed:
                        return
                    yield None
                    continue
                type_, obj = item
                if as_table:
                    obj = tables.table(res, [obj], obj["metadata"].get("resourceVersion", ""), include,
                                       with_columns=first)
                    first = False
                yield dumps({"type": type_, "object": obj}) + b"\n"

        def close() -> None:
            w.close()
            with self._watches_lock:
                self.open_watches.discard(w)

        return Stream(200, events(), close=close)

    def close_watches(self) -> None:
        with self._watches_lock:
            watches, self.open_watches = list(self.open_watches), set()
        for w in watches:
            w.close()

    # -- writes -------------------------------------------------------------
    def _admit(self, op: str, res: Resource, obj: dict, old: dict | None) -> None:
        for plugin in self.admission:
            plugin(op, res, obj, old)

    def _check_namespace(self, res: Resource, obj: dict) -> None:
        if not res.namespaced:
            return
        ns = obj["metadata"]["namespace"]
        found = self.store.try_get(R.NAMESPACE, None, ns)
        if found is None:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                           {"name": ns, "kind": "namespaces"})
        if found["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f'{res.plural} "{obj["metadata"].get("name", "")}" is forbidden: '
                           f"unable to create new content in namespace {ns} because it is being terminated",
                           {"name": obj["metadata"].get("name", ""), "kind": res.plural,
                            "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                        "message": f"namespace {ns} is being terminated"}]})

    def prepare_create(self, res: Resource, obj: dict) -> dict:
        shapes.check(res, obj)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choice(_NAME_CHARS) for _ in range(5))
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation",
                  "managedFields", "deletionGracePeriodSeconds"):
            meta.pop(k, None)
        defaults.on_create(res, obj)
        self._admit("CREATE", res, obj, None)
        validation.validate(res, obj)
        if not meta.get("name"):
            validation.raise_invalid(res, "", [validation.FieldError(
                "metadata.name", "Required value", "name or generateName is required")])
        self._check_namespace(res, obj)
        return obj

    def create(self, route: Route, req: Request) -> Response:
        if route.name is not None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        res = route.res
        obj = decode_object(req, res)
        if res.namespaced and route.namespace is None:
            raise ApiError(405, "MethodNotAllowed", f"create {res.plural}: a namespace is required in the path "
                           f"(/…/namespaces/NS/{res.plural})")
        _namespace_matches(res, route, obj)
        obj = self.prepare_create(res, obj)
        if dry_run(req):
            key = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
            if self.store.try_get(res, *key) is not None:
                raise already_exists(res, key[1])
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
            obj["metadata"].update(uid="00000000-0000-0000-0000-000000000000", creationTimestamp=now_iso())
            return json_response(201, obj)
        return json_response(201, self.store.create(res, obj, route.namespace))

    def _finish_update(self, res: Resource, old: dict, new: dict, subresource: str | None) -> dict:
        """Validate `new` (a full object) against `old` and store it."""
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        if not isinstance(meta, dict):
            raise validation.bad_request("metadata must be an object")
        if meta.get("name", old_meta["name"]) != old_meta["name"]:
            raise validation.bad_request(f"the name of the object ({meta.get('name')}) does not match the name "
                                         f"on the URL ({old_meta['name']})")
        if res.namespaced and meta.get("namespace", old_meta.get("namespace")) != old_meta.get("namespace"):
            raise validation.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
        meta["name"] = old_meta["name"]
        if res.namespaced:
            meta["namespace"] = old_meta["namespace"]
        if subresource == "status":
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status", {})
            merged["metadata"]["resourceVersion"] = meta.get("resourceVersion") or old_meta["resourceVersion"]
            if not isinstance(merged["status"], dict):
                raise validation.bad_request(f"status: expected an object, got {type(merged['status']).__name__}")
            return self.store.update(res, merged, subresource="status")
        if res.kind == "Service":
            spec, old_spec = new.get("spec"), old.get("spec") or {}
            if isinstance(spec, dict) and not spec.get("clusterIP") and old_spec.get("clusterIP"):
                spec["clusterIP"] = old_spec["clusterIP"]
                if old_spec.get("clusterIPs"):
                    spec.setdefault("clusterIPs", old_spec["clusterIPs"])
        shapes.check(res, new)
        defaults.on_update(res, new)
        self._admit("UPDATE", res, new, old)
        validation.validate(res, new)
        validation.validate_update(res, _defaulted(res, old), new)
        return self.store.update(res, new)

    def update(self, route: Route, req: Request) -> Response:
        res = route.res
        obj = decode_object(req, res)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != route.name:
            raise validation.bad_request(f"the name of the object ({meta['name']}) does not match the name on "
                                         f"the URL ({route.name})")
        meta["name"] = route.name
        _namespace_matches(res, route, obj)
        old = self.store.try_get(res, route.namespace, route.name)
        if old is None:
            if res.plural in _CREATE_ON_UPDATE and route.subresource is None:
                obj = self.prepare_create(res, obj)
                if dry_run(req):
                    return json_response(201, obj)
                return json_response(201, self.store.create(res, obj, route.namespace))
            raise not_found(res, route.name or "")
        if dry_run(req):
            return json_response(200, self._dry_update(res, old, obj, route.subresource))
        return json_response(200, self._finish_update(res, old, obj, route.subresource))

    def _dry_update(self, res: Resource, old: dict, new: dict, subresource: str | None) -> dict:
        want = new.get("metadata", {}).get("resourceVersion")
        if want and want != old["metadata"]["resourceVersion"]:
            raise conflict(res, old["metadata"]["name"], "the object has been modified; please apply your "
                                                         "changes to the latest version and try again")
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if subresource == "status":
            out = copy.deepcopy(old)
            out["status"] = new.get("status", {})
            return out
        shapes.check(res, new)
        defaults.on_update(res, new)
        self._admit("UPDATE", res, new, old)
        validation.validate(res, new)
        validation.validate_update(res, _defaulted(res, old), new)
        new["metadata"] = {**old["metadata"], **{k: v for k, v in new["metadata"].items()
                                                 if k in ("labels", "annotations", "ownerReferences",
                                                          "finalizers")}}
        if "status" in res.subresources:
            new["status"] = old.get("status", {})
        return new

    def patch(self, route: Route, req: Request) -> Response:
        res = route.res
        ctype = media_type(req)
        if ctype not in patching.TYPES:
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types include: "
                           + ", ".join(patching.TYPES))
        doc = _decode(req, patching.TYPES, "patch")
        if ctype != patching.JSON_PATCH and not isinstance(doc, dict):
            raise validation.bad_request(f"the patch must be a JSON object, not {type(doc).__name__}")
        is_dry = dry_run(req)
        for _ in range(10):  # a concurrent writer: patch again on the fresh object
            old = self.store.try_get(res, route.namespace, route.name)
            if old is None:
                if ctype == patching.APPLY and route.subresource is None:
                    return self._apply_create(route, req, doc, is_dry)
                raise not_found(res, route.name or "")
            new = self.patched(res, old, doc, ctype)
            if is_dry:
                return json_response(200, self._dry_update(res, old, new, route.subresource))
            try:
                return json_response(200, self._finish_update(res, old, new, route.subresource))
            except ApiError as err:
                if err.reason == "Conflict" and not _patch_rv(doc, ctype):
                    continue
                raise
        raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.plural} "{route.name}": '
                                        "too many concurrent writes, try again")

    @staticmethod
    def patched(res: Resource, old: dict, doc: Any, ctype: str) -> dict:
        want_rv = _patch_rv(doc, ctype)
        try:
            new = patching.apply(old, doc, ctype)
        except patching.PatchError as exc:
            raise ApiError(422, "Invalid", f'{res.kind} "{old["metadata"]["name"]}" is invalid: {exc}',
                           {"name": old["metadata"]["name"], "kind": res.kind, "group": res.group})
        if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
            raise ApiError(422, "Invalid", f'{res.kind} "{old["metadata"]["name"]}" is invalid: the patch '
                           "leaves no object with metadata")
        # Without a resourceVersion in the patch it applies to whatever is stored.
        new["metadata"]["resourceVersion"] = want_rv or old["metadata"]["resourceVersion"]
        return new

    def _apply_create(self, route: Route, req: Request, doc: dict, is_dry: bool) -> Response:
        res = route.res
        obj = copy.deepcopy(doc)
        obj.setdefault("metadata", {})
        if not isinstance(obj["metadata"], dict):
            raise validation.bad_request("metadata must be an object")
        if obj["metadata"].get("name", route.name) != route.name:
            raise validation.bad_request(f"the name of the object ({obj['metadata']['name']}) does not match "
                                         f"the name on the URL ({route.name})")
        obj["metadata"]["name"] = route.name
        _namespace_matches(res, route, obj)
        obj = self.prepare_create(res, obj)
        if is_dry:
            return json_response(201, obj)
        return json_response(201, self.store.create(res, obj, route.namespace))

    # -- deletes ------------------------------------------------------------
    def _delete_options(self, req: Request) -> dict:
        opts: dict = {}
        if req.body.strip():
            opts = _decode(req, ("application/json", protobuf.CONTENT_TYPE) + _YAML_TYPES, "DeleteOptions")
            if not isinstance(opts, dict):
                raise validation.bad_request("DeleteOptions must be a JSON object")
        if "gracePeriodSeconds" in req.query:
            opts["gracePeriodSeconds"] = req.query["gracePeriodSeconds"]
        if req.query.get("propagationPolicy"):
            opts["propagationPolicy"] = req.query["propagationPolicy"]
        if req.query.get("dryRun"):
            opts["dryRun"] = [req.query["dryRun"]]
        grace = opts.get("gracePeriodSeconds")
        if grace is not None:
            try:
                opts["gracePeriodSeconds"] = max(0, int(grace))
            except (TypeError, ValueError):
                raise validation.bad_request(f"gracePeriodSeconds: invalid value {grace!r}: must be an integer")
        policy = opts.get("propagationPolicy")
        if opts.get("orphanDependents") is True and policy is None:
            opts["propagationPolicy"] = policy = "Orphan"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise validation.bad_request(f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                                         '"Orphan", "Background", "Foreground"')
        return opts

    def delete(self, route: Route, req: Request) -> Response:
        # Kubernetes answers a delete with a Status, except for the kinds whose
        # registry returns the deleted object (the typed clients expect it).
        opts = self._delete_options(req)
        obj, gone = self.delete_one(route.res, route.namespace, route.name or "", opts)
        if gone and route.res.kind not in RETURNS_DELETED_OBJECT:
            return json_response(200, success_status(200, {
                "name": route.name, "group": route.res.group, "kind": route.res.plural,
                "uid": obj["metadata"].get("uid")}))
        return json_response(200, obj)

    def delete_one(self, res: Resource, namespace: str | None, name: str, opts: dict) -> tuple[dict, bool]:
        """Delete one object; (what the answer shows, whether it is gone)."""
        obj = self.store.get(res, namespace, name)
        pre = opts.get("preconditions") or {}
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise conflict(res, name, "Precondition failed: ResourceVersion in precondition: "
                                      f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                      f"{obj['metadata']['resourceVersion']}")
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise conflict(res, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                                      f"meta: {obj['metadata']['uid']}")
        if "All" in (opts.get("dryRun") or []):
            return obj, False
        policy = opts.get("propagationPolicy")
        if policy == "Orphan":
            self._orphan_dependents(obj)
        elif policy == "Foreground":
            for dep_res, dep in self._dependents(obj):
                try:
                    self.delete_one(dep_res, dep["metadata"].get("namespace"), dep["metadata"]["name"],
                                    {"propagationPolicy": "Foreground"})
                except ApiError:
                    pass  # already gone
        result = self.store.delete(res, namespace, name, opts.get("gracePeriodSeconds"), pre or None)
        gone = self.store.try_get(res, namespace, name) is None
        if res.kind == "Namespace" and not gone:
            self.on_namespace_deleted()
        return result, gone

    def _dependents(self, owner: dict) -> list[tuple[Resource, dict]]:
        uid, ns = owner["metadata"].get("uid"), owner["metadata"].get("namespace")
        out = []
        for res in R.RESOURCES:
            if not res.namespaced:
                continue
            if res.group == "autoscaling" and res.version == "v1":
                continue  # the same storage as v2
            items, _ = self.store.list(res, ns)
            out.extend((res, o) for o in items
                       if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or []))
        return out

    def _orphan_dependents(self, owner: dict) -> None:
        uid = owner["metadata"].get("uid")
        for res, dep in self._dependents(owner):
            def strip(o: dict) -> None:
                refs = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                if refs:
                    o["metadata"]["ownerReferences"] = refs
                else:
                    o["metadata"].pop("ownerReferences", None)
            try:
                self.store.modify(res, dep["metadata"].get("namespace"), dep["metadata"]["name"], strip)
            except ApiError:
                pass

    def deletecollection(self, route: Route, req: Request) -> Response:
        opts = self._delete_options(req)
        ls, fs = selectors(req)
        items, _ = self.store.list(route.res, route.namespace, ls, fs)
        deleted = []
        for obj in items:
            try:
                shown, _ = self.delete_one(route.res, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                           opts)
                deleted.append(shown)
            except ApiError as err:
                if err.code != 404:
                    raise
        return json_response(200, {"kind": f"{route.res.kind}List", "apiVersion": route.res.api_version,
                                   "metadata": {"resourceVersion": self.store.resource_version}, "items": deleted})


def _defaulted(res: Resource, old: dict) -> dict:
    """The stored object with the update defaults applied, for the immutable
    field checks: controllers write pods straight to the store, undefaulted,
    and a metadata-only change (`kubectl label pod`) must not read as a spec
    change because the new object got the defaults the old one lacked."""
    out = copy.deepcopy(old)
    if isinstance(out.get("spec"), dict):
        defaults.on_update(res, out)
    return out


def _patch_rv(doc: Any, ctype: str) -> str | None:
    if ctype != patching.JSON_PATCH and isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
        rv = doc["metadata"].get("resourceVersion")
        return str(rv) if rv else None
    return None

