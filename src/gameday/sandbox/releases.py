"""Helm releases the sandbox installs at `up` (`releases:` in sandbox.yaml).

A platform that production deploys with Helm is deployed with Helm here
too, with the real `helm` program against the sandbox's API server as its
admin, so `helm list`, `history`, `rollback`, `upgrade` and `test` in a
runbook find the release they would find in production. The same release
named twice is installed, then upgraded: a release with a history, as a
platform that has been deployed before has one."""
from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from .. import programs
from ..errors import UserError
from .config import ReleaseConfig

log = logging.getLogger(__name__)
HELM_TIMEOUT_S = 180  # one `helm upgrade --install` (it does not wait for pods: the sandbox's readiness does)


def upgrade_argv(helm: str, rel: ReleaseConfig) -> list[str]:
    argv = [helm, "upgrade", "--install", rel.name, str(rel.chart), "--namespace", rel.namespace]
    for values in rel.values:
        argv += ["--values", str(values)]
    for key, value in rel.set:
        argv += ["--set", f"{key}={value}"]
    return argv


def require_helm(releases: tuple[ReleaseConfig, ...], source: str) -> str | None:
    """The helm program, when releases need one (checked before the sandbox starts anything)."""
    if not releases:
        return None
    helm = programs.find("helm")
    if helm is None:
        raise UserError(f"{source}: its releases need the `helm` program (Helm 3), which is not on PATH; "
                        "`make setup` installs it, or put helm 3 on PATH")
    return helm


def install(releases: tuple[ReleaseConfig, ...], kubeconfig: Path, home: Path, source: str = "sandbox.yaml") -> None:
    """Install (or upgrade) each release in order; the first failure stops the sandbox's start."""
    helm = require_helm(releases, source)
    if helm is None:
        return
    home.mkdir(parents=True, exist_ok=True)
    env = programs.helm_env(kubeconfig, home)
    for rel in releases:
        argv = upgrade_argv(helm, rel)
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=HELM_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"helm upgrade --install {rel.name} -n {rel.namespace} took over "
                               f"{HELM_TIMEOUT_S}s") from None
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise RuntimeError(f"helm upgrade --install {rel.name} -n {rel.namespace} failed: {why}")
        log.info("helm release %s in %s: %s", rel.name, rel.namespace,
                 next((ln for ln in proc.stdout.splitlines() if ln.startswith("REVISION")), "installed"))
