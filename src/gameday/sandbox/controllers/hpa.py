"""HorizontalPodAutoscaler (autoscaling/v2) -> the replicas of its target.

Resource metrics (cpu, memory) come from what the kubelets sample from
/proc (the same figures `kubectl top` and metrics.k8s.io serve). The
algorithm is Kubernetes': utilization = sum(usage) / sum(requests) over the
target's ready pods; desired = ceil(ready pods * utilization / target),
unchanged within the tolerance (10%); pods not ready or without a sample
count as 0% when scaling up and as the target when scaling down (so they
never cause a scale in the direction they would exaggerate); the largest
recommendation of several metrics wins; scale-up is limited to
max(double, +4) per sync; scale-down takes the highest recommendation of the
stabilization window (short in the sandbox, sandbox.yaml `autoscaler`,
overridden per HPA by spec.behavior.scaleDown.stabilizationWindowSeconds).

An autoscaling/v1 `spec.targetCPUUtilizationPercentage` (as the runbook
patches it) is converted here to the v2 cpu Utilization metric: the
sandbox stores one version, and this is where v1's field is honoured."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from ..resources import DEPLOYMENT, HPA, POD, REPLICASET, STATEFULSET
from ..selectors import labels_match, selector_from_match
from ..store import ApiError, now_iso, record_event
from .base import Controller, is_pod_ready
from .podtemplate import set_condition
from .quantity import parse_quantity

TARGETS = {"Deployment": DEPLOYMENT, "StatefulSet": STATEFULSET, "ReplicaSet": REPLICASET}
DEFAULT_CPU_TARGET = 80


@dataclass(frozen=True)
class Sample:
    usage: float  # cores or bytes
    request: float


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    utilization: int | None  # percent of request, as measured over the ready pods
    average: float  # average usage per measured pod


def recommend(current: int, samples: list[Sample], missing: int, target: float, tolerance: float,
              utilization_target: bool = True) -> Recommendation | None:
    """Replicas for one resource metric (Kubernetes' replica calculator). Pure.
    `samples`: the ready pods' usage and requests; `missing`: pods not ready
    or without a sample; `target`: percent of request (or average usage)."""
    if not samples:
        return None
    usage = sum(s.usage for s in samples)
    request = sum(s.request for s in samples)
    if utilization_target and request <= 0:
        return None
    measured = 100.0 * usage / request if utilization_target else usage / len(samples)
    util = round(measured) if utilization_target else None
    ratio = measured / target if target > 0 else 1.0
    average = usage / len(samples)
    if not missing:
        if abs(ratio - 1.0) <= tolerance:
            return Recommendation(current, util, average)
        return Recommendation(math.ceil(ratio * len(samples)), util, average)
    per_request = request / len(samples)
    fill = 0.0 if ratio > 1.0 else (per_request * target / 100.0 if utilization_target else target)
    usage2 = usage + fill * missing
    n = len(samples) + missing
    measured2 = 100.0 * usage2 / (request + per_request * missing) if utilization_target else usage2 / n
    ratio2 = measured2 / target if target > 0 else 1.0
    if abs(ratio2 - 1.0) <= tolerance or (ratio > 1.0) != (ratio2 > 1.0):
        return Recommendation(current, util, average)
    return Recommendation(math.ceil(ratio2 * n), util, average)


def limit_scale_up(current: int, desired: int) -> int:
    """Kubernetes' default scale-up policies: +100% or +4 pods per period, whichever is more."""
    return min(desired, max(2 * current, current + 4)) if desired > current else desired


def stabilize(history: list[tuple[float, int]], now: float, window: float, recommendation: int) -> int:
    """Scale-down stabilization: the highest recommendation within the window. Pure."""
    recent = [r for t, r in history if now - t <= window]
    return max(recent + [recommendation])


def _metrics(spec: dict) -> list[dict]:
    metrics = spec.get("metrics")
    if metrics:
        return metrics
    return [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": DEFAULT_CPU_TARGET}}}]


def _format(resource: str, value: float) -> str:
    if resource == "cpu":
        return f"{max(0, round(value * 1000))}m"
    return str(max(0, int(value)))


class HpaController(Controller):
    name = "horizontal-pod-autoscaler"
    watches = (HPA,)

    def __init__(self, store, usage, sync_seconds: float = 5.0, tolerance: float = 0.1,
                 downscale_stabilization_seconds: float = 30.0) -> None:
        super().__init__(store)
        self.usage = usage
        self.sync_seconds = sync_seconds
        self.resync_seconds = sync_seconds
        self.tolerance = tolerance
        self.downscale_window = downscale_stabilization_seconds
        self._history: dict[str, list[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def all_keys(self):
        return [(h["metadata"]["namespace"], h["metadata"]["name"]) for h in self.store.list(HPA)[0]]

    def reconcile(self, key):
        ns, name = key
        hpa = self.store.try_get(HPA, ns, name)
        if hpa is None:
            with self._lock:
                self._history.pop(f"{ns}/{name}", None)
            return None
        spec = hpa.get("spec") or {}
        if "targetCPUUtilizationPercentage" in spec:
            hpa = self._convert_v1(ns, name)
            spec = hpa["spec"]
        ref = spec.get("scaleTargetRef") or {}
        res = TARGETS.get(ref.get("kind"))
        target = self.store.try_get(res, ns, ref.get("name", "")) if res else None
        if target is None:
            self._status(hpa, None, None, [], [("AbleToScale", "False", "FailedGetScale",
                         f'the HPA controller was unable to get the target\'s current scale: '
                         f'{(ref.get("kind") or "").lower()}s "{ref.get("name")}" not found')])
            return self.sync_seconds
        current = int((target.get("spec") or {}).get("replicas", 1))
        lo, hi = int(spec.get("minReplicas", 1) or 1), int(spec.get("maxReplicas", 1))
        if current == 0 and lo > 0:
            self._status(hpa, 0, 0, [], [("ScalingActive", "False", "ScalingDisabled",
                                          "scaling is disabled since the replica count of the target is zero")])
            return self.sync_seconds
        reqs = selector_from_match((target.get("spec") or {}).get("selector"))
        pods = [p for p in self.store.list(POD, ns)[0] if reqs and labels_match(reqs, p["metadata"].get("labels"))
                and not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        usage = self.usage()
        by_pod = {(u.namespace, u.name): u for u in usage.pods}
        recs, current_metrics, failures = [], [], []
        for metric in _metrics(spec):
            if metric.get("type") != "Resource":
                failures.append(f"metrics of type {metric.get('type')} are not served by the sandbox")
                continue
            resource = (metric.get("resource") or {}).get("name", "cpu")
            tgt = (metric.get("resource") or {}).get("target") or {}
            is_util = tgt.get("type", "Utilization") == "Utilization"
            try:
                goal = float(tgt.get("averageUtilization", DEFAULT_CPU_TARGET)) if is_util else \
                    parse_quantity(tgt.get("averageValue", "0"))
            except ValueError:
                failures.append(f"invalid target for {resource}")
                continue
            samples, missing, no_request = [], 0, []
            for p in pods:
                request = sum(parse_quantity(((c.get("resources") or {}).get("requests") or {}).get(resource, "0"))
                              for c in p["spec"].get("containers") or [])
                if is_util and request <= 0:
                    no_request.append(p["metadata"]["name"])
                    continue
                u = by_pod.get((ns, p["metadata"]["name"]))
                if u is None or not is_pod_ready(p):
                    missing += 1
                    continue
                value = sum(c.cpu_cores if resource == "cpu" else c.memory_bytes for c in u.containers)
                samples.append(Sample(value, request))
            if no_request:
                failures.append(f"failed to get {resource} utilization: missing request for {resource} in "
                                f"pod {ns}/{no_request[0]}")
                continue
            rec = recommend(current, samples, missing, goal, self.tolerance, is_util)
            if rec is None:
                failures.append(f"failed to get {resource} utilization: unable to get metrics for resource "
                                f"{resource}: no metrics returned from resource metrics API")
                continue
            recs.append(rec.replicas)
            cur = {"averageValue": _format(resource, rec.average)}
            if rec.utilization is not None:
                cur["averageUtilization"] = rec.utilization
            current_metrics.append({"type": "Resource", "resource": {"name": resource, "current": cur}})
        if not recs:
            self._status(hpa, current, current, current_metrics,
                         [("AbleToScale", "True", "SucceededGetScale",
                           "the HPA controller was able to get the target's current scale"),
                          ("ScalingActive", "False", "FailedGetResourceMetric",
                           failures[0] if failures else "no metrics")])
            record_event(self.store, hpa, "FailedGetResourceMetric", failures[0] if failures else "no metrics",
                         "Warning", "horizontal-pod-autoscaler")
            return self.sync_seconds
        now = time.time()
        raw = max(recs)
        window = float(((spec.get("behavior") or {}).get("scaleDown") or {}).get(
            "stabilizationWindowSeconds", self.downscale_window))
        hkey = f"{ns}/{name}"
        with self._lock:
            history = [(t, r) for t, r in self._history.get(hkey, []) if now - t <= window]
            desired = stabilize(history, now, window, raw) if raw < current else raw
            history.append((now, raw))
            self._history[hkey] = history
        desired = limit_scale_up(current, desired)
        limited = []
        if desired > hi:
            desired, limited = hi, ("ScalingLimited", "True", "TooManyReplicas",
                                    "the desired replica count is more than the maximum replica count")
        elif desired < lo:
            desired, limited = lo, ("ScalingLimited", "True", "TooFewReplicas",
                                    "the desired replica count is less than the minimum replica count")
        else:
            limited = ("ScalingLimited", "False", "DesiredWithinRange",
                       "the desired count is within the acceptable range")
        rescaled = False
        if desired != current:
            def scale(obj):
                obj["spec"]["replicas"] = desired
            try:
                self.store.modify(res, ns, ref["name"], scale)
                rescaled = True
            except ApiError as exc:
                record_event(self.store, hpa, "FailedRescale", f"New size: {desired}; error: {exc.message}",
                             "Warning", "horizontal-pod-autoscaler")
        if rescaled:
            what = current_metrics[0]["resource"]["name"] if current_metrics else "cpu"
            direction = "above" if desired > current else "below"
            record_event(self.store, hpa, "SuccessfulRescale",
                         f"New size: {desired}; reason: {what} resource utilization (percentage of request) "
                         f"{direction} target", component="horizontal-pod-autoscaler")
        able = ("AbleToScale", "True", "SucceededRescale",
                f"the HPA controller was able to update the target scale to {desired}") if rescaled else \
            ("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        active = ("ScalingActive", "True", "ValidMetricFound",
                  "the HPA was able to successfully calculate a replica count from cpu resource utilization "
                  "(percentage of request)")
        self._status(hpa, current, desired, current_metrics, [able, active, limited], scaled=rescaled)
        return self.sync_seconds

    def _convert_v1(self, ns: str, name: str) -> dict:
        def convert(obj):
            spec = obj["spec"]
            pct = spec.pop("targetCPUUtilizationPercentage")
            metrics = [m for m in spec.get("metrics") or []
                       if not (m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu")]
            spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": int(pct)}}}] + metrics
        return self.store.modify(HPA, ns, name, convert)

    def _status(self, hpa: dict, current, desired, current_metrics, conds, scaled: bool = False) -> None:
        old = hpa.get("status") or {}
        now = now_iso()
        conditions = old.get("conditions") or []
        for type_, status, reason, message in conds:
            conditions = set_condition(conditions, type_, status, reason, message, now)
        status = {"currentReplicas": current if current is not None else old.get("currentReplicas", 0),
                  "desiredReplicas": desired if desired is not None else old.get("desiredReplicas", 0),
                  "conditions": conditions,
                  "observedGeneration": hpa["metadata"].get("generation", 1)}
        if current_metrics:
            status["currentMetrics"] = current_metrics
        if scaled:
            status["lastScaleTime"] = now
        elif old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        if status != old:
            def apply(obj):
                obj["status"] = status
            try:
                self.store.modify(HPA, hpa["metadata"]["namespace"], hpa["metadata"]["name"], apply,
                                  subresource="status")
            except ApiError:
                pass
