"""In a scenario, a diagnostic's `|| echo` fallback taken during the
scenario's own fault (and the steady-state must_not_appear of that text) is
the runbook seeing the fault, not a failure; anything else still fails."""
from gameday.runbook.scenario import seeing_the_fault
from gameday.runbook.verdict import LineResult


def _line(text, reason, fallback=False):
    l = LineResult("immediate-actions", 37, 37, text, "failed", reason=reason)
    l.fallback_taken = fallback
    return l


def test_the_fallback_that_reports_the_outage_and_its_must_not_appear_pass():
    fb = _line('curl -f https://api.example.com/health || echo "API DOWN"',
               'fallback "API DOWN" taken: curl exited 52', fallback=True)
    exp = _line("(expected output)", "shows 'API DOWN'")
    other = _line("kubectl get pods -n shop", "kubectl exited 1")
    seeing_the_fault([fb, exp, other])
    assert (fb.verdict, exp.verdict, other.verdict) == ("passed", "passed", "failed")
    assert "seeing the scenario's fault" in fb.reason


def test_a_fallback_with_another_failure_or_another_expectation_still_fails():
    fb = _line("kubectl get pods | grep x || echo \"API DOWN\"",
               'fallback "API DOWN" taken: curl exited 7; kubectl exited 1 (part 1 of the pipeline)', fallback=True)
    exp = _line("(expected output)", "shows 'API DOWN'; missing 'Database: CONNECTED'")
    seeing_the_fault([fb, exp])
    assert (fb.verdict, exp.verdict) == ("failed", "failed")
