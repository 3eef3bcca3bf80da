"""Experiments on the bare sandbox whose method injects one fault kind
through the Chaos Toolkit provider (gameday.faults.actions) and holds it,
and a `gameday run` killed with SIGKILL during it. Shared by the test and
bench/bench_trust.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gameday.timeline import read

ROOT = Path(__file__).resolve().parents[2]
NS = "sbtest"

# (name, provider function, arguments): each holds its fault for `hold` seconds.
FAULTS = (
    ("cut", "network_cut", {"service": "web", "namespace": NS}),
    ("scale", "workload_scale", {"name": "web", "namespace": NS, "replicas": 0}),
    ("image", "set_image", {"name": "web", "namespace": NS, "image": "gameday-test/crash:1"}),
    ("config", "config_set", {"configmap": "trust-settings", "namespace": NS, "key": "mode", "value": "broken"}),
    ("delay", "network_delay", {"service": "web", "namespace": NS, "ms": 200}),
)


def experiment(name: str, func: str, args: dict, hold: float = 30) -> dict:
    provider = {"type": "python", "module": "gameday.faults.actions", "arguments": args}
    return {
        "version": "1.0.0", "title": f"trust: {name} held, for a SIGKILL",
        "description": "gameday run is killed with SIGKILL while the fault is in place.",
        "steady-state-hypothesis": {"title": "web serves", "probes": [{
            "type": "probe", "name": "web-ready", "tolerance": True,
            "provider": {"type": "python", "module": "gameday.chaos.workload", "func": "deployment_ready",
                         "arguments": {"name": "web", "ns": NS}}}]},
        "method": [{"type": "action", "name": f"inject-{name}", "provider": {**provider, "func": func},
                    "pauses": {"after": hold}}],
        "rollbacks": [{"type": "action", "name": f"undo-{name}", "provider": {**provider, "func": "rollback_" + func}}],
        "extensions": [{"name": "gameday", "sla": ["time_to_recover <= 60s"], "load": {"users": 0},
                        "steady_state": [{"deployment": "web", "ns": NS}],
                        "recovery": {"within": 60, "settle": 1}}],
    }


def write_experiments(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, func, args in FAULTS:
        path = folder / f"trust-{name}.json"
        path.write_text(json.dumps(experiment(name, func, args)))
        out.append(path)
    return out


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def run_and_kill(argv: list[str], timeline: Path, after_fault: float | None, sig=signal.SIGKILL,
                 env: dict | None = None, start_timeout: float = 180) -> tuple[str, bool]:
    """Start a gameday command, wait until its timeline shows the fault (or,
    with after_fault None, until the drill started: a kill during injection),
    then `after_fault` seconds more, and send `sig`. Returns its output and
    whether the fault had been injected when the signal went."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    injected = False
    try:
        def seen(kind: str) -> bool:
            try:
                return timeline.exists() and any(e.kind == kind for e in read(timeline))
            except Exception:  # a line half-written: read again
                return False
        if after_fault is None:
            ok = wait_until(lambda: seen("steady_state_met") or seen("fault_injected"), start_timeout)
        else:
            ok = wait_until(lambda: seen("fault_injected"), start_timeout)
            time.sleep(after_fault)  # the kill point within the fault window (not a wait for a condition)
        injected = seen("fault_injected")
        if proc.poll() is None:
            proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
        if not ok:
            raise AssertionError(f"the drill never reached its fault: {out[-2000:]}")
        return out, injected
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def gameday(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gameday.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
