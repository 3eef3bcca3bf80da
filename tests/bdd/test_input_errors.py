"""Bad feature files are one line naming the file, the line and the fix,
exit 2, before anything touches a target (no sandbox is needed here)."""
from pathlib import Path

import pytest

from gameday.cli import main

ROOT = Path(__file__).resolve().parents[2]

GOOD_HEAD = """@runbook:emergency-response
Feature: Drill input
  @procedure:immediate-mitigation
  Scenario: restart the API
    Given the platform is at steady state under a load of 2 users
"""


@pytest.fixture
def drill(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # steps/ is found beside features/

    def run(body: str) -> tuple[int, str, Path]:
        f = tmp_path / "drill.feature"
        f.write_text(GOOD_HEAD + body)
        rc = main(["drill", str(f), "--reports", str(tmp_path / "reports")])
        cap = capsys.readouterr()
        return rc, cap.err.strip(), f
    return run


def _one_line(err: str) -> str:
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_unknown_step_is_one_line_naming_file_and_line(drill):
    rc, err, f = drill("    When the operator restarts everything quickly\n")
    assert rc == 2
    line = _one_line(err)
    assert f"{f}:6: unknown step 'When the operator restarts everything quickly'" in line
    assert "gameday steps" in line


def test_unknown_sla_metric_names_its_row(drill):
    rc, err, f = drill("    Then the SLA is met:\n      | metric | limit |\n      | time_to_recovr | <= 90s |\n")
    assert rc == 2
    line = _one_line(err)
    assert f"{f}:8:" in line and "unknown metric 'time_to_recovr'" in line


def test_sla_table_without_its_header(drill):
    rc, err, f = drill("    Then the SLA is met:\n      | time_to_recover | <= 90s |\n")
    assert rc == 2
    assert "must be | metric | limit |" in _one_line(err) and f"{f}:7:" in err


def test_sla_limit_without_a_unit(drill):
    rc, err, f = drill("    Then the SLA is met:\n      | metric | limit |\n      | time_to_detect | <= 30 |\n")
    assert rc == 2
    assert "needs a time unit" in _one_line(err) and f"{f}:8:" in err


def test_sla_step_without_a_table(drill):
    rc, err, f = drill("    Then the SLA is met:\n")
    assert rc == 2
    assert "needs a table" in _one_line(err)


def test_command_with_shell_syntax_is_refused(drill):
    rc, err, f = drill('    When the operator runs "kubectl get pods -n gaudi3-scale | grep Pending"\n')
    assert rc == 2
    assert "shell syntax" in _one_line(err) and f"{f}:6:" in err


def test_command_other_than_kubectl_is_refused(drill):
    rc, err, f = drill('    When the operator carries out "rollback":\n      """\n      helm rollback gaudi3-scale 1\n      """\n')
    assert rc == 2
    assert "'helm' is not run by scenarios" in _one_line(err)


def test_placeholder_used_before_it_is_bound(drill):
    rc, err, f = drill('    When the operator runs "kubectl delete pod <pod-name> -n gaudi3-scale"\n')
    assert rc == 2
    assert "placeholder <pod-name> is used before it is bound" in _one_line(err)


def test_gherkin_syntax_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    f = tmp_path / "broken.feature"
    f.write_text("Feature: Broken\n  Scenario: a\n    Given the platform is at steady state\n  Scenario b without colon\n")
    rc = main(["drill", str(f), "--reports", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert str(f) in _one_line(err) and ":4:" in err


def test_several_problems_report_the_first_and_count_the_rest(drill):
    rc, err, f = drill("    When nothing\n    Then nothing either\n")
    assert rc == 2
    assert f"{f}:6:" in _one_line(err) and "(and 1 more problem)" in err


def test_project_features_pass_the_preflight(monkeypatch):
    from gameday.bdd import features, preflight, vocabulary
    monkeypatch.chdir(ROOT)
    assert preflight.check(features.load_all(["features"]), vocabulary.phrases()) == []
