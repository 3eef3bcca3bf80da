"""The target a drill runs against: the kubeconfig the user named, else
the sandbox (a running one, or one started for this run and stopped after)."""
from __future__ import annotations

from typing import Callable

from ..target import Target, default_sandbox_dir


def resolve(kubeconfig: str | None, context: str | None, allow: list[str] | tuple[str, ...] = ()
            ) -> tuple[Target, Callable[[], None] | None]:
    """(target, stop): `stop` is set when a sandbox was started here."""
    if kubeconfig:
        target = Target.connect(kubeconfig, context, allow)
        target.check_reachable()
        return target, None
    return _sandbox(context, allow)


def _sandbox(context: str | None, allow) -> tuple[Target, Callable[[], None] | None]:
    from ..sandbox import testing
    return testing.sandbox_target(default_sandbox_dir(), context=context, allow_contexts=allow)
