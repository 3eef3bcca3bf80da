"""`gameday recover [--dry-run] [--expired]`: find what earlier drills left in
the cluster (by the labels on objects faults created, the
`gameday.io/restore` annotations on objects they changed, and the drills'
ledgers) and undo it. Faults of a drill whose lease is still renewed are
left alone unless they are past their expiry; `--expired` undoes only those
past their expiry (the in-cluster CronJob's mode)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from ..faults import marks
from . import ledger as ledger_mod

log = logging.getLogger("gameday.drill.recover")


@dataclass(frozen=True)
class Leftover:
    """One thing a fault left: a created object, or an object's restore entry."""
    kind: str            # the fault kind
    what: str            # "NetworkPolicy sbtest/gameday-cut-..." etc.
    drill: str
    fault_id: str
    expires: float | None

    def line(self) -> str:
        return f"{self.kind} of drill {self.drill or '?'}: {self.what}"


@dataclass
class Report:
    found: list[Leftover] = field(default_factory=list)
    undone: list[Leftover] = field(default_factory=list)
    skipped_alive: list[Leftover] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ledgers_removed: list[str] = field(default_factory=list)

    @property
    def drills(self) -> list[str]:
        return sorted({x.drill for x in self.undone})


def _apis(configuration):
    from kubernetes import client

    from ..chaos.kube import api_client
    c = api_client(configuration)
    return client.CoreV1Api(c), client.AppsV1Api(c), client.NetworkingV1Api(c), client.CustomObjectsApi(c), \
        client.CoordinationV1Api(c)


def _safe_list(fn, *args, **kwargs) -> list:
    """A list call; a resource the cluster does not serve (404) or forbids
    (403) is simply nothing found there, said in the log."""
    from kubernetes.client.rest import ApiException
    try:
        out = fn(*args, _request_timeout=20, **kwargs)
    except ApiException as exc:
        if exc.status in (403, 404):
            log.info("recover: cannot list with %s: %s", getattr(fn, "__name__", fn), exc.status)
            return []
        raise
    return out["items"] if isinstance(out, dict) else out.items


def holder_dead(holder: str | None) -> bool:
    """A lease held by a process of this machine that no longer exists is
    dead at once (a SIGKILLed drill), without waiting for the lease to run out."""
    import socket
    host, _, pid = (holder or "").rpartition("/")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    # Read, never signalled. A killed process not yet reaped by its parent (a
    # zombie, or exiting) is as dead as one that is gone.
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in (b"Z", b"X", b"x")


def alive_drills(configuration) -> set[str]:
    core, _, _, _, coord = _apis(configuration)
    ns = ledger_mod.namespace_of(configuration)
    now = time.time()
    return {(lease.metadata.labels or {}).get(marks.DRILL, "") for lease in _safe_list(
        coord.list_namespaced_lease, ns, label_selector=marks.DRILL)
        if ledger_mod.lease_alive(lease, now) and not holder_dead(lease.spec.holder_identity)}


def scan(configuration) -> list[tuple[Leftover, callable]]:
    """Everything faults left, each with the function that undoes it."""
    from ..chaos.kube import ignore_not_found
    from ..faults import config as f_config, nodes as f_nodes, pods as f_pods, workloads as f_workloads
    from ..faults.network import CHAOS_GROUP, CHAOS_PLURAL, CHAOS_VERSION
    core, apps, net, custom, _ = _apis(configuration)
    out: list[tuple[Leftover, callable]] = []

    def created(kind_label, what, labels, undo):
        out.append((Leftover(labels.get(marks.FAULT, kind_label), what, labels.get(marks.DRILL, ""),
                             labels.get(marks.FAULT_ID, ""), _num(labels.get(marks.EXPIRES))), undo))

    # Objects of faults from before the ledger (labelled managed-by=gameday,
    # with no drill) count too: the drill that made them is long gone.
    sel = marks.FAULT_ID
    legacy = "app.kubernetes.io/managed-by=gameday,!" + marks.FAULT_ID
    for p in _safe_list(net.list_network_policy_for_all_namespaces, label_selector=legacy):
        m = p.metadata
        created("network-cut", f"NetworkPolicy {m.namespace}/{m.name} (no ledger)", m.labels or {},
                lambda m=m: ignore_not_found(net.delete_namespaced_network_policy, m.name, m.namespace))
    for p in _safe_list(core.list_pod_for_all_namespaces, label_selector=legacy + f",{marks.FAULT}"):
        m = p.metadata
        created("accelerator-hog", f"Pod {m.namespace}/{m.name} (no ledger)", m.labels or {},
                lambda m=m: ignore_not_found(core.delete_namespaced_pod, m.name, m.namespace, grace_period_seconds=5))
    for p in _safe_list(net.list_network_policy_for_all_namespaces, label_selector=sel):
        m = p.metadata
        created("network-cut", f"NetworkPolicy {m.namespace}/{m.name}", m.labels or {},
                lambda m=m: ignore_not_found(net.delete_namespaced_network_policy, m.name, m.namespace))
    for o in _safe_list(custom.list_cluster_custom_object, CHAOS_GROUP, CHAOS_VERSION, CHAOS_PLURAL, label_selector=sel):
        m = o["metadata"]
        created("network-chaos", f"NetworkChaos {m['namespace']}/{m['name']}", m.get("labels") or {},
                lambda m=m: ignore_not_found(custom.delete_namespaced_custom_object, CHAOS_GROUP, CHAOS_VERSION,
                                             m["namespace"], CHAOS_PLURAL, m["name"]))
    for p in _safe_list(core.list_pod_for_all_namespaces, label_selector=sel):
        m = p.metadata
        created("accelerator-hog", f"Pod {m.namespace}/{m.name}", m.labels or {},
                lambda m=m: ignore_not_found(core.delete_namespaced_pod, m.name, m.namespace, grace_period_seconds=5))

    def annotated(obj, what, restore):
        for fid, entry in marks.restore_entries(obj.metadata).items():
            out.append((Leftover(entry.get("kind", "?"), what, entry.get("drill", ""), fid, _num(entry.get("expires"))),
                        lambda obj=obj, fid=fid, entry=entry: restore(obj, [(fid, entry)])))

    for d in _safe_list(apps.list_deployment_for_all_namespaces):
        annotated(d, f"Deployment {d.metadata.namespace}/{d.metadata.name}",
                  lambda o, e: f_workloads.restore_workload(configuration, "deployment", _fresh(
                      apps.read_namespaced_deployment, o), e))
    for s in _safe_list(apps.list_stateful_set_for_all_namespaces):
        annotated(s, f"StatefulSet {s.metadata.namespace}/{s.metadata.name}",
                  lambda o, e: f_workloads.restore_workload(configuration, "statefulset", _fresh(
                      apps.read_namespaced_stateful_set, o), e))
    for cm in _safe_list(core.list_config_map_for_all_namespaces):
        annotated(cm, f"ConfigMap {cm.metadata.namespace}/{cm.metadata.name}",
                  lambda o, e: f_config.restore_configmap(configuration, _fresh(core.read_namespaced_config_map, o), e))
    for n in _safe_list(core.list_node):
        annotated(n, f"Node {n.metadata.name}",
                  lambda o, e: f_nodes.restore_node(configuration, core.read_node(o.metadata.name), e))
    for p in _safe_list(core.list_pod_for_all_namespaces):
        if marks.RESTORE in (p.metadata.annotations or {}):
            annotated(p, f"Pod {p.metadata.namespace}/{p.metadata.name}",
                      lambda o, e: f_pods.restore_pod(configuration, _fresh(core.read_namespaced_pod, o), e))
    return [(x, fn) for x, fn in out if fn is not None]


def _fresh(read, obj):
    """The object as it is now (its annotation may have changed since the scan)."""
    return read(obj.metadata.name, obj.metadata.namespace)


def _num(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def ledgers(configuration) -> list:
    """Ledgers in the drills' namespace (what the drills' own Role may list),
    and in any other namespace where the user may list across them."""
    core = _apis(configuration)[0]
    sel = f"{ledger_mod.LEDGER_LABEL}=true"
    found = {(c.metadata.namespace, c.metadata.name): c for c in _safe_list(
        core.list_namespaced_config_map, ledger_mod.namespace_of(configuration), label_selector=sel)}
    for c in _safe_list(core.list_config_map_for_all_namespaces, label_selector=sel):
        found.setdefault((c.metadata.namespace, c.metadata.name), c)
    return list(found.values())


def count_left(configuration) -> int:
    """Faults still in the cluster, of any drill, alive or not (what tests count)."""
    return len(scan(configuration))


def recover(configuration, *, dry_run: bool = False, expired_only: bool = False, keep: set[str] = frozenset(),
            say=lambda line: None) -> Report:
    """Undo what drills no longer alive (or past their expiry) left. `keep`:
    drill ids to leave alone (the caller's own)."""
    from kubernetes.client.rest import ApiException

    from ..chaos.kube import ignore_not_found
    report = Report()
    alive = alive_drills(configuration) | set(keep)
    now = time.time()
    for item, undo in scan(configuration):
        report.found.append(item)
        expired = item.expires is not None and item.expires <= now
        if not expired and (expired_only or item.drill in alive):
            report.skipped_alive.append(item)
            continue
        say(("would undo " if dry_run else "undo ") + item.line() + (" (expired)" if expired else ""))
        if dry_run:
            report.undone.append(item)
            continue
        try:
            undo()
            report.undone.append(item)
        except Exception as exc:  # reported, and the next recover tries again
            msg = f"{item.line()}: {exc.__class__.__name__}: {str(exc)[:200]}"
            log.error("recover: %s", msg)
            report.failed.append(msg)
    if dry_run:
        return report
    # Ledgers and leases of drills that are gone and left nothing behind.
    core, _, _, _, coord = _apis(configuration)
    left = {x.drill for x, _ in scan(configuration)} if report.undone or report.skipped_alive else set()
    for cm in ledgers(configuration):
        drill = (cm.metadata.labels or {}).get(marks.DRILL, "")
        if drill in alive or drill in left:
            continue
        if expired_only and not _ledger_expired(cm, now):
            continue
        say(f"remove ledger {cm.metadata.namespace}/{cm.metadata.name}")
        try:
            ignore_not_found(core.delete_namespaced_config_map, cm.metadata.name, cm.metadata.namespace)
            ignore_not_found(coord.delete_namespaced_lease, ledger_mod.lease_name(drill), cm.metadata.namespace)
            report.ledgers_removed.append(drill)
        except ApiException as exc:
            report.failed.append(f"ledger {cm.metadata.name}: {exc.status}")
    return report


def _ledger_expired(cm, now: float) -> bool:
    import json
    for raw in (cm.data or {}).values():
        try:
            if float(json.loads(raw).get("expires", 0)) > now:
                return False
        except (ValueError, AttributeError, TypeError):
            continue
    return True


# -- the command ------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser("recover", help="undo what earlier drills left in the cluster (faults, ledgers)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="say what would be undone; change nothing")
    p.add_argument("--expired", action="store_true", help="only faults past their expiry (the CronJob's mode)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig of the cluster (default: the sandbox's, "
                                                     "or the in-cluster ServiceAccount)")
    p.add_argument("--context", default=None)
    p.add_argument("--namespace", default=None, help="namespace of the drills' ledgers (default gameday)")
    p.set_defaults(func=main)


def configuration_for(args) -> dict:
    import os
    from pathlib import Path

    from ..errors import TargetError
    from ..target import default_sandbox_dir
    cfg: dict = {}
    kubeconfig = args.kubeconfig or os.environ.get("KUBECONFIG")
    if not kubeconfig:
        sandbox = Path(default_sandbox_dir()) / "kubeconfig"
        if sandbox.exists():
            kubeconfig = str(sandbox)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            kubeconfig = _in_cluster_kubeconfig()
        else:
            raise TargetError("no cluster: pass --kubeconfig, set KUBECONFIG, or start the sandbox")
    cfg["kubeconfig_path"] = kubeconfig
    if args.context:
        cfg["kubernetes_context"] = args.context
    if args.namespace:
        cfg["gameday_namespace"] = args.namespace
    return cfg


def _in_cluster_kubeconfig() -> str:
    """A kubeconfig for the pod's ServiceAccount (the CronJob), written beside
    the working directory's reports (never /tmp)."""
    import os
    from pathlib import Path
    sa = Path("/var/run/secrets/kubernetes.io/serviceaccount")
    path = Path(os.environ.get("GAMEDAY_STATE", "reports")) / "in-cluster.kubeconfig"
    path.parent.mkdir(parents=True, exist_ok=True)
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: in-cluster, cluster: {{server: "https://{host}:{port}", certificate-authority: "{sa / 'ca.crt'}"}}}}]
users: [{{name: sa, user: {{tokenFile: "{sa / 'token'}"}}}}]
contexts: [{{name: in-cluster, context: {{cluster: in-cluster, user: sa}}}}]
current-context: in-cluster
""")
    return str(path)


def main(args) -> int:
    cfg = configuration_for(args)
    report = recover(cfg, dry_run=args.dry_run, expired_only=args.expired, say=lambda line: print(line, flush=True))
    verb = "would undo" if args.dry_run else "undid"
    print(f"recover: {verb} {len(report.undone)} fault(s) of {len(report.drills)} drill(s); "
          f"{len(report.skipped_alive)} left to live drills; {len(report.failed)} failed"
          + ("" if args.dry_run else f"; {len(report.ledgers_removed)} ledger(s) removed"))
    for msg in report.failed:
        print(f"  failed: {msg}")
    return 3 if report.failed else 0
