"""Job -> Pods: run until `completions` pods succeeded, `parallelism` at a
time; more than `backoffLimit` failures (failed pods, or container restarts
under restartPolicy OnFailure) fail the Job with BackoffLimitExceeded."""
from __future__ import annotations

from ..resources import JOB, POD
from ..store import ApiError, now_iso, record_event
from .base import Controller, is_pod_ready, owner_key_of, owner_uid
from .podtemplate import new_pod


def _restarts(pod: dict) -> int:
    return sum(c.get("restartCount", 0) for c in pod.get("status", {}).get("containerStatuses") or [])


class JobController(Controller):
    name = "job"
    watches = (JOB, POD)

    def keys_for(self, change):
        if change.key == POD.key:
            return [owner_key_of(change, "Job")]
        return super().keys_for(change)

    def all_keys(self):
        return [(j["metadata"]["namespace"], j["metadata"]["name"]) for j in self.store.list(JOB)[0]]

    def reconcile(self, key):
        ns, name = key
        job = self.store.try_get(JOB, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return None
        spec, status = job["spec"], dict(job.get("status") or {})
        uid = job["metadata"]["uid"]
        conds = {c["type"]: c for c in status.get("conditions") or []}
        finished = any(conds.get(t, {}).get("status") == "True" for t in ("Complete", "Failed"))
        pods = [p for p in self.store.list(POD, ns)[0] if owner_uid(p) == uid]
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        failed_pods = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
        active = [p for p in pods if not p["metadata"].get("deletionTimestamp")
                  and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        on_failure = (spec.get("template", {}).get("spec", {}) or {}).get("restartPolicy") == "OnFailure"
        failures = failed_pods + (sum(_restarts(p) for p in pods) if on_failure else 0)
        completions = int(spec.get("completions", 1) if spec.get("completions") is not None else 1)
        parallelism = int(spec.get("parallelism", 1) if spec.get("parallelism") is not None else 1)
        backoff_limit = int(spec.get("backoffLimit", 6) if spec.get("backoffLimit") is not None else 6)
        now = now_iso()
        new_conds = list(conds.values())
        completion_time = status.get("completionTime")
        if not finished:
            if failures > backoff_limit:
                for p in active:
                    self._delete(p)
                active = []
                new_conds.append({"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                  "message": "Job has reached the specified backoff limit",
                                  "lastProbeTime": now, "lastTransitionTime": now})
                record_event(self.store, job, "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                             "Warning", "job-controller")
            elif succeeded >= completions:
                for p in active:
                    self._delete(p)
                active = []
                completion_time = now
                new_conds.append({"type": "Complete", "status": "True", "reason": "",
                                  "message": "", "lastProbeTime": now, "lastTransitionTime": now})
                record_event(self.store, job, "Completed", "Job completed", component="job-controller")
            elif not spec.get("suspend"):
                for _ in range(max(0, min(parallelism, completions - succeeded) - len(active))):
                    pod = new_pod(spec.get("template") or {}, job, generate_name=f"{name}-", labels={
                        "job-name": name, "batch.kubernetes.io/job-name": name,
                        "controller-uid": uid, "batch.kubernetes.io/controller-uid": uid})
                    pod["spec"]["restartPolicy"] = (spec.get("template", {}).get("spec", {}) or {}).get(
                        "restartPolicy", "Never")
                    try:
                        created = self.store.create(POD, pod)
                    except ApiError:
                        return 5.0
                    active.append(created)
                    record_event(self.store, job, "SuccessfulCreate",
                                 f"Created pod: {created['metadata']['name']}", component="job-controller")
        want = {k: v for k, v in {
            "startTime": status.get("startTime") or now,
            "active": len(active) or None,
            "ready": sum(1 for p in active if is_pod_ready(p)),
            "succeeded": succeeded or None, "failed": failures or None,
            "completionTime": completion_time,
            "conditions": new_conds or None,
            "uncountedTerminatedPods": {},
        }.items() if v is not None}
        if want != status:
            def apply(obj):
                obj["status"] = want
            self.store.modify(JOB, ns, name, apply, subresource="status")
        return None

    def _delete(self, pod: dict) -> None:
        try:
            self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except ApiError:
            pass
