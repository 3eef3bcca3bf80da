"""Container and pod status as the API shows them, from what the kubelet
knows of each container's runs. Pure functions of the runtime records."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field


def now_micro() -> str:
    # Sub-second times: the drill engine measures recovery from these.
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Run:
    """One run (instance) of a container."""
    number: int
    container_id: str
    started_at: str
    started_mono: float
    pid: int = 0
    finished_at: str | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def terminated(self) -> dict:
        out = {"exitCode": self.exit_code, "reason": self.reason, "startedAt": self.started_at,
               "finishedAt": self.finished_at, "containerID": self.container_id}
        if self.message:
            out["message"] = self.message
        return out


def exit_reason(code: int, oom: bool) -> str:
    if oom:
        return "OOMKilled"
    return "Completed" if code == 0 else "Error"


@dataclass
class ContainerView:
    name: str
    image: str
    current: Run | None = None
    last: Run | None = None
    restart_count: int = 0
    waiting_reason: str = ""
    waiting_message: str = ""
    started: bool = False
    ready: bool = False
    done: bool = False


def container_status(view: ContainerView, default_waiting: str = "ContainerCreating") -> dict:
    cur = view.current
    if cur is not None and cur.running:
        state = {"running": {"startedAt": cur.started_at}}
    elif view.waiting_reason:
        state = {"waiting": {"reason": view.waiting_reason, **(
            {"message": view.waiting_message} if view.waiting_message else {})}}
    elif cur is not None and view.done:
        state = {"terminated": cur.terminated()}
    elif cur is not None:
        state = {"waiting": {"reason": "ContainerCreating"}}
    else:
        state = {"waiting": {"reason": default_waiting}}
    last = None
    if cur is not None and not cur.running and not view.done:
        last = cur  # exited, restart pending: the exited run is lastState
    elif view.last is not None:
        last = view.last
    out = {
        "name": view.name, "image": view.image, "imageID": f"sandbox://{view.image}",
        "ready": bool(view.ready and cur is not None and cur.running),
        "started": bool(view.started and cur is not None and cur.running),
        "restartCount": view.restart_count, "state": state,
        "lastState": {"terminated": last.terminated()} if last is not None else {},
    }
    if cur is not None:
        out["containerID"] = cur.container_id
    return out


def pod_phase(init: list[ContainerView], main: list[ContainerView], restart_policy: str) -> str:
    for c in init:
        if c.current is None or c.current.running or c.current.exit_code != 0:
            if c.done and c.current is not None and c.current.exit_code not in (None, 0):
                return "Failed"
            return "Pending"
    if any(c.current is None for c in main):
        return "Pending"
    if main and all(c.done for c in main):
        return "Succeeded" if all(c.current.exit_code == 0 for c in main) else "Failed"
    return "Running"


@dataclass
class Conditions:
    """Pod conditions with their transition times, kept across syncs."""
    times: dict = field(default_factory=dict)

    def set(self, type_: str, ok: bool, reason: str = "") -> dict:
        status = "True" if ok else "False"
        prev = self.times.get(type_)
        if prev is None or prev[0] != status:
            self.times[type_] = (status, now_micro())
        cond = {"type": type_, "status": status, "lastProbeTime": None,
                "lastTransitionTime": self.times[type_][1]}
        if reason and not ok:
            cond["reason"] = reason
        return cond


def qos_class(pod: dict) -> str:
    containers = pod.get("spec", {}).get("containers") or []
    requests = [((c.get("resources") or {}).get("requests") or {}) for c in containers]
    limits = [((c.get("resources") or {}).get("limits") or {}) for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    if all(lim.get("cpu") and lim.get("memory") and (not req or (req.get("cpu", lim["cpu"]) == lim["cpu"] and
                                                                 req.get("memory", lim["memory"]) == lim["memory"]))
           for req, lim in zip(requests, limits)):
        return "Guaranteed"
    return "Burstable"
