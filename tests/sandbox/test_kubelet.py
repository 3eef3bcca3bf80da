"""The kubelet: pods as processes, crashes and restarts, back-off, logs,
environment and volumes, probes."""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from kubernetes import client

from .helpers import WAIT, api_client, eventually, kubectl

NS = "sbtest"
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def core(bare_sandbox):
    c = api_client(bare_sandbox)
    yield client.CoreV1Api(c)
    c.close()


def _pod(name: str, image: str, args=None, **spec) -> dict:
    container = {"name": "main", "image": image}
    if args is not None:
        container["args"] = args
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"terminationGracePeriodSeconds": 2, "containers": [container], **spec}}


def _status(core, name):
    return core.read_namespaced_pod(name, NS).status


def test_killed_process_is_restarted(bare_sandbox, core):
    pod = core.list_namespaced_pod(NS, label_selector="app=web").items[0]
    name = pod.metadata.name
    before = pod.status.container_statuses[0].restart_count
    pid = bare_sandbox.kubelet.pods[(NS, name)].main[0].proc.pid
    os.kill(pid, signal.SIGKILL)

    def restarted():
        cs = _status(core, name).container_statuses[0]
        return cs.restart_count > before and cs.ready and cs.state.running and cs
    cs = eventually(restarted, what="restart after kill -9")
    assert cs.last_state.terminated.exit_code == 137
    assert cs.last_state.terminated.reason == "Error"
    assert bare_sandbox.kubelet.pods[(NS, name)].main[0].proc.pid != pid


def test_crashing_container_backs_off_with_growing_delay_and_keeps_logs(bare_sandbox, core):
    name = f"crash-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(NS, _pod(name, "gameday-test/crash"))
    seen: list[str] = []

    def backing_off_twice():
        cs = (_status(core, name).container_statuses or [None])[0]
        waiting = cs and cs.state.waiting
        if waiting and waiting.reason == "CrashLoopBackOff" and waiting.message not in seen:
            seen.append(waiting.message)
        return len(seen) >= 2 and cs
    cs = eventually(backing_off_twice, interval=0.05, what="two CrashLoopBackOff periods")
    delays = [float(m.split("back-off ")[1].split("s ")[0]) for m in seen]
    assert delays[1] > delays[0], delays
    assert cs.restart_count >= 2
    assert cs.last_state.terminated.exit_code == 1
    assert "crashing" in kubectl(bare_sandbox, "logs", name, "-n", NS, "--previous").stdout
    events = core.list_namespaced_event(NS, field_selector=f"involvedObject.name={name}").items
    assert "BackOff" in {e.reason for e in events}
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)


def test_environment_volumes_and_rewriting(bare_sandbox, core):
    name = f"env-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_config_map(NS, {"metadata": {"name": name}, "data": {
        "greeting": "hello", "app.conf": "data=/etc/app/data\nweb=http://web.sbtest.svc.cluster.local:80\n"}})
    script = ('echo "name=$MY_NAME ns=$MY_NS ip=$MY_IP greet=$GREETING both=$BOTH svc=$WEB_SERVICE_HOST '
              'url=$WEB_URL"; cat /etc/app/app.conf; echo run > /scratch/x && echo wrote=$(cat /scratch/x); '
              'echo resolved=$(getent hosts web.sbtest.svc | cut -d" " -f1); id -u; sleep 3600')
    pod = _pod(name, "gameday-test/shell", [script], volumes=[
        {"name": "conf", "configMap": {"name": name}}, {"name": "scratch", "emptyDir": {}}],
        container={"env": [
            {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": name, "key": "greeting"}}},
            {"name": "BOTH", "value": "$(GREETING)-$(MY_NAME)"},
            {"name": "WEB_URL", "value": "http://web.sbtest.svc:80/"}],
            "volumeMounts": [{"name": "conf", "mountPath": "/etc/app"},
                             {"name": "scratch", "mountPath": "/scratch"}]})
    core.create_namespaced_pod(NS, pod)
    eventually(lambda: _status(core, name).phase == "Running", what="pod running")
    def logged():
        out = kubectl(bare_sandbox, "logs", name, "-n", NS, check=False)
        assert "wrote=run" in out.stdout, out.stdout + out.stderr
        return out.stdout
    text = eventually(logged, what="log output")
    ip = _status(core, name).pod_ip
    svc_ip = core.read_namespaced_service("web", NS).spec.cluster_ip
    assert f"name={name} ns={NS} ip={ip} greet=hello both=hello-{name}" in text
    assert f"svc={svc_ip}" in text
    if bare_sandbox.network.isolated:
        # Own mount and network namespaces: strings as written, names in the pod's /etc/hosts.
        assert "url=http://web.sbtest.svc:80/" in text and "data=/etc/app/data" in text
        assert "web=http://web.sbtest.svc.cluster.local:80" in text
        assert f"resolved={svc_ip}" in text
    else:
        assert f"url=http://{svc_ip}:80/" in text
        assert f"web=http://{svc_ip}:80" in text  # configMap file rewritten too
        assert "data=/etc/app/data" not in text  # the mount path points at the volume's directory
    if os.geteuid() == 0:
        assert "\n65534\n" in text  # an unprivileged user when the sandbox runs as root
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)
    core.delete_namespaced_config_map(name, NS)


def test_liveness_failure_restarts_and_graceful_delete(bare_sandbox, core):
    name = f"live-{uuid.uuid4().hex[:6]}"
    # The server stops answering once /tmp/ok is gone: liveness fails, the container restarts.
    pod = _pod(name, "gameday-test/web", container={
        "livenessProbe": {"exec": {"command": ["sh", "-c", "test ! -e $HOME/broken"]}, "periodSeconds": 1,
                          "failureThreshold": 2}})
    core.create_namespaced_pod(NS, pod)
    eventually(lambda: (_status(core, name).container_statuses or [None])[0] and
               _status(core, name).container_statuses[0].ready, what="pod ready")
    kubectl(bare_sandbox, "exec", name, "-n", NS, "--", "sh", "-c", 'touch "$HOME/broken"')  # in the container's view
    cs = eventually(lambda: (lambda c: c.restart_count >= 1 and c)(_status(core, name).container_statuses[0]),
                    what="liveness restart")
    assert cs.last_state.terminated is not None
    events = {e.reason for e in core.list_namespaced_event(NS, field_selector=f"involvedObject.name={name}").items}
    assert {"Unhealthy", "Killing"} <= events
    eventually(lambda: kubectl(bare_sandbox, "exec", name, "-n", NS, "--", "sh", "-c", 'rm -f "$HOME/broken"',
                               check=False).returncode == 0, what="the marker removed in the restarted container")
    pid = bare_sandbox.kubelet.pods[(NS, name)].main[0].proc.pid
    started = time.monotonic()
    core.delete_namespaced_pod(name, NS)
    eventually(lambda: not core.list_namespaced_pod(NS, field_selector=f"metadata.name={name}").items,
               what="pod gone after graceful delete")
    assert time.monotonic() - started < WAIT
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_oom_killed_and_init_containers(bare_sandbox, core):
    hog, oom, init = (f"{p}-{uuid.uuid4().hex[:6]}" for p in ("hog", "oom", "init"))
    core.create_namespaced_pod(NS, _pod(hog, "gameday-test/hog", restartPolicy="Never", container={
        "resources": {"limits": {"memory": "64Mi"}}}))
    # A process that reports an out-of-memory condition and exits 137 (an accelerator's OOM).
    core.create_namespaced_pod(NS, _pod(oom, "gameday-test/shell", ['echo "RuntimeError: HPU out of memory"; exit 137'],
                                        restartPolicy="Never"))
    pod = _pod(init, "gameday-test/shell", ["cat /handoff/ready; sleep 3600"], volumes=[{"name": "w", "emptyDir": {}}],
               container={"volumeMounts": [{"name": "w", "mountPath": "/handoff"}]})
    pod["spec"]["initContainers"] = [{"name": "prepare", "image": "gameday-test/shell",
                                      "args": ["echo prepared > /handoff/ready"],
                                      "volumeMounts": [{"name": "w", "mountPath": "/handoff"}]}]
    core.create_namespaced_pod(NS, pod)
    for name in (hog, oom):
        st = eventually(lambda name=name: (lambda s: s.phase == "Failed" and s)(_status(core, name)),
                        what=f"{name} failed")
        term = st.container_statuses[0].state.terminated
        assert term.reason == "OOMKilled" and term.exit_code == 137, term
    st = eventually(lambda: (lambda s: s.phase == "Running" and s)(_status(core, init)), what="init done")
    assert st.init_container_statuses[0].state.terminated.reason == "Completed"
    assert "prepared" in eventually(lambda: kubectl(bare_sandbox, "logs", init, "-n", NS).stdout, what="log")
    for name in (hog, oom, init):
        core.delete_namespaced_pod(name, NS, grace_period_seconds=0)


def test_builtin_postgres_image(bare_sandbox, core):
    """The official image's contract: POSTGRES_* settings, init scripts, password
    auth over TCP through a Service, a fast shutdown on delete."""
    import psycopg

    name = f"pg-{uuid.uuid4().hex[:6]}"
    labels = {"app": name}
    core.create_namespaced_config_map(NS, {"metadata": {"name": name}, "data": {
        "01-schema.sql": "CREATE TABLE items (id int primary key); INSERT INTO items VALUES (1), (2);"}})
    core.create_namespaced_service(NS, {"metadata": {"name": name}, "spec": {
        "selector": labels, "ports": [{"port": 5432, "targetPort": 5432}]}})
    core.create_namespaced_pod(NS, {"metadata": {"name": name, "labels": labels}, "spec": {
        "terminationGracePeriodSeconds": 60,
        "containers": [{"name": "postgres", "image": "postgres:15", "env": [
            {"name": "POSTGRES_USER", "value": "app"}, {"name": "POSTGRES_PASSWORD", "value": "s3cret"},
            {"name": "POSTGRES_DB", "value": "appdb"}],
            "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "app", "-d", "appdb"]}, "periodSeconds": 1},
            "volumeMounts": [{"name": "init", "mountPath": "/docker-entrypoint-initdb.d"}]}],
        "volumes": [{"name": "init", "configMap": {"name": name}}]}})
    eventually(lambda: (_status(core, name).container_statuses or [None])[0] and
               _status(core, name).container_statuses[0].ready, timeout=120, what="postgres ready")
    out = kubectl(bare_sandbox, "exec", name, "-n", NS, "--", "psql", "-U", "app", "-d", "appdb", "-Atc",
                  "select count(*) from items").stdout
    assert out.strip() == "2"
    host, port = bare_sandbox.service_url(name, NS).removeprefix("http://").split(":")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=host, port=int(port), user="app", password="wrong", dbname="appdb", connect_timeout=10)
    conn = psycopg.connect(host=host, port=int(port), user="app", password="s3cret", dbname="appdb",
                           connect_timeout=10, autocommit=True)
    try:
        assert conn.execute("select count(*) from items").fetchone()[0] == 2
        started = time.monotonic()
        core.delete_namespaced_pod(name, NS)  # 60 s grace; SIGINT is a fast shutdown despite this client
        eventually(lambda: not core.list_namespaced_pod(NS, field_selector=f"metadata.name={name}").items,
                   what="postgres stopped")
        assert time.monotonic() - started < 30
        with pytest.raises(psycopg.OperationalError):
            conn.execute("select 1")  # the server ended the session
    finally:
        conn.close()
    kubectl(bare_sandbox, "delete", "service", name, "-n", NS)
    core.delete_namespaced_config_map(name, NS)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_run_as_user_and_group(bare_sandbox, core):
    name = f"user-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(NS, _pod(name, "gameday-test/shell", ['echo "ids=$(id -u):$(id -g)"; sleep 3600'],
                                        securityContext={"runAsUser": 1234, "runAsGroup": 2345}))
    out = eventually(lambda: (lambda o: "ids=" in o and o)(kubectl(bare_sandbox, "logs", name, "-n", NS,
                                                                   check=False).stdout), what="ids logged")
    assert "ids=1234:2345" in out
    assert kubectl(bare_sandbox, "exec", name, "-n", NS, "--", "id", "-u").stdout.strip() == "1234"
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)


def test_startup_probe_env_from_and_secrets(bare_sandbox, core):
    name = f"start-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_secret(NS, {"metadata": {"name": name}, "stringData": {"TOKEN": "t0p", "USER": "ops"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": name}, "data": {"MODE": "drill"}})
    pod = _pod(name, "gameday-test/web", container={
        "envFrom": [{"configMapRef": {"name": name}}, {"secretRef": {"name": name}, "prefix": "S_"}],
        "env": [{"name": "PASS", "valueFrom": {"secretKeyRef": {"name": name, "key": "TOKEN"}}}],
        "startupProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1, "failureThreshold": 30}})
    core.create_namespaced_pod(NS, pod)
    cs = eventually(lambda: (lambda c: c and c[0].ready and c[0])(_status(core, name).container_statuses),
                    what="started and ready")
    assert cs.started is True
    out = kubectl(bare_sandbox, "exec", name, "-n", NS, "--", "sh", "-c", "echo $MODE $S_TOKEN $S_USER $PASS").stdout
    assert out.split() == ["drill", "t0p", "ops", "t0p"]
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)
    core.delete_namespaced_secret(name, NS)
    core.delete_namespaced_config_map(name, NS)
