"""The benchmarks' target: a running sandbox ($GAMEDAY_SANDBOX_DIR or
./.gameday/sandbox), else one started for the benchmark and stopped after
(gameday.bdd.targets.resolve, as `gameday drill` resolves it)."""
from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def sandbox_kubeconfig(_state_dir=None):
    from gameday.bdd.targets import resolve, start_default_sandbox
    from gameday.project import current
    # none running: the project's sandbox (target.sandbox), as the admin
    target, stop = resolve(None, None, start_sandbox=lambda: start_default_sandbox(current(required=False)))
    try:
        yield Path(target.kubeconfig)
    finally:
        if stop is not None:
            stop()
