"""CustomResourceDefinitions: stored, and their custom resources served as
kubectl and the kubernetes client expect (discovery, list/get/create/patch/
delete/watch), namespaced and cluster scoped. The namespaced one is Chaos
Mesh's NetworkChaos from deploy/sandbox/crds, which the faults write."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client import ApiException

from .helpers import api_server

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "deploy" / "sandbox" / "crds" / "chaos-mesh-networkchaos.yaml"
GROUP, VERSION, PLURAL = "chaos-mesh.org", "v1alpha1", "networkchaos"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

CHAOS = {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
         "metadata": {"name": "cut-db", "namespace": "default", "labels": {"gameday.dev/drill": "d1"}},
         "spec": {"action": "partition", "mode": "all", "direction": "both",
                  "selector": {"namespaces": ["database"], "labelSelectors": {"app": "postgres"}}}}
CLUSTER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gamedays.example.dev"},
    "spec": {"group": "example.dev", "scope": "Cluster",
             "names": {"plural": "gamedays", "singular": "gameday", "kind": "GameDay", "shortNames": ["gd"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # As `gameday sandbox up` applies the manifests of deploy/sandbox/crds.
    with api_server(tmp_path_factory.mktemp("crd"), [CRD_FILE]) as (api, _, kc):
        yield api, kc


def kubectl(kc, *args, input=None):
    return subprocess.run(["kubectl", "--kubeconfig", str(kc), *args], capture_output=True, text=True,
                          timeout=60, input=input)


def custom(kc) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(config.new_client_from_config(config_file=str(kc)))


def test_the_definition_is_established(server):
    _, kc = server
    got = kubectl(kc, "get", "crd", "networkchaos.chaos-mesh.org", "-o", "json")
    assert got.returncode == 0, got.stderr
    conds = {c["type"]: c["status"] for c in json.loads(got.stdout)["status"]["conditions"]}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    waited = kubectl(kc, "wait", "--for=condition=Established", "crd/networkchaos.chaos-mesh.org", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr
    res = kubectl(kc, "api-resources", "--api-group=chaos-mesh.org")
    assert "networkchaos" in res.stdout and "NetworkChaos" in res.stdout and "nc" in res.stdout.split()


def test_kubectl_creates_lists_patches_deletes_a_networkchaos(server):
    _, kc = server
    created = kubectl(kc, "apply", "-f", "-", input=yaml.safe_dump(CHAOS))
    assert created.returncode == 0, created.stderr
    assert "networkchaos.chaos-mesh.org/cut-db created" in created.stdout
    listed = kubectl(kc, "get", "networkchaos", "-n", "default")
    assert "cut-db" in listed.stdout, listed.stderr
    assert "cut-db" in kubectl(kc, "get", "nc", "-l", "gameday.dev/drill=d1").stdout
    assert "cut-db" not in kubectl(kc, "get", "nc", "-l", "gameday.dev/drill=other").stdout
    patched = kubectl(kc, "patch", "networkchaos", "cut-db", "--type=merge", "-p", '{"spec":{"duration":"30s"}}')
    assert patched.returncode == 0, patched.stderr
    got = json.loads(kubectl(kc, "get", "networkchaos", "cut-db", "-o", "json").stdout)
    assert got["spec"]["duration"] == "30s" and got["spec"]["action"] == "partition"
    assert got["apiVersion"] == "chaos-mesh.org/v1alpha1" and got["kind"] == "NetworkChaos"
    deleted = kubectl(kc, "delete", "networkchaos", "cut-db")
    assert deleted.returncode == 0, deleted.stderr
    assert "NotFound" in kubectl(kc, "get", "networkchaos", "cut-db").stderr


def test_the_client_watches_custom_objects(server):
    _, kc = server
    api = custom(kc)
    seen: list[tuple[str, str]] = []
    started = threading.Event()

    # From the list's resourceVersion: every change after it is delivered, whenever the watch
    # request itself reaches the server (without it, a late watch sees the patched object as ADDED).
    rv = api.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["metadata"]["resourceVersion"]

    def watch_them():
        w = watch.Watch()
        started.set()
        for ev in w.stream(api.list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL,
                           resource_version=rv, timeout_seconds=20):
            seen.append((ev["type"], ev["object"]["metadata"]["name"]))
            if ev["type"] == "DELETED":
                w.stop()
    t = threading.Thread(target=watch_them, daemon=True)
    t.start()
    started.wait(10)
    body = json.loads(json.dumps(CHAOS))
    body["metadata"]["name"] = "watched"
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body)
    api.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "watched", {"spec": {"mode": "one"}})
    assert api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "watched")["spec"]["mode"] == "one"
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "watched")
    t.join(30)
    assert ("ADDED", "watched") in seen and ("MODIFIED", "watched") in seen and ("DELETED", "watched") in seen
    del body["metadata"]["namespace"]
    with pytest.raises(ApiException) as err:
        api.create_namespaced_custom_object(GROUP, VERSION, "no-such-namespace", PLURAL, body)
    assert err.value.status == 404


def test_cluster_scoped_definition_and_its_removal(server):
    _, kc = server
    assert kubectl(kc, "apply", "-f", "-", input=yaml.safe_dump(CLUSTER_CRD)).returncode == 0
    made = kubectl(kc, "apply", "-f", "-", input=yaml.safe_dump(
        {"apiVersion": "example.dev/v1", "kind": "GameDay", "metadata": {"name": "friday"}, "spec": {"at": "16:00"}}))
    assert made.returncode == 0, made.stderr
    got = kubectl(kc, "get", "gd", "friday", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert "namespace" not in json.loads(got.stdout)["metadata"]
    api = custom(kc)
    assert [o["metadata"]["name"] for o in api.list_cluster_custom_object("example.dev", "v1", "gamedays")["items"]] \
        == ["friday"]
    assert kubectl(kc, "delete", "crd", "gamedays.example.dev").returncode == 0
    gone = kubectl(kc, "get", "gamedays")
    # (kubectl's discovery cache may still know the type: then the list is what fails)
    assert gone.returncode != 0 and ("the server doesn't have a resource type" in gone.stderr
                                     or "the server could not find the requested resource" in gone.stderr)
    # Made again, it starts empty: its objects went with it.
    assert kubectl(kc, "apply", "-f", "-", input=yaml.safe_dump(CLUSTER_CRD)).returncode == 0
    assert api.list_cluster_custom_object("example.dev", "v1", "gamedays")["items"] == []


def test_an_invalid_definition_is_refused(server):
    _, kc = server
    bad = json.loads(json.dumps(CLUSTER_CRD))
    bad["metadata"]["name"] = "wrong.example.dev"
    out = kubectl(kc, "apply", "-f", "-", input=yaml.safe_dump(bad))
    assert out.returncode != 0 and 'must be spec.names.plural+"."+spec.group' in out.stderr


def test_deleting_a_namespace_deletes_its_custom_objects(server):
    _, kc = server
    assert kubectl(kc, "create", "namespace", "chaos-ns").returncode == 0
    body = json.loads(json.dumps(CHAOS))
    body["metadata"]["namespace"] = "chaos-ns"
    custom(kc).create_namespaced_custom_object(GROUP, VERSION, "chaos-ns", PLURAL, body)
    done = kubectl(kc, "delete", "namespace", "chaos-ns", "--timeout=60s")
    assert done.returncode == 0, done.stderr
    assert "NotFound" in kubectl(kc, "get", "namespace", "chaos-ns").stderr
    assert custom(kc).list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"] == []
