"""NetworkPolicy admission (pure) and the kubelet's string rewriting and
back-off (pure): the rules the sandbox's stand-ins for a CNI and container
isolation follow."""
from __future__ import annotations

from gameday.sandbox.kubelet.backoff import next_delay
from gameday.sandbox.kubelet.rewrite import Rewriter, expand_vars
from gameday.sandbox.proxy import admitted


def pod(name, ns="app", **labels):
    return {"metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"ports": [{"name": "pg", "containerPort": 5432}]}]}}


def policy(ingress, ns="app", selector=None):
    return {"metadata": {"name": "p", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": selector or {"role": "db"}}, "ingress": ingress}}


DB = pod("db-0", role="db")
API = pod("api-1", role="api")
NAMESPACES = {"app": {"metadata": {"name": "app"}}, "other": {"metadata": {"name": "other", "labels": {"team": "x"}}}}


def test_no_policy_admits_everyone():
    assert admitted([], DB, 5432, None, NAMESPACES)


def test_empty_ingress_denies_all():
    assert not admitted([policy([])], DB, 5432, API, NAMESPACES)
    assert not admitted([policy([])], DB, 5432, None, NAMESPACES)


def test_pod_selector_port_and_namespace_rules():
    rule = [{"from": [{"podSelector": {"matchLabels": {"role": "api"}}}], "ports": [{"port": "pg"}]}]
    assert admitted([policy(rule)], DB, 5432, API, NAMESPACES)
    assert not admitted([policy(rule)], DB, 5432, pod("web", role="web"), NAMESPACES)
    assert not admitted([policy(rule)], DB, 5432, pod("api-2", ns="other", role="api"), NAMESPACES)
    assert not admitted([policy(rule)], DB, 9999, API, NAMESPACES)
    cross = [{"from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}]}]
    assert admitted([policy(cross)], DB, 5432, pod("api-2", ns="other"), NAMESPACES)
    assert not admitted([policy(cross)], DB, 5432, API, NAMESPACES)


def test_policy_selecting_other_pods_does_not_apply():
    assert admitted([policy([], selector={"role": "cache"})], DB, 5432, None, NAMESPACES)


def test_rewriting_mounts_services_and_loopback():
    rw = Rewriter(mounts={"/var/lib/data": "/sb/pods/x/volumes/data", "/etc/app": "/sb/cm"},
                  service_ip=lambda name, ns: "127.9.128.4" if (name, ns) == ("postgres", "db") else None,
                  pod_ip="127.9.1.7")
    assert rw("--dir=/var/lib/data/pg") == "--dir=/sb/pods/x/volumes/data/pg"
    assert rw("/var/lib/database") == "/var/lib/database"  # a prefix of a name is no mount
    assert rw("postgres://u@postgres.db.svc.cluster.local:5432/x") == "postgres://u@127.9.128.4:5432/x"
    assert rw("postgres.db.svc:5432 unknown.db.svc") == "127.9.128.4:5432 unknown.db.svc"
    assert rw("http://localhost:8000 --host 0.0.0.0 127.0.0.10") == "http://127.9.1.7:8000 --host 127.9.1.7 127.0.0.10"


def test_var_expansion_and_backoff():
    assert expand_vars("$(A)-$(B)-$$(A)", {"A": "1"}) == "1-$(B)-$(A)"
    delays = [next_delay(n, 1.0, 20.0) for n in range(8)]
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
