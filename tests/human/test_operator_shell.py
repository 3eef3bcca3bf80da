"""`gameday shell` driven as a person would, with tmux: every command typed
is logged with its exit status and output, `ack` and `done` reach the drill,
pages show up in the terminal, and a context not on the allowlist is refused."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from gameday.human.session import Session

pytestmark = pytest.mark.skipif(not shutil.which("tmux") or not shutil.which("script"),
                                reason="needs tmux and script (util-linux)")
GAMEDAY = [sys.executable, "-m", "gameday.cli"]


def kubeconfig(path: Path, context: str, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}]}))
    return path


def wait_for(check, within=60.0, poll=0.2):
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(poll)


class Tmux:
    def __init__(self, tmp: Path):
        self.name = f"gd-{uuid.uuid4().hex[:8]}"
        self.sock = str(tmp / "tmux.sock")   # a server of its own: never touches anyone else's tmux

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True, timeout=30).stdout

    def start(self, cmd: list[str], env: dict) -> None:
        line = " ".join(f"'{a}'" for a in cmd)
        exports = " ".join(f"{k}='{v}'" for k, v in env.items())
        self.run("new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", f"env {exports} {line}; sleep 30")

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.name, text, "Enter")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name, "-S", "-200")

    def close(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.close()


def _env():
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {"PYTHONPATH": src, "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "TERM": "xterm",
            "GAMEDAY_SHELL_ABORT_WINDOW": "120"}


def test_every_command_ack_and_done_are_logged_and_pages_show(tmp_path, tmux):
    kc = kubeconfig(tmp_path / "kc", "gameday-sandbox-test", "https://127.0.0.1:1")
    session = Session.create(tmp_path / "session", kubeconfig=str(kc), context="gameday-sandbox-test")
    tmux.start([*GAMEDAY, "shell", "--session", str(session.folder)], _env())
    assert wait_for(lambda: "[gameday:gameday-sandbox-test]" in tmux.screen()), tmux.screen()
    typed = ["echo hello-operator", "false", "ack", "done", "for i in 1 2; do echo loop-$i; done"]
    for n, line in enumerate(typed, 1):  # as a person does: the next line once the last one is done
        tmux.type(line)
        assert wait_for(lambda: len(session.commands()) >= n), (tmux.screen(), session.commands_file.read_text())
    cmds = session.commands()
    assert [c.line for c in cmds[:5]] == ["echo hello-operator", "false", "ack", "done",
                                          "for i in 1 2; do echo loop-$i; done"]
    assert [c.exit_code for c in cmds[:2]] == [0, 1]
    assert cmds[0].output_head.splitlines()[0] == "hello-operator"
    assert all(c.t_end >= c.t_start for c in cmds)
    assert [c.word for c in session.controls()] == ["ack", "done"]
    assert "loop-2" in tmux.screen(), "a loop still works although `done` means the step is done"

    session.record_page({"t_received": time.time(), "status": "firing", "user_agent": "Alertmanager/0.25.0",
                         "alerts": [{"labels": {"alertname": "ApiDown", "severity": "critical"},
                                     "annotations": {"summary": "API is down"}}]})
    assert wait_for(lambda: "*** PAGE (FIRING): ApiDown ***" in tmux.screen()), tmux.screen()

    tmux.run("send-keys", "-t", tmux.name, "C-c")
    assert wait_for(lambda: "Ctrl-C again within 120 s" in tmux.screen()), tmux.screen()
    assert "abort" not in [c.word for c in session.controls()], "one Ctrl-C (a cancelled line) does not end the drill"
    tmux.run("send-keys", "-t", tmux.name, "C-c")
    assert wait_for(lambda: "abort" in [c.word for c in session.controls()]), tmux.screen()


def test_ctrl_c_twice_in_the_shell_ends_the_drill(tmp_path):
    from gameday.human.operator import HumanOperator, PersonEndedDrill
    from gameday.timeline import TimelineWriter
    session = Session.create(tmp_path / "s", kubeconfig="k", context="c")
    op = HumanOperator(TimelineWriter(tmp_path / "t.jsonl"), session)
    session.say("abort", source="shell")
    with pytest.raises(PersonEndedDrill):
        op.carry_out("x", "kubectl get pods\n", within=30)


def test_the_shell_refuses_a_context_not_on_the_allowlist(tmp_path):
    kc = kubeconfig(tmp_path / "kc", "production", "https://192.0.2.10:6443")
    session = Session.create(tmp_path / "session", kubeconfig=str(kc), context="production")
    proc = subprocess.run([*GAMEDAY, "shell", "--session", str(session.folder)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **_env()}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not on the allowlist" in lines[0], proc.stderr
    assert session.commands() == []


def test_no_running_drill_is_one_clear_line(tmp_path):
    proc = subprocess.run([*GAMEDAY, "shell", "--reports", str(tmp_path)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **_env()}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "no drill is waiting for an operator" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
