"""The suite's sandbox fixtures leave nothing behind when a sandbox cannot start."""
from __future__ import annotations

import pytest

from gameday.sandbox import testing


def test_a_sandbox_that_fails_to_start_leaves_no_state_directory(tmp_path):
    bad = tmp_path / "sandbox.yaml"
    bad.write_text("manifests: [does-not-exist]\n")
    path = testing.state_dir("fails-to-start")
    assert path.is_dir()
    with pytest.raises(pytest.fail.Exception) as err:
        testing._start_or_remove(path, bad)
    assert "did not start" in str(err.value) or "does-not-exist" in str(err.value)
    assert not path.exists()
