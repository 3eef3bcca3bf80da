"""The time boxes a runbook states in its headings: "Immediate Actions (0-5
minutes)" gives a phase that must be done by 5 minutes into the incident.
Pure functions."""
from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60, "minute": 60,
          "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600}
_BOX = re.compile(r"\(\s*(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*\)", re.I)


@dataclass(frozen=True)
class TimeBox:
    """A phase's window, in seconds from the start of the incident (the page)."""
    start_s: float
    end_s: float
    text: str

    def describe(self) -> str:
        return f"{self.text} (done by {self.end_s / 60:g} min after the page)"


def parse(text: str) -> TimeBox | None:
    """The first "(A-B unit)" in a heading, or None when it states none."""
    m = _BOX.search(text or "")
    if not m:
        return None
    unit = _UNITS.get(m.group(3).lower())
    if unit is None:
        return None
    start, end = float(m.group(1)) * unit, float(m.group(2)) * unit
    if end < start:
        return None
    return TimeBox(start, end, m.group(0))


def parse_override(value: str) -> TimeBox:
    """A feature's own time box ("0-5 minutes" or "(0-5 minutes)"); ValueError when malformed."""
    box = parse(value if value.strip().startswith("(") else f"({value})")
    if box is None:
        raise ValueError(f"not a time box: {value!r} (write it like '0-5 minutes')")
    return box
