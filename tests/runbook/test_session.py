"""The operator session: a block runs verbatim in bash in a throwaway
workspace, every command recorded; it cannot write outside its workspace or
signal a process outside it. Needs bubblewrap, no cluster."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gameday.runbook.parse import split_block
from gameday.runbook.session import Workspace, run_block
from gameday.runbook.verdict import judge_unit

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


def session(tmp_path, text, **kw):
    ws = Workspace(tmp_path / "ws", repo_source=None)
    ws.prepare({"curl"})
    return ws, run_block(ws, text, "b", **kw)


def test_writes_outside_the_workspace_fail_and_runbook_paths_are_copies(tmp_path):
    # the project folder: outside any workspace, visible to the block read-only
    outside = Path(__file__).parent / f"escape-probe-{os.getpid()}.txt"
    text = (f'echo "P0 at $(date)" >> /var/log/incidents.log\n'
            f'mkdir -p /backup/daily && echo b > /backup/daily/x\n'
            f'echo escaped > {outside}\n')
    try:
        ws, s = session(tmp_path, text)
        assert not outside.exists()
    finally:
        outside.unlink(missing_ok=True)
    # refused: the project is read-only in the session; a checkout under /tmp is
    # not even there (the session's /tmp is its own)
    assert "Read-only file system" in s.output or "No such file or directory" in s.output
    assert "P0 at" in (ws.root / "var-log" / "incidents.log").read_text()
    assert (ws.root / "backup" / "daily" / "x").read_text() == "b\n"
    assert "P0 at" not in (Path("/var/log/incidents.log").read_text() if Path("/var/log/incidents.log").exists() else "")


def test_a_process_outside_cannot_be_signalled(tmp_path):
    mine = subprocess.Popen(["sleep", "120"])   # started by this test: safe to aim at
    try:
        ws, s = session(tmp_path, f"kill -0 {mine.pid} && echo VISIBLE\nkill -TERM {mine.pid}\n")
        assert "VISIBLE" not in s.output
        assert "No such process" in s.output
        assert mine.poll() is None
    finally:
        mine.kill()
        mine.wait()


def test_every_part_of_a_pipeline_and_the_fallback_are_recorded(tmp_path):
    text = 'false | true | echo piped\ncurl -sf http://127.0.0.1:9/ || echo "API DOWN"\necho abc | grep zzz-no-such\n'
    _, s = session(tmp_path, text)
    a, b, c = split_block(text)
    ra, rb, rc = (judge_unit("t", u, s) for u in (a, b, c))
    assert [p.status for p in ra.parts[0]] == [1, 0, 0]
    assert ra.verdict == "failed" and "false exited 1 (part 1 of the pipeline)" in ra.reason
    assert rb.fallback_taken and rb.verdict == "failed" and 'fallback "API DOWN" taken: curl exited 7' in rb.reason
    assert rc.verdict == "passed" and rc.reason == "grep matched nothing"


def test_tools_outside_the_target_are_needed_not_run(tmp_path):
    text = "terraform show -json\ndocker pull x\n"
    _, s = session(tmp_path, text)
    verdicts = [judge_unit("t", u, s) for u in split_block(text)]
    assert [(v.verdict, v.needs) for v in verdicts] == [("needs", "terraform"), ("needs", "docker")]
    assert "command not found" in s.output


def test_skipped_and_bounded_lines(tmp_path):
    text = "echo one\necho two\nsleep 60\necho after\n"
    _, s = session(tmp_path, text, skip_lines={2}, bounded_lines={3}, bound_s=1)
    assert "one" in s.output and "two" not in s.output and "after" in s.output
    units = split_block(text)
    assert judge_unit("t", units[1], s).verdict == "skipped"
    assert s.duration_s < 50


def test_a_program_reached_through_a_link_under_tmp_runs_in_the_session(tmp_path, monkeypatch):
    """The session has its own /tmp: a program found on PATH as a link under
    /tmp (a checkout's venv python3 -> the Python it was made from) is linked
    by the file it names, and a program file under /tmp by its inode."""
    if not str(tmp_path.resolve()).startswith("/tmp/"):
        pytest.skip("the test's folder is not under /tmp")
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "gdlinked").symlink_to(shutil.which("printf"))      # the real file lies outside /tmp
    own = bindir / "gdown"
    own.write_text("#!/bin/sh\necho own:$1\n")
    own.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    ws = Workspace(tmp_path / "ws", repo_source=None)
    ws.prepare({"gdlinked", "gdown"})
    s = run_block(ws, "gdlinked 'linked:%s\\n' ok\ngdown ok\n", "b")
    assert "linked:ok" in s.output and "own:ok" in s.output, s.output
