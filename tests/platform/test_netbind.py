"""Where platform processes listen: the pod IP, plus the pod's loopback only
where the pod has a network of its own."""
from gaudi3_scale.netbind import listen_hosts


def test_loopback_only_where_the_pod_owns_it(monkeypatch):
    monkeypatch.delenv("GAUDI3_LISTEN_LOOPBACK", raising=False)
    assert listen_hosts("10.244.1.7") == ["10.244.1.7", "127.0.0.1"]   # a cluster pod
    assert listen_hosts("127.38.0.5") == ["127.38.0.5"]               # sandbox pods sharing the host's loopback
    assert listen_hosts("0.0.0.0") == ["0.0.0.0"]
    monkeypatch.setenv("GAUDI3_LISTEN_LOOPBACK", "true")
    assert listen_hosts("127.38.0.5") == ["127.38.0.5", "127.0.0.1"]
    monkeypatch.setenv("GAUDI3_LISTEN_LOOPBACK", "false")
    assert listen_hosts("10.244.1.7") == ["10.244.1.7"]
