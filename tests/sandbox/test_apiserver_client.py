"""The API server as the kubernetes Python client sees it: list, watch,
create, update, patch, delete, subresources, and its answers to bad requests."""
from __future__ import annotations

import http.client
import json
import queue
import ssl
import threading

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from gameday.sandbox import resources as R
from gameday.sandbox.apiserver import ApiServer
from gameday.sandbox.store import Store

NS = "client-tests"
WAIT = 60  # generous bound for anything that crosses threads on a busy machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("apiserver")
    api = ApiServer(Store(history=200), state_dir=state).start()
    api.write_kubeconfig(state / "kubeconfig")
    yield api
    api.stop()


@pytest.fixture(scope="module")
def api_client(server):
    c = config.new_client_from_config(config_file=str(server.state_dir / "kubeconfig"))
    core = client.CoreV1Api(c)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    yield c
    c.close()


@pytest.fixture()
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture()
def apps(api_client):
    return client.AppsV1Api(api_client)


def raw(server: ApiServer, method: str, path: str, body: bytes | None = None, token: str | None = "default",
        headers: dict | None = None, text: bool = False) -> tuple[int, dict | str]:
    """One HTTPS request as-is (bodies no client library would send)."""
    ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=WAIT)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token:
        hdrs["Authorization"] = f"Bearer {server.token if token == 'default' else token}"
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if text:
        return resp.status, data.decode()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, data.decode()


def deployment(name: str, labels: dict | None = None, replicas: int = 2) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"containers": [
                    {"name": "app", "image": "busybox:1.36", "env": [{"name": "MODE", "value": "a"},
                                                                     {"name": "KEEP", "value": "k"}]},
                    {"name": "side", "image": "busybox:1.36"}]}}}}


def configmap(name: str, labels: dict | None = None, data: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


# -- auth and TLS ---------------------------------------------------------------
def test_requests_without_the_token_get_401_status(server):
    for token in (None, "wrong"):
        code, body = raw(server, "GET", "/api/v1/namespaces", token=token)
        assert code == 401
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized" and body["code"] == 401


def test_kubeconfig_names_the_ca_server_and_token(server):
    import base64
    import yaml
    kc = yaml.safe_load((server.state_dir / "kubeconfig").read_text())
    assert kc["current-context"] == "gameday-sandbox"
    cluster = kc["clusters"][0]["cluster"]
    assert cluster["server"] == f"https://127.0.0.1:{server.port}"
    assert base64.b64decode(cluster["certificate-authority-data"]) == server.ca_pem
    assert kc["users"][0]["user"]["token"] == server.token


# -- reads and watches -----------------------------------------------------------
def test_list_filters_by_label_and_field_selector(core):
    for i, tier in enumerate(["web", "web", "db"]):
        core.create_namespaced_config_map(NS, configmap(f"sel-{i}", {"tier": tier, "set": "sel"}))
    names = lambda items: sorted(o.metadata.name for o in items)
    assert names(core.list_namespaced_config_map(NS, label_selector="set=sel,tier=web").items) == ["sel-0", "sel-1"]
    assert names(core.list_namespaced_config_map(NS, label_selector="set=sel,tier notin (web)").items) == ["sel-2"]
    assert names(core.list_namespaced_config_map(NS, field_selector="metadata.name=sel-1").items) == ["sel-1"]
    everywhere = core.list_config_map_for_all_namespaces(label_selector="set=sel")
    assert names(everywhere.items) == ["sel-0", "sel-1", "sel-2"]
    assert int(everywhere.metadata.resource_version) >= 3


def test_watch_delivers_live_events(core, api_client):
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    events: queue.Queue = queue.Queue()
    w = watch.Watch()

    def consume():
        for ev in w.stream(core.list_namespaced_config_map, NS, label_selector="set=live",
                           resource_version=rv, timeout_seconds=WAIT):
            events.put((ev["type"], ev["object"].metadata.name, ev["object"].data))
            if ev["type"] == "DELETED":
                break

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    core.create_namespaced_config_map(NS, configmap("live", {"set": "live"}))
    core.patch_namespaced_config_map("live", NS, {"data": {"k": "v2"}})
    core.create_namespaced_config_map(NS, configmap("not-watched", {"set": "other"}))
    core.delete_namespaced_config_map("live", NS)
    got = [events.get(timeout=WAIT) for _ in range(3)]
    assert got == [("ADDED", "live", {"k": "v"}), ("MODIFIED", "live", {"k": "v2"}), ("DELETED", "live", {"k": "v2"})]
    t.join(WAIT)
    assert not t.is_alive()


def test_watch_resumes_from_a_resource_version(core):
    core.create_namespaced_config_map(NS, configmap("resume-a", {"set": "resume"}))
    rv = core.list_namespaced_config_map(NS, label_selector="set=resume").metadata.resource_version
    core.create_namespaced_config_map(NS, configmap("resume-b", {"set": "resume"}))
    core.create_namespaced_config_map(NS, configmap("resume-c", {"set": "resume"}))
    seen = []
    for ev in watch.Watch().stream(core.list_namespaced_config_map, NS, label_selector="set=resume",
                                   resource_version=rv, timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 2:
            break
    assert seen == [("ADDED", "resume-b"), ("ADDED", "resume-c")]


def test_watch_from_a_compacted_resource_version_is_410(core, server):
    for i in range(server.store._history.maxlen + 5):
        core.create_namespaced_config_map(NS, configmap(f"churn-{i}", {"set": "churn"}))
    code, body = raw(server, "GET", f"/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion=2", text=True)
    event = json.loads(body.splitlines()[0])
    assert code == 200 and event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version="2", timeout_seconds=5):
            pass
    assert err.value.status == 410
    core.delete_collection_namespaced_config_map(NS, label_selector="set=churn")


def test_watch_ends_at_timeout_seconds(core):
    events = list(watch.Watch().stream(core.list_namespaced_config_map, NS, label_selector="set=nothing",
                                       timeout_seconds=1))
    assert events == []


# -- writes -----------------------------------------------------------------------
def test_create_generate_name_and_dry_run(core):
    made = core.create_namespaced_config_map(NS, {"metadata": {"generateName": "gen-"}, "data": {"a": "1"}})
    assert made.metadata.name.startswith("gen-") and len(made.metadata.name) == 9
    assert made.metadata.uid and made.metadata.resource_version
    dry = core.create_namespaced_config_map(NS, configmap("dry"), dry_run="All")
    assert dry.metadata.name == "dry"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("dry", NS)
    assert err.value.status == 404


def test_create_defaults_a_deployment_like_the_real_api_server(apps):
    d = apps.create_namespaced_deployment(NS, deployment("defaults"))
    assert d.spec.strategy.type == "RollingUpdate" and d.spec.revision_history_limit == 10
    c = d.spec.template.spec.containers[0]
    assert c.image_pull_policy == "IfNotPresent" and d.spec.template.spec.restart_policy == "Always"
    assert d.metadata.generation == 1


def test_update_with_a_stale_resource_version_is_409(core):
    cm = core.create_namespaced_config_map(NS, configmap("stale"))
    fresh = core.read_namespaced_config_map("stale", NS)
    fresh.data = {"k": "first"}
    core.replace_namespaced_config_map("stale", NS, fresh)
    cm.data = {"k": "second"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("stale", NS, cm)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("stale", NS).data == {"k": "first"}


def test_strategic_merge_patch_of_one_container_env(apps):
    apps.create_namespaced_deployment(NS, deployment("smp"))
    apps.patch_namespaced_deployment("smp", NS, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "MODE", "value": "b"}]}]}}}})
    d = apps.read_namespaced_deployment("smp", NS)
    app, side = d.spec.template.spec.containers
    assert [(e.name, e.value) for e in app.env] == [("MODE", "b"), ("KEEP", "k")]
    assert side.name == "side" and d.metadata.generation == 2


def test_merge_and_json_patch(core, api_client):
    core.create_namespaced_config_map(NS, configmap("patched", data={"a": "1", "b": "2"}))
    # The client picks the patch type from the body: a list is a JSON patch.
    core.patch_namespaced_config_map("patched", NS, [{"op": "replace", "path": "/data/a", "value": "10"},
                                                     {"op": "add", "path": "/metadata/labels",
                                                      "value": {"x": "y"}}])
    core.patch_namespaced_config_map("patched", NS, {"data": {"b": None, "c": "3"}},
                                     _content_type="application/merge-patch+json")
    cm = core.read_namespaced_config_map("patched", NS)
    assert cm.data == {"a": "10", "c": "3"} and cm.metadata.labels == {"x": "y"}


def test_scale_subresource_reads_and_writes_replicas(apps):
    apps.create_namespaced_deployment(NS, deployment("scaled", replicas=2))
    scale = apps.read_namespaced_deployment_scale("scaled", NS)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=scaled"
    apps.patch_namespaced_deployment_scale("scaled", NS, {"spec": {"replicas": 5}})
    assert apps.read_namespaced_deployment("scaled", NS).spec.replicas == 5
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("scaled", NS, {"spec": {"replicas": -1}})
    assert err.value.status == 422


def test_status_subresource_is_separate_from_the_spec(apps):
    apps.create_namespaced_deployment(NS, deployment("status"))
    apps.patch_namespaced_deployment_status("status", NS, {"status": {"readyReplicas": 2, "replicas": 2}})
    apps.patch_namespaced_deployment("status", NS, {"status": {"readyReplicas": 99}, "spec": {"replicas": 3}})
    d = apps.read_namespaced_deployment("status", NS)
    assert d.status.ready_replicas == 2 and d.spec.replicas == 3


def test_delete_and_deletecollection_by_label(core):
    for i in range(3):
        core.create_namespaced_config_map(NS, configmap(f"del-{i}", {"set": "del", "i": str(i)}))
    status = core.delete_namespaced_config_map("del-0", NS)  # this client hands a Status back as a dict
    assert status["status"] == "Success" and status["details"]["name"] == "del-0"
    core.delete_collection_namespaced_config_map(NS, label_selector="set=del,i=1")
    assert [c.metadata.name for c in core.list_namespaced_config_map(NS, label_selector="set=del").items] == ["del-2"]


def test_delete_of_a_running_pod_is_graceful(core, server):
    core.create_namespaced_pod(NS, {"metadata": {"name": "running"},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    # As the kubelet would: bind it and report it running.
    server.store.modify(R.POD, NS, "running", lambda p: p["spec"].update(nodeName="node-1"))
    server.store.modify(R.POD, NS, "running", lambda p: p["status"].update(phase="Running"), subresource="status")
    pod = core.delete_namespaced_pod("running", NS, grace_period_seconds=7)
    assert pod.metadata.deletion_timestamp is not None and pod.metadata.deletion_grace_period_seconds == 7
    assert core.read_namespaced_pod("running", NS).metadata.deletion_timestamp is not None
    core.delete_namespaced_pod("running", NS, body=client.V1DeleteOptions(grace_period_seconds=0))
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("running", NS)
    assert err.value.status == 404


def test_delete_preconditions_and_foreground_propagation(core, apps):
    owner = core.create_namespaced_config_map(NS, configmap("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map(NS, {"metadata": {"name": "dependent", "ownerReferences": [ref]}})
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("owner", NS, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="not-the-uid")))
    assert err.value.status == 409
    core.delete_namespaced_config_map("owner", NS, propagation_policy="Foreground")
    left = {c.metadata.name for c in core.list_namespaced_config_map(NS).items}
    assert not {"owner", "dependent"} & left


def test_eviction_respects_a_pod_disruption_budget(core, server, api_client):
    labels = {"app": "guarded"}
    for name in ("guarded-1", "guarded-2"):
        core.create_namespaced_pod(NS, {"metadata": {"name": name, "labels": labels},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        server.store.modify(R.POD, NS, name, lambda p: p["status"].update(
            phase="Running", conditions=[{"type": "Ready", "status": "True"}]), subresource="status")
    client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(NS, {
        "metadata": {"name": "guard"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": labels}}})
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "guarded-1", "namespace": NS}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction("guarded-1", NS, eviction)
    assert err.value.status == 429 and "disruption budget" in json.loads(err.value.body)["message"]
    client.PolicyV1Api(api_client).patch_namespaced_pod_disruption_budget("guard", NS, {"spec": {"minAvailable": 1}})
    core.create_namespaced_pod_eviction("guarded-1", NS, eviction)
    assert [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=guarded").items] == \
        ["guarded-2"]


def test_deleting_a_namespace_deletes_its_contents(core):
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", configmap("inside"))
    rv = core.list_namespace().metadata.resource_version
    core.delete_namespace("doomed")
    # Terminating first, then gone once its contents are.
    seen = []
    for ev in watch.Watch().stream(core.list_namespace, field_selector="metadata.name=doomed",
                                   resource_version=rv, timeout_seconds=WAIT):
        seen.append((ev["type"], ev["object"].status.phase))
        if ev["type"] == "DELETED":
            break
    assert seen[0] == ("MODIFIED", "Terminating") and seen[-1][0] == "DELETED"
    assert core.list_namespaced_config_map("doomed").items == []
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("doomed", configmap("late"))
    assert err.value.status == 404


# -- bad requests --------------------------------------------------------------
@pytest.mark.parametrize("method,path,body,ctype,code,reason", [
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'{"metadata": {"name": "x"', "application/json", 400,
     "BadRequest"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'[1, 2]', "application/json", 400, "BadRequest"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'{"apiVersion": "apps/v1", "kind": "ConfigMap", '
     b'"metadata": {"name": "x"}}', "application/json", 400, "BadRequest"),
    ("POST", f"/api/v1/namespaces/{NS}/pods", b'{"kind": "Deployment", "metadata": {"name": "x"}}',
     "application/json", 400, "BadRequest"),
    ("POST", f"/api/v1/namespaces/{NS}/pods", b'{"metadata": {"name": "nocontainers"}, "spec": {}}',
     "application/json", 422, "Invalid"),
    ("POST", f"/api/v1/namespaces/{NS}/pods", b'{"metadata": {"name": "noimage"}, "spec": {"containers": '
     b'[{"name": "c"}]}}', "application/json", 422, "Invalid"),
    ("POST", f"/api/v1/namespaces/{NS}/pods", b'{"metadata": {"name": "x"}, "spec": {"containers": "web"}}',
     "application/json", 400, "BadRequest"),
    ("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", b'{"metadata": {"name": "x"}, "spec": {"selector": '
     b'{"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": 1}}, "spec": null}}}',
     "application/json", 400, "BadRequest"),
    ("POST", "/api/v1/namespaces/nowhere/configmaps", b'{"metadata": {"name": "x"}}', "application/json", 404,
     "NotFound"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'data: [', "application/yaml", 400, "BadRequest"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'{"metadata": {"name": "x"}}', "text/plain", 415,
     "UnsupportedMediaType"),
    ("PATCH", f"/api/v1/namespaces/{NS}/configmaps/kube-root", b'{"data": {}}', "application/json", 415,
     "UnsupportedMediaType"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'{"metadata": {"name": "big"}, "data": {"k": "'
     + b"x" * (4 * 1024 * 1024) + b'"}}', "application/json", 413, "RequestEntityTooLarge"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b"metadata: {name: x}\ndata: &a [*a]\n", "application/yaml",
     400, "BadRequest"),
    ("POST", f"/api/v1/namespaces/{NS}/configmaps", b'{"data":' + b"[" * 50000 + b"]" * 50000 + b"}",
     "application/json", 400, "BadRequest"),
    ("GET", "/api/v1/namespaces/x/widgets", None, "application/json", 404, "NotFound"),
    ("GET", "/apis/apps/v9/deployments", None, "application/json", 404, "NotFound"),
    ("PUT", f"/api/v1/namespaces/{NS}/configmaps", b'{}', "application/json", 405, "MethodNotAllowed"),
])
def test_bad_requests_get_a_status_and_change_nothing(server, core, method, path, body, ctype, code, reason):
    before = server.store.resource_version
    got, status = raw(server, method, path, body, headers={"Content-Type": ctype})
    assert got == code, status
    assert status["kind"] == "Status" and status["reason"] == reason and status["code"] == code
    assert status["message"]
    assert server.store.resource_version == before


def test_deployment_whose_selector_does_not_match_its_template_is_422(server, apps):
    bad = deployment("mismatch")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(NS, bad)
    status = json.loads(err.value.body)
    assert err.value.status == 422
    assert "`selector` does not match template `labels`" in status["message"]
    assert status["details"]["causes"][0]["field"] == "spec.template.metadata.labels"
    no_selector = deployment("noselector")
    del no_selector["spec"]["selector"]
    code, status = raw(server, "POST", f"/apis/apps/v1/namespaces/{NS}/deployments", json.dumps(no_selector).encode())
    assert code == 422 and "spec.selector: Required value" in status["message"]


def test_a_patch_that_makes_an_object_invalid_is_rejected_whole(apps):
    apps.create_namespaced_deployment(NS, deployment("atomic"))
    before = apps.read_namespaced_deployment("atomic", NS)
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("atomic", NS, {"spec": {"replicas": 7, "template": {"spec": {
            "containers": [{"name": "app", "image": None}]}}}})
    assert err.value.status == 422
    after = apps.read_namespaced_deployment("atomic", NS)
    assert after.spec.replicas == 2 and after.metadata.resource_version == before.metadata.resource_version


def test_discovery_lists_subresources_with_their_kinds(server):
    code, doc = raw(server, "GET", "/api/v1")
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and "all" in by_name["pods"]["categories"]
    assert by_name["pods/eviction"]["group"] == "policy" and by_name["pods/eviction"]["kind"] == "Eviction"
    assert by_name["pods/log"]["verbs"] == ["get"]
    code, doc = raw(server, "GET", "/apis/apps/v1")
    scale = next(r for r in doc["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    code, doc = raw(server, "GET", "/apis")
    by_group = {g["name"]: g for g in doc["groups"]}
    assert {"apps", "batch", "policy", "networking.k8s.io"} <= set(by_group)
    # autoscaling/v1 would need a conversion from the stored v2 shape: only v2 is served.
    assert [v["version"] for v in by_group["autoscaling"]["versions"]] == ["v2"]
    assert raw(server, "GET", f"/apis/autoscaling/v1/namespaces/{NS}/horizontalpodautoscalers")[0] == 404


def test_table_answers_for_kubectl(server, core):
    core.create_namespaced_pod(NS, {"metadata": {"name": "tabled", "labels": {"t": "1"}},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    code, t = raw(server, "GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=t%3D1&includeObject=Object",
                  headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    assert code == 200 and t["kind"] == "Table"
    assert [c["name"] for c in t["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert t["rows"][0]["cells"][:3] == ["tabled", "0/1", "Pending"]
    assert t["rows"][0]["object"]["kind"] == "Pod"


def test_legacy_watch_path_streams_events(server, core):
    core.create_namespaced_config_map(NS, configmap("legacy-watch", {"set": "legacy"}))
    code, body = raw(server, "GET", f"/api/v1/watch/namespaces/{NS}/configmaps?labelSelector=set%3Dlegacy"
                                    "&timeoutSeconds=1", text=True)
    events = [json.loads(line) for line in body.splitlines()]
    assert code == 200 and [(e["type"], e["object"]["metadata"]["name"]) for e in events] == \
        [("ADDED", "legacy-watch")]


def test_stop_ends_open_watches(tmp_path):
    api = ApiServer(Store(), state_dir=tmp_path).start()
    kc = api.write_kubeconfig(tmp_path / "kubeconfig")
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kc)))
    ended = threading.Event()

    def consume():
        try:
            for _ in watch.Watch().stream(core.list_namespace, resource_version=api.store.resource_version,
                                          timeout_seconds=WAIT):
                pass
        except Exception:
            pass  # a closed connection is an acceptable end too
        ended.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    # The watch is registered once the server holds it open.
    deadline_ok = threading.Event()
    for _ in range(int(WAIT * 10)):
        if api.api.verbs.open_watches:
            deadline_ok.set()
            break
        ended.wait(0.1)
    assert deadline_ok.is_set(), "the watch never reached the server"
    api.stop()
    assert ended.wait(WAIT), "a watch outlived the server"


def test_typed_delete_of_a_service_returns_the_service(core):
    # The typed client expects the deleted Service back (not a Status): the
    # registry of services returns the deleted object, as Kubernetes does.
    core.create_namespaced_service("default", {
        "metadata": {"name": "doomed"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 8080}]},
    })
    gone = core.delete_namespaced_service("doomed", "default")
    assert gone.metadata.name == "doomed"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_service("doomed", "default")
    assert err.value.status == 404
