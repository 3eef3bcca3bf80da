"""When: the operator carries out the runbook itself (the block under a
heading, as the runbook file says it now)."""
from pytest_bdd import parsers, when

from gameday.runbook.scenario import carry_out

# parse patterns (not regexes) so `gameday steps` and the writing guide show them as written;
# carry_out checks the range ("2", "2-3") and names the file when it is malformed
WHOLE = 'the operator carries out the runbook\'s "{heading}"'
PART = 'the operator carries out lines {lines} of the runbook\'s "{heading}"'
ONE = 'the operator carries out line {line:d} of the runbook\'s "{heading}"'


@when(parsers.parse(PART))
def operator_carries_out_runbook_lines(gameday_run, lines, heading):
    """Command lines `lines` (counted from 1, e.g. 2-3) of the procedure under
    that runbook heading, run verbatim in bash like the runbook check does,
    timed as one step `step:<slug>:<lines>`."""
    carry_out(gameday_run, heading, lines)


@when(parsers.parse(ONE))
def operator_carries_out_runbook_line(gameday_run, line, heading):
    """Command line `line` (counted from 1) of the procedure under that
    runbook heading, run verbatim in bash, timed as `step:<slug>:<line>`."""
    carry_out(gameday_run, heading, str(line))


@when(parsers.parse(WHOLE))
def operator_carries_out_runbook(gameday_run, heading):
    """Every block under that runbook heading, as the runbook says it now,
    run verbatim in bash against the target (placeholders and hostnames from
    the runbook settings), timed as the step `step:<slug>`. A failed line
    fails the step with its runbook line number."""
    carry_out(gameday_run, heading)
