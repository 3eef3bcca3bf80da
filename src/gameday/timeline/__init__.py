"""The drill timeline: typed event kinds (`events`) and the JSONL
writer/reader (`store`)."""
from .events import KINDS, Event, EventKind, Kinds, make
from .store import TimelineWriter, parse_lines, read

__all__ = ["KINDS", "Event", "EventKind", "Kinds", "make", "TimelineWriter", "parse_lines", "read"]
