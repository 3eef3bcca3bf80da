"""Nothing outlives a sandbox in /tmp: one sandbox's life (a PostgreSQL pod,
a fault with its ledger, `gameday recover`, a stop while pods are replaced)
runs under bwrap with a private /tmp, and its state directory is removed as
the fixtures do; afterwards that /tmp holds nothing, and no thread of the
sandbox runs on. Before, every PostgreSQL pod left a /tmp/gaudi3-pg-<ip>
directory behind, and the power controller rebooted a node whose kubelet
the sandbox was stopping: that kubelet outlived the sandbox and re-created
its pods' directories in the removed state directory."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
pytestmark = [pytest.mark.sandbox]


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap (bubblewrap) is not installed")
def test_a_sandbox_life_leaves_nothing_in_tmp(tmp_path):
    private = tmp_path / "tmp"
    private.mkdir()
    private.chmod(0o1777)
    # A checkout (and its virtual environment) under /tmp stays in view.
    keep = [a for p in {str(ROOT), sys.prefix} if p.startswith("/tmp/") for a in ("--bind", p, p)]
    proc = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--bind", str(private), "/tmp", *keep,
                           sys.executable, str(HERE / "tmp_life.py"), "/tmp/sandbox-state"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # An isolated pod keeps its socket in its own /run; an unisolated one in the
    # sandbox's run directory, never straight in /tmp.
    assert ("socket: /run/pg-" in proc.stdout or "socket: /tmp/sandbox-state/run/pg-" in proc.stdout), proc.stdout
    mount_points = {Path(p).relative_to("/tmp").parts[0] for p in keep[1::3]}
    left = sorted(p.name for p in private.iterdir() if p.name not in mount_points)
    assert left == [], f"left in /tmp after the sandbox's life: {left}"
