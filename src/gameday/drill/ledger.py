"""A drill's ledger, kept in the cluster so that whoever comes next can undo
what it left (`gameday recover`), even when the process that injected the
faults died with SIGKILL:

- ConfigMap `gameday-ledger-<drill>` (namespace from configuration
  `gameday_namespace`, default `gameday`): one key per fault, written before
  the fault is applied and again once it is; a key is removed when its
  rollback is done, the ConfigMap when the drill closes with none left;
- Lease `gameday-drill-<drill>` in the same namespace, renewed while the
  drill lives: a drill whose lease ran out is no longer alive.

Labels and annotations on the objects faults create or change (see
`gameday.faults.marks`) carry the same drill id and an expiry."""
from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from datetime import datetime, timezone

from ..faults import marks

log = logging.getLogger("gameday.drill.ledger")

DEFAULT_NAMESPACE = "gameday"
LEDGER_LABEL = "gameday.io/ledger"
LEASE_SECONDS = 20
DEFAULT_TTL = 1800.0
_seq = iter(range(1, 1 << 62))
_seq_lock = threading.Lock()


def new_drill_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{random.randrange(16 ** 6):06x}"


def ledger_name(drill: str) -> str:
    return f"gameday-ledger-{drill}"


def lease_name(drill: str) -> str:
    return f"gameday-drill-{drill}"


def namespace_of(configuration: dict | None) -> str:
    return str((configuration or {}).get("gameday_namespace") or os.environ.get("GAMEDAY_NAMESPACE")
               or DEFAULT_NAMESPACE)


def _micro(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_alive(lease, now: float | None = None) -> bool:
    """Pure on a client model (or dict): renewTime + duration is still ahead."""
    spec = lease.get("spec") if isinstance(lease, dict) else getattr(lease, "spec", None)
    if spec is None:
        return False
    get = (lambda k, a: spec.get(k)) if isinstance(spec, dict) else (lambda k, a: getattr(spec, a, None))
    renew, duration = get("renewTime", "renew_time"), get("leaseDurationSeconds", "lease_duration_seconds")
    if renew is None or duration is None:
        return False
    if isinstance(renew, str):
        try:
            renew = datetime.strptime(renew.replace("Z", ""), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
        except ValueError:
            return False
    if renew.tzinfo is None:
        renew = renew.replace(tzinfo=timezone.utc)
    return renew.timestamp() + float(duration) > (now if now is not None else time.time())


class Ledger:
    """The faults of one drill, recorded in the cluster. Writing is best
    effort after a warning (a cluster that forbids the ledger still gets the
    labels and annotations on the objects, which `recover` also reads)."""

    def __init__(self, configuration: dict | None = None, drill: str | None = None, ttl: float | None = None,
                 lease_seconds: int = LEASE_SECONDS):
        self.configuration = dict(configuration or {})
        self.drill = drill or new_drill_id()
        self.namespace = namespace_of(configuration)
        self.ttl = float(ttl or (configuration or {}).get("gameday_fault_ttl") or DEFAULT_TTL)
        self.lease_seconds = lease_seconds
        self.holder = f"{socket.gethostname()}/{os.getpid()}"
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._ready = False
        self.errors: list[str] = []

    # -- what faults read ------------------------------------------------------
    @property
    def expires(self) -> float:
        return time.time() + self.ttl

    def ref(self) -> dict:
        return {"drill": self.drill, "namespace": self.namespace}

    # -- the cluster side ------------------------------------------------------
    def _core(self):
        from ..chaos.kube import core
        return core(self.configuration)

    def _coord(self):
        from kubernetes import client

        from ..chaos.kube import api_client
        return client.CoordinationV1Api(api_client(self.configuration))

    def _warn(self, what: str, exc: Exception) -> None:
        msg = f"ledger {self.namespace}/{ledger_name(self.drill)}: {what}: {exc.__class__.__name__}: {str(exc)[:200]}"
        log.warning(msg)
        self.errors.append(msg)

    def open(self) -> "Ledger":
        """Create the namespace (if missing), the ledger and the lease, and
        start renewing the lease. Idempotent."""
        if self._ready:
            return self
        from kubernetes.client.rest import ApiException
        api = self._core()
        try:
            api.create_namespace({"metadata": {"name": self.namespace, "labels": dict(marks.MANAGED)}})
        except ApiException as exc:
            if exc.status not in (409, 403):
                self._warn("create namespace", exc)
        labels = {**marks.MANAGED, LEDGER_LABEL: "true", marks.DRILL: self.drill}
        try:
            api.create_namespaced_config_map(self.namespace, {
                "metadata": {"name": ledger_name(self.drill), "labels": labels,
                             "annotations": {"gameday.io/holder": self.holder}}, "data": {}})
        except ApiException as exc:
            if exc.status != 409:
                self._warn("create", exc)
        self._renew(create=True)
        self._ready = True
        self._renewer = threading.Thread(target=self._renew_loop, name=f"lease-{self.drill}", daemon=True)
        self._renewer.start()
        return self

    def _renew(self, create: bool = False) -> None:
        from kubernetes.client.rest import ApiException
        now = _micro(time.time())
        body = {"metadata": {"name": lease_name(self.drill), "labels": {**marks.MANAGED, marks.DRILL: self.drill}},
                "spec": {"holderIdentity": self.holder, "leaseDurationSeconds": self.lease_seconds,
                         "renewTime": now, **({"acquireTime": now} if create else {})}}
        try:
            if create:
                try:
                    self._coord().create_namespaced_lease(self.namespace, body)
                    return
                except ApiException as exc:
                    if exc.status != 409:
                        raise
            self._coord().patch_namespaced_lease(lease_name(self.drill), self.namespace, {"spec": body["spec"]})
        except Exception as exc:
            self._warn("renew lease", exc)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            self._renew()

    def _write(self, fault_id: str, entry: dict | None) -> None:
        if not self._ready:
            self.open()
        try:
            self._core().patch_namespaced_config_map(ledger_name(self.drill), self.namespace, {"data": {
                fault_id: json.dumps(entry, sort_keys=True) if entry is not None else None}})
        except Exception as exc:
            self._warn(f"record {fault_id}", exc)

    def begin(self, kind: str, params: dict) -> str:
        """Record a fault about to be applied; returns its id."""
        with _seq_lock:
            n = next(_seq)
        fault_id = f"{time.time_ns() // 1_000_000:013d}-{os.getpid() % 100000:05d}{n:04d}"
        self._write(fault_id, {"kind": kind, "params": _jsonable(params), "status": "applying",
                               "expires": int(self.expires)})
        return fault_id

    def applied(self, fault_id: str, kind: str, params: dict, state: dict) -> None:
        self._write(fault_id, {"kind": kind, "params": _jsonable(params), "status": "applied",
                               "state": _jsonable(state), "expires": int(self.expires)})

    def finished(self, fault_id: str) -> None:
        self._write(fault_id, None)

    def close(self) -> None:
        """Stop the lease; remove the ledger if no fault is left in it, and the lease."""
        self._stop.set()
        if not self._ready:
            return
        from ..chaos.kube import ignore_not_found
        try:
            cm = self._core().read_namespaced_config_map(ledger_name(self.drill), self.namespace, _request_timeout=10)
            if not cm.data:
                ignore_not_found(self._core().delete_namespaced_config_map, ledger_name(self.drill), self.namespace)
            else:
                log.warning("ledger %s keeps %d fault(s) not rolled back: `gameday recover` undoes them",
                            ledger_name(self.drill), len(cm.data))
            ignore_not_found(self._coord().delete_namespaced_lease, lease_name(self.drill), self.namespace)
        except Exception as exc:
            self._warn("close", exc)
        self._ready = False


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def finished(configuration: dict | None, state: dict | None) -> None:
    """A rollback is done: drop the fault from the ledger named in its state."""
    ref = (state or {}).get("ledger") or {}
    fid = (state or {}).get("id")
    if not ref.get("drill") or not fid:
        return
    led = _LEDGERS.get((ref["drill"], ref.get("namespace")))
    if led is not None:
        led.finished(fid)
        return
    try:
        from ..chaos.kube import core
        core(configuration).patch_namespaced_config_map(ledger_name(ref["drill"]), ref.get("namespace")
                                                         or namespace_of(configuration), {"data": {fid: None}})
    except Exception as exc:
        log.warning("ledger of drill %s: cannot drop %s: %s", ref["drill"], fid, exc)


_LEDGERS: dict[tuple[str, str], Ledger] = {}
_process_lock = threading.Lock()


def register(ledger: Ledger) -> Ledger:
    _LEDGERS[(ledger.drill, ledger.namespace)] = ledger
    return ledger


def for_process(configuration: dict | None) -> Ledger:
    """The ledger of faults injected outside a drill (a Chaos Toolkit
    experiment calling the providers): one per process and target, its drill
    id from configuration `gameday_drill` or $GAMEDAY_DRILL when given."""
    drill = (configuration or {}).get("gameday_drill") or os.environ.get("GAMEDAY_DRILL")
    ns = namespace_of(configuration)
    with _process_lock:
        for (d, n), led in _LEDGERS.items():
            if n == ns and (d == drill or (drill is None and getattr(led, "process", False))):
                return led
        led = Ledger(configuration, drill=drill)
        led.process = True
        import atexit
        atexit.register(led.close)  # a stock `chaos run`: lease gone, ledger too when nothing is left
        return register(led.open())
