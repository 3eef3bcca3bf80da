"""kube-state-metrics v2 compatibility: the series kube-state-metrics
exports for pods, deployments, statefulsets, daemonsets, replicasets, jobs,
cronjobs, horizontal pod autoscalers, pod disruption budgets, nodes and
persistent volume claims, computed from the sandbox's objects.

Names, types, label names and values follow kube-state-metrics' own metric
docs (docs/metrics/workload/pod-metrics.md and its siblings) and its
generators (internal/store/*.go), with its default flags: no
`--metric-labels-allowlist`, so `kube_*_labels` carry only the object's
identity. Community alert rules (the kubernetes-mixin's) read these series
with `job="kube-state-metrics"`, which the scrape target supplies (see
discovery_sd.self_target); the series themselves carry no `job` label,
except that Jobs are named by `job_name`, as in kube-state-metrics.

Not exported: annotations/labels allowlists, kube_cronjob_next_schedule_time
(needs a cron parser), the EXPERIMENTAL pod time series
(initialized/ready/container-ready times) and resource claims.

Everything here is pure: objects (JSON dicts) in, `Family` values or
Prometheus text out."""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field

from .controllers.quantity import parse_quantity

CONDITION_STATUSES = ("true", "false", "unknown")  # kube-state-metrics' order (addConditionMetrics)
POD_STATUS_REASONS = ("Evicted", "NodeAffinity", "NodeLost", "PreemptionByScheduler", "SchedulingGated",
                      "Shutdown", "TerminationByKubelet", "UnexpectedAdmissionError")
JOB_FAILURE_REASONS = ("BackoffLimitExceeded", "DeadlineExceeded", "Evicted")
DEPLOYMENT_REASONS = {"ReplicaSetUpdated", "ReplicaSetCreateError", "NewReplicaSetCreated", "FoundNewReplicaSet",
                      "NewReplicaSetAvailable", "ProgressDeadlineExceeded", "DeploymentPaused",
                      "DeploymentResumed", "MinimumReplicasAvailable", "MinimumReplicasUnavailable", ""}
_NATIVE_BYTES = ("memory", "storage", "ephemeral-storage")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")


@dataclass(frozen=True)
class Sample:
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass
class Family:
    name: str
    type: str  # "gauge" | "counter"
    help: str
    samples: list[Sample] = field(default_factory=list)


class _Families:
    """Families in declaration order; samples appended per object."""

    def __init__(self) -> None:
        self._by_name: dict[str, Family] = {}

    def declare(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self._by_name.setdefault(name, Family(name, kind, help_text))

    def add(self, name: str, labels: dict, value) -> None:
        self._by_name[name].samples.append(
            Sample(tuple((k, "" if v is None else str(v)) for k, v in labels.items()), float(value)))

    def all(self) -> list[Family]:
        return list(self._by_name.values())


# --- small pure helpers -------------------------------------------------------

def _ts(text) -> float | None:
    """An RFC 3339 timestamp as unix seconds (None when absent or malformed)."""
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _b(flag) -> int:
    return 1 if flag else 0


def _condition_samples(status) -> list[tuple[str, int]]:
    """(status label, value) for true/false/unknown, as addConditionMetrics."""
    got = str(status or "").lower()
    return [(s, _b(got == s)) for s in CONDITION_STATUSES]


def sanitize(name: str) -> str:
    """kube-state-metrics' SanitizeLabelName: example.com/accel -> example_com_accel."""
    return _INVALID_LABEL.sub("_", name)


def resource_unit(resource: str) -> str | None:
    """The `unit` label kube-state-metrics gives a resource (None: not exported)."""
    if resource == "cpu":
        return "core"
    if resource in _NATIVE_BYTES or resource.startswith("hugepages-") or resource.startswith("attachable-volumes-"):
        return "byte"
    if resource == "pods":
        return "integer"
    if "/" in resource and not resource.startswith("kubernetes.io/") and not resource.startswith("requests."):
        return "integer"  # extended resources, e.g. example.com/accel
    return None


def resource_value(resource: str, quantity) -> float:
    """CPU in cores (milli precision), everything else as an integer rounded up."""
    value = parse_quantity(quantity)
    if resource == "cpu":
        return math.ceil(round(value * 1000, 6)) / 1000
    return float(math.ceil(round(value, 6)))


def scaled_int_or_percent(value, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = float(value[:-1]) * total / 100
        return int(math.ceil(scaled) if round_up else math.floor(scaled))
    return int(value)


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _sorted(objs: list[dict]) -> list[dict]:
    return sorted(objs, key=lambda o: (_meta(o).get("namespace", ""), _meta(o).get("name", "")))


def _owner_samples(meta: dict) -> list[dict]:
    owners = meta.get("ownerReferences") or []
    if not owners:
        return [{"owner_kind": "", "owner_name": "", "owner_is_controller": ""}]
    return [{"owner_kind": o.get("kind", ""), "owner_name": o.get("name", ""),
             "owner_is_controller": "true" if o.get("controller") else "false"} for o in owners]


def _common(f: _Families, prefix: str, base: dict, meta: dict, generation: bool = True) -> None:
    """created, labels (identity only, as with an empty allowlist), deletion
    timestamp, metadata generation: what most kinds share."""
    created = _ts(meta.get("creationTimestamp"))
    if created is not None:
        f.add(f"{prefix}_created", base, created)
    f.add(f"{prefix}_labels", base, 1)
    deleted = _ts(meta.get("deletionTimestamp"))
    if deleted is not None:
        f.add(f"{prefix}_deletion_timestamp", base, deleted)
    if generation:
        f.add(f"{prefix}_metadata_generation", base, meta.get("generation", 1))


def _declare_common(f: _Families, prefix: str, kind: str, generation: bool = True) -> None:
    f.declare(f"{prefix}_created", "Unix creation timestamp")
    f.declare(f"{prefix}_labels", f"Kubernetes labels converted to Prometheus labels ({kind}).")
    f.declare(f"{prefix}_deletion_timestamp", "Unix deletion timestamp")
    if generation:
        f.declare(f"{prefix}_metadata_generation", "Sequence number representing a specific generation of the desired state.")


# --- pods ------------------------------------------------------------------------

def _qos_class(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    limits = [(c.get("resources") or {}).get("limits") or {} for c in containers]
    if not any(r.get(k) for r in requests + limits for k in ("cpu", "memory")):
        return "BestEffort"
    guaranteed = all(
        lim.get(k) and parse_quantity((req.get(k) or lim.get(k))) == parse_quantity(lim.get(k))
        for req, lim in zip(requests, limits) for k in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


def _pod_families(f: _Families, pods: list[dict]) -> None:
    p = "kube_pod"
    for name, help_text in (
        ("info", "Information about pod."), ("owner", "Information about the Pod's owner."),
        ("labels", "Kubernetes labels converted to Prometheus labels."), ("created", "Unix creation timestamp"),
        ("deletion_timestamp", "Unix deletion timestamp"), ("start_time", "Start time in unix timestamp for a pod."),
        ("completion_time", "Completion time in unix timestamp for a pod."),
        ("status_phase", "The pods current phase."), ("status_ready", "Describes whether the pod is ready to serve requests."),
        ("status_scheduled", "Describes the status of the scheduling process for the pod."),
        ("status_scheduled_time", "Unix timestamp when pod moved into scheduled status"),
        ("status_unschedulable", "Describes the unschedulable status for the pod."),
        ("status_reason", "The pod status reasons"), ("status_qos_class", "The pods current qosClass."),
        ("restart_policy", "Describes the restart policy in use by this pod."),
        ("ips", "Pod IP addresses"), ("service_account", "The service account for a pod."),
        ("tolerations", "Information about the pod tolerations"),
        ("spec_volumes_persistentvolumeclaims_info", "Information about persistentvolumeclaim volumes in a pod."),
        ("spec_volumes_persistentvolumeclaims_readonly", "Describes whether a persistentvolumeclaim is mounted read only."),
    ):
        f.declare(f"{p}_{name}", help_text)
    for c in ("container", "init_container"):
        f.declare(f"{p}_{c}_info", "Information about a container in a pod.")
        f.declare(f"{p}_{c}_status_waiting", "Describes whether the container is currently in waiting state.")
        f.declare(f"{p}_{c}_status_waiting_reason", "Describes the reason the container is currently in waiting state.")
        f.declare(f"{p}_{c}_status_running", "Describes whether the container is currently in running state.")
        f.declare(f"{p}_{c}_state_started", "Start time in unix timestamp for a pod container.")
        f.declare(f"{p}_{c}_status_terminated", "Describes whether the container is currently in terminated state.")
        f.declare(f"{p}_{c}_status_terminated_reason", "Describes the reason the container is currently in terminated state.")
        f.declare(f"{p}_{c}_status_last_terminated_reason", "Describes the last reason the container was in terminated state.")
        f.declare(f"{p}_{c}_status_last_terminated_exitcode", "Describes the exit code for the last container in terminated state.")
        f.declare(f"{p}_{c}_status_ready", "Describes whether the containers readiness check succeeded.")
        f.declare(f"{p}_{c}_status_restarts_total", "The number of container restarts per container.", "counter")
        f.declare(f"{p}_{c}_resource_requests", "The number of requested request resource by a container.")
        f.declare(f"{p}_{c}_resource_limits", "The number of requested limit resource by a container.")

    for pod in _sorted(pods):
        meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "pod": meta.get("name", ""), "uid": meta.get("uid", "")}
        node = spec.get("nodeName", "")
        controller = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), {})
        f.add(f"{p}_info", {**base, "host_ip": status.get("hostIP", ""), "pod_ip": status.get("podIP", ""),
                            "node": node, "created_by_kind": controller.get("kind", ""),
                            "created_by_name": controller.get("name", ""),
                            "priority_class": spec.get("priorityClassName", ""),
                            "host_network": "true" if spec.get("hostNetwork") else "false"}, 1)
        for owner in _owner_samples(meta):
            f.add(f"{p}_owner", {**base, **owner}, 1)
        _common(f, p, base, meta, generation=False)
        started = _ts(status.get("startTime"))
        if started is not None:
            f.add(f"{p}_start_time", base, started)
        finished = [_ts(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
                    for cs in status.get("containerStatuses") or []]
        if finished and all(t is not None for t in finished):
            f.add(f"{p}_completion_time", base, max(finished))
        phase = status.get("phase")
        if phase:
            for candidate in ("Pending", "Succeeded", "Failed", "Unknown", "Running"):
                f.add(f"{p}_status_phase", {**base, "phase": candidate}, _b(phase == candidate))
        conditions = status.get("conditions") or []
        for cond in conditions:
            if cond.get("type") == "Ready":
                for s, v in _condition_samples(cond.get("status")):
                    f.add(f"{p}_status_ready", {**base, "condition": s}, v)
            elif cond.get("type") == "PodScheduled":
                for s, v in _condition_samples(cond.get("status")):
                    f.add(f"{p}_status_scheduled", {**base, "condition": s}, v)
                if cond.get("status") == "True" and _ts(cond.get("lastTransitionTime")) is not None:
                    f.add(f"{p}_status_scheduled_time", base, _ts(cond.get("lastTransitionTime")))
                if cond.get("status") == "False":
                    f.add(f"{p}_status_unschedulable", base, 1)
        terminated_reasons = {((cs.get("state") or {}).get("terminated") or {}).get("reason")
                              for cs in status.get("containerStatuses") or []}
        for reason in POD_STATUS_REASONS:
            if status.get("reason") == reason or reason in terminated_reasons or \
                    any(c.get("reason") == reason for c in conditions):
                f.add(f"{p}_status_reason", {**base, "reason": reason}, 1)
        if status.get("reason") and status["reason"] not in POD_STATUS_REASONS:
            f.add(f"{p}_status_reason", {**base, "reason": "Other"}, 1)
        qos = status.get("qosClass") or _qos_class(pod)
        for candidate in ("BestEffort", "Burstable", "Guaranteed"):
            f.add(f"{p}_status_qos_class", {**base, "qos_class": candidate}, _b(qos == candidate))
        policy = spec.get("restartPolicy", "Always")
        f.add(f"{p}_restart_policy", {**base, "type": policy}, 1)
        for ip in status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else []):
            f.add(f"{p}_ips", {**base, "ip": ip.get("ip", ""), "ip_family": "6" if ":" in ip.get("ip", "") else "4"}, 1)
        f.add(f"{p}_service_account", {**base, "service_account": spec.get("serviceAccountName") or "default"}, 1)
        for t in spec.get("tolerations") or []:
            f.add(f"{p}_tolerations", {**base, "key": t.get("key", ""), "operator": t.get("operator", ""),
                                       "value": t.get("value", ""), "effect": t.get("effect", ""),
                                       "toleration_seconds": "" if t.get("tolerationSeconds") is None
                                       else str(t["tolerationSeconds"])}, 1)
        for vol in spec.get("volumes") or []:
            claim = vol.get("persistentVolumeClaim")
            if claim:
                labels = {**base, "volume": vol.get("name", ""), "persistentvolumeclaim": claim.get("claimName", ""),
                          "ephemeral": "false"}
                f.add(f"{p}_spec_volumes_persistentvolumeclaims_info", labels, 1)
                f.add(f"{p}_spec_volumes_persistentvolumeclaims_readonly", labels, _b(claim.get("readOnly")))
        for kind, specs, statuses in (("container", spec.get("containers") or [], status.get("containerStatuses") or []),
                                      ("init_container", spec.get("initContainers") or [],
                                       status.get("initContainerStatuses") or [])):
            _container_families(f, f"{p}_{kind}", base, node, specs, statuses)


def _container_families(f: _Families, p: str, base: dict, node: str, specs: list[dict], statuses: list[dict]) -> None:
    for cs in statuses:
        c = {**base, "container": cs.get("name", "")}
        state, last = cs.get("state") or {}, (cs.get("lastState") or {}).get("terminated")
        f.add(f"{p}_info", {**c, "image": cs.get("image", ""), "image_id": cs.get("imageID", ""),
                            "image_spec": next((s.get("image", "") for s in specs if s.get("name") == cs.get("name")), ""),
                            "container_id": cs.get("containerID", "")}, 1)
        f.add(f"{p}_status_waiting", c, _b(state.get("waiting") is not None))
        if state.get("waiting") is not None:
            f.add(f"{p}_status_waiting_reason", {**c, "reason": state["waiting"].get("reason", "")}, 1)
        f.add(f"{p}_status_running", c, _b(state.get("running") is not None))
        started = _ts((state.get("running") or {}).get("startedAt") or (state.get("terminated") or {}).get("startedAt"))
        if started is not None:
            f.add(f"{p}_state_started", c, started)
        f.add(f"{p}_status_terminated", c, _b(state.get("terminated") is not None))
        if state.get("terminated") is not None:
            f.add(f"{p}_status_terminated_reason", {**c, "reason": state["terminated"].get("reason", "")}, 1)
        if last:
            f.add(f"{p}_status_last_terminated_reason", {**c, "reason": last.get("reason", "")}, 1)
            f.add(f"{p}_status_last_terminated_exitcode", c, last.get("exitCode", 0))
        f.add(f"{p}_status_ready", c, _b(cs.get("ready")))
        f.add(f"{p}_status_restarts_total", c, cs.get("restartCount", 0))
    for spec in specs:
        resources = spec.get("resources") or {}
        for which, family in (("requests", "resource_requests"), ("limits", "resource_limits")):
            for resource, quantity in sorted((resources.get(which) or {}).items()):
                unit = resource_unit(resource)
                if unit is None:
                    continue
                try:
                    value = resource_value(resource, quantity)
                except ValueError:
                    continue  # the API server validated it; a bad value is not worth failing the scrape
                f.add(f"{p}_{family}", {**base, "container": spec.get("name", ""), "node": node,
                                        "resource": sanitize(resource), "unit": unit}, value)


# --- workloads ---------------------------------------------------------------------

def _deployment_families(f: _Families, deployments: list[dict]) -> None:
    p = "kube_deployment"
    _declare_common(f, p, "deployment")
    for name in ("status_replicas", "status_replicas_ready", "status_replicas_available",
                 "status_replicas_unavailable", "status_replicas_updated", "status_observed_generation",
                 "status_condition", "spec_replicas", "spec_paused",
                 "spec_strategy_rollingupdate_max_unavailable", "spec_strategy_rollingupdate_max_surge"):
        f.declare(f"{p}_{name}", f"Deployment {name.replace('_', ' ')}.")
    for dep in _sorted(deployments):
        meta, spec, status = _meta(dep), dep.get("spec") or {}, dep.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "deployment": meta.get("name", "")}
        _common(f, p, base, meta)
        for family, key in (("status_replicas", "replicas"), ("status_replicas_ready", "readyReplicas"),
                            ("status_replicas_available", "availableReplicas"),
                            ("status_replicas_unavailable", "unavailableReplicas"),
                            ("status_replicas_updated", "updatedReplicas"),
                            ("status_observed_generation", "observedGeneration")):
            f.add(f"{p}_{family}", base, status.get(key) or 0)
        for cond in status.get("conditions") or []:
            reason = cond.get("reason", "")
            reason = reason if reason in DEPLOYMENT_REASONS else "unknown"
            for s, v in _condition_samples(cond.get("status")):
                f.add(f"{p}_status_condition", {**base, "reason": reason, "condition": cond.get("type", ""),
                                                "status": s}, v)
        replicas = spec.get("replicas", 1)
        f.add(f"{p}_spec_replicas", base, replicas)
        f.add(f"{p}_spec_paused", base, _b(spec.get("paused")))
        strategy = spec.get("strategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            rolling = strategy.get("rollingUpdate") or {}
            f.add(f"{p}_spec_strategy_rollingupdate_max_unavailable", base,
                  scaled_int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False))
            f.add(f"{p}_spec_strategy_rollingupdate_max_surge", base,
                  scaled_int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True))


def _statefulset_families(f: _Families, statefulsets: list[dict]) -> None:
    p = "kube_statefulset"
    _declare_common(f, p, "statefulset")
    for name in ("status_replicas", "status_replicas_current", "status_replicas_ready", "status_replicas_available",
                 "status_replicas_updated", "status_observed_generation", "replicas", "ordinals_start",
                 "persistentvolumeclaim_retention_policy", "status_current_revision", "status_update_revision"):
        f.declare(f"{p}_{name}", f"StatefulSet {name.replace('_', ' ')}.")
    for sts in _sorted(statefulsets):
        meta, spec, status = _meta(sts), sts.get("spec") or {}, sts.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "statefulset": meta.get("name", "")}
        _common(f, p, base, meta)
        for family, key in (("status_replicas", "replicas"), ("status_replicas_current", "currentReplicas"),
                            ("status_replicas_ready", "readyReplicas"),
                            ("status_replicas_available", "availableReplicas"),
                            ("status_replicas_updated", "updatedReplicas"),
                            ("status_observed_generation", "observedGeneration")):
            f.add(f"{p}_{family}", base, status.get(key) or 0)
        f.add(f"{p}_replicas", base, spec.get("replicas", 1))
        if spec.get("ordinals"):
            f.add(f"{p}_ordinals_start", base, (spec["ordinals"] or {}).get("start", 0))
        policy = spec.get("persistentVolumeClaimRetentionPolicy")
        if policy:
            f.add(f"{p}_persistentvolumeclaim_retention_policy",
                  {**base, "when_deleted": policy.get("whenDeleted", ""), "when_scaled": policy.get("whenScaled", "")}, 1)
        f.add(f"{p}_status_current_revision", {**base, "revision": status.get("currentRevision", "")}, 1)
        f.add(f"{p}_status_update_revision", {**base, "revision": status.get("updateRevision", "")}, 1)


def _daemonset_families(f: _Families, daemonsets: list[dict]) -> None:
    p = "kube_daemonset"
    _declare_common(f, p, "daemonset")
    fields = (("status_current_number_scheduled", "currentNumberScheduled"),
              ("status_desired_number_scheduled", "desiredNumberScheduled"),
              ("status_number_available", "numberAvailable"), ("status_number_misscheduled", "numberMisscheduled"),
              ("status_number_ready", "numberReady"), ("status_number_unavailable", "numberUnavailable"),
              ("status_observed_generation", "observedGeneration"),
              ("status_updated_number_scheduled", "updatedNumberScheduled"))
    for family, _ in fields:
        f.declare(f"{p}_{family}", f"DaemonSet {family.replace('_', ' ')}.")
    for ds in _sorted(daemonsets):
        meta, status = _meta(ds), ds.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "daemonset": meta.get("name", "")}
        _common(f, p, base, meta)
        for family, key in fields:
            f.add(f"{p}_{family}", base, status.get(key) or 0)


def _replicaset_families(f: _Families, replicasets: list[dict]) -> None:
    p = "kube_replicaset"
    _declare_common(f, p, "replicaset")
    for name in ("status_replicas", "status_fully_labeled_replicas", "status_ready_replicas",
                 "status_observed_generation", "spec_replicas", "owner"):
        f.declare(f"{p}_{name}", f"ReplicaSet {name.replace('_', ' ')}.")
    for rs in _sorted(replicasets):
        meta, spec, status = _meta(rs), rs.get("spec") or {}, rs.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "replicaset": meta.get("name", "")}
        _common(f, p, base, meta)
        for family, key in (("status_replicas", "replicas"),
                            ("status_fully_labeled_replicas", "fullyLabeledReplicas"),
                            ("status_ready_replicas", "readyReplicas"),
                            ("status_observed_generation", "observedGeneration")):
            f.add(f"{p}_{family}", base, status.get(key) or 0)
        f.add(f"{p}_spec_replicas", base, spec.get("replicas", 1))
        for owner in _owner_samples(meta):
            f.add(f"{p}_owner", {**base, **owner}, 1)


def _job_families(f: _Families, jobs: list[dict]) -> None:
    p = "kube_job"
    _declare_common(f, p, "job", generation=False)
    for name in ("info", "owner", "spec_parallelism", "spec_completions", "spec_active_deadline_seconds",
                 "status_active", "status_ready", "status_succeeded", "status_failed", "status_start_time",
                 "status_completion_time", "complete", "failed", "status_suspended"):
        f.declare(f"{p}_{name}", f"Job {name.replace('_', ' ')}.")
    for job in _sorted(jobs):
        meta, spec, status = _meta(job), job.get("spec") or {}, job.get("status") or {}
        # `job` is Prometheus' scrape label: kube-state-metrics names Jobs `job_name`.
        base = {"namespace": meta.get("namespace", ""), "job_name": meta.get("name", "")}
        _common(f, p, base, meta, generation=False)
        f.add(f"{p}_info", base, 1)
        for owner in _owner_samples(meta):
            f.add(f"{p}_owner", {**base, **owner}, 1)
        for family, key in (("spec_parallelism", "parallelism"), ("spec_completions", "completions"),
                            ("spec_active_deadline_seconds", "activeDeadlineSeconds")):
            if spec.get(key) is not None:
                f.add(f"{p}_{family}", base, spec[key])
        f.add(f"{p}_status_active", base, status.get("active") or 0)
        f.add(f"{p}_status_ready", base, status.get("ready") or 0)
        f.add(f"{p}_status_succeeded", base, status.get("succeeded") or 0)
        conditions = status.get("conditions") or []
        failed = status.get("failed") or 0
        if failed == 0:
            f.add(f"{p}_status_failed", base, 0)
        else:
            # As kube-state-metrics: one 0/1 series per known reason of the
            # Failed condition, else the count under reason="".
            known = False
            for cond in conditions:
                if cond.get("type") == "Failed":
                    for reason in JOB_FAILURE_REASONS:
                        known = known or cond.get("reason") == reason
                        f.add(f"{p}_status_failed", {**base, "reason": reason}, _b(cond.get("reason") == reason))
            if not known:
                f.add(f"{p}_status_failed", {**base, "reason": ""}, failed)
        for stamp, key in (("status_start_time", "startTime"), ("status_completion_time", "completionTime")):
            if _ts(status.get(key)) is not None:
                f.add(f"{p}_{stamp}", base, _ts(status.get(key)))
        for cond in conditions:
            family = {"Complete": "complete", "Failed": "failed"}.get(cond.get("type"))
            if family:
                for s, v in _condition_samples(cond.get("status")):
                    f.add(f"{p}_{family}", {**base, "condition": s}, v)
            elif cond.get("type") == "Suspended":
                f.add(f"{p}_status_suspended", base, _b(cond.get("status") == "True"))


def _cronjob_families(f: _Families, cronjobs: list[dict]) -> None:
    p = "kube_cronjob"
    _declare_common(f, p, "cronjob", generation=False)
    for name in ("info", "status_active", "status_last_schedule_time", "status_last_successful_time",
                 "spec_suspend", "spec_starting_deadline_seconds", "metadata_resource_version",
                 "spec_successful_job_history_limit", "spec_failed_job_history_limit"):
        f.declare(f"{p}_{name}", f"CronJob {name.replace('_', ' ')}.")
    for cj in _sorted(cronjobs):
        meta, spec, status = _meta(cj), cj.get("spec") or {}, cj.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "cronjob": meta.get("name", "")}
        _common(f, p, base, meta, generation=False)
        f.add(f"{p}_info", {**base, "schedule": spec.get("schedule", ""),
                            "concurrency_policy": spec.get("concurrencyPolicy", "Allow"),
                            "timezone": spec.get("timeZone") or "local"}, 1)
        f.add(f"{p}_status_active", base, len(status.get("active") or []))
        for family, key in (("status_last_schedule_time", "lastScheduleTime"),
                            ("status_last_successful_time", "lastSuccessfulTime")):
            if _ts(status.get(key)) is not None:
                f.add(f"{p}_{family}", base, _ts(status.get(key)))
        f.add(f"{p}_spec_suspend", base, _b(spec.get("suspend")))
        if spec.get("startingDeadlineSeconds") is not None:
            f.add(f"{p}_spec_starting_deadline_seconds", base, spec["startingDeadlineSeconds"])
        try:
            f.add(f"{p}_metadata_resource_version", base, float(meta.get("resourceVersion", "")))
        except ValueError:
            pass  # kube-state-metrics, too, skips a resourceVersion that is not a number
        f.add(f"{p}_spec_successful_job_history_limit", base, spec.get("successfulJobsHistoryLimit", 3))
        f.add(f"{p}_spec_failed_job_history_limit", base, spec.get("failedJobsHistoryLimit", 1))


def _metric_target(m: dict, current: bool) -> tuple[str, str, dict] | None:
    """(metric_name, container, target-or-current dict) of one HPA metric."""
    kind = m.get("type", "")
    src = m.get({"Object": "object", "Pods": "pods", "Resource": "resource", "ContainerResource": "containerResource",
                 "External": "external"}.get(kind, ""), None)
    if not src:
        return None
    name = src.get("name") if kind in ("Resource", "ContainerResource") else (src.get("metric") or {}).get("name", "")
    return name or "", src.get("container", ""), (src.get("current") if current else src.get("target")) or {}


def _hpa_families(f: _Families, hpas: list[dict]) -> None:
    p = "kube_horizontalpodautoscaler"
    _declare_common(f, p, "horizontalpodautoscaler")
    for name in ("info", "spec_max_replicas", "spec_min_replicas", "spec_target_metric", "status_target_metric",
                 "status_current_replicas", "status_desired_replicas", "status_condition"):
        f.declare(f"{p}_{name}", f"HorizontalPodAutoscaler {name.replace('_', ' ')}.")
    for hpa in _sorted(hpas):
        meta, spec, status = _meta(hpa), hpa.get("spec") or {}, hpa.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "horizontalpodautoscaler": meta.get("name", "")}
        _common(f, p, base, meta)
        ref = spec.get("scaleTargetRef") or {}
        info = {**base}
        if ref.get("apiVersion"):
            info["scaletargetref_api_version"] = ref["apiVersion"]
        f.add(f"{p}_info", {**info, "scaletargetref_kind": ref.get("kind", ""),
                            "scaletargetref_name": ref.get("name", "")}, 1)
        f.add(f"{p}_spec_max_replicas", base, spec.get("maxReplicas", 0))
        f.add(f"{p}_spec_min_replicas", base, spec.get("minReplicas", 1))
        spec_metrics, current_metrics = spec.get("metrics") or [], status.get("currentMetrics") or []
        if spec.get("targetCPUUtilizationPercentage") is not None:  # stored as autoscaling/v1
            spec_metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "averageUtilization": spec["targetCPUUtilizationPercentage"]}}}]
        if status.get("currentCPUUtilizationPercentage") is not None:
            current_metrics = [{"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
        for family, metrics, current in (("spec_target_metric", spec_metrics, False),
                                         ("status_target_metric", current_metrics, True)):
            for m in metrics:
                got = _metric_target(m, current)
                if got is None:
                    continue
                metric_name, container, values = got
                for target_type, key in (("value", "value"), ("utilization", "averageUtilization"),
                                         ("average", "averageValue")):
                    if values.get(key) is None:
                        continue
                    try:
                        value = float(values[key]) if key == "averageUtilization" else parse_quantity(values[key])
                    except ValueError:
                        continue
                    f.add(f"{p}_{family}", {**base, "metric_name": metric_name, "metric_target_type": target_type,
                                            "container": container}, value)
        f.add(f"{p}_status_current_replicas", base, status.get("currentReplicas") or 0)
        f.add(f"{p}_status_desired_replicas", base, status.get("desiredReplicas") or 0)
        for cond in status.get("conditions") or []:
            for s, v in _condition_samples(cond.get("status")):
                f.add(f"{p}_status_condition", {**base, "condition": cond.get("type", ""), "status": s}, v)


def _pdb_families(f: _Families, pdbs: list[dict]) -> None:
    p = "kube_poddisruptionbudget"
    _declare_common(f, p, "poddisruptionbudget", generation=False)
    fields = (("status_current_healthy", "currentHealthy"), ("status_desired_healthy", "desiredHealthy"),
              ("status_pod_disruptions_allowed", "disruptionsAllowed"), ("status_expected_pods", "expectedPods"),
              ("status_observed_generation", "observedGeneration"))
    for family, _ in fields:
        f.declare(f"{p}_{family}", f"PodDisruptionBudget {family.replace('_', ' ')}.")
    for pdb in _sorted(pdbs):
        meta, status = _meta(pdb), pdb.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "poddisruptionbudget": meta.get("name", "")}
        _common(f, p, base, meta, generation=False)
        for family, key in fields:
            f.add(f"{p}_{family}", base, status.get(key) or 0)


def _node_families(f: _Families, nodes: list[dict]) -> None:
    p = "kube_node"
    _declare_common(f, p, "node", generation=False)
    for name in ("info", "role", "spec_unschedulable", "spec_taint", "status_capacity", "status_allocatable",
                 "status_condition", "status_addresses"):
        f.declare(f"{p}_{name}", f"Node {name.replace('_', ' ')}.")
    for node in _sorted(nodes):
        meta, spec, status = _meta(node), node.get("spec") or {}, node.get("status") or {}
        base = {"node": meta.get("name", "")}
        _common(f, p, base, meta, generation=False)
        info = status.get("nodeInfo") or {}
        addresses = status.get("addresses") or []
        internal = next((a.get("address", "") for a in reversed(addresses) if a.get("type") == "InternalIP"), "")
        f.add(f"{p}_info", {**base, "kernel_version": info.get("kernelVersion", ""),
                            "os_image": info.get("osImage", ""),
                            "container_runtime_version": info.get("containerRuntimeVersion", ""),
                            "kubelet_version": info.get("kubeletVersion", ""), "kubeproxy_version": "deprecated",
                            "provider_id": spec.get("providerID", ""), "pod_cidr": spec.get("podCIDR", ""),
                            "system_uuid": info.get("systemUUID", ""), "internal_ip": internal}, 1)
        for label in sorted(meta.get("labels") or {}):
            if label.startswith("node-role.kubernetes.io/"):
                f.add(f"{p}_role", {**base, "role": label[len("node-role.kubernetes.io/"):]}, 1)
        f.add(f"{p}_spec_unschedulable", base, _b(spec.get("unschedulable")))
        for taint in spec.get("taints") or []:
            f.add(f"{p}_spec_taint", {**base, "key": taint.get("key", ""), "value": taint.get("value", ""),
                                      "effect": taint.get("effect", "")}, 1)
        for family, key in (("status_capacity", "capacity"), ("status_allocatable", "allocatable")):
            for resource, quantity in sorted((status.get(key) or {}).items()):
                unit = resource_unit(resource)
                if unit is None:
                    continue
                try:
                    value = resource_value(resource, quantity)
                except ValueError:
                    continue
                f.add(f"{p}_{family}", {**base, "resource": sanitize(resource), "unit": unit}, value)
        for cond in status.get("conditions") or []:
            for s, v in _condition_samples(cond.get("status")):
                f.add(f"{p}_status_condition", {**base, "condition": cond.get("type", ""), "status": s}, v)
        for a in addresses:
            f.add(f"{p}_status_addresses", {**base, "type": a.get("type", ""), "address": a.get("address", "")}, 1)


def _pvc_families(f: _Families, claims: list[dict]) -> None:
    p = "kube_persistentvolumeclaim"
    _declare_common(f, p, "persistentvolumeclaim", generation=False)
    for name in ("info", "status_phase", "resource_requests_storage_bytes", "access_mode", "status_condition"):
        f.declare(f"{p}_{name}", f"PersistentVolumeClaim {name.replace('_', ' ')}.")
    for pvc in _sorted(claims):
        meta, spec, status = _meta(pvc), pvc.get("spec") or {}, pvc.get("status") or {}
        base = {"namespace": meta.get("namespace", ""), "persistentvolumeclaim": meta.get("name", "")}
        _common(f, p, base, meta, generation=False)
        storage_class = (meta.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class",
                                                             spec.get("storageClassName") or "")
        f.add(f"{p}_info", {**base, "storageclass": storage_class, "volumename": spec.get("volumeName", ""),
                            "volumemode": spec.get("volumeMode", "")}, 1)
        phase = status.get("phase")
        if phase:
            for candidate in ("Lost", "Bound", "Pending"):
                f.add(f"{p}_status_phase", {**base, "phase": candidate}, _b(phase == candidate))
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        if storage is not None:
            try:
                f.add(f"{p}_resource_requests_storage_bytes", base, resource_value("storage", storage))
            except ValueError:
                pass
        for mode in spec.get("accessModes") or []:
            f.add(f"{p}_access_mode", {**base, "access_mode": mode}, 1)
        for cond in status.get("conditions") or []:
            for s, v in _condition_samples(cond.get("status")):
                f.add(f"{p}_status_condition", {**base, "condition": cond.get("type", ""), "status": s}, v)


# Resource (group, plural) -> the function exporting its families, in
# kube-state-metrics' default order of collectors.
KINDS: tuple[tuple[str, str, object], ...] = (
    ("batch", "cronjobs", _cronjob_families),
    ("apps", "daemonsets", _daemonset_families),
    ("apps", "deployments", _deployment_families),
    ("autoscaling", "horizontalpodautoscalers", _hpa_families),
    ("batch", "jobs", _job_families),
    ("", "nodes", _node_families),
    ("", "persistentvolumeclaims", _pvc_families),
    ("policy", "poddisruptionbudgets", _pdb_families),
    ("", "pods", _pod_families),
    ("apps", "replicasets", _replicaset_families),
    ("apps", "statefulsets", _statefulset_families),
)


def families(objects: dict[tuple[str, str], list[dict]]) -> list[Family]:
    """Every family of the kinds present in `objects` ((group, plural) ->
    objects). A kind absent from the mapping (not served) exports nothing,
    as kube-state-metrics with that collector disabled."""
    f = _Families()
    for group, plural, fn in KINDS:
        if (group, plural) in objects:
            fn(f, objects[(group, plural)])
    return f.all()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def exposition(fams: list[Family]) -> str:
    """Prometheus' text format (version 0.0.4), HELP and TYPE for each family."""
    lines: list[str] = []
    for fam in fams:
        lines.append(f"# HELP {fam.name} {fam.help}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for s in fam.samples:
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels)
            lines.append(f"{fam.name}{{{inner}}} {_number(s.value)}")
    return "\n".join(lines) + "\n"
