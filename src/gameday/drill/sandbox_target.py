"""Find the sandbox for `gameday run --target sandbox`: a running one in the
state directory, or one started for this run (and stopped after)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from ..errors import TargetError

KUBECONFIG_NAMES = ("kubeconfig",)
READY_TIMEOUT = 300.0


def _running_kubeconfig(state_dir: Path) -> Path | None:
    from ..target import Target
    for name in KUBECONFIG_NAMES:
        path = state_dir / name
        if path.is_file():
            try:
                Target.connect(path).check_reachable(timeout=5)
                return path
            except Exception:
                return None
    return None


def platform_config() -> Path | None:
    """deploy/sandbox/sandbox.yaml of the working directory or of this checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidate = base / "deploy" / "sandbox" / "sandbox.yaml"
        if candidate.is_file():
            return candidate
    return None


@contextlib.contextmanager
def sandbox_kubeconfig(state_dir: Path) -> Iterator[Path]:
    running = _running_kubeconfig(state_dir)
    if running is not None:
        yield running
        return
    try:
        from ..sandbox.cluster import Sandbox
    except ImportError as exc:
        raise TargetError(f"no sandbox running in {state_dir} and none can be started here ({exc})")
    print(f"starting a sandbox in {state_dir} for this run ...", flush=True)
    sandbox = Sandbox(state_dir, config=platform_config())
    try:
        try:
            sandbox.start()
            sandbox.wait_ready(READY_TIMEOUT)
        except Exception as exc:
            raise TargetError(f"the sandbox in {state_dir} did not start: {str(exc)[:300]}")
        yield Path(sandbox.kubeconfig)
    finally:
        sandbox.stop()
