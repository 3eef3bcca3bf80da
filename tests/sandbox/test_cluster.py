"""The Sandbox with the reference platform (the session's `sandbox`): the
manifests deploy unchanged, PostgreSQL is a real server reached through its
Service, and Prometheus finds the pods through the sandbox's http_sd."""
from __future__ import annotations

import json
import urllib.request

import pytest

from gameday.sandbox import manifests
from gameday.errors import UserError

from .helpers import eventually, kubectl

pytestmark = pytest.mark.sandbox


def test_platform_is_ready_and_reachable(sandbox):
    assert sandbox.not_ready() == []
    out = kubectl(sandbox, "exec", "deployment/postgres", "-n", "database", "--", "psql", "-Atc", "select 1").stdout
    assert out.strip() == "1"
    prometheus = sandbox.service_url("prometheus", "monitoring")

    def api_targets_up():
        with urllib.request.urlopen(prometheus + "/api/v1/targets", timeout=10) as resp:
            targets = json.load(resp)["data"]["activeTargets"]
        api = [t for t in targets if t["labels"].get("pod", "").startswith("gaudi3-scale-api")]
        return len(api) >= 1 and all(t["health"] == "up" for t in api) and api
    eventually(api_targets_up, timeout=120, interval=1, what="Prometheus scraping the API pods")


def test_malformed_manifest_names_file_and_document(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n"
                                     "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    with pytest.raises(UserError) as err:
        manifests.load([tmp_path])
    assert "a.yaml (document 2)" in err.value.message and "metadata.name" in err.value.message


def test_overlay_replaces_earlier_objects(tmp_path):
    base, overlay = tmp_path / "base", tmp_path / "overlay"
    base.mkdir(), overlay.mkdir()
    (base / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
                                  "data: {k: base}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    (overlay / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
                                     "data: {k: overlay}\n")
    loaded = manifests.ordered(manifests.load([base, overlay]))
    assert [m.obj["kind"] for m in loaded] == ["Namespace", "ConfigMap"]
    assert loaded[1].obj["data"] == {"k": "overlay"}
