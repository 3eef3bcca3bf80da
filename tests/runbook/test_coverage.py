"""Per-line runbook coverage from check results and scenario runs (pure)."""
from gameday.runbook.coverage import compute, format_table
from gameday.runbook.parse import parse

RUNBOOK = """# R

## S

### Proc
```bash
kubectl get pods -n x
kubectl get nodes
helm list
# [Coordinate via your incident system]
kubectl top pods -n x
kubectl describe deployment api -n x
```
"""


def test_each_line_is_labelled_and_never_run_lines_are_counted():
    rb = parse(RUNBOOK, "r.md")
    check = {"procedures": [{"slug": "proc", "lines": [
        {"line": 8, "verdict": "passed"}, {"line": 9, "verdict": "needs", "reason": "needs helm"}]}]}
    scenarios = [{"procedure": "proc", "line": 7, "scenario": "pods listed", "verdict": "passed"}]
    features = [("features/x.feature:12", "kubectl describe deployment api -n y")]
    cov = compute(rb, check, scenarios, features)
    labels = {l.line: l.label for l in cov.lines}
    assert labels == {7: "scenario", 8: "check", 9: "needs", 10: "manual", 11: "never run", 12: "deviates"}
    assert [l.line for l in cov.never_run] == [11]
    assert cov.totals["never run"] == 1 and cov.totals["scenario"] == 1
    assert "1 runnable lines never ran" in format_table(cov)


def test_nothing_run_means_every_runnable_line_is_never_run():
    cov = compute(parse(RUNBOOK, "r.md"), None, [])
    assert len(cov.never_run) == 5
