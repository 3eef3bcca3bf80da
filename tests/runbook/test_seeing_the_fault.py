"""In a scenario, a diagnostic's `|| echo` fallback taken during the
scenario's own fault (and the steady-state must_not_appear of that text) is
the runbook seeing the fault, not a failure; anything else still fails. The
lines are judged from a real session (bubblewrap, no cluster): nothing
listens on 127.0.0.1:9, as no API answers during the outage."""
import shutil

import pytest

from gameday.runbook.settings import Expectation
from gameday.runbook.parse import split_block
from gameday.runbook.scenario import seeing_the_fault
from gameday.runbook.session import Workspace, run_block
from gameday.runbook.verdict import judge_unit, procedure_expectations

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


def _judge(tmp_path, text: str, must_not_appear=(), must_appear=()):
    ws = Workspace(tmp_path / "ws", repo_source=None)
    ws.prepare({"curl"})
    session = run_block(ws, text, "b")
    exp = Expectation(must_appear=tuple(must_appear), must_not_appear=tuple(must_not_appear))
    lines = [judge_unit("immediate-actions", u, session, exp) for u in split_block(text)]
    extra = procedure_expectations("immediate-actions", session.output, exp, 1)
    return lines + ([extra] if extra else [])


def test_the_fallback_that_reports_the_outage_and_its_must_not_appear_pass(tmp_path):
    text = ('curl -f http://127.0.0.1:9/health || echo "API DOWN"\n'
            'kubectl-no-such-tool get pods\n')
    fb, other, exp = _judge(tmp_path, text, must_not_appear=["API DOWN"])
    assert (fb.verdict, fb.fallback, fb.failures) == ("failed", "API DOWN", [])
    assert (exp.verdict, exp.present, exp.missing) == ("failed", ["API DOWN"], [])
    seeing_the_fault([fb, other, exp])
    assert (fb.verdict, exp.verdict) == ("passed", "passed")
    assert "seeing the scenario's fault" in fb.reason and "saw the scenario's fault" in exp.reason
    assert other.verdict != "passed"  # a line that failed on its own still fails


def test_a_fallback_with_another_failure_or_another_expectation_still_fails(tmp_path):
    # The first part of the pipeline fails too: not only the command the fallback covers.
    text = 'false | curl -f http://127.0.0.1:9/health || echo "API DOWN"\n'
    fb, exp = _judge(tmp_path, text, must_not_appear=["API DOWN"], must_appear=["Database: CONNECTED"])
    assert fb.fallback == "API DOWN" and fb.failures, fb
    assert exp.missing == ["Database: CONNECTED"]
    seeing_the_fault([fb, exp])
    assert (fb.verdict, exp.verdict) == ("failed", "failed")
