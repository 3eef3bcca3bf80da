"""time_to_notify: the receiver's answer read into timeline events, and the
metric measured from the fault to the first notification after it."""
from __future__ import annotations

import json

from gameday.drill.notifications import parse
from gameday.sla import parse_all
from gameday.sla.measure import measure
from gameday.timeline.events import make


def test_the_receivers_answer_becomes_notifications_in_time_order():
    body = json.dumps({"notifications": [
        {"id": 2, "received_at": 105.5, "kind": "incident", "severity": "P0", "message": "System outage detected"},
        {"id": 1, "received_at": 101.0, "kind": "deployment", "message": "Starting deployment"},
        {"id": 3, "received_at": "soon", "message": "no time"}, "not an object"]})
    rows = parse(body)
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[1] == {"t": 105.5, "id": 2, "kind": "incident", "severity": "P0", "message": "System outage detected"}
    assert parse("not json") == [] and parse(json.dumps({"other": []})) == []
    assert parse(json.dumps([{"at": 7, "message": "m"}]), items="x", time_field="at")[0]["t"] == 7.0


def test_time_to_notify_runs_from_the_fault_to_the_first_notification_after_it():
    events = [make("drill_started", 90.0, drill="d"), make("notification_received", 95.0, message="before"),
              make("fault_injected", 100.0, fault="f"), make("notification_received", 140.0, message="late"),
              make("notification_received", 130.0, message="first")]  # read back later: out of order
    m = measure(events)
    assert m.time_to_notify == 30.0
    (sla,) = parse_all(["time_to_notify <= 5m"], "test")
    assert sla.limit == 300
    assert measure(events[:3]).time_to_notify is None  # nothing after the fault: not measured
