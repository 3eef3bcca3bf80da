"""What a drill needs to be allowed to do, asked of the cluster before any
fault is applied. Each fault kind and each experiment action declares the
API verbs it uses (`Need`); `check` asks the API server with one
SelfSubjectAccessReview per need (what `kubectl auth can-i` does), and a
refusal is one line naming the verb, the resource and the namespace, exit 3.

A need that depends on the action's arguments (its namespace, a deployment
or a statefulset) is computed from them; a namespace-less need is
cluster-scoped (nodes) or cluster-wide (a drain of every namespace)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import TargetError


@dataclass(frozen=True, order=True)
class Need:
    verb: str
    group: str
    resource: str                 # plural, with "/subresource" where there is one
    namespace: str | None = None  # None: cluster-scoped or across all namespaces
    why: str = field(default="", compare=False)

    @property
    def resource_text(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def text(self) -> str:
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f"{self.verb} {self.resource_text} {where}"

    def key(self) -> tuple:
        return (self.verb, self.group, self.resource, self.namespace)


def _n(verbs: str, group: str, resource: str, ns: str | None, why: str) -> list[Need]:
    return [Need(v, group, resource, ns, why) for v in verbs.split()]


# --- the drill's own bookkeeping --------------------------------------------

def base_needs(ledger_namespace: str) -> list[Need]:
    """Every drill: its ledger (one ConfigMap) and its lease, before the first fault."""
    why = "the drill's ledger and lease (gameday recover)"
    first = "recovery first: the ledgers and leases of earlier drills"
    return [*_n("get create patch delete", "", "configmaps", ledger_namespace, why),
            *_n("get create patch delete", "coordination.k8s.io", "leases", ledger_namespace, why),
            *_n("list", "", "configmaps", ledger_namespace, first),
            *_n("list", "coordination.k8s.io", "leases", ledger_namespace, first)]


# --- fault kinds (gameday.faults) ---------------------------------------------

def _workload(p: dict) -> str:
    return "statefulsets" if p.get("kind") == "statefulset" else "deployments"


FAULT_NEEDS: dict[str, Callable[[dict], list[Need]]] = {
    "pod-kill": lambda p: _n("list delete", "", "pods", p.get("namespace"), "pod-kill"),
    "process-freeze": lambda p: [*_n("list patch", "", "pods", p.get("namespace"), "process-freeze"),
                                 *_n("create", "", "pods/exec", p.get("namespace"), "process-freeze: SIGSTOP/SIGCONT")],
    "workload-scale": lambda p: _n("get patch", "apps", _workload(p), p.get("namespace"), "workload-scale"),
    "set-image": lambda p: _n("get patch", "apps", _workload(p), p.get("namespace"), "set-image"),
    "config-set": lambda p: _n("get patch", "", "configmaps", p.get("namespace"), "config-set"),
    "network-cut": lambda p: [*_n("get", "", "services", p.get("namespace"), "network-cut: the service's pods"),
                              *_n("create list delete", "networking.k8s.io", "networkpolicies", p.get("namespace"),
                                  "network-cut")],
    "network-delay": lambda p: _n("create list delete", "chaos-mesh.org", "networkchaos", p.get("namespace"),
                                  "network-delay"),
    "network-loss": lambda p: _n("create list delete", "chaos-mesh.org", "networkchaos", p.get("namespace"),
                                 "network-loss"),
    "node-drain": lambda p: [*_n("get list patch", "", "nodes", None, "node-drain: cordon"),
                             *_n("list", "", "pods", p.get("namespace"), "node-drain: the node's pods"),
                             *_n("create", "", "pods/eviction", p.get("namespace"), "node-drain: evictions")],
    "accelerator-hog": lambda p: [*_n("list create delete", "", "pods", p.get("namespace"), "accelerator-hog"),
                                  *(_n("list", "", "nodes", None, "accelerator-hog: the node")
                                    if p.get("node_selector") else [])],
}


def for_fault(kind: str, params: dict) -> list[Need]:
    fn = FAULT_NEEDS.get(kind)
    return fn(params) if fn else []


# --- experiment actions and probes (Chaos Toolkit providers) -------------------

def _ns(a: dict) -> str:
    return str(a.get("ns", "default"))


def _ready(a: dict, resource: str = "deployments") -> list[Need]:
    return [*_n("get", "apps", resource, _ns(a), "steady state: ready replicas"),
            *_n("list", "", "pods", _ns(a), "steady state: ready pods")]


def _service(a: dict) -> list[Need]:
    return _n("get", "", "services", _ns(a), "the service's address")


def _alerts(_a: dict) -> list[Need]:
    return _n("get", "", "services", "monitoring", "Prometheus and Alertmanager addresses")


PROVIDER_NEEDS: dict[str, Callable[[dict], list[Need]]] = {
    "gameday.chaos.workload.deployment_ready": _ready,
    "gameday.chaos.workload.wait_deployment_ready": _ready,
    "gameday.chaos.workload.statefulset_ready": lambda a: _ready(a, "statefulsets"),
    "gameday.chaos.workload.wait_statefulset_ready": lambda a: _ready(a, "statefulsets"),
    "gameday.chaos.workload.kill_pods": lambda a: _n("list delete", "", "pods", _ns(a), "kill pods"),
    "gameday.chaos.workload.scale_deployment": lambda a: _n("patch", "apps", "deployments/scale", _ns(a), "scale"),
    "gameday.chaos.workload.scale_statefulset": lambda a: _n("patch", "apps", "statefulsets/scale", _ns(a), "scale"),
    "gameday.chaos.workload.set_image": lambda a: _n("get patch", "apps", "deployments", _ns(a), "set image"),
    "gameday.chaos.workload.ensure_image": lambda a: _n("get patch", "apps", "deployments", _ns(a), "set image"),
    "gameday.chaos.workload.undo_if_image": lambda a: [*_n("get patch", "apps", "deployments", _ns(a), "rollout undo"),
                                                       *_n("list", "apps", "replicasets", _ns(a), "rollout undo")],
    "gameday.chaos.workload.rollout_undo": lambda a: [*_n("get patch", "apps", "deployments", _ns(a), "rollout undo"),
                                                      *_n("list", "apps", "replicasets", _ns(a), "rollout undo")],
    "gameday.chaos.config.set_config": lambda a: _n("patch", "", "configmaps", _ns(a), "set config"),
    "gameday.chaos.config.read_config": lambda a: _n("get", "", "configmaps", _ns(a), "read config"),
    "gameday.chaos.network.deny_ingress": lambda a: _n("create delete", "networking.k8s.io", "networkpolicies", _ns(a),
                                                       "cut traffic"),
    "gameday.chaos.network.remove_policy": lambda a: _n("delete", "networking.k8s.io", "networkpolicies", _ns(a),
                                                        "restore traffic"),
    "gameday.chaos.network.policy_absent": lambda a: _n("get", "networking.k8s.io", "networkpolicies", _ns(a),
                                                        "policy removed"),
    "gameday.chaos.accelerator.start_hog": lambda a: _n("list create delete", "", "pods", _ns(a), "accelerator hog"),
    "gameday.chaos.accelerator.stop_hog": lambda a: _n("get delete", "", "pods", _ns(a), "stop the hog"),
    "gameday.chaos.http.service_healthy": _service,
    "gameday.chaos.http.wait_service_healthy": _service,
    "gameday.chaos.http.service_status": _service,
    "gameday.chaos.alerts.wait_for_alert": _alerts,
    "gameday.chaos.alerts.wait_alert_resolved": _alerts,
    "gameday.chaos.alerts.alert_firing": _alerts,
    "gameday.chaos.alerts.alert_not_firing": _alerts,
    "gameday.faults.actions.node_drain": lambda a: for_fault("node-drain", a),
    "gameday.faults.actions.pod_kill": lambda a: for_fault("pod-kill", a),
    "gameday.faults.actions.rollback_pod_kill": lambda a: [],
    "gameday.faults.actions.rollback_node_drain": lambda a: _n("list patch", "", "nodes", None, "uncordon"),
    # chaostoolkit-kubernetes
    "chaosk8s.pod.actions.terminate_pods": lambda a: _n("list delete", "", "pods", _ns(a), "terminate pods"),
    "chaosk8s.deployment.actions.rollout_deployment": lambda a: _n("patch", "apps", "deployments", _ns(a),
                                                                   "rollout restart"),
}


def for_provider(provider: dict) -> list[Need]:
    """A Chaos Toolkit python provider's needs; an unknown one declares none
    (it may use no API at all; a 403 it meets is reported when it happens)."""
    if provider.get("type") != "python":
        return []
    fn = PROVIDER_NEEDS.get(f"{provider.get('module')}.{provider.get('func')}")
    return fn(dict(provider.get("arguments") or {})) if fn else []


def watched(ns: str) -> list[Need]:
    """The drill's workload watch of a namespace (gameday.drill.watchers.WorkloadWatcher)."""
    why = "the drill's watch of pods and workloads"
    return [*_n("list watch", "", "pods", ns, why), *_n("list watch", "apps", "deployments", ns, why),
            *_n("list watch", "apps", "statefulsets", ns, why)]


def for_check(check) -> list[Need]:
    """A steady-state check of gameday.drill.steady (read through the workload watch)."""
    if check.kind in ("deployment", "statefulset"):
        return watched(check.ns)
    if check.kind == "http":
        return _service({"ns": check.ns})
    return _alerts({})


def for_experiment(doc: dict, checks: Iterable = (), ledger_namespace: str = "gameday") -> list[Need]:
    """What running this experiment (its probes, method, rollbacks, its
    steady-state checks, load and bookkeeping) needs."""
    out = list(base_needs(ledger_namespace))
    for c in checks:
        out += for_check(c)
    acts = [*(doc.get("steady-state-hypothesis") or {}).get("probes", []), *doc.get("method", []),
            *doc.get("rollbacks", [])]
    for a in acts:
        if isinstance(a, dict):
            out += for_provider(a.get("provider") or {})
    return unique(out)


def unique(needs: Iterable[Need]) -> list[Need]:
    seen: dict[tuple, Need] = {}
    for n in needs:
        seen.setdefault(n.key(), n)
    return sorted(seen.values(), key=lambda n: (n.namespace or "", n.group, n.resource, n.verb))


# --- asking the cluster -------------------------------------------------------

def denied(api_client: Any, needs: Iterable[Need]) -> list[Need]:
    """The needs the kubeconfig's user is not allowed, one
    SelfSubjectAccessReview each (as `kubectl auth can-i`)."""
    from kubernetes import client
    auth = client.AuthorizationV1Api(api_client)
    out = []
    for n in unique(needs):
        resource, _, sub = n.resource.partition("/")
        attrs = {"verb": n.verb, "group": n.group, "resource": resource}
        if sub:
            attrs["subresource"] = sub
        if n.namespace:
            attrs["namespace"] = n.namespace
        try:
            review = auth.create_self_subject_access_review(
                {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                 "spec": {"resourceAttributes": attrs}}, _request_timeout=15)
        except Exception as exc:  # unreachable, or the server refuses the review itself
            why = getattr(exc, "reason", None) or f"{exc.__class__.__name__}: {str(exc)[:160]}"
            raise TargetError(f"cannot check permissions (SelfSubjectAccessReview of {n.text()}): {why}") from None
        if not (review.status and review.status.allowed):
            out.append(n)
    return out


class PermissionDenied(TargetError):
    """The kubeconfig's user lacks a verb a drill needs. Exit code 3."""


def require(api_client: Any, needs: Iterable[Need], user: str, what: str) -> int:
    """Raise PermissionDenied (one line, the first refusal and how many
    more) unless every need is allowed; return how many were checked."""
    needs = unique(needs)
    missing = denied(api_client, needs)
    if missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more: {', '.join(m.text() for m in missing[1:4])}" \
               f"{', ...' if len(missing) > 4 else ''})" if len(missing) > 1 else ""
        raise PermissionDenied(f"{what}: {user} may not {first.text()} (needed by {first.why}){more}; "
                               f"grant it in the drill's Role (deploy/rbac) or run as a user who has it; nothing was injected")
    return len(needs)


# --- the runbook's kubectl lines (what an automated operator needs) ----------

_ALIASES = {
    "po": "pods", "pod": "pods", "deploy": "deployments", "deployment": "deployments", "svc": "services",
    "service": "services", "hpa": "horizontalpodautoscalers", "horizontalpodautoscaler": "horizontalpodautoscalers",
    "cm": "configmaps", "configmap": "configmaps", "pvc": "persistentvolumeclaims",
    "persistentvolumeclaim": "persistentvolumeclaims", "ns": "namespaces", "namespace": "namespaces",
    "no": "nodes", "node": "nodes", "netpol": "networkpolicies", "networkpolicy": "networkpolicies",
    "ing": "ingresses", "ingress": "ingresses", "job": "jobs", "cj": "cronjobs", "cronjob": "cronjobs",
    "ep": "endpoints", "ev": "events", "event": "events", "secret": "secrets", "sts": "statefulsets",
    "statefulset": "statefulsets", "rs": "replicasets", "replicaset": "replicasets", "pdb": "poddisruptionbudgets",
    "poddisruptionbudget": "poddisruptionbudgets", "ds": "daemonsets", "daemonset": "daemonsets",
    "sa": "serviceaccounts", "serviceaccount": "serviceaccounts", "pv": "persistentvolumes",
    "persistentvolume": "persistentvolumes",
}
_GROUPS = {
    "deployments": "apps", "statefulsets": "apps", "replicasets": "apps", "daemonsets": "apps",
    "controllerrevisions": "apps", "horizontalpodautoscalers": "autoscaling", "jobs": "batch", "cronjobs": "batch",
    "networkpolicies": "networking.k8s.io", "ingresses": "networking.k8s.io", "poddisruptionbudgets": "policy",
}
_CLUSTER = {"nodes", "namespaces", "persistentvolumes"}
_FLAGS_WITH_VALUE = {"-n", "--namespace", "-l", "--selector", "-o", "--output", "-c", "--container", "--sort-by",
                     "--field-selector", "--image", "--replicas", "-f", "--filename", "-p", "--patch", "--type",
                     "--tail", "--since", "--context", "--kubeconfig", "--timeout", "--to-revision", "--grace-period",
                     "--from", "--for", "--template", "-i", "--restart"}


def _resource(word: str) -> tuple[str, str]:
    """(plural, group) of `deployment`, `deploy/NAME`, `hpa`, `pods.metrics.k8s.io`."""
    kind = word.split("/", 1)[0].lower()
    kind, _, group = kind.partition(".")
    plural = _ALIASES.get(kind, kind)
    return plural, group or _GROUPS.get(plural, "")


def for_kubectl(argv: list[str], default_ns: str = "default") -> list[Need]:
    """What one `kubectl ...` command line needs (the common verbs of a
    runbook; an unknown subcommand needs nothing known in advance)."""
    ns, positional, i, flags = default_ns, [], 1, set()
    while i < len(argv):
        w = argv[i]
        name, eq, value = w.partition("=")
        if w.startswith("-") and not eq and w in _FLAGS_WITH_VALUE and i + 1 < len(argv):
            if w in ("-n", "--namespace"):
                ns = argv[i + 1]
            i += 2
            continue
        if w == "--":
            break
        if w.startswith("-"):
            if name in ("-n", "--namespace") and eq:
                ns = value
            flags.add(name)
        else:
            positional.append(w)
        i += 1
    if "-A" in flags or "--all-namespaces" in flags:
        ns = None
    if not positional:
        return []
    sub, rest = positional[0], positional[1:]
    why = "the runbook: kubectl " + " ".join(positional[:3])

    def on(verbs: str, word: str, sub_resource: str = "") -> list[Need]:
        plural, group = _resource(word)
        scope = None if plural in _CLUSTER else ns
        return _n(verbs, group, plural + (f"/{sub_resource}" if sub_resource else ""), scope, why)

    def named(word_index: int = 0) -> bool:
        return len(rest) > word_index + 1 or (len(rest) > word_index and "/" in rest[word_index])

    if sub in ("get", "describe") and rest:
        out = []
        for word in rest[0].split(","):
            # describe without a name lists, then reads each object it found
            out += on("get" if named() else ("list get" if sub == "describe" else "list"), word)
            if "-w" in flags or "--watch" in flags:
                out += on("watch", word)
        if sub == "describe":
            out += _n("list", "", "events", ns, why)
        return out
    if sub == "top" and rest:
        plural, _ = _resource(rest[0])
        return _n("list", "metrics.k8s.io", plural, None if plural == "nodes" else ns, why)
    if sub == "logs" and rest:
        out = _n("get", "", "pods/log", ns, why)
        if "/" in rest[0] and _resource(rest[0])[0] != "pods":
            out += on("get", rest[0]) + _n("list", "", "pods", ns, why)
        else:
            out += _n("get", "", "pods", ns, why)
        return out
    if sub in ("exec", "cp") and rest:
        target = rest[0] if sub == "exec" else next((w.split(":", 1)[0] for w in rest if ":" in w), rest[0])
        out = _n("create", "", "pods/exec", ns, why)
        if "/" in target and _resource(target)[0] != "pods":
            out += on("get", target) + _n("list", "", "pods", ns, why)
        else:
            out += _n("get", "", "pods", ns, why)
        return out
    if sub == "scale" and rest:
        return on("patch", rest[0], "scale") if "/" in rest[0] or len(rest) > 1 else []
    if sub == "rollout" and len(rest) >= 2:
        action, target = rest[0], rest[1]
        if action in ("restart", "pause", "resume"):
            return on("get patch", target)
        if action == "undo":
            return on("get patch", target) + _n("list", "apps", "replicasets", ns, why)
        if action in ("status", "history"):
            return on("get watch" if action == "status" else "get", target) + _n("list", "apps", "replicasets", ns, why)
        return []
    if sub in ("patch", "annotate", "label") and rest:
        return on("get patch", rest[0])
    if sub == "delete" and rest:  # then waits for the object to go (list + watch), unless --wait=false
        return on("delete", rest[0]) + ([] if "--wait" in flags and "--wait=false" in argv else on("list watch", rest[0]))
    if sub in ("cordon", "uncordon") and rest:
        return _n("get patch", "", "nodes", None, why)
    if sub == "drain" and rest:  # lists the node's pods, evicts them, then reads each until it is gone
        return [*_n("get patch", "", "nodes", None, why), *_n("list get", "", "pods", None, why),
                *_n("create", "", "pods/eviction", None, why)]
    if sub == "run" and rest:
        out = _n("create", "", "pods", ns, why)
        if flags & {"-it", "-i", "--stdin", "-t", "--tty"} or "--attach" in flags:  # waits for it to run, attaches
            out += _n("create", "", "pods/attach", ns, why) + _n("get list watch", "", "pods", ns, why)
        if "--rm" in flags:
            out += _n("delete", "", "pods", ns, why)
        return out
    if sub == "create" and len(rest) >= 2 and rest[0] in ("job",):
        return _n("create", "batch", "jobs", ns, why)
    if sub == "port-forward" and rest:
        return _n("create", "", "pods/portforward", ns, why)
    return []  # auth can-i, version, config, apply -f ...: nothing known in advance


_HELM_FLAGS_WITH_VALUE = {"-n", "--namespace", "--kube-context", "--kubeconfig", "--timeout", "-f", "--values",
                          "--set", "--set-string", "--set-file", "--set-json", "--version", "--description",
                          "--history-max", "-o", "--output", "--max", "--revision", "--post-renderer", "--filter",
                          "-l", "--selector", "--repo", "--kube-token", "--kube-apiserver"}
_HELM_READS_HISTORY = {"list", "ls", "history", "hist", "get", "status"}
_TEMPLATE_KIND = None


def _plural(kind: str) -> str:
    k = kind.lower()
    return k + "es" if k.endswith("s") else k[:-1] + "ies" if k.endswith("y") else k + "s"


def chart_resources(chart: Path) -> list[tuple[str, str]]:
    """(group, plural) of each kind a chart's templates name (its test hooks
    apart): what installing, upgrading or rolling back its release touches."""
    import re
    global _TEMPLATE_KIND
    _TEMPLATE_KIND = _TEMPLATE_KIND or re.compile(r"^\s*kind:\s*([A-Z][A-Za-z]+)\s*$", re.M)
    kinds: set[str] = set()
    templates = chart / "templates"
    for f in sorted(templates.rglob("*")) if templates.is_dir() else []:
        if f.is_file() and "tests" not in f.relative_to(templates).parts:
            kinds.update(_TEMPLATE_KIND.findall(f.read_text(errors="replace")))
    return sorted({(_GROUPS.get(_plural(k), ""), _plural(k)) for k in kinds})


def helm_words(argv: list[str], default_ns: str = "default") -> tuple[str, list[str]]:
    """(namespace, positional words) of `helm ...`: flags and their values left out."""
    ns, positional, i = default_ns, [], 1
    while i < len(argv):
        w = argv[i]
        name, eq, value = w.partition("=")
        if w in _HELM_FLAGS_WITH_VALUE and not eq and i + 1 < len(argv):
            if w in ("-n", "--namespace"):
                ns = argv[i + 1]
            i += 2
            continue
        if name in ("-n", "--namespace") and eq:
            ns = value
        elif not w.startswith("-"):
            positional.append(w)
        i += 1
    return ns, positional


def for_helm(argv: list[str], default_ns: str = "default", base: Path | None = None,
             charts: dict[str, str] | None = None) -> list[Need]:
    """What one `helm ...` line needs. Helm keeps each revision of a release
    in a Secret of the release's namespace (list to read the history, get one
    revision, create and update as it records a new one, delete as it prunes
    past --history-max); upgrade and rollback read and patch each object of
    the chart (`--wait` polls them and the Deployments' ReplicaSets); test
    replaces its hook pods and watches them finish. The chart's kinds are read
    from its templates, relative to `base` (the runbook's folder); a rollback
    touches what the chart that `charts` names for its release deploys."""
    ns, positional = helm_words(argv, default_ns)
    if not positional:
        return []
    sub, rest = positional[0], positional[1:]
    why = "the runbook: helm " + " ".join(positional[:2])
    if sub in _HELM_READS_HISTORY:
        return _n("list", "", "secrets", ns, why)
    if sub == "test":
        return [*_n("list get update", "", "secrets", ns, why), *_n("create delete get list watch", "", "pods", ns, why)]
    if sub in ("upgrade", "rollback", "install"):
        out = _n("list get create update delete", "", "secrets", ns, why)
        chart = rest[1] if sub in ("upgrade", "install") and len(rest) > 1 else \
            (charts or {}).get(rest[0]) if rest else None
        resources = chart_resources((base or Path(".")) / chart) if chart else []
        for group, plural in resources:
            out += _n("get patch", group, plural, ns, why)
        if sub in ("upgrade", "install"):   # the chart's lookup of the live Deployment
            out += _n("get", "apps", "deployments", ns, why)
        if "--wait" in argv:
            out += _n("list", "apps", "replicasets", ns, why)
        return out
    return []


def for_runbook(runbook, default_ns: str = "default", base: Path | None = None) -> list[Need]:
    """Every kubectl and helm line of a parsed runbook (gameday.runbook.parse);
    `base` is the folder its relative paths resolve from (default: the runbook's own)."""
    import re

    from ..runbook.parse import split_block
    out: list[Need] = []
    base = base if base is not None else Path(runbook.path).parent

    def commands(cmds):
        for c in cmds:
            words = [w.strip("'\"") for w in c.words]
            if words[:1] == ["watch"]:  # `watch kubectl top pods`: the command it repeats
                words = words[1:]
            yield words
            yield from commands(c.substitutions)

    lines = []
    for _proc, unit in runbook.units:
        if unit.kind != "command":
            continue
        # `<node-name>` is a redirection to bash: filled in (as the check fills it) before the words are read
        text = re.sub(r"<([A-Za-z0-9_-]+)>", r"PLACEHOLDER-\1", unit.text)
        lines += [words for u in split_block(text) for p in u.pipelines for words in commands(p.commands)]
    charts: dict[str, str] = {}   # release -> the chart the runbook upgrades it with
    for words in lines:
        if words[:1] == ["helm"]:
            _ns, pos = helm_words(words, default_ns)
            if len(pos) >= 3 and pos[0] in ("upgrade", "install"):
                charts.setdefault(pos[1], pos[2])
    for words in lines:
        if words[:1] == ["kubectl"]:
            out.extend(for_kubectl(words, default_ns))
        elif words[:1] == ["helm"]:
            out.extend(for_helm(words, default_ns, base, charts))
    back = lambda why: re.sub(r"PLACEHOLDER-([A-Za-z0-9_-]+)", r"<\1>", why)  # noqa: E731
    return unique(Need(n.verb, n.group, n.resource, n.namespace, back(n.why)) for n in out)


# --- a project's drills (gameday.yaml) ----------------------------------------

def for_project(project, ledger_namespace: str = "gameday", runbook=None) -> list[Need]:
    """What the project's drills need: every fault preset with its
    parameters, the steady state, the services it reaches (load, progress,
    monitoring), and, given the parsed runbook, its kubectl lines."""
    from ..chaos.kinds import kinds
    from .steady import parse_checks
    known = kinds()
    out = list(base_needs(ledger_namespace))
    for preset in project.presets.values():
        params = known[preset.fault].validate(dict(preset.params), f"{project.path}: fault {preset.name}")
        out += [Need(n.verb, n.group, n.resource, n.namespace, f"fault {preset.name} ({n.why})")
                for n in for_fault(preset.fault, params)]
    if project.steady_state:
        for c in parse_checks(list(project.steady_state), f"{project.path}: steady_state"):
            out += for_check(c)
    for svc in project.services.values():
        out += _n("get", "", "services", svc.namespace, f"service {svc.name}'s address")
    if project.load.service:
        out += watched(project.service(project.load.service).namespace)
    from ..bdd import snapshot
    out += snapshot.needs(tuple(project.namespaces))
    out += step_needs(project)
    for ep in (project.prometheus, project.alertmanager, project.notifications):
        if ep is not None and getattr(ep, "namespace", None):
            out += _n("get", "", "services", ep.namespace, "monitoring's address")
    if runbook is not None:
        out += for_runbook(runbook, project.namespaces[0] if project.namespaces else "default")
    return unique(out)


def step_needs(project) -> list[Need]:
    """The harness's own steps (gameday.bdd.library): the placeholders it
    resolves to objects, and the canary it deploys beside a Deployment."""
    out: list[Need] = []
    for name, ph in project.placeholders.items():
        why = f"placeholder {name}"
        if ph.names == "node":
            out += _n("list", "", "nodes", None, why)
        elif ph.names in ("pod", "job"):
            out += _n("list", "batch" if ph.names == "job" else "", ph.names + "s", ph.namespace, why)
    for ns in project.namespaces:  # kubectl apply of the canary Deployment: read, then create or patch
        out += _n("get create patch", "apps", "deployments", ns, "the canary step (Deployment beside the stable one)")
    return out


def check_target(target: Any, needs: Iterable[Need], what: str) -> str:
    """The needs of `what` (an experiment, a project's drills) asked of the
    target's API server as its kubeconfig's user, before anything is
    injected: PermissionDenied (exit 3, one line) on the first refusal;
    else the line the commands print."""
    n = require(target.api_client(), needs, f"user {target.user_name()!r}", what)
    return f"{n} verbs checked with SelfSubjectAccessReview, all granted"
