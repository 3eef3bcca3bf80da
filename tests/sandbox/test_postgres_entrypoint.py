"""The postgres image's entrypoint in the sandbox: a postmaster.pid whose PID
was reused by another process (the sandbox shares one PID space) must not
keep PostgreSQL from starting; a live postmaster's lock must stay."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from gameday.sandbox.kubelet.entrypoints.postgres import clear_stale_lock


def _lock(pgdata, pid: int) -> None:
    (pgdata / "postmaster.pid").write_text(f"{pid}\n{pgdata}\n")


def test_lock_naming_an_unrelated_live_process_is_removed(tmp_path):
    _lock(tmp_path, os.getpid())  # alive, and not a postmaster
    assert clear_stale_lock(str(tmp_path)) is True
    assert not (tmp_path / "postmaster.pid").exists()


def test_lock_of_a_live_postmaster_of_this_directory_is_kept(tmp_path):
    # A process whose command line is that of a postmaster on this directory.
    fake = subprocess.Popen(["bash", "-c", 'exec -a postgres "$0" -c "import time; time.sleep(60)" -D "$1"',
                             sys.executable, str(tmp_path)])
    try:
        _lock(tmp_path, fake.pid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until exec has replaced the command line
            with open(f"/proc/{fake.pid}/cmdline", "rb") as f:
                if f.read().startswith(b"postgres\0"):
                    break
            time.sleep(0.01)
        assert fake.poll() is None
        assert clear_stale_lock(str(tmp_path)) is False
        assert (tmp_path / "postmaster.pid").exists()
    finally:
        fake.kill()
        fake.wait()


def test_lock_of_a_dead_process_is_left_to_postgres(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _lock(tmp_path, int(done.stdout))
    assert clear_stale_lock(str(tmp_path)) is False
