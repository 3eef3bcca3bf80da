"""The target a drill runs against, in this order:

1. the kubeconfig the user named (`--kubeconfig`, checked against the allowlist);
2. `KUBECONFIG`, when it points at a sandbox (the test suite's session
   sandbox sets it; a real cluster there is never used unasked);
3. a sandbox already running in the default state folder (`gameday sandbox up`);
4. a sandbox started here for this run, and stopped after it."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Callable

import yaml

from ..errors import TargetError, UserError
from ..target import Target, default_sandbox_dir, is_sandbox_context

log = logging.getLogger(__name__)
READY_TIMEOUT = float(os.environ.get("GAMEDAY_SANDBOX_READY_TIMEOUT", "240"))


def resolve(kubeconfig: str | None, context: str | None, allow: list[str] | tuple[str, ...] = (),
            start_sandbox: Callable[[], object] | None = None, project=None,
            overrides: dict[str, str] | None = None) -> tuple[Target, Callable[[], None] | None]:
    """(target, stop): `stop` is set when a sandbox was started here. The
    one resolver of `gameday drill`, `gameday run` and the pytest plugin."""
    overrides = overrides or {}
    if kubeconfig:
        target = Target.connect(kubeconfig, context, allow, overrides)
        target.check_reachable()
        return target, None
    for candidate in (_from_env(), _running_sandbox()):
        if candidate is not None:
            try:
                target = Target.connect(candidate, context, allow, overrides)
                target.check_reachable(timeout=5)
                return as_sandbox_user(target, project), None
            except (UserError, TargetError) as exc:
                log.info("skipping %s: %s", candidate, getattr(exc, "message", exc))
                continue  # a stale kubeconfig: try the next source
    sb = start_sandbox() if start_sandbox else start_default_sandbox(project)
    try:
        return as_sandbox_user(Target.connect(sb.kubeconfig, context, allow, overrides), project), sb.stop
    except BaseException:
        sb.stop()
        raise


def as_sandbox_user(target: Target, project) -> Target:
    """On the sandbox, the target as the project's `target.sandbox_user`
    (a ServiceAccount with its token, held to its Role as on a real
    cluster); the admin's target otherwise. A kubeconfig the user named is
    never changed: this applies to the sandbox gameday found or started."""
    if project is None or project.sandbox_serviceaccount is None or not target.sandbox:
        return target
    from kubernetes.client.rest import ApiException

    from ..sandbox.apiserver.kubeconfig import service_account_kubeconfig
    ns, name = project.sandbox_serviceaccount
    path = target.kubeconfig.with_name(f"{target.kubeconfig.name}-{ns}-{name}")
    # The same default namespace as the admin's context: a runbook line without -n means what it meant.
    admin = yaml.safe_load(target.kubeconfig.read_text())
    admin_ns = next((c.get("context") or {} for c in admin.get("contexts", []) if c.get("name") == target.context),
                    {}).get("namespace")
    try:
        service_account_kubeconfig(target.kubeconfig, ns, name, path, context_namespace=admin_ns)
    except ApiException as exc:
        raise UserError(f"{project.path}: target.sandbox_user serviceaccount {ns}/{name}: the sandbox answered "
                        f"{exc.status} {exc.reason}; apply its Role (deploy/rbac) in the sandbox's manifests") from None
    return Target.connect(path, None, (), target.service_overrides)


def _from_env() -> Path | None:
    value = os.environ.get("KUBECONFIG", "")
    if not value or os.pathsep in value:
        return None
    path = Path(value)
    try:
        data = yaml.safe_load(path.read_text())
        current = data.get("current-context", "")
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    return path if current and is_sandbox_context(data, current) else None


def _running_sandbox() -> Path | None:
    folder = default_sandbox_dir()
    from ..sandbox.cli import is_sandbox_process
    try:
        info = json.loads((folder / "sandbox.json").read_text())
        if not is_sandbox_process(info):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    path = Path(info.get("kubeconfig") or folder / "kubeconfig")
    return path if path.exists() else None


def sandbox_config(project) -> Path:
    """The sandbox config of the project (`target.sandbox` of gameday.yaml)."""
    if project is None or not project.sandbox_config:
        raise UserError(f"{project.path if project else 'gameday.yaml'}: no target.sandbox; name the sandbox config "
                        f"(manifests and images) there, or name a cluster with --kubeconfig")
    path = project.resolve(project.sandbox_config)
    if not path.exists():
        raise UserError(f"{project.path}: target.sandbox {project.sandbox_config} not found; fix the path")
    return path


def start_default_sandbox(project=None):
    """A sandbox with the project's platform, in this process, ready."""
    from ..sandbox.cluster import Sandbox, SandboxError
    sb = Sandbox(default_sandbox_dir(), config=sandbox_config(project))
    try:
        sb.start()
        sb.wait_ready(READY_TIMEOUT)
    except SandboxError as exc:
        sb.stop()
        lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
        more = ""
        if len(lines) > 2:   # what else is not ready, and the pods' last log lines: into the sandbox's log
            try:
                with open(sb.log_file, "a") as f:
                    f.write(str(exc) + "\n")
                more = f" (the rest in {sb.log_file})"
            except OSError:
                pass
        # One line: the cause and the first thing not ready.
        raise TargetError(f"the sandbox did not get ready: {' '.join(lines[:2])}{more}") from None
    except BaseException:
        sb.stop()
        raise
    return sb
