"""`gameday recover` on the bare sandbox: faults of a drill that is gone are
undone, those of a live drill are left until they expire, `--dry-run`
changes nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from gameday.drill import recover as recover_mod
from gameday.drill.ledger import Ledger, lease_alive
from gameday.faults import KINDS
from tests.sandbox.helpers import api_client

NS = "sbtest"


@pytest.fixture(scope="module")
def cfg(bare_sandbox):
    return {"kubeconfig_path": str(bare_sandbox.kubeconfig)}


def _inject(cfg, led, name, **params):
    k = KINDS[name]
    p = k.validate(params, "test")
    return k.inject(cfg, led, **p)


def test_live_drill_kept_dead_drill_undone_expired_undone(cfg, bare_sandbox):
    core = client.CoreV1Api(api_client(bare_sandbox))
    core.create_namespaced_config_map(NS, {"metadata": {"name": "rec-settings"}, "data": {"a": "1"}})
    try:
        live = Ledger(cfg).open()
        dead = Ledger(cfg)  # never opened a lease: like a drill whose lease ran out
        dead.open()
        dead._stop.set()
        dead._coord().delete_namespaced_lease(f"gameday-drill-{dead.drill}", dead.namespace)
        _inject(cfg, live, "network-cut", selector="app=web", namespace=NS)
        _inject(cfg, dead, "config-set", configmap="rec-settings", namespace=NS, key="a", value="2")
        assert recover_mod.count_left(cfg) == 2
        dry = recover_mod.recover(cfg, dry_run=True)
        assert [x.kind for x in dry.undone] == ["config-set"] and recover_mod.count_left(cfg) == 2
        report = recover_mod.recover(cfg)
        assert [x.kind for x in report.undone] == ["config-set"]
        assert [x.kind for x in report.skipped_alive] == ["network-cut"]
        assert core.read_namespaced_config_map("rec-settings", NS).data == {"a": "1"}
        assert dead.drill in report.ledgers_removed and live.drill not in report.ledgers_removed
        # Past its expiry, even a live drill's fault goes (--expired: the CronJob).
        live.ttl = -1
        _inject(cfg, live, "network-delay", selector="app=web", namespace=NS, ms=5)
        report = recover_mod.recover(cfg, expired_only=True)
        assert [x.kind for x in report.undone] == ["network-delay"]
        assert recover_mod.count_left(cfg) == 1
        live.close()
        # The lease is gone with close(): the live drill's cut now counts as left behind.
        assert recover_mod.recover(cfg).undone and recover_mod.count_left(cfg) == 0
    finally:
        core.delete_namespaced_config_map("rec-settings", NS)


def test_legacy_policy_without_ledger_is_recovered(cfg, bare_sandbox):
    net = client.NetworkingV1Api(api_client(bare_sandbox))
    net.create_namespaced_network_policy(NS, {
        "metadata": {"name": "gameday-cut-off-database", "labels": {"app.kubernetes.io/managed-by": "gameday"}},
        "spec": {"podSelector": {"matchLabels": {"app": "nothing"}}, "policyTypes": ["Ingress"], "ingress": []}})
    assert recover_mod.count_left(cfg) == 1
    recover_mod.recover(cfg)
    assert recover_mod.count_left(cfg) == 0


def test_lease_alive_is_pure():
    assert lease_alive({"spec": {"renewTime": "2026-01-01T00:00:00.000000Z", "leaseDurationSeconds": 20}},
                       now=1767225610)
    assert not lease_alive({"spec": {"renewTime": "2026-01-01T00:00:00.000000Z", "leaseDurationSeconds": 20}},
                           now=1767225630)
    assert not lease_alive({"spec": {}})


def test_drill_inject_of_a_kind_is_ledgered_and_rolled_back(cfg, bare_sandbox, tmp_path):
    from gameday.drill import Drill
    from gameday.target import Target
    from gameday.project.loader import load
    root = Path(__file__).resolve().parents[2]
    # the project's file with the bare sandbox's namespace inside its blast radius
    text = (root / "gameday.yaml").read_text().replace("  namespaces: [", f"  namespaces: [{NS}, ", 1)
    assert f"[{NS}, " in text
    (root_copy := tmp_path / "gameday.yaml").write_text(text)
    for name in ("runbook", "deploy", "loadtests", "features"):
        (tmp_path / name).symlink_to(root / name)
    drill = Drill(Target.connect(bare_sandbox.kubeconfig), "kind-inject", tmp_path / "reports",
                  steady_state=[{"deployment": "web", "ns": NS}], handle_signals=False, project=load(root_copy))
    try:
        drill.inject("network-cut", selector="app=web", namespace=NS)
        assert recover_mod.count_left(cfg) == 1
        assert recover_mod.recover(cfg).skipped_alive  # the drill is alive: left alone
    finally:
        drill.close()
    assert recover_mod.count_left(cfg) == 0 and not recover_mod.ledgers(cfg)
