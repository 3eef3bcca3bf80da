"""The kubelet: runs the pods bound to the node as local processes.

One worker thread syncs pods (level-triggered, fed by the store and by the
container and probe callbacks); each container run has a waiter thread that
sees its exit at once (a `kill -9` from outside is handled as any crash); a
housekeeping thread samples CPU/memory from /proc and enforces memory limits.

Documented simplifications:
- OOMKilled: the kubelet kills a container whose processes' resident memory
  exceeds its memory limit (sampled each second) and reports OOMKilled; a
  process that itself exits with status 137 after logging "out of memory"
  (an accelerator's OOM, say) is reported OOMKilled too.
- Users: securityContext.runAsUser/runAsGroup are honoured when the sandbox
  runs as root; otherwise an unprivileged user (nobody) is used, unless it
  may not run the program (an interpreter under a private home), in which
  case the container runs as the sandbox's own user. A sandbox that is not
  root runs everything as itself.
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from ..controllers.base import WorkQueue, work_loop
from ..controllers.quantity import parse_quantity
from ..images import Catalog, command_line, fill, placeholders
from ..resources import CONFIGMAP, POD, PVC, SECRET, SERVICE
from ..podnet import PodNet, PodNetError, PodNetwork
from ..store import ApiError, Store, record_event
from . import isolation
from . import backoff, logs as logfiles, usage as procusage
from .env import EnvError, build_env, decode_secret
from .process import (NOBODY, RunAs, Spawner, can_execute, chown_tree, main_pid, make_traversable, signal_group,
                      stop_main)
from .probes import Prober
from .rewrite import Rewriter, expand_vars
from .status import (ContainerView, Conditions, Run, container_status, exit_reason, now_micro, pod_phase,
                     qos_class)
from .volumes import VolumeError, host_path, materialize, raw_data

log = logging.getLogger("gameday.sandbox.kubelet")
_KILL_PID1 = re.compile(r"(?:^|[\s;&|(`])kill(?:\s+-\S+)*(?:\s+\S+)*?\s+-?1(?=$|[\s;&|)`])")


def signals_pid1(command: Sequence[str]) -> bool:
    """Whether an exec'd command would signal PID 1 (`kill [-SIG] 1`, also in `sh -c`)."""
    return bool(_KILL_PID1.search(" ".join(str(x) for x in command)))
_OOM_WORDS = (b"out of memory", b"outofmemory", b"oom")


@dataclass
class Container:
    spec: dict
    init: bool
    view: ContainerView
    runs: int = 0
    crashes: int = 0
    backoff_until: float = 0.0
    proc: subprocess.Popen | None = None
    pump: logfiles.LogPump | None = None
    prober: Prober | None = None
    oom: bool = False
    killed_for: str = ""
    run_as: RunAs | None = None
    env: dict = field(default_factory=dict)
    cwd: str = ""
    rewriter: Rewriter | None = None
    last_unhealthy: dict = field(default_factory=dict)
    memory_limit: float = 0.0
    stop_signal: int = signal.SIGTERM
    layout: isolation.Layout | None = None  # the container's namespaces (isolated pods)

    @property
    def name(self) -> str:
        return self.spec["name"]


@dataclass
class PodRuntime:
    namespace: str
    name: str
    uid: str
    ip: str
    dir: Path
    start_time: str
    init: list[Container] = field(default_factory=list)
    main: list[Container] = field(default_factory=list)
    conditions: Conditions = field(default_factory=Conditions)
    volumes: dict = field(default_factory=dict)
    setup_error: str = ""
    terminating: bool = False
    spec: dict = field(default_factory=dict)
    net: PodNet | None = None

    def containers(self) -> list[Container]:
        return self.init + self.main

    def find(self, name: str) -> Container | None:
        return next((c for c in self.containers() if c.name == name), None)


class Kubelet:
    def __init__(self, store: Store, node_name: str, state_dir: Path, catalog: Catalog, *,
                 pod_ip_prefix: str, service_ip=lambda name, ns: None, crashloop_base: float = 1.0,
                 crashloop_cap: float = 20.0, node_ip: str = "127.0.0.1", ip_offset: int = 0,
                 network: PodNetwork | None = None) -> None:
        self.store = store
        self.node_name = node_name
        self.state_dir = Path(state_dir)
        self.run_dir = self.state_dir / "run"
        self.catalog = catalog
        self.pod_ip_prefix = pod_ip_prefix  # "127.B"
        # Without a network of its own (a caller of the old signature), loopback pod IPs.
        self.network = network or PodNetwork(int(pod_ip_prefix.split(".")[1]), isolated=False)
        self.isolated = self.network.isolated
        self.service_ip = service_ip
        self.crashloop_base = crashloop_base
        self.crashloop_cap = crashloop_cap
        self.node_ip = node_ip
        self.pods: dict[tuple[str, str], PodRuntime] = {}
        self.lock = threading.RLock()
        self.queue = WorkQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._spawner: Spawner | None = None
        # Each node's kubelet allocates from its own stretch of the block (ip_offset).
        self._ip_counter = itertools.count(ip_offset)
        self._usage_prev: dict[int, tuple[float, float]] = {}
        self._usage: dict[int, tuple[float, int]] = {}
        self._node_prev: tuple[float, float] | None = None
        self._node_usage: tuple[float, int] = (0.0, 0)
        self._usage_time = time.time()
        self._usage_window = 1.0
        self._root = os.geteuid() == 0
        self._nobody_ok: dict[str, bool] = {}

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        (self.state_dir / "pods").mkdir(parents=True, exist_ok=True)
        # Sockets of the pods (a Unix socket path has at most 107 bytes; pod
        # directories lie deeper): short, the sandbox's own, sticky like /tmp
        # so each pod's user makes its own directory in it.
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o1777)
        if self._root:
            make_traversable(self.state_dir / "pods")
            os.chmod(self.state_dir / "pods", 0o755)
        self._spawner = Spawner()
        self.store.add_listener(self._on_change)
        for target in (self._work, self._housekeeping, self._resync):
            t = threading.Thread(target=target, name=f"kubelet-{target.__name__.strip('_')}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, grace: float = 5.0) -> None:
        """Stop every container (SIGTERM, then SIGKILL after grace)."""
        self._stop.set()
        self.queue.close()
        with self.lock:
            runtimes = list(self.pods.values())
            for rt in runtimes:
                rt.terminating = True
                for c in rt.containers():
                    if c.prober:
                        c.prober.stop()
                    if c.proc and c.proc.poll() is None:
                        stop_main(c.proc, c.stop_signal)
        deadline = time.monotonic() + grace
        procs = [c.proc for rt in runtimes for c in rt.containers() if c.proc]
        for p in procs:
            try:
                p.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            signal_group(p.pid, signal.SIGKILL)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for t in self._threads:
            t.join(timeout=5)
        for rt in runtimes:
            if rt.net is not None:
                self.network.detach(rt.net.netns)
                rt.net = None
        if self._spawner:
            self._spawner.stop()

    def pids(self) -> list[int]:
        with self.lock:
            return [c.proc.pid for rt in self.pods.values() for c in rt.containers()
                    if c.proc and c.proc.poll() is None]

    # -- feeding the work queue -------------------------------------------
    def _on_change(self, change) -> None:
        if change.key == POD.key:
            for obj in (change.obj, change.old or {}):
                if obj.get("spec", {}).get("nodeName") == self.node_name:
                    self.queue.add((obj["metadata"]["namespace"], obj["metadata"]["name"]))
                    return
        elif change.key in (CONFIGMAP.key, SECRET.key):
            self.queue.add(("refresh", change.obj["metadata"].get("namespace", "")))
        elif change.key == SERVICE.key and self.isolated:
            self.queue.add(("hosts", ""))

    def _resync(self) -> None:
        while not self._stop.wait(10.0):
            try:
                pods, _ = self.store.list(POD, field_selector=f"spec.nodeName={self.node_name}")
                keys = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}
                with self.lock:
                    keys |= set(self.pods)
                for key in keys:
                    self.queue.add(key)
            except Exception:
                log.exception("kubelet resync failed")

    def _work(self) -> None:
        work_loop(self.queue, self._stop, self._handle, "kubelet")

    def _handle(self, key: tuple[str, str]) -> float | None:
        if key[0] == "refresh":
            self._refresh_volumes(key[1])
            return None
        if key[0] == "hosts":
            self._refresh_hosts()
            return None
        return self.sync(key)

    # -- the pod sync ------------------------------------------------------
    def sync(self, key: tuple[str, str]) -> float | None:
        ns, name = key
        pod = self.store.try_get(POD, ns, name)
        with self.lock:
            if self._stop.is_set():
                # Stopping: `stop` took (or will take) the runtimes under this lock; a sync that
                # came after it must start nothing (no process, no pod directory outlives the kubelet).
                return None
            rt = self.pods.get(key)
            if rt is not None and (pod is None or pod["metadata"]["uid"] != rt.uid
                                   or pod.get("spec", {}).get("nodeName") != self.node_name):
                # Gone (force-deleted) or replaced by a namesake: stop at once,
                # and wait for the processes to be gone before a namesake starts
                # (a StatefulSet pod's successor shares its claim: two
                # postmasters on one data directory must never overlap).
                self._kill_now(rt)
                self._forget(rt)
                rt = None
            if pod is None or pod.get("spec", {}).get("nodeName") != self.node_name:
                return None
            if pod["metadata"].get("deletionTimestamp"):
                return self._terminate(pod, rt)
            if rt is None:
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    return None  # finished before this kubelet saw it
                rt = self._admit(pod)
            rt.spec = pod["spec"]
            again = self._sync_containers(pod, rt)
            self._write_status(pod, rt)
            return again

    def _admit(self, pod: dict) -> PodRuntime:
        meta = pod["metadata"]
        ip = pod.get("status", {}).get("podIP") or self._allocate_ip()
        pod_dir = self.state_dir / "pods" / f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"
        pod_dir.mkdir(parents=True, exist_ok=True)
        rt = PodRuntime(meta["namespace"], meta["name"], meta["uid"], ip, pod_dir, now_micro())
        for c in pod["spec"].get("initContainers") or []:
            rt.init.append(Container(c, True, ContainerView(c["name"], c.get("image", ""))))
        for c in pod["spec"].get("containers") or []:
            rt.main.append(Container(c, False, ContainerView(c["name"], c.get("image", ""))))
        self.pods[(rt.namespace, rt.name)] = rt
        return rt

    def _allocate_ip(self) -> str:
        used = {rt.ip for rt in self.pods.values()}
        try:  # other nodes' pods share the block
            used |= {p.get("status", {}).get("podIP") for p in self.store.list(POD)[0]}
        except ApiError:
            pass
        return self.network.allocate_pod_ip(used)

    def _sync_containers(self, pod: dict, rt: PodRuntime) -> float | None:
        if self.isolated and rt.net is None:
            try:
                rt.net = self.network.attach(rt.ip)
            except PodNetError as exc:
                if rt.setup_error != str(exc):
                    record_event(self.store, pod, "FailedCreatePodSandBox",
                                 f"Failed to create pod sandbox: {exc}", "Warning", "kubelet")
                    log.error("kubelet: pod %s/%s: network namespace: %s", rt.namespace, rt.name, exc)
                rt.setup_error = str(exc)
                return 2.0
        if not rt.volumes or rt.setup_error:
            try:
                rt.volumes = self._volumes(pod, rt)
                rt.setup_error = ""
            except VolumeError as exc:
                if rt.setup_error != str(exc):
                    record_event(self.store, pod, "FailedMount",
                                 f"MountVolume.SetUp failed: {exc}", "Warning", "kubelet")
                rt.setup_error = str(exc)
                return 2.0
        policy = pod["spec"].get("restartPolicy", "Always")
        wakeups = []
        for c in rt.init:
            if c.view.current is not None and not c.view.current.running and c.view.current.exit_code == 0:
                c.view.done = True
                continue
            wakeups.append(self._sync_one(pod, rt, c, "OnFailure" if policy == "Always" else policy))
            break
        else:
            for c in rt.main:
                wakeups.append(self._sync_one(pod, rt, c, policy))
        wakeups = [w for w in wakeups if w is not None]
        return min(wakeups) if wakeups else None

    def _sync_one(self, pod: dict, rt: PodRuntime, c: Container, policy: str) -> float | None:
        run = c.view.current
        if run is not None and run.running:
            return None
        if run is not None:
            restart = policy == "Always" or (policy == "OnFailure" and run.exit_code != 0)
            if c.killed_for == "liveness" and policy != "Never":
                restart = True
            if not restart:
                c.view.done = True
                c.view.waiting_reason = ""
                return None
        now = time.monotonic()
        if now < c.backoff_until:
            return c.backoff_until - now
        return self._start(pod, rt, c)

    # -- starting a container ---------------------------------------------
    def _lookup(self, ns: str):
        def lookup(kind: str, name: str) -> dict | None:
            if kind in ("configMap", "configMapRef"):
                obj = self.store.try_get(CONFIGMAP, ns, name)
                if obj is None:
                    return None
                return raw_data(obj, "configMap") if kind == "configMap" else \
                    {k: str(v) for k, v in (obj.get("data") or {}).items()}
            obj = self.store.try_get(SECRET, ns, name)
            if obj is None:
                return None
            return raw_data(obj, "secret") if kind == "secret" else decode_secret(obj)
        return lookup

    def _pod_rewriter(self, pod: dict, rt: PodRuntime, mounts: dict[str, str]) -> Rewriter:
        if self.isolated:
            return Rewriter()  # volumes at their mountPath, cluster names in /etc/hosts: nothing to rewrite
        return Rewriter(mounts=mounts, service_ip=self.service_ip, pod_ip=rt.ip)

    def _volumes(self, pod: dict, rt: PodRuntime) -> dict:
        # Files in configMap/secret volumes see the pod's mounts (first container's path wins).
        mounts: dict[str, str] = {}
        pending = []
        for c in (pod["spec"].get("initContainers") or []) + (pod["spec"].get("containers") or []):
            for m in c.get("volumeMounts") or []:
                pending.append(m)
        field_of = lambda path: self._field(pod, rt, path)  # noqa: E731
        pvc_lookup = lambda claim: self.store.try_get(PVC, rt.namespace, claim)  # noqa: E731
        paths = {v["name"]: host_path(v, rt.dir, self.state_dir, pvc_lookup)
                 for v in pod["spec"].get("volumes") or []}
        for m in pending:
            host = paths.get(m.get("name"))
            if host is not None and m.get("mountPath") not in mounts:
                mounts[m["mountPath"]] = str(host / m["subPath"]) if m.get("subPath") else str(host)
        rewriter = self._pod_rewriter(pod, rt, mounts)
        out = materialize(pod, rt.dir, self.state_dir, lookup=self._lookup(rt.namespace),
                          pvc_lookup=pvc_lookup, rewrite=rewriter, field=field_of)
        if self._root:
            owner = self._pod_user(pod)
            for name, path in out.items():
                if path.is_relative_to(rt.dir) or path.is_relative_to(self.state_dir / "volumes"):
                    chown_tree(path, owner)
            os.chmod(rt.dir, 0o755)
        return out

    def _refresh_volumes(self, ns: str) -> None:
        with self.lock:
            for rt in list(self.pods.values()):
                if rt.namespace != ns or rt.terminating or not rt.volumes:
                    continue
                pod = self.store.try_get(POD, rt.namespace, rt.name)
                if pod is None:
                    continue
                try:
                    rt.volumes = self._volumes(pod, rt)
                except VolumeError:
                    pass

    def _refresh_hosts(self) -> None:
        with self.lock:
            runtimes = [rt for rt in self.pods.values() if rt.net is not None and not rt.terminating]
        for rt in runtimes:
            try:
                self._write_etc(rt)
            except (OSError, ApiError) as exc:
                log.warning("kubelet: /etc/hosts of %s/%s: %s", rt.namespace, rt.name, exc)

    def _write_etc(self, rt: PodRuntime) -> Path:
        etc = rt.dir / "etc"
        services = self.store.list(SERVICE)[0]
        pods = self.store.list(POD)[0]
        names = isolation.service_names(services, pods, rt.namespace, self.service_ip)
        hostname = (rt.spec or {}).get("hostname") or rt.name
        isolation.write_etc(etc, hostname, rt.ip, names)
        return etc

    def _field(self, pod: dict, rt: PodRuntime, path: str) -> str:
        from .env import _field
        view = {**pod, "status": {**(pod.get("status") or {}), "podIP": rt.ip, "hostIP": self.node_ip}}
        try:
            return _field(view, path)
        except EnvError:
            return ""

    def _pod_user(self, pod: dict, container: dict | None = None) -> RunAs:
        psc = pod["spec"].get("securityContext") or {}
        csc = (container or {}).get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        if not self._root:
            return RunAs(os.geteuid(), os.getegid())
        if uid is None:
            return RunAs(*NOBODY) if gid is None else RunAs(NOBODY[0], int(gid))
        return RunAs(int(uid), int(gid) if gid is not None else (int(uid) if int(uid) == 0 else NOBODY[1]))

    def _explicit_user(self, pod: dict, container: dict) -> bool:
        psc = pod["spec"].get("securityContext") or {}
        csc = container.get("securityContext") or {}
        return csc.get("runAsUser", psc.get("runAsUser")) is not None

    def _start(self, pod: dict, rt: PodRuntime, c: Container) -> float | None:
        spec = c.spec
        image = self.catalog.resolve(spec.get("image", ""))
        if image is None:
            first = c.view.waiting_reason not in ("ErrImagePull", "ImagePullBackOff")
            c.view.waiting_reason = "ErrImagePull" if first else "ImagePullBackOff"
            c.view.waiting_message = (f'Failed to pull image "{spec.get("image")}": the image is not in the '
                                      "sandbox's image catalog")
            if first:
                record_event(self.store, pod, "Failed", c.view.waiting_message, "Warning", "kubelet")
                record_event(self.store, pod, "Failed", "Error: ErrImagePull", "Warning", "kubelet")
            else:
                record_event(self.store, pod, "BackOff", f'Back-off pulling image "{spec.get("image")}"',
                             "Normal", "kubelet")
            c.crashes += 1
            delay = max(self.crashloop_base, backoff.next_delay(c.crashes, self.crashloop_base, self.crashloop_cap))
            c.backoff_until = time.monotonic() + delay
            return delay
        # An isolated pod has its own /run (a short path inside the pod: the
        # sandbox's run directory may lie under the /tmp the pod gets for itself).
        values = placeholders(rt.ip, rt.name, rt.namespace, "/run" if self.isolated else str(self.run_dir))
        mounts: dict[str, str] = {}
        cdir = rt.dir / "containers" / c.name
        (cdir / "tmp").mkdir(parents=True, exist_ok=True)
        for d in image.dirs:
            host = cdir / "rootfs" / d.strip("/")
            host.mkdir(parents=True, exist_ok=True)
            mounts[d] = str(host)
        for m in spec.get("volumeMounts") or []:
            host = rt.volumes.get(m.get("name"))
            if host is None:
                continue
            mounts[m["mountPath"]] = str(host / m["subPath"]) if m.get("subPath") else str(host)
            if m.get("subPath") and not (host / m["subPath"]).exists() and "." not in m["subPath"]:
                (host / m["subPath"]).mkdir(parents=True, exist_ok=True)
        rewriter = Rewriter() if self.isolated else Rewriter(mounts=mounts, service_ip=self.service_ip, pod_ip=rt.ip)
        read_only = {m["mountPath"] for m in spec.get("volumeMounts") or [] if m.get("readOnly")}
        services = [s for s in self.store.list(SERVICE, rt.namespace)[0] if s.get("spec", {}).get("clusterIP")]
        pod_view = {**pod, "status": {**(pod.get("status") or {}), "podIP": rt.ip, "hostIP": self.node_ip}}
        try:
            env = build_env(pod_view, spec, image_env={k: fill(v, values) for k, v in image.env.items()},
                            services=services, lookup=self._lookup(rt.namespace))
        except EnvError as exc:
            msg = str(exc)
            if c.view.waiting_reason != "CreateContainerConfigError" or c.view.waiting_message != msg:
                record_event(self.store, pod, "Failed", f"Error: {msg}", "Warning", "kubelet")
            c.view.waiting_reason, c.view.waiting_message = "CreateContainerConfigError", msg
            return 2.0
        env = {k: rewriter(v) for k, v in env.items()}
        command = [expand_vars(str(x), env) for x in spec.get("command") or []]
        args = [expand_vars(str(x), env) for x in spec.get("args") or []]
        argv = [rewriter(fill(x, values)) for x in command_line(image, command or None, args or None)]
        path = os.pathsep.join([rewriter(fill(p, values)) for p in image.path] +
                               [env.get("PATH") or os.environ.get("PATH", "/usr/bin:/bin")])
        if self.isolated:
            # The container's own /tmp and home, on the node's disk.
            (cdir / "home").mkdir(parents=True, exist_ok=True)
            mounts["/tmp"] = str(cdir / "tmp")
            mounts["/home/sandbox"] = str(cdir / "home")
            run_env = {"PATH": path, "HOSTNAME": pod["spec"].get("hostname") or rt.name, "HOME": "/home/sandbox",
                       "LANG": os.environ.get("LANG", "C.UTF-8"), **{k: v for k, v in env.items() if k != "PATH"}}
        else:
            run_env = {"PATH": path, "HOSTNAME": pod["spec"].get("hostname") or rt.name, "HOME": str(cdir),
                       "TMPDIR": str(cdir / "tmp"), "LANG": os.environ.get("LANG", "C.UTF-8"),
                       **{k: v for k, v in env.items() if k != "PATH"}}
        cwd = spec.get("workingDir") or image.workdir
        workdir = fill(cwd, values) if cwd else "/"
        cwd = rewriter(fill(cwd, values)) if cwd else str(cdir)
        if self.isolated or not os.path.isdir(cwd):
            cwd = str(cdir)
        if not argv:
            return self._start_failed(pod, rt, c, "no command specified")
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=path)
        image_program = exe   # None for a program on a volume (the volume brings it)
        if self.isolated and exe is not None and not os.path.exists(exe):
            exe, image_program = self._inside(exe, mounts), None  # a program on a volume: seen at its host directory
        if exe is None or not os.path.exists(exe):
            return self._start_failed(pod, rt, c, f'exec: "{argv[0]}": executable file not found in $PATH')
        run_as = self._pod_user(pod, spec)
        if self._root and not self._explicit_user(pod, spec) and not run_as.is_self:
            if exe not in self._nobody_ok:
                self._nobody_ok[exe] = can_execute(exe, run_as)
            if not self._nobody_ok[exe]:
                run_as = RunAs(os.geteuid(), os.getegid())
        if self._root:
            chown_tree(cdir, run_as)
            os.chmod(cdir, 0o755)
        if self.isolated:
            os.chmod(cdir / "tmp", 0o1777)  # the container's /tmp, as in an image: any user, sticky
        c.run_as, c.env, c.cwd, c.rewriter = run_as, run_env, cwd, rewriter
        spawn_as, command_argv = run_as, [exe] + argv[1:]
        if self.isolated:
            try:
                etc = self._write_etc(rt)
            except OSError as exc:
                return self._start_failed(pod, rt, c, f"failed to write /etc/hosts: {exc}")
            c.layout = isolation.Layout(
                netns=rt.net.netns, etc_dir=etc, workdir=workdir, run_as=run_as,
                mounts=[isolation.Mount(h, p, p in read_only) for p, h in mounts.items()],
                programs=isolation.program_dirs([image_program or "", *(rewriter(fill(p, values)) for p in image.path)]))
            # The namespaces are made as root; setpriv inside becomes the container's user.
            spawn_as = RunAs(os.geteuid(), os.getegid())
            command_argv = isolation.bwrap_argv(c.layout, argv)  # argv[0] as written: found on PATH inside
        c.stop_signal = image.stop_signal
        limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
        try:
            c.memory_limit = parse_quantity(limit) if limit else 0.0
        except ValueError:
            c.memory_limit = 0.0
        log_dir = rt.dir / "logs" / c.name
        log_dir.mkdir(parents=True, exist_ok=True)
        number = c.runs
        log_path = log_dir / f"{number}.log"
        first_start = c.view.current is None
        if first_start:
            record_event(self.store, pod, "Pulled", f'Container image "{spec.get("image")}" already present on machine',
                         component="kubelet")
        try:
            # A container's umask is 022 whatever the sandbox's (bwrap makes mount points with it).
            proc = self._spawner.popen(command_argv, env=run_env, cwd=cwd, run_as=spawn_as,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       umask=0o022 if self.isolated else -1)
            proc.isolated = self.isolated  # stop_main signals the container's PID 1, not bwrap
        except (OSError, subprocess.SubprocessError) as exc:
            return self._start_failed(pod, rt, c, f"failed to start container process: {exc}")
        record_event(self.store, pod, "Created", f"Created container {c.name}", component="kubelet")
        record_event(self.store, pod, "Started", f"Started container {c.name}", component="kubelet")
        run = Run(number=number, container_id=f"sandbox://{uuid.uuid4().hex}", started_at=now_micro(),
                  started_mono=time.monotonic(), pid=proc.pid)
        if c.view.current is not None:
            c.view.last = c.view.current
            c.view.restart_count += 1
        c.runs += 1
        c.view.current = run
        c.view.waiting_reason = c.view.waiting_message = ""
        c.view.done = False
        c.view.ready = False
        c.view.started = "startupProbe" not in spec
        c.proc, c.oom, c.killed_for = proc, False, ""
        c.pump = logfiles.LogPump(proc.stdout, log_path)
        c.pump.start()
        keep = {f"{number}.log"} | ({f"{c.view.last.number}.log"} if c.view.last else set())
        logfiles.keep_recent(log_dir, keep)
        threading.Thread(target=self._wait_exit, args=(rt, c, proc, run), daemon=True,
                         name=f"wait-{rt.name}-{c.name}").start()
        if not c.init:
            has_probe = any(spec.get(k) for k in ("startupProbe", "livenessProbe", "readinessProbe"))
            if not spec.get("readinessProbe"):
                c.view.ready = c.view.started
            if has_probe:
                c.prober = Prober(spec, rt.ip, lambda cmd, timeout, c=c, rt=rt: self._probe_exec(rt, c, cmd, timeout),
                                  lambda kind, ok, msg, c=c, rt=rt, run=run: self._probe_change(rt, c, run, kind, ok, msg),
                                  lambda kind, msg, c=c, rt=rt: self._probe_failure(rt, c, kind, msg))
                c.prober.start()
        return None

    @staticmethod
    def _inside(path: str, mounts: dict[str, str]) -> str:
        """A container path's host path (the longest mount that holds it)."""
        for mp in sorted(mounts, key=len, reverse=True):
            if path == mp or path.startswith(mp.rstrip("/") + "/"):
                return mounts[mp] + path[len(mp.rstrip("/")):]
        return path

    def _start_failed(self, pod: dict, rt: PodRuntime, c: Container, message: str) -> float:
        record_event(self.store, pod, "Failed", f"Error: {message}", "Warning", "kubelet")
        now = now_micro()
        run = Run(number=c.runs, container_id=f"sandbox://{uuid.uuid4().hex}", started_at=now,
                  started_mono=time.monotonic(), finished_at=now, exit_code=128, reason="StartError",
                  message=message)
        if c.view.current is not None:
            c.view.last = c.view.current
            c.view.restart_count += 1
        c.runs += 1
        c.view.current = run
        return self._after_exit(rt, c, run, ran=0.0) or 0.0

    # -- container exits ---------------------------------------------------
    def _wait_exit(self, rt: PodRuntime, c: Container, proc: subprocess.Popen, run: Run) -> None:
        code = proc.wait()
        signal_group(proc.pid, signal.SIGKILL)  # what is left of the container goes with it
        if c.pump:
            c.pump.done.wait(timeout=2)
        with self.lock:
            if c.prober:
                c.prober.stop()
                c.prober = None
            exit_code = code if code >= 0 else 128 - code
            oom = c.oom or (code == 137 and self._logged_oom(rt, c, run))
            run.exit_code = exit_code
            run.finished_at = now_micro()
            run.reason = exit_reason(exit_code, oom)
            c.view.ready = False
            if rt.terminating or self._stop.is_set():
                return
            self._after_exit(rt, c, run, ran=time.monotonic() - run.started_mono)
        self.queue.add((rt.namespace, rt.name))

    def _after_exit(self, rt: PodRuntime, c: Container, run: Run, ran: float) -> float | None:
        """Plan the restart back-off after a run ended (whether it restarts is the sync's call)."""
        if backoff.should_reset(ran, self.crashloop_cap):
            c.crashes = 0
        delay = backoff.next_delay(c.crashes, self.crashloop_base, self.crashloop_cap)
        c.crashes += 1
        c.backoff_until = time.monotonic() + delay
        policy = (rt.spec or {}).get("restartPolicy", "Always")
        if c.init:  # init containers are rerun only when they fail
            restarts = run.exit_code != 0 and policy != "Never"
        else:
            restarts = policy == "Always" or (policy == "OnFailure" and run.exit_code != 0) or \
                (c.killed_for == "liveness" and policy != "Never")
        if delay > 0 and restarts:
            c.view.waiting_reason = "CrashLoopBackOff"
            c.view.waiting_message = (f"back-off {delay:g}s restarting failed container={c.name} "
                                      f"pod={rt.name}_{rt.namespace}({rt.uid})")
            pod = self.store.try_get(POD, rt.namespace, rt.name)
            if pod is not None:
                record_event(self.store, pod, "BackOff", f"Back-off restarting failed container {c.name} in pod "
                             f"{rt.name}_{rt.namespace}({rt.uid})", "Warning", "kubelet")
            self.queue.add_after((rt.namespace, rt.name), delay)
        return delay

    def _logged_oom(self, rt: PodRuntime, c: Container, run: Run) -> bool:
        path = rt.dir / "logs" / c.name / f"{run.number}.log"
        try:
            with open(path, "rb") as f:
                f.seek(max(0, os.path.getsize(path) - 4096))
                tail = f.read().lower()
        except OSError:
            return False
        return any(w in tail for w in _OOM_WORDS)

    # -- probes ------------------------------------------------------------
    def _probe_exec(self, rt: PodRuntime, c: Container, command: list[str], timeout: float) -> int:
        proc = self._exec_process(rt, c, command, stdin=False, tty=False, capture=False)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
            raise

    def _probe_change(self, rt: PodRuntime, c: Container, run: Run, kind: str, ok: bool, message: str) -> None:
        with self.lock:
            if c.view.current is not run or not run.running or rt.terminating:
                return
            if kind == "startup" and ok:
                c.view.started = True
                if not c.spec.get("readinessProbe"):
                    c.view.ready = True
            elif kind == "readiness":
                c.view.ready = ok
            elif kind in ("liveness", "startup") and not ok:
                pod = self.store.try_get(POD, rt.namespace, rt.name)
                if pod is not None:
                    what = "liveness" if kind == "liveness" else "startup"
                    record_event(self.store, pod, "Killing",
                                 f"Container {c.name} failed {what} probe, will be restarted", "Normal", "kubelet")
                c.killed_for = "liveness"
                grace = float((rt.spec or {}).get("terminationGracePeriodSeconds", 30))
                threading.Thread(target=self._stop_process, args=(c.proc, grace, c.stop_signal),
                                 daemon=True).start()
        self.queue.add((rt.namespace, rt.name))

    def _probe_failure(self, rt: PodRuntime, c: Container, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - c.last_unhealthy.get(kind, -1e9) < 10.0:
            return  # one Unhealthy event per probe per 10 s, as Kubernetes aggregates them
        c.last_unhealthy[kind] = now
        pod = self.store.try_get(POD, rt.namespace, rt.name)
        if pod is not None:
            record_event(self.store, pod, "Unhealthy", message, "Warning", "kubelet")

    @staticmethod
    def _stop_process(proc: subprocess.Popen | None, grace: float, stop_signal: int = signal.SIGTERM) -> None:
        if proc is None or proc.poll() is not None:
            return
        stop_main(proc, stop_signal)
        try:
            proc.wait(timeout=max(0.0, grace))
        except subprocess.TimeoutExpired:
            pass
        signal_group(proc.pid, signal.SIGKILL)

    # -- termination -------------------------------------------------------
    def _terminate(self, pod: dict, rt: PodRuntime | None) -> float | None:
        running = [c for c in (rt.containers() if rt else []) if c.proc and c.proc.poll() is None]
        if not running:
            if rt is not None:
                rt.terminating = True
                self._write_status(pod, rt)
                self._forget(rt)
            try:
                self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"], grace_seconds=0,
                                  preconditions={"uid": pod["metadata"]["uid"]})
            except ApiError:
                pass
            return None
        if not rt.terminating:
            rt.terminating = True
            for c in running:
                record_event(self.store, pod, "Killing", f"Stopping container {c.name}", component="kubelet")
            threading.Thread(target=self._graceful, args=(rt,), daemon=True, name=f"terminate-{rt.name}").start()
        return 1.0

    def _graceful(self, rt: PodRuntime) -> None:
        """SIGTERM, wait for the grace period (re-read: it may be shortened), SIGKILL."""
        with self.lock:
            stopping = [(c.proc, c.stop_signal) for c in rt.containers() if c.proc and c.proc.poll() is None]
            procs = [p for p, _ in stopping]
            for c in rt.containers():
                if c.prober:
                    c.prober.stop()
        for p, sig in stopping:
            stop_main(p, sig)
        began = time.monotonic()
        while any(p.poll() is None for p in procs):
            pod = self.store.try_get(POD, rt.namespace, rt.name)
            grace = float((pod or {}).get("metadata", {}).get("deletionGracePeriodSeconds", 30) or 0) \
                if pod is not None else 0.0
            if time.monotonic() - began >= grace or self._stop.is_set():
                break
            time.sleep(0.05)  # polls exits and the grace period together; bounded by the grace
        for p in procs:
            if p.poll() is None:
                signal_group(p.pid, signal.SIGKILL)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.queue.add((rt.namespace, rt.name))

    @staticmethod
    def _kill_now(rt: PodRuntime, bound: float = 10.0) -> None:
        """SIGKILL every container's process group and reap them (bounded)."""
        rt.terminating = True
        procs = []
        for c in rt.containers():
            if c.prober:
                c.prober.stop()
            if c.proc and c.proc.poll() is None:
                signal_group(c.proc.pid, signal.SIGKILL)
                procs.append(c.proc)
        deadline = time.monotonic() + bound
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("kubelet: pid %s outlived SIGKILL for %.0fs", p.pid, bound)

    def _forget(self, rt: PodRuntime) -> None:
        self.pods.pop((rt.namespace, rt.name), None)
        if rt.net is not None:
            self.network.detach(rt.net.netns)
            rt.net = None
        shutil.rmtree(rt.dir, ignore_errors=True)

    # -- status ------------------------------------------------------------
    def _write_status(self, pod: dict, rt: PodRuntime) -> None:
        policy = pod["spec"].get("restartPolicy", "Always")
        init_views = [c.view for c in rt.init]
        main_views = [c.view for c in rt.main]
        phase = pod_phase(init_views, main_views, policy)
        initialized = all(v.current is not None and v.current.exit_code == 0 for v in init_views)
        containers_ready = bool(main_views) and all(v.ready and v.current is not None and v.current.running
                                                    for v in main_views)
        finished = phase in ("Succeeded", "Failed")
        conds = [
            rt.conditions.set("Initialized", initialized, "ContainersNotInitialized"),
            rt.conditions.set("Ready", containers_ready and not rt.terminating,
                              "PodCompleted" if finished else "ContainersNotReady"),
            rt.conditions.set("ContainersReady", containers_ready and not rt.terminating,
                              "PodCompleted" if finished else "ContainersNotReady"),
        ]
        default_waiting = "PodInitializing" if not initialized else "ContainerCreating"
        status = {
            "phase": phase, "hostIP": self.node_ip, "hostIPs": [{"ip": self.node_ip}],
            "podIP": rt.ip, "podIPs": [{"ip": rt.ip}], "startTime": rt.start_time,
            "qosClass": qos_class(pod),
            "containerStatuses": [container_status(v, default_waiting) for v in main_views],
        }
        if rt.setup_error:
            for cs in status["containerStatuses"]:
                if "waiting" in cs["state"]:
                    cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        if init_views:
            status["initContainerStatuses"] = [container_status(v, "PodInitializing") for v in init_views]
        for cs, v in zip(status["containerStatuses"], main_views):
            if not initialized and v.current is None:
                cs["state"] = {"waiting": {"reason": "PodInitializing"}}

        def apply(obj: dict) -> None:
            old = obj.get("status") or {}
            scheduled = [c for c in old.get("conditions") or [] if c.get("type") == "PodScheduled"]
            extra = {k: v for k, v in old.items() if k in ("nominatedNodeName", "reason", "message")}
            obj["status"] = {**extra, **status, "conditions": scheduled + conds}

        current = pod.get("status") or {}
        scheduled = [c for c in current.get("conditions") or [] if c.get("type") == "PodScheduled"]
        if {**{k: v for k, v in current.items() if k in ("nominatedNodeName", "reason", "message")},
                **status, "conditions": scheduled + conds} != current:
            try:
                self.store.modify(POD, rt.namespace, rt.name, apply, subresource="status")
            except ApiError:
                pass

    # -- housekeeping: usage and memory limits -----------------------------
    def _housekeeping(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._sample()
            except Exception:
                log.exception("kubelet housekeeping failed")

    def _sample(self) -> None:
        now = time.monotonic()
        groups = procusage.scan()
        cpu_total, mem_used = procusage.node_totals()
        with self.lock:
            usage = {}
            for pgid, (cpu, rss) in groups.items():
                prev = self._usage_prev.get(pgid)
                cores = max(0.0, (cpu - prev[0]) / (now - prev[1])) if prev and now > prev[1] else 0.0
                usage[pgid] = (cores, rss)
            self._usage_prev = {pgid: (cpu, now) for pgid, (cpu, _) in groups.items()}
            self._usage = usage
            if self._node_prev and now > self._node_prev[1]:
                self._node_usage = (max(0.0, (cpu_total - self._node_prev[0]) / (now - self._node_prev[1])), mem_used)
            self._node_prev = (cpu_total, now)
            self._usage_time = time.time()
            for rt in self.pods.values():
                for c in rt.containers():
                    if c.memory_limit and c.proc and c.proc.poll() is None:
                        rss = groups.get(c.proc.pid, (0.0, 0))[1]
                        # RSS over-counts shared pages: confirm with PSS before killing.
                        if rss > c.memory_limit and procusage.group_pss(c.proc.pid) > c.memory_limit:
                            c.oom = True
                            signal_group(c.proc.pid, signal.SIGKILL)

    # -- NodeAgent ---------------------------------------------------------
    def _container(self, namespace: str, pod: str, container: str) -> tuple[PodRuntime, Container]:
        with self.lock:
            rt = self.pods.get((namespace, pod))
            c = rt.find(container) if rt else None
        if rt is None or c is None:
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{pod}" is not available')
        return rt, c

    def logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
             since_seconds: float | None = None, tail_lines: int | None = None,
             timestamps: bool = False, follow: bool = False) -> Iterator[bytes]:
        rt, c = self._container(namespace, pod, container)
        with self.lock:
            cur, last, view = c.view.current, c.view.last, c.view
            if previous:
                run = cur if (cur is not None and not cur.running and not view.done) else last
                if run is None:
                    raise ApiError(400, "BadRequest",
                                   f'previous terminated container "{container}" in pod "{pod}" not found')
            else:
                run = cur
                if run is None:
                    reason = view.waiting_reason or "ContainerCreating"
                    raise ApiError(400, "BadRequest",
                                   f'container "{container}" in pod "{pod}" is waiting to start: {reason}')
        path = rt.dir / "logs" / c.name / f"{run.number}.log"
        pump = c.pump if run is cur else None

        def alive() -> bool:
            return run.running and not self._stop.is_set() or (pump is not None and not pump.done.is_set())
        return logfiles.read(path, since_seconds=since_seconds, tail_lines=tail_lines, timestamps=timestamps,
                             follow=follow and run.running, alive=alive)

    def _exec_process(self, rt: PodRuntime, c: Container, command: Sequence[str], *, stdin: bool, tty: bool,
                      capture: bool = True) -> subprocess.Popen:
        if c.run_as is None:
            raise ApiError(400, "BadRequest", f'container "{c.name}" in pod "{rt.name}" has not started')
        rewriter = c.rewriter or Rewriter(pod_ip=rt.ip)
        argv = [rewriter(str(x)) for x in command]
        if not argv:
            raise ApiError(400, "BadRequest", "you must specify at least one command for the container")
        if c.layout is not None:
            pid1 = main_pid(c.proc) if c.proc is not None else None
            if pid1 is None:
                raise ApiError(400, "BadRequest", f'container "{c.name}" in pod "{rt.name}" is not running')
            out = subprocess.PIPE if capture else subprocess.DEVNULL
            err = (subprocess.STDOUT if tty else subprocess.PIPE) if capture else subprocess.DEVNULL
            return self._spawner.popen(isolation.nsenter_argv(pid1, c.run_as, c.layout.workdir, argv), env=c.env,
                                       cwd=str(rt.dir), run_as=RunAs(os.geteuid(), os.getegid()), umask=0o022,
                                       stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out, stderr=err)
        path = c.env.get("PATH", "")
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=path)
        out = subprocess.PIPE if capture else subprocess.DEVNULL
        err = (subprocess.STDOUT if tty else subprocess.PIPE) if capture else subprocess.DEVNULL
        if exe is None:
            # A missing program: a process exiting 127, as a container runtime answers.
            return self._spawner.popen(["/bin/sh", "-c", 'echo "exec: \\"$1\\": executable file not found in $PATH" >&2; exit 127',
                                        "sh", argv[0]], env=c.env, cwd=c.cwd, run_as=c.run_as,
                                       stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out, stderr=err)
        return self._spawner.popen([exe] + argv[1:], env=c.env, cwd=c.cwd, run_as=c.run_as,
                                   stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out, stderr=err)

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str], stdin: bool = False,
             tty: bool = False):
        if not self.isolated and signals_pid1(command):
            raise ApiError(403, "Forbidden", "the sandbox's pods are not isolated here (it is not running as root "
                           "with bwrap): PID 1 is the host's init, so signalling it is refused")
        rt, c = self._container(namespace, pod, container)
        if c.proc is None or c.proc.poll() is not None:
            raise ApiError(400, "BadRequest",
                           f'container {container} is not valid for pod {pod}: the container is not running')
        return self._exec_process(rt, c, command, stdin=stdin, tty=tty)

    def usage(self):
        from ..apiserver.node_agent import ContainerUsage, NodeUsage, PodUsage, Usage
        with self.lock:
            pods = []
            for rt in self.pods.values():
                containers = []
                for c in rt.main:
                    if c.proc and c.proc.poll() is None:
                        cores, rss = self._usage.get(c.proc.pid, (0.0, 0))
                        containers.append(ContainerUsage(c.name, cores, rss))
                if containers:
                    pods.append(PodUsage(rt.namespace, rt.name, tuple(containers)))
            node = NodeUsage(self.node_name, *self._node_usage)
            return Usage(timestamp=self._usage_time, window_seconds=self._usage_window, nodes=(node,),
                         pods=tuple(pods))

    def pod_for_pid(self, pid: int | None) -> tuple[str, str] | None:
        """The pod a process belongs to (the proxy asks who is calling): a
        container's process group, or failing that (exec'd commands run in a
        session of their own) the pod directory in its environment."""
        if pid is None:
            return None
        try:
            pgid = os.getpgid(pid)
        except OSError:
            return None
        with self.lock:
            for rt in self.pods.values():
                for c in rt.containers():
                    if c.proc and c.proc.pid == pgid:
                        return (rt.namespace, rt.name)
            dirs = {str(rt.dir): (rt.namespace, rt.name) for rt in self.pods.values()}
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            return None
        for item in env:
            if item.startswith((b"HOME=", b"TMPDIR=")):
                value = item.split(b"=", 1)[1].decode(errors="replace")
                for d, key in dirs.items():
                    if value == d or value.startswith(d + os.sep):
                        return key
        return None
