"""The pure parts of the watchers: check signals, metrics parsing, JSON
subsets, workload readiness from watched objects (no sandbox)."""
from gameday.drill.watchers import Signal, WorkloadWatcher, _json_subset, parse_metrics


def test_signal_reports_transitions_and_a_failing_first_look():
    s = Signal("x")
    assert s.set(True, 1.0) is False and (s.ok, s.since) == (True, 1.0)
    assert s.set(True, 2.0) is False and s.since == 1.0  # still holding since the first time
    assert s.set(False, 3.0) is True and s.since == 3.0
    assert s.set(True, 4.0) is True and s.since == 4.0
    assert Signal("y").set(False, 1.0) is True


def test_parse_metrics_reads_unlabelled_samples():
    text = ("# HELP training_job_step Step\n# TYPE training_job_step gauge\ntraining_job_step 51.0\n"
            'http_requests_total{route="/health"} 3\ntraining_current_job_id 206.0\ngarbage\n')
    assert parse_metrics(text, {"training_job_step", "training_current_job_id", "absent"}) == {
        "training_job_step": 51.0, "training_current_job_id": 206.0}


def test_json_subset():
    assert _json_subset(b'{"maintenance_mode": false, "db": "up"}', {"maintenance_mode": False})
    assert not _json_subset(b'{"maintenance_mode": true}', {"maintenance_mode": False})
    assert not _json_subset(b"not json", {"a": 1})
    assert _json_subset(b"", {})


def _pod(name, ready=True, deleting=False, labels=None):
    meta = {"name": name, "namespace": "ns", "labels": labels or {"app": "api"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2026-01-01T00:00:00.5Z"}]}}


def test_workload_readiness_counts_ready_pods_that_are_not_terminating():
    w = WorkloadWatcher(None, ["ns"], None)
    dep = {"metadata": {"name": "api", "generation": 2},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}}},
           "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2}}
    w.objects[("deployment", "ns", "api")] = dep
    w.objects[("pod", "ns", "a")] = _pod("a")
    w.objects[("pod", "ns", "b")] = _pod("b", deleting=True)
    w.objects[("pod", "ns", "c")] = _pod("c", ready=False)
    w.objects[("pod", "ns", "other")] = _pod("other", labels={"app": "web"})
    ok, why = w.workload_ready("deployment", "ns", "api")
    assert not ok and "1/2 pods ready" in why
    w.objects[("pod", "ns", "c")] = _pod("c")
    assert w.workload_ready("deployment", "ns", "api")[0]
    dep["metadata"]["generation"] = 3  # a new rollout not yet observed by the controller
    assert not w.workload_ready("deployment", "ns", "api")[0]
    dep["status"]["observedGeneration"], dep["status"]["updatedReplicas"] = 3, 1
    ok, why = w.workload_ready("deployment", "ns", "api")
    assert not ok and "rollout in progress" in why
    assert w.workload_ready("statefulset", "ns", "gone") == (False, "statefulset ns/gone not found")
