"""Each fault kind injected on the bare sandbox: its effect seen, then its
rollback seen to undo it (and the marks it left in the cluster gone). Delay
and loss are measured: added latency within 20% of the asked value, loss
within 10 points."""
from __future__ import annotations

import statistics
import time
import urllib.request

import pytest
from kubernetes import client

from gameday.drill.ledger import Ledger, ledger_name
from gameday.faults import KINDS, marks
from tests.sandbox.helpers import api_client, eventually

NS = "sbtest"
WAIT = 120


@pytest.fixture(scope="module")
def cfg(bare_sandbox):
    return {"kubeconfig_path": str(bare_sandbox.kubeconfig)}


@pytest.fixture(scope="module")
def api(bare_sandbox):
    c = api_client(bare_sandbox)
    return client.CoreV1Api(c), client.AppsV1Api(c)


@pytest.fixture
def ledger(cfg):
    led = Ledger(cfg).open()
    yield led
    led.close()


def _get(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            return r.status == 200
    except Exception:
        return False


def _web_ready(apps) -> bool:
    d = apps.read_namespaced_deployment("web", NS)
    return (d.status.ready_replicas or 0) >= 2 and (d.status.updated_replicas or 0) >= 2 and \
        (d.status.replicas or 0) == 2 and (d.status.observed_generation or 0) >= d.metadata.generation


@pytest.fixture
def web(bare_sandbox, api):
    core, apps = api
    eventually(lambda: _web_ready(apps), WAIT, what="web ready before the fault")
    url = bare_sandbox.service_url("web", NS)
    eventually(lambda: _get(url), WAIT, what="web answers")
    yield url
    eventually(lambda: _web_ready(apps), WAIT, what="web ready after the rollback")


def _inject(cfg, ledger, fault, /, **params):
    kind = KINDS[fault]
    p = kind.validate(params, "test")
    return kind, p, kind.inject(cfg, ledger, **p)


def _ledger_entries(core, ledger) -> dict:
    return core.read_namespaced_config_map(ledger_name(ledger.drill), ledger.namespace).data or {}


def test_pod_kill(cfg, ledger, api, web):
    core, _ = api
    kind, p, state = _inject(cfg, ledger, "pod-kill", selector="app=web", namespace=NS, count=1)
    (victim,) = state["killed"]
    assert state["id"] in _ledger_entries(core, ledger)

    def gone():
        try:
            pod = core.read_namespaced_pod(victim, NS)
        except client.ApiException as exc:
            return exc.status == 404
        return pod.metadata.deletion_timestamp is not None
    eventually(gone, WAIT, what="killed pod gone")
    kind.rollback(cfg, state, **p)
    assert state["id"] not in _ledger_entries(core, ledger)


def test_pod_kill_over_a_duration_kills_the_replacements_too(cfg, ledger, api, web):
    # A P0 outage: every pod, and each one the Deployment starts in its place,
    # for the duration. Killed once, the replacements would serve again
    # within a second or two.
    core, _ = api
    started = time.monotonic()
    kind, p, state = _inject(cfg, ledger, "pod-kill", selector="app=web", namespace=NS, all=True,
                             duration="3s", every="250ms")
    assert time.monotonic() - started >= 3.0
    first = {n for n in state["killed"]}
    assert len(first) > 2, f"only the first pods were killed: {state['killed']}"  # replacements too
    kind.rollback(cfg, state, **p)
    assert state["id"] not in _ledger_entries(core, ledger)


def test_pod_kill_every_must_fit_its_duration():
    from gameday.errors import UserError
    with pytest.raises(UserError, match="'every' must be between 50ms and the duration"):
        KINDS["pod-kill"].validate({"selector": "app=web", "namespace": NS, "duration": "2s", "every": "5s"}, "test")
    with pytest.raises(UserError, match="'every' must be between"):
        KINDS["pod-kill"].validate({"selector": "app=web", "namespace": NS, "duration": "2s", "every": "1ms"}, "test")
    ok = KINDS["pod-kill"].validate({"selector": "app=web", "namespace": NS, "duration": "10s", "every": "250ms"}, "t")
    assert ok["duration"] == 10.0 and ok["every"] == 0.25


SUPERVISED = {"metadata": {"name": "supervised", "labels": {"app": "supervised"}}, "spec": {
    "terminationGracePeriodSeconds": 1,
    "containers": [{"name": "main", "image": "gameday-test/shell:1",
                    "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                    # A shell as PID 1 and the server its child, as under an init or a
                    # master process (gunicorn's workers): the child can be frozen.
                    "args": ['python3 -m http.server 8080 --bind "$POD_IP" & wait']}]}}


def test_process_freeze(cfg, ledger, api, web):
    from gameday.errors import UserError
    from gameday.sandbox.podnet import isolation_available
    core, _ = api
    if isolation_available()[0]:
        # The web pods' server is their PID 1: with their own PID namespace, nothing
        # in them can be frozen from inside, and the fault says so instead of
        # reporting a freeze that did not happen.
        with pytest.raises(UserError, match="nothing in pod .* could be frozen"):
            _inject(cfg, ledger, "process-freeze", selector="app=web", namespace=NS, all=True)
        assert _get(web)
        assert not any(marks.RESTORE in (x.metadata.annotations or {})
                       for x in core.list_namespaced_pod(NS, label_selector="app=web").items)
    core.create_namespaced_pod(NS, SUPERVISED)
    try:
        eventually(lambda: core.read_namespaced_pod("supervised", NS).status.phase == "Running", WAIT,
                   what="the supervised server runs")
        url = f"http://{core.read_namespaced_pod('supervised', NS).status.pod_ip}:8080/"
        eventually(lambda: _get(url), WAIT, what="the supervised server answers")
        kind, p, state = _inject(cfg, ledger, "process-freeze", selector="app=supervised", namespace=NS)
        assert state["pods"] == ["supervised"]
        # Hung, not crashed: the process is still there, answering nothing.
        assert not _get(url, timeout=2)
        pod = core.read_namespaced_pod("supervised", NS)
        assert marks.RESTORE in (pod.metadata.annotations or {})
        assert pod.status.phase == "Running"
        kind.rollback(cfg, state, **p)
        eventually(lambda: _get(url), WAIT, what="the frozen server answers again")
        assert marks.RESTORE not in (core.read_namespaced_pod("supervised", NS).metadata.annotations or {})
    finally:
        core.delete_namespaced_pod("supervised", NS, grace_period_seconds=0)


def test_workload_scale(cfg, ledger, api, web):
    core, apps = api
    kind, p, state = _inject(cfg, ledger, "workload-scale", kind="deployment", name="web", namespace=NS, replicas=0)
    assert state["previous"] == 2
    dep = apps.read_namespaced_deployment("web", NS)
    assert dep.spec.replicas == 0 and marks.RESTORE in dep.metadata.annotations
    eventually(lambda: not [x for x in core.list_namespaced_pod(NS, label_selector="app=web").items],
               WAIT, what="web scaled to nothing")
    kind.rollback(cfg, {}, **p)  # an empty state too: the annotation says what to restore
    dep = apps.read_namespaced_deployment("web", NS)
    assert dep.spec.replicas == 2 and marks.RESTORE not in (dep.metadata.annotations or {})


def test_network_cut(cfg, ledger, api, web):
    kind, p, state = _inject(cfg, ledger, "network-cut", service="web", namespace=NS)
    eventually(lambda: not _get(web, timeout=2), WAIT, what="web cut off")
    kind.rollback(cfg, state, **p)
    eventually(lambda: _get(web), WAIT, what="web reachable again")
    assert not client.NetworkingV1Api(api[0].api_client).list_namespaced_network_policy(NS).items


def _latency(url: str, n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert _get(url, timeout=10)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def test_network_delay_is_measured(cfg, ledger, api, web):
    base = _latency(web, 15)
    kind, p, state = _inject(cfg, ledger, "network-delay", service="web", namespace=NS, ms=400)
    objs = client.CustomObjectsApi(api[0].api_client).list_namespaced_custom_object(
        "chaos-mesh.org", "v1alpha1", NS, "networkchaos")["items"]
    assert [o["spec"]["delay"]["latency"] for o in objs] == ["400ms"]
    added = _latency(web, 15) - base
    print(f"network-delay: asked 400ms, added {added * 1000:.0f}ms (baseline {base * 1000:.0f}ms)")
    assert abs(added - 0.4) <= 0.2 * 0.4, f"added latency {added * 1000:.0f}ms is not within 20% of 400ms"
    kind.rollback(cfg, state, **p)
    assert _latency(web, 5) < base + 0.2


def test_network_loss_is_measured(cfg, ledger, api, web):
    kind, p, state = _inject(cfg, ledger, "network-loss", service="web", namespace=NS, percent=30)
    n = 200
    lost = sum(not _get(web, timeout=5) for _ in range(n))
    print(f"network-loss: asked 30%, lost {lost}/{n} = {100 * lost / n:.0f}%")
    assert abs(100 * lost / n - 30) <= 10
    kind.rollback(cfg, state, **p)
    assert all(_get(web) for _ in range(20))


def test_config_set(cfg, ledger, api, web):
    core, _ = api
    core.create_namespaced_config_map(NS, {"metadata": {"name": "settings"}, "data": {"mode": "normal"}})
    try:
        k1, p1, s1 = _inject(cfg, ledger, "config-set", configmap="settings", namespace=NS, key="mode", value="x")
        k2, p2, s2 = _inject(cfg, ledger, "config-set", configmap="settings", namespace=NS, key="new", value="1")
        assert core.read_namespaced_config_map("settings", NS).data == {"mode": "x", "new": "1"}
        k2.rollback(cfg, s2, **p2)
        k1.rollback(cfg, s1, **p1)
        cm = core.read_namespaced_config_map("settings", NS)
        assert cm.data == {"mode": "normal"} and marks.RESTORE not in (cm.metadata.annotations or {})
    finally:
        core.delete_namespaced_config_map("settings", NS)


def test_set_image(cfg, ledger, api, web):
    core, apps = api
    kind, p, state = _inject(cfg, ledger, "set-image", name="web", namespace=NS, image="gameday-test/crash:1")
    assert state["previous"] == "gameday-test/web:1"
    eventually(lambda: any(x.spec.containers[0].image == "gameday-test/crash:1"
                           for x in core.list_namespaced_pod(NS, label_selector="app=web").items),
               WAIT, what="a pod of the broken image")
    kind.rollback(cfg, state, **p)
    dep = apps.read_namespaced_deployment("web", NS)
    assert dep.spec.template.spec.containers[0].image == "gameday-test/web:1"
    assert marks.RESTORE not in (dep.metadata.annotations or {})


def test_node_drain(cfg, ledger, api, web):
    core, _ = api
    kind, p, state = _inject(cfg, ledger, "node-drain", node_selector="gameday.test/node=true",
                             pod_selector="app=web", namespace=NS)
    assert state["nodes"] == ["sandbox-node"] and len(state["evicted"]) == 2
    assert core.read_node("sandbox-node").spec.unschedulable
    kind.rollback(cfg, state, **p)
    node = core.read_node("sandbox-node")
    assert not node.spec.unschedulable and marks.RESTORE not in (node.metadata.annotations or {})


def _pod_report(core, selector: str) -> str:
    """The pods of a selector: phase, container states and their last log lines."""
    out = []
    for pod in core.list_namespaced_pod(NS, label_selector=selector).items:
        states = [f"{c.name}: {c.state}" for c in pod.status.container_statuses or []]
        try:
            log = core.read_namespaced_pod_log(pod.metadata.name, NS, tail_lines=10)
        except client.ApiException as exc:
            log = f"(no log: {exc.status})"
        out.append(f"{pod.metadata.name} on {pod.spec.node_name} {pod.status.phase} {states} log: {log!r}")
    return " | ".join(out) or f"no pod matches {selector}"


def test_accelerator_hog(cfg, ledger, api, bare_sandbox):
    core, _ = api
    # A hostPath lives on its node's disk: the node's directory of the sandbox.
    node = core.list_node(label_selector="gameday.test/node=true").items[0].metadata.name
    card = bare_sandbox.state_dir / "nodes" / node / "hostpath" / "dev" / "gameday-sim"
    env = [{"name": "GAUDI3_SIM_DIR", "value": "/dev/gameday-sim"},
           {"name": "GAUDI3_SIM_CAPACITY_BYTES", "value": str(1 << 20)}]
    core.create_namespaced_pod(NS, {"metadata": {"name": "accel-user", "labels": {"app": "accel"}}, "spec": {
        "volumes": [{"name": "card", "hostPath": {"path": "/dev/gameday-sim", "type": "DirectoryOrCreate"}}],
        "containers": [{"name": "main", "image": "gameday-test/shell:1", "args": ["sleep 3600"], "env": env,
                        "volumeMounts": [{"name": "card", "mountPath": "/dev/gameday-sim"}]}]}})
    try:
        eventually(lambda: core.read_namespaced_pod("accel-user", NS).status.phase == "Running", WAIT,
                   what="the accelerator user runs")
        base = sum(int(f.name.rsplit("-", 1)[1].split(".")[0]) for f in card.glob("*.alloc"))
        kind, p, state = _inject(cfg, ledger, "accelerator-hog", namespace=NS, like="app=accel", fraction=0.5,
                                 hold="10m", backend="sim", node_selector="gameday.test/node=true")
        used = lambda: sum(int(f.name.rsplit("-", 1)[1].split(".")[0]) for f in card.glob("*.alloc"))  # noqa: E731
        try:
            eventually(lambda: used() >= (1 << 19) * 0.95 + base, WAIT, what="the hog holds half the card",
                       detail=lambda: _pod_report(core, f"{marks.FAULT}=accelerator-hog"))
        finally:
            kind.rollback(cfg, state, **p)  # also when the hog never took the memory: no hog outlives the test
        eventually(lambda: used() == base, WAIT, what="the card's memory given back")

        def hog_gone():
            return not core.list_namespaced_pod(NS, label_selector=f"{marks.FAULT}=accelerator-hog").items
        eventually(hog_gone, WAIT, what="the hog pod gone")
    finally:
        core.delete_namespaced_pod("accel-user", NS, grace_period_seconds=0)


def test_ledger_removed_when_rollbacks_done(cfg, api, web):
    core, _ = api
    led = Ledger(cfg).open()
    kind, p, state = _inject(cfg, led, "network-cut", selector="app=web", namespace=NS)
    assert set(_ledger_entries(core, led)) == {state["id"]}
    kind.rollback(cfg, state, **p)
    led.close()
    with pytest.raises(client.ApiException) as exc:
        core.read_namespaced_config_map(ledger_name(led.drill), led.namespace)
    assert exc.value.status == 404


def test_validation_is_one_line():
    from gameday.errors import UserError
    for name, params in [("pod-kill", {"namespace": "x"}), ("pod-kill", {"selector": "a=b", "namespace": "x",
                                                                         "count": 1, "all": True}),
                         ("network-delay", {"namespace": "x", "service": "s", "ms": -1}),
                         ("network-loss", {"namespace": "x", "service": "s", "percent": 150}),
                         ("config-set", {"configmap": "c", "namespace": "x", "key": "k", "value": "v", "bogus": 1}),
                         ("node-drain", {}), ("workload-scale", {"name": "Bad_Name", "namespace": "x"})]:
        with pytest.raises(UserError) as exc:
            KINDS[name].validate(params, "f.feature:3")
        assert "\n" not in exc.value.message and exc.value.message.startswith("f.feature:3: fault ")
