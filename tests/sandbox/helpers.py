"""Small helpers of the sandbox tests: bounded polling, API clients and a
standalone API server."""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from kubernetes import client, config

from gameday.sandbox import manifests as manifest_files
from gameday.sandbox.apiserver import ApiServer
from gameday.sandbox.store import Store

WAIT = 90.0  # generous: two shared cores


def eventually(check, timeout: float = WAIT, interval: float = 0.1, what: str = "condition", detail=None):
    """Poll check() until it returns a truthy value; fail after timeout with
    the last value (and `detail()`, what the failure needs to be understood)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    extra = ""
    if detail is not None:
        try:
            extra = f"; {detail()}"
        except Exception as exc:  # a report about a failure must not hide it
            extra = f"; (no detail: {exc})"
    raise AssertionError(f"{what} not reached within {timeout:g}s (last: {last!r}){extra}")


def api_client(sb) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sb.kubeconfig))


def kubectl(sb, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, KUBECONFIG=str(sb.kubeconfig))
    proc = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


@contextlib.contextmanager
def api_server(state: Path, manifests: list[Path]):
    """The sandbox's API server alone (no controllers, no kubelet) in
    `state`, with `manifests` applied as `gameday sandbox up` applies them:
    (server, its store, the admin's kubeconfig); stopped on leaving."""
    store = Store()
    api = ApiServer(store, state_dir=state).start()
    try:
        admin = api.write_kubeconfig(state / "admin")
        manifest_files.apply(store, manifest_files.load(manifests), api.prepare_create)
        yield api, store, admin
    finally:
        api.stop()
