"""Timeline kinds, the JSONL writer (flushed per event) and the tolerant reader."""
import json
import subprocess
import sys

import pytest

from gameday.timeline import KINDS, Kinds, TimelineWriter, make, parse_lines, read

CONTRACT = {"drill_started", "steady_state_met", "steady_state_failed", "fault_injected", "probe_failed",
            "probe_ok", "alert_firing", "alert_resolved", "step_started", "step_finished",
            "steady_state_restored", "rollback_started", "rollback_finished", "load_sample", "writes_acked",
            "writes_verified", "training_progress", "pod_status", "abort", "recovered", "drill_finished",
            "page_received", "operator_acknowledged", "operator_command", "operator_step_review",
            "notification_received"}


def test_every_contract_kind_is_declared_once_and_documented():
    assert set(KINDS) == CONTRACT
    assert all(k.doc for k in KINDS.values())
    assert Kinds.fault_injected.name == "fault_injected"


def test_validation_names_the_problem():
    with pytest.raises(ValueError, match="unknown timeline event kind"):
        make("fault_injektion", 0.0, fault="x")
    with pytest.raises(ValueError, match="needs field 'fault'"):
        make("fault_injected", 0.0)
    with pytest.raises(ValueError, match="must be"):
        make("load_sample", 0.0, rps=1.0, requests="ten", failures=0, p50_ms=1, p95_ms=1, p99_ms=1, users=1)


def test_writer_flushes_each_event_and_reader_round_trips(tmp_path):
    path = tmp_path / "t.jsonl"
    w = TimelineWriter(path)
    seen = []
    w.add_listener(seen.append)
    w.emit("drill_started", t=1.0, drill="d")
    # flushed: another reader sees it before close
    assert json.loads(path.read_text().splitlines()[0]) == {"t": 1.0, "kind": "drill_started", "drill": "d"}
    w.emit(Kinds.fault_injected, t=2.0, fault="kill", params={"qty": 1})
    w.close()
    events = read(path)
    assert [e.kind for e in events] == ["drill_started", "fault_injected"]
    assert events[1].get("params") == {"qty": 1}
    assert [e.kind for e in seen] == ["drill_started", "fault_injected"]


def test_reader_gives_events_in_the_order_of_their_times(tmp_path):
    # A held fault (pod-kill over a duration) is written when it ends, dated
    # from its start: the alert it set off is already in the file.
    path = tmp_path / "t.jsonl"
    with TimelineWriter(path) as w:
        w.emit("drill_started", t=1.0, drill="d")
        w.emit("alert_firing", t=4.0, alert="ApiDown")
        w.emit(Kinds.fault_injected, t=2.0, fault="kill-all-api-pods")
        w.emit("alert_resolved", t=4.0, alert="ApiDown")
    assert [e.kind for e in read(path)] == ["drill_started", "fault_injected", "alert_firing", "alert_resolved"]


def test_reader_tolerates_a_truncated_last_line_but_not_damage_in_the_middle():
    good = '{"t": 1, "kind": "drill_started", "drill": "d"}'
    assert len(parse_lines([good, '{"t": 2, "kind": "fau'])) == 1
    assert len(parse_lines([good, '{"t": 2, "kind": "fau', ""])) == 1
    with pytest.raises(ValueError, match="line 2"):
        parse_lines([good, "garbage", good])


def test_a_killed_writer_keeps_everything_up_to_the_kill(tmp_path):
    path = tmp_path / "killed.jsonl"
    code = (
        "import os, sys\n"
        "from gameday.timeline import TimelineWriter\n"
        f"w = TimelineWriter({str(path)!r})\n"
        "for i in range(50):\n"
        "    w.emit('probe_failed', t=float(i), probe='p')\n"
        "os._exit(9)  # no close, no flush at exit\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == 9
    assert len(read(path)) == 50
