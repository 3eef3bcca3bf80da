"""Which pods a ReplicaSet scale-in deletes first, as Kubernetes' ReplicaSet
controller ranks them (ActivePodsWithRanks): unscheduled, pending and not
ready ones, then those doubled up with siblings on one node, so the replicas
that stay are spread; among equals the most restarted and the newest."""
from gameday.sandbox.controllers.replicaset import ranked_for_deletion


def pod(name, node, ready=True, phase="Running", created="2026-12-08T00:00:00Z", restarts=0):
    return {"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"restartCount": restarts}]}}


def names(pods):
    return [p["metadata"]["name"] for p in pods]


def test_the_doubled_up_pods_go_first_and_the_rest_stay_spread():
    # The API scaled to 4 on 3 nodes (2/1/1), then back to 2 by its autoscaler.
    active = [pod("b1", "cpu-2"), pod("a1", "cpu-1", created="2026-12-08T00:00:01Z"), pod("a2", "cpu-1"),
              pod("c1", "gaudi-1", created="2026-12-08T00:00:09Z")]
    assert set(names(ranked_for_deletion(active)[:2])) == {"a1", "a2"}
    # One deletion: of the two on cpu-1, the newer.
    assert names(ranked_for_deletion(active)[:1]) == ["a1"]


def test_unscheduled_pending_and_unready_pods_go_before_any_doubled_up_one():
    active = [pod("a1", "n1"), pod("a2", "n1"), pod("b1", "n2", ready=False), pod("p", None, ready=False,
                                                                                  phase="Pending"),
              pod("c1", "n3", ready=False, phase="Pending")]
    ranked = names(ranked_for_deletion(active))
    assert ranked[:3] == ["p", "c1", "b1"] and set(ranked[3:]) == {"a1", "a2"}
