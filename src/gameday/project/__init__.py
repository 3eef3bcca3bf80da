"""The project file (`gameday.yaml`): what the harness knows about the
platform under test. `current()` finds and loads it; its values are the
dataclasses of `model` (read by the drill, the steps, the runbook checker)."""
from .loader import ENV, FILENAME, current, find, load, parse
from .model import Endpoint, HostMapping, Load, Placeholder, Preset, Progress, Project, Readback, Service

__all__ = ["ENV", "FILENAME", "current", "find", "load", "parse", "Endpoint", "HostMapping", "Load", "Placeholder",
           "Preset", "Progress", "Project", "Readback", "Service"]
