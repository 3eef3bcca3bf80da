"""Results of a drill: the end-of-run table and the verdicts coverage reads."""
from gameday.bdd import results
from gameday.bdd.cli import summary_table


def _r(name, outcome, **kw):
    return results.ScenarioResult(key=f"f.feature::{name}", file="features/f.feature", line=3, name=name,
                                  feature="F", sections=["emergency-response"], outcome=outcome, started_at=1.0, **kw)


def test_summary_has_a_row_per_scenario_with_the_figures_and_the_failures():
    table = summary_table([_r("P0 outage", "passed", time_to_detect=1.25, time_to_recover=4.5, error_rate=0.3333),
                           _r("DB cut off", "failed", message="SLA missed: time_to_recover <= 20s (measured none)")])
    lines = table.splitlines()
    assert lines[0].split() == ["scenario", "runbook", "section", "verdict", "detect", "recover", "errors"]
    assert "P0 outage" in lines[2] and "1.2s" in lines[2] and "4.5s" in lines[2] and "33.33%" in lines[2]
    assert "DB cut off" in lines[3] and "failed" in lines[3] and lines[3].rstrip().endswith("-")
    assert "FAILED: DB cut off (features/f.feature:3)\n  SLA missed: time_to_recover <= 20s" in table
    assert table.rstrip().endswith("1/2 scenarios passed")


def test_verdicts_keep_the_last_run_of_each_scenario(tmp_path):
    results.write_results(tmp_path, [_r("a", "failed"), _r("b", "passed")])
    results.write_results(tmp_path, [_r("a", "passed"), _r("b", "skipped")])
    assert results.read_verdicts(tmp_path) == {"f.feature::a": "passed", "f.feature::b": "passed"}
    assert [r.outcome for r in results.read_results(tmp_path)] == ["passed", "skipped"]
