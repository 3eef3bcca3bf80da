"""pod-kill (delete pods: a crash) and process-freeze (SIGSTOP a
container's processes: a hung service, not a crashed one)."""
from __future__ import annotations

import logging
import math
import random

from ..chaos.kube import core, ignore_not_found
from ..errors import UserError
from . import marks
from .base import FaultKind, Param

log = logging.getLogger("gameday.faults.pods")

_TARGET = (
    Param("selector", "selector", "label selector of the pods, e.g. app=web"),
    Param("namespace", "name", "namespace of the pods"),
)


def _running(configuration, selector: str, namespace: str) -> list:
    pods = core(configuration).list_namespaced_pod(namespace, label_selector=selector, _request_timeout=10).items
    return sorted((p for p in pods if not p.metadata.deletion_timestamp and p.status and p.status.phase == "Running"),
                  key=lambda p: p.metadata.name)


def how_many(total: int, count: int | None, all_: bool, percent: float | None) -> int:
    """Pure: how many of `total` pods a pod-kill takes."""
    if all_:
        return total
    if percent is not None:
        return min(total, max(1, math.ceil(total * percent / 100))) if total else 0
    return min(total, 1 if count is None else count)


def _check_kill(p: dict, where: str) -> None:
    chosen = [k for k in ("count", "percent") if p.get(k) is not None] + (["all"] if p.get("all") else [])
    if len(chosen) > 1:
        raise UserError(f"{where}: give one of count, all, percent (got {', '.join(chosen)})")
    if p.get("duration") and not 0.05 <= (p.get("every") or 0) <= p["duration"]:
        raise UserError(f"{where}: parameter 'every' must be between 50ms and the duration "
                        f"({p['duration']:g}s), got {p.get('every')!r}")


def _kill(configuration, ledger, fault_id, selector, namespace, count=None, all=False, percent=None, grace=0,
          duration=0.0, every=1.0, **_):
    pods = _running(configuration, selector, namespace)
    if not pods:
        raise UserError(f"pod-kill: no running pod matches {selector!r} in namespace {namespace}")
    victims = random.sample(pods, how_many(len(pods), count, all, percent))
    api = core(configuration)
    for p in victims:
        ignore_not_found(api.delete_namespaced_pod, p.metadata.name, namespace, grace_period_seconds=int(grace))
    killed = [p.metadata.name for p in victims]
    if duration:
        killed += _keep_killing(configuration, selector, namespace, count, all, percent, grace, duration, every,
                                set(killed))
    return {"killed": killed}


def _keep_killing(configuration, selector, namespace, count, all_, percent, grace, duration, every, seen) -> list[str]:
    """For `duration` seconds, each `every` seconds, kill the same share of
    the pods that match again, replacements included, whether started or
    still starting (LitmusChaos's pod-delete over a chaos duration): an
    outage that lasts, not a blip the controller heals before anyone sees
    it. Bounded by `duration`; Ctrl-C or SIGTERM stops it at once, and
    nothing is left to undo (the controller brings the pods back)."""
    import time
    api = core(configuration)
    deadline = time.monotonic() + duration
    killed: list[str] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return killed
        time.sleep(min(every, left))
        if time.monotonic() >= deadline:
            return killed
        pods = [p for p in api.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=10).items
                if not p.metadata.deletion_timestamp and p.status and p.status.phase in ("Pending", "Running")]
        for p in random.sample(pods, how_many(len(pods), count, all_, percent)):
            ignore_not_found(api.delete_namespaced_pod, p.metadata.name, namespace, grace_period_seconds=int(grace))
            if p.metadata.name not in seen:
                seen.add(p.metadata.name)
                killed.append(p.metadata.name)


def _no_rollback(configuration, state, **_):
    # A killed pod is replaced by its controller; there is nothing to put back.
    return None


POD_KILL = FaultKind(
    "pod-kill", "Delete running pods matching a selector (grace 0: a crash, not a shutdown).",
    _TARGET + (
        Param("count", "int", "how many pods (default 1)", None),
        Param("all", "bool", "every matching pod", False),
        Param("percent", "percent", "this share of the matching pods, rounded up", None),
        Param("grace", "int", "termination grace period in seconds", 0),
        Param("duration", "duration", "keep killing the pods that match, replacements too, for this long "
                                      "(0: once)", 0.0),
        Param("every", "duration", "with a duration: how often to kill them again", 1.0),
    ),
    "none needed: the pods' controller replaces them (the drill waits for it in its steady state)",
    _kill, _no_rollback, _check_kill)


# -- process-freeze -----------------------------------------------------------
# In a container with its own PID namespace the kernel ignores SIGSTOP sent
# from inside the namespace to its PID 1, so a server that is the container's
# PID 1 is not frozen this way (its children, e.g. gunicorn's workers, are):
# the fault checks each process did stop, reports those that kept running,
# and fails, undone, when nothing froze.
# Run inside the container (pods/exec): signal every process that shares this
# shell's HOME and user, except the shell itself and the exec chain above it.
# In a container that is the container's processes; in the sandbox (one
# shared PID space) HOME is the pod's own directory, so the same rule holds.
_SIGNAL_SCRIPT = r'''
sig="$1"; me=$$; skip=" $me "
p=$me
while [ "$p" -gt 1 ] 2>/dev/null; do
  p=$(awk '/^PPid:/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$p" ] || break; skip="$skip$p "
done
myhome=$(tr '\0' '\n' < /proc/$me/environ | grep '^HOME=')
myuid=$(awk '/^Uid:/{print $2}' /proc/$me/status)
done_=""
for d in /proc/[0-9]*; do
  q=${d#/proc/}
  case "$skip" in *" $q "*) continue;; esac
  [ "$(awk '/^Uid:/{print $2}' $d/status 2>/dev/null)" = "$myuid" ] || continue
  [ "$(tr '\0' '\n' < $d/environ 2>/dev/null | grep '^HOME=')" = "$myhome" ] || continue
  case "$(cat $d/cmdline 2>/dev/null | tr '\0' ' ')" in *gameday-signal*) continue;; esac
  kill -"$sig" "$q" 2>/dev/null && done_="$done_ $q"
done
echo "signalled:$done_"
# A stop is delivered at once, or never (a PID namespace's init ignores it).
if [ "$sig" = STOP ]; then
  n=0; left="$done_"
  while [ -n "$left" ] && [ $n -lt 20 ]; do
    still=""
    for q in $left; do
      case "$(awk '/^State:/{print $2}' /proc/$q/status 2>/dev/null)" in T|t|"") ;; *) still="$still $q";; esac
    done
    left="$still"; [ -n "$left" ] && sleep 0.1; n=$((n + 1))
  done
  echo "running:$left"
  for q in $left; do echo "cmd:$q:$(cat /proc/$q/cmdline 2>/dev/null | tr '\0' ' ' | cut -c1-80)"; done
fi
'''


def signal_container(configuration, pod: str, namespace: str, container: str | None, sig: str) -> list[int]:
    """Send `sig` (STOP or CONT) to a container's processes via pods/exec;
    the PIDs signalled (for STOP: those that did stop)."""
    return _signal(configuration, pod, namespace, container, sig)[0]


def _signal(configuration, pod: str, namespace: str, container: str | None, sig: str) -> tuple[list[int], list[str]]:
    """(PIDs signalled, and for STOP stopped; the processes that kept running,
    as "PID command")."""
    from kubernetes.stream import stream
    api = core(configuration)
    kwargs = {"container": container} if container else {}
    out = stream(api.connect_get_namespaced_pod_exec, pod, namespace,
                 command=["sh", "-c", _SIGNAL_SCRIPT, "gameday-signal", sig],
                 stderr=True, stdin=False, stdout=True, tty=False, _request_timeout=30, **kwargs)
    lines = str(out).splitlines()
    line = next((ln for ln in lines if ln.startswith("signalled:")), "")
    if not line:
        raise RuntimeError(f"process-freeze: signalling {namespace}/{pod} said {str(out)[:200]!r}")
    pids = [int(x) for x in line.split(":", 1)[1].split()]
    running = {int(x) for x in next((ln for ln in lines if ln.startswith("running:")), "running:").split(":", 1)[1]
               .split()}
    cmds = {int(ln.split(":")[1]): ln.split(":", 2)[2].strip() for ln in lines
            if ln.startswith("cmd:") and ln.split(":")[1].isdigit()}
    return [q for q in pids if q not in running], [f"{q} {cmds.get(q, '')}".strip() for q in sorted(running)]


def _annotate_pod(configuration, pod, value: str | None) -> None:
    ignore_not_found(core(configuration).patch_namespaced_pod, pod.metadata.name, pod.metadata.namespace,
                     {"metadata": {"annotations": {marks.RESTORE: value}}})


def _freeze(configuration, ledger, fault_id, selector, namespace, container=None, count=None, all=False, **_):
    pods = _running(configuration, selector, namespace)
    if not pods:
        raise UserError(f"process-freeze: no running pod matches {selector!r} in namespace {namespace}")
    victims = pods if all else random.sample(pods, min(len(pods), count or 1))
    frozen: list[str] = []
    kept: list[str] = []
    for p in victims:
        # Recorded on the pod before its processes stop: what to resume.
        _annotate_pod(configuration, p, marks.with_entry(p.metadata, ledger, "process-freeze", fault_id,
                                                          {"container": container}))
        stopped, running = _signal(configuration, p.metadata.name, namespace, container, "STOP")
        frozen.append(p.metadata.name)
        if running:
            kept.append(f"{p.metadata.name}: {', '.join(running)}")
        if not stopped:
            # Nothing froze: a container whose only process is its PID 1 (the kernel
            # ignores SIGSTOP sent to a PID namespace's init from inside it). The
            # failed inject is rolled back (FaultKind.inject): the pods resumed.
            raise UserError(f"process-freeze: nothing in pod {namespace}/{p.metadata.name} could be frozen: "
                            f"its processes ({'; '.join(running) or 'none'}) kept running. A container's PID 1 "
                            "ignores SIGSTOP sent from inside its PID namespace (pods/exec), so only a "
                            "container with other processes (a server's workers) can be frozen")
    return {"pods": frozen, "not_frozen": kept}


def restore_pod(configuration, pod, entries: list[tuple[str, dict]]) -> None:
    """Resume what process-freeze stopped on this pod; drop its entries."""
    for _, entry in entries:
        try:
            signal_container(configuration, pod.metadata.name, pod.metadata.namespace,
                             (entry.get("undo") or {}).get("container"), "CONT")
        except Exception as exc:
            from kubernetes.client.rest import ApiException
            if isinstance(exc, ApiException) and exc.status in (400, 404):
                continue  # the pod or container is gone or stopped: nothing left frozen
            raise
    _annotate_pod(configuration, pod, marks.without(marks.restore_entries(pod.metadata), [k for k, _ in entries]))


def _thaw(configuration, state, selector, namespace, container=None, **_):
    names = set(state.get("pods") or [])
    for p in core(configuration).list_namespaced_pod(namespace, label_selector=selector, _request_timeout=10).items:
        if names and p.metadata.name not in names:
            continue
        entries = marks.pick(marks.restore_entries(p.metadata), "process-freeze", state)
        if entries:
            restore_pod(configuration, p, entries)


PROCESS_FREEZE = FaultKind(
    "process-freeze", "SIGSTOP the processes of pods' container (via pods/exec): hung, not crashed.",
    _TARGET + (
        Param("container", "name", "the container (default: the pod's first)", None),
        Param("count", "int", "how many pods (default 1)", None),
        Param("all", "bool", "every matching pod", False),
    ),
    "SIGCONT the same processes (the pod carries annotation gameday.io/restore until then)",
    _freeze, _thaw, lambda p, where: _check_kill({**p, "percent": None}, where))

