"""Plain `pytest features/` runs the runbook scenarios: gameday's plugin
(markers, fixtures, reports) and the step vocabulary in steps/."""
import sys
from pathlib import Path

# steps/ sits beside features/ (project files, not the installed package).
_PROJECT = str(Path(__file__).resolve().parent.parent)
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

from gameday.bdd.plugin import *  # noqa: E402,F401,F403  (hooks and fixtures)
from steps import *  # noqa: E402,F401,F403  (step definitions)
