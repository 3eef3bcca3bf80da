"""The PyTorch model learns, checkpoints are atomic torch files with
latest.ckpt at the top, and a resumed run matches an uninterrupted one.
Run under the platform's interpreter (torch_checks.py)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from apiproc import platform_python

CHECKS = Path(__file__).with_name("torch_checks.py")


@pytest.mark.parametrize("check", ["learns", "resume_matches_uninterrupted", "torn_and_corrupt_never_loaded",
                                   "keeps_two_and_latest_survives_cleanup"])
def test_torch_checkpoints(check, tmp_path):
    proc = subprocess.run([platform_python(), str(CHECKS), check, str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok {check}" in proc.stdout
