"""The timeline on disk: JSON lines, appended and flushed per event so a run
killed at any moment keeps everything up to the kill."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from .events import Event, EventKind, make


class TimelineWriter:
    """Appends events to a JSONL file (thread-safe); optional listeners see
    every event (the live console view)."""

    def __init__(self, path: str | os.PathLike, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._clock = clock
        self._listeners: list[Callable[[Event], None]] = []
        self.events: list[Event] = []

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)

    def emit(self, kind: str | EventKind, t: float | None = None, **data: Any) -> Event:
        event = make(kind, self._clock() if t is None else t, **data)
        line = json.dumps(event.to_json(), separators=(",", ":"), default=str)
        with self._lock:
            if self._file.closed:
                return event
            self._file.write(line + "\n")
            self._file.flush()
            self.events.append(event)
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:  # a broken view must not break the record
                pass
        return event

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()

    def __enter__(self) -> "TimelineWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_lines(lines: Iterable[str]) -> list[Event]:
    """Events from JSONL text. A last line cut short by a kill is skipped;
    a malformed line in the middle is an error (the file was damaged)."""
    lines = list(lines)
    events: list[Event] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            events.append(Event.from_json(obj))
        except (ValueError, KeyError, TypeError):
            if i == len(lines) - 1 or all(not rest.strip() for rest in lines[i + 1:]):
                break  # truncated last line: the run was killed mid-write
            raise ValueError(f"timeline line {i + 1} is not a JSON event")
    return events


def read(path: str | os.PathLike) -> list[Event]:
    """Read a timeline file (tolerates a truncated last line), in the order
    of the events' times: an event is written when it is known, and a fault
    held for a while (a pod-kill over a duration) is known when it ends but
    dated from its start."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return sorted(parse_lines(f.read().split("\n")), key=lambda e: e.t)
