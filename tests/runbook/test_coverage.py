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


def test_a_scenario_tagged_deviates_marks_its_procedures_unrun_lines(tmp_path):
    from gameday.runbook.coverage import feature_deviations
    (tmp_path / "x.feature").write_text(
        "Feature: F\n\n  @p1 @procedure:proc\n  @deviates:fewer-replicas\n  Scenario: S\n    Given x\n\n"
        "  @procedure:other\n  Scenario: T\n    Given y\n")
    devs = feature_deviations(tmp_path)
    assert devs == {"proc": [f"{tmp_path / 'x.feature'}:4 @deviates:fewer-replicas"]}
    cov = compute(parse(RUNBOOK, "r.md"), None, [{"procedure": "proc", "line": 7, "scenario": "S"}], (), devs)
    labels = {l.line: l.label for l in cov.lines}
    assert labels[7] == "scenario" and labels[10] == "manual"
    assert {labels[n] for n in (8, 11, 12)} == {"deviates"} and not cov.never_run
    assert "@deviates:fewer-replicas" in next(l.detail for l in cov.lines if l.line == 8)
    # without the tag the same lines are never run
    assert len(compute(parse(RUNBOOK, "r.md"), None, [{"procedure": "proc", "line": 7, "scenario": "S"}]).never_run) == 4
