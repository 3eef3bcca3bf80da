"""The drill engine: the `Drill` facade (what features and `gameday run`
use), detection watchers, safety (allowlist, aborts, rollbacks) and the
experiment runner behind `gameday run`."""
from .facade import Drill, DrillAborted, SteadyStateNotMet

__all__ = ["Drill", "DrillAborted", "SteadyStateNotMet"]
