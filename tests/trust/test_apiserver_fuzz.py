"""The sandbox API server fuzzed (bounded): hypothesis sends generated
request bodies (create, replace, patch in each patch type) and query
parameters (list) to it. None is answered with a 5xx, and a refused write
changes nothing (the object, and its resourceVersion, are as before; a
refused create leaves no object)."""
from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.sandbox.helpers import api_client

pytestmark = [pytest.mark.sandbox]
EXAMPLES = int(os.environ.get("GAMEDAY_FUZZ_API_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NS = "fuzz"
TRIED = {"requests": 0, "5xx": 0, "half-applied": 0}

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fz", "namespace": NS, "labels": {"a": "b"}},
      "data": {"k": "v"}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fzd", "namespace": NS},
          "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "fzd"}},
                   "template": {"metadata": {"labels": {"app": "fzd"}},
                                "spec": {"containers": [{"name": "c", "image": "gameday-test/web:1"}]}}}}

leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                 st.text(max_size=12))
value = st.recursive(leaf, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c,
                                                                                         max_size=3)), max_leaves=6)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, base: dict) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=60))
    doc = copy.deepcopy(base)
    paths = [p for p in _paths(base) if p]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            if draw(st.booleans()):
                parent[path[-1]] = draw(value)
            else:
                del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(doc).encode()


class Raw:
    """Raw HTTP to the sandbox API server with the kubeconfig's credentials."""

    def __init__(self, sb):
        self.client = api_client(sb)
        cfg = self.client.configuration
        self.host = cfg.host
        self.headers = {a["key"]: a["value"] for a in cfg.auth_settings().values() if a.get("in") == "header"}
        self.pool = self.client.rest_client.pool_manager

    def __call__(self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json",
                 query: dict | None = None):
        from urllib.parse import urlencode
        url = self.host + path + (("?" + urlencode(query)) if query else "")
        TRIED["requests"] += 1
        r = self.pool.request(method, url, body=body, headers={**self.headers, "Content-Type": ctype,
                                                                 "Accept": "application/json"},
                              timeout=30, retries=False)
        if r.status >= 500:
            TRIED["5xx"] += 1
        return r.status, r.data


@pytest.fixture(scope="module")
def raw(bare_sandbox):
    r = Raw(bare_sandbox)
    status, _ = r("POST", "/api/v1/namespaces", json.dumps({"metadata": {"name": NS}}).encode())
    assert status in (201, 409)
    return r


def _reset_cm(raw):
    raw("DELETE", f"/api/v1/namespaces/{NS}/configmaps/fz")
    status, data = raw("POST", f"/api/v1/namespaces/{NS}/configmaps", json.dumps(CM).encode())
    assert status == 201, data
    return json.loads(data)


def _read(raw, path):
    status, data = raw("GET", path)
    return status, (json.loads(data) if status == 200 else None)


PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/json-patch+json", "application/apply-patch+yaml", "text/plain")


@SETTINGS
@given(body=mutated(CM), how=st.sampled_from(["PUT", "PATCH"]), ctype=st.sampled_from(PATCH_TYPES))
def test_configmap_writes(raw, body, how, ctype):
    before = _reset_cm(raw)
    path = f"/api/v1/namespaces/{NS}/configmaps/fz"
    status, data = raw(how, path, body, ctype if how == "PATCH" else "application/json",
                       query={"fieldManager": "fuzz"} if "apply" in ctype else None)
    assert status < 500, (status, data[:300])
    if status >= 400:
        _, after = _read(raw, path)
        if after != before:
            TRIED["half-applied"] += 1
        assert after == before, f"a refused {how} ({status}) changed the object"


@SETTINGS
@given(body=mutated(DEPLOY))
def test_deployment_creates(raw, body):
    path = f"/apis/apps/v1/namespaces/{NS}/deployments"
    status, data = raw("POST", path, body)
    assert status < 500, (status, data[:300])
    if status == 201:
        name = json.loads(data)["metadata"]["name"]
        raw("DELETE", f"{path}/{name}")
    else:
        try:
            name = json.loads(body)["metadata"]["name"]
        except Exception:
            return
        if isinstance(name, str) and name and "/" not in name and name != "fzd-exists":
            got, _ = _read(raw, f"{path}/{name}")
            if got == 200:
                TRIED["half-applied"] += 1
            assert got != 200, f"a refused create ({status}) left {name}"


query_value = st.one_of(st.text(max_size=20), st.integers(-5, 10**9).map(str), st.sampled_from(
    ["app=web", "a in (b", "!x", "metadata.name=fz", "status.phase!=Running", "0", "-1", "true", "abc"]))


@SETTINGS
@given(query=st.dictionaries(st.sampled_from(["labelSelector", "fieldSelector", "limit", "continue",
                                              "resourceVersion", "resourceVersionMatch", "timeoutSeconds",
                                              "allowWatchBookmarks", "pretty", "propagationPolicy",
                                              "gracePeriodSeconds", "dryRun", "x"]), query_value, max_size=4),
       path=st.sampled_from([f"/api/v1/namespaces/{NS}/configmaps", "/api/v1/pods", "/apis/apps/v1/deployments",
                             f"/api/v1/namespaces/{NS}/configmaps/fz", "/api/v1/nodes"]))
def test_list_query_parameters(raw, query, path):
    query.pop("watch", None)
    status, data = raw("GET", path, query=query)
    assert status < 500, (status, path, query, data[:300])


def test_zz_report():
    print(f"API server fuzz: {TRIED['requests']} requests, {TRIED['5xx']} answered 5xx, "
          f"{TRIED['half-applied']} refused writes half-applied")
    assert TRIED["5xx"] == 0 and TRIED["half-applied"] == 0
