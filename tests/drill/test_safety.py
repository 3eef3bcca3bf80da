"""Rollback registry and abort conditions (no sandbox)."""
from gameday.drill.safety import AbortCondition, AbortMonitor, RollbackRegistry
from gameday.timeline import TimelineWriter, read


def test_rollbacks_run_newest_first_once_and_report_failures(tmp_path):
    tl = TimelineWriter(tmp_path / "t.jsonl")
    calls = []
    reg = RollbackRegistry(tl)
    reg.register("first", lambda: calls.append("first"))

    def broken():
        calls.append("broken")
        raise RuntimeError("API gone")
    reg.register("broken", broken)
    reg.register("last", lambda: calls.append("last"))
    assert reg.run_all(attempts=2) == ["broken"]
    assert calls == ["last", "broken", "broken", "first"]
    assert reg.run_all(attempts=1) == ["broken"]  # only the failed one is retried
    assert calls.count("first") == 1 and calls.count("last") == 1
    tl.close()
    finished = [e for e in read(tmp_path / "t.jsonl") if e.kind == "rollback_finished"]
    assert [(e.get("fault"), e.get("ok")) for e in finished][:3] == [("last", True), ("broken", False), ("first", True)]
    assert "API gone" in finished[1].get("error")


def test_abort_trips_after_n_consecutive_bad_seconds():
    tripped = []
    mon = AbortMonitor(AbortCondition(0.5, 3), tripped.append)
    for req, fail in [(10, 9), (10, 9), (10, 0), (10, 9), (0, 0), (10, 9)]:
        mon.feed(req, fail)
    assert not tripped  # the good second reset the streak; an idle second does not count
    mon.feed(10, 10)
    assert tripped and "above 50% for 3s" in tripped[0]
    mon.feed(10, 10)
    assert len(tripped) == 1
    quiet = AbortMonitor(None, tripped.append)
    quiet.feed(10, 10)
    assert len(tripped) == 1
