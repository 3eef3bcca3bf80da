"""gameday's step vocabulary for pytest-bdd: a phrase, its parameters, one
call into the step library (`gameday.bdd.library.ScenarioRun`).

Load it as a pytest plugin (`-p steps`, or `from steps import *` in a
conftest); `gameday steps` lists every phrase with its docstring."""
from steps.platform import *  # noqa: F401,F403
from steps.faults import *  # noqa: F401,F403
from steps.operator import *  # noqa: F401,F403
from steps.expectations import *  # noqa: F401,F403
from steps.runbook import *  # noqa: F401,F403
