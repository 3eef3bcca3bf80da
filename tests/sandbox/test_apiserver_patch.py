"""The patch formats and table printers, as pure functions."""
from __future__ import annotations

import datetime as dt

import pytest

from gameday.sandbox import resources as R
from gameday.sandbox.apiserver import patch as P
from gameday.sandbox.apiserver import tables


def _deployment() -> dict:
    return {"spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [
        {"name": "api", "image": "api:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 8000}], "volumeMounts": [{"name": "d", "mountPath": "/data"}]},
        {"name": "side", "image": "side:1"}], "volumes": [{"name": "d", "emptyDir": {}}]}}}}


def test_strategic_merge_updates_one_env_by_name_and_keeps_the_rest():
    patched = P.strategic_merge_patch(_deployment(), {"spec": {"template": {"spec": {"containers": [
        {"name": "api", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}]}}}})
    api, side = patched["spec"]["template"]["spec"]["containers"]
    assert api["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}]
    assert api["image"] == "api:1" and api["ports"] == [{"containerPort": 8000}]
    assert side == {"name": "side", "image": "side:1"}


def test_strategic_merge_directives_delete_and_replace():
    base = _deployment()
    deleted = P.strategic_merge_patch(base, {"spec": {"template": {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}], "$setElementOrder/containers": [{"name": "api"}]}}}})
    assert [c["name"] for c in deleted["spec"]["template"]["spec"]["containers"]] == ["api"]
    replaced = P.strategic_merge_patch(base, {"spec": {"template": {"spec": {"volumes": [
        {"name": "x", "emptyDir": {}}, {"$patch": "replace"}]}}}})
    assert replaced["spec"]["template"]["spec"]["volumes"] == [{"name": "x", "emptyDir": {}}]
    map_replaced = P.strategic_merge_patch(base, {"spec": {"template": {"metadata": {
        "labels": {"$patch": "replace", "app": "b"}}}}})
    assert map_replaced["spec"]["template"]["metadata"]["labels"] == {"app": "b"}
    assert base == _deployment(), "patching never mutates its input"


def test_strategic_merge_service_ports_merge_on_port_and_null_deletes():
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8000}, {"port": 9090}], "selector": {"a": "b"}}}
    out = P.strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": None}})
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 8080}, {"port": 9090}]
    assert "selector" not in out["spec"]


def test_merge_patch_replaces_lists_and_removes_nulls():
    out = P.merge_patch({"a": [1, 2], "b": {"c": 1, "d": 2}}, {"a": [3], "b": {"c": None}})
    assert out == {"a": [3], "b": {"d": 2}}


def test_json_patch_operations_and_failures():
    doc = {"metadata": {"labels": {"a/b": "1"}}, "spec": {"list": [1, 2]}}
    out = P.json_patch(doc, [
        {"op": "add", "path": "/spec/list/-", "value": 3},
        {"op": "replace", "path": "/metadata/labels/a~1b", "value": "2"},
        {"op": "test", "path": "/spec/list/0", "value": 1},
        {"op": "move", "from": "/spec/list/0", "path": "/spec/first"},
        {"op": "remove", "path": "/spec/list/0"},
    ])
    assert out == {"metadata": {"labels": {"a/b": "2"}}, "spec": {"list": [3], "first": 1}}
    with pytest.raises(P.PatchError, match="missing path"):
        P.json_patch(doc, [{"op": "replace", "path": "/spec/nope", "value": 1}])
    with pytest.raises(P.PatchError, match="failed"):
        P.json_patch(doc, [{"op": "test", "path": "/spec/list/0", "value": 9}])


@pytest.mark.parametrize("seconds,text", [(5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"),
                                          (3 * 3600 + 60, "3h1m"), (30 * 3600, "30h"), (50 * 3600, "2d2h"),
                                          (40 * 86400, "40d"), (3 * 365 * 86400, "3y0d")])
def test_human_duration_matches_kubectl(seconds, text):
    assert tables.human_duration(seconds) == text


def _pod(**status) -> dict:
    return {"metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": status}


@pytest.mark.parametrize("status,shown", [
    ({"phase": "Running", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 4, "state": {
        "waiting": {"reason": "CrashLoopBackOff"}}}]}, "CrashLoopBackOff"),
    ({"phase": "Failed", "containerStatuses": [{"name": "c", "restartCount": 0, "state": {
        "terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}, "OOMKilled"),
    ({"phase": "Succeeded", "containerStatuses": [{"name": "c", "restartCount": 0, "state": {
        "terminated": {"exitCode": 0, "reason": "Completed"}}}]}, "Completed"),
    ({"phase": "Failed", "containerStatuses": [{"name": "c", "restartCount": 0, "state": {
        "terminated": {"exitCode": 3}}}]}, "ExitCode:3"),
    ({"phase": "Running", "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "state": {
        "running": {}}}]}, "Running"),
])
def test_pod_status_column_like_kubectl(status, shown):
    assert tables.pod_status_reason(_pod(**status))[0] == shown


def test_pod_table_ready_restarts_and_terminating():
    pod = _pod(phase="Running", containerStatuses=[{"name": "c", "ready": True, "restartCount": 2, "state": {
        "running": {}}, "lastState": {"terminated": {"finishedAt": "2026-01-01T00:09:00Z"}}}])
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:10:00Z"
    now = dt.datetime(2026, 1, 1, 0, 10, tzinfo=dt.timezone.utc)
    t = tables.table(R.POD, [pod], "7", now=now)
    assert [c["name"] for c in t["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Ready", "Status", "Restarts", "Age"]
    assert t["rows"][0]["cells"][:5] == ["p", "1/1", "Terminating", "2 (60s ago)", "10m"]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_node_table_shows_cordon():
    node = {"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1"}}}
    cells = tables.table(R.NODE, [node], "1")["rows"][0]["cells"]
    assert cells[1:3] == ["Ready,SchedulingDisabled", "worker"]


def test_wants_table_reads_kubectl_accept_header():
    assert tables.wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                              "g=meta.k8s.io,application/json")
    assert not tables.wants_table("application/json")
