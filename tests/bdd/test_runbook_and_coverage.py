"""The runbook's procedures, and that the features cover every one of them."""
from pathlib import Path


from gameday.bdd import coverage, features, runbook
from gameday.cli import main

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "runbook" / "gaudi3-scale-runbook.md"
FEATURES = ROOT / "features"


def test_headings_inside_code_blocks_are_not_procedures():
    book = runbook.parse("# T\n## Ops\n### Restart\n```bash\n# 1. not a heading\nkubectl get pods\n```\n"
                         "### Prose only\ntext\n## Contacts\n- someone\n")
    assert [s.slug for s in book.sections] == ["ops", "contacts"]
    assert [(s.slug, p.slug) for s, p in book.procedures] == [("ops", "restart")]


def test_the_project_runbook_has_the_procedures_the_issue_lists():
    book = runbook.load(RUNBOOK)
    slugs = {p.slug for _, p in book.procedures}
    for expected in ("immediate-mitigation", "response-actions-0-30-minutes", "system-health-check-script",
                     "application-health-endpoints", "scale-api-service", "scale-training-workers",
                     "update-hpa-settings", "deployment-process", "emergency-rollback", "manual-backup",
                     "database-recovery", "model-checkpoint-recovery", "high-api-latency-alert",
                     "hpu-memory-high-alert", "training-job-failed-alert", "pod-stuck-in-pending",
                     "pod-crashloopbackoff", "service-not-accessible", "high-memory-usage",
                     "kubernetes-cluster-update", "application-maintenance", "vacuum-and-analyze",
                     "log-rotation-and-cleanup"):
        assert expected in slugs
    assert "severity-levels" not in slugs  # prose, no commands


def test_every_procedure_of_the_runbook_has_a_scenario(capsys, tmp_path):
    rc = main(["coverage", str(RUNBOOK), "--features", str(FEATURES), "--reports", str(tmp_path), "--procedures"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "NOT COVERED" not in out
    book = runbook.load(RUNBOOK)
    assert f"{len(book.procedures)}/{len(book.procedures)} procedures covered" in out


def test_coverage_is_per_line_too_and_fails_while_a_runnable_line_never_ran(capsys, tmp_path):
    """`gameday coverage` reads the drill's runbook-lines.jsonl under --reports
    and `gameday runbook check`'s JSON in the folder beside it (reports/runbook
    next to reports/drill): before either ran, lines are "never run" (exit 1);
    once each runnable line ran in one of them, exit 0."""
    import json
    from gameday.runbook.check import load_runbook
    drill = tmp_path / "reports" / "drill"
    (drill / "scenarios" / "one").mkdir(parents=True)
    rc = main(["coverage", str(RUNBOOK), "--features", str(FEATURES), "--reports", str(drill)])
    out = capsys.readouterr().out
    assert rc == 1 and "runnable lines never ran" in out
    assert "26/26 procedures covered" in out   # the procedure table is still there
    units = [(p, u) for p, u in load_runbook(RUNBOOK).units if u.kind == "command"]
    first, rest = units[0], units[1:]
    (drill / "scenarios" / "one" / "runbook-lines.jsonl").write_text(json.dumps(
        {"procedure": first[0].slug, "line": first[1].first_line, "scenario": "S", "verdict": "passed"}) + "\n")
    procs: dict = {}
    for p, u in rest:
        procs.setdefault(p.slug, []).append({"line": u.first_line, "verdict": "passed"})
    (tmp_path / "reports" / "runbook").mkdir()
    (tmp_path / "reports" / "runbook" / "runbook-check.json").write_text(json.dumps(
        {"procedures": [{"slug": k, "lines": v} for k, v in procs.items()]}))
    rc = main(["coverage", str(RUNBOOK), "--features", str(FEATURES), "--reports", str(drill)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert f"1 scenario, {len(rest)} check, 0 deviates" in out and "0 never run" in out


def test_a_runbook_with_an_uncovered_procedure_exits_1(capsys, tmp_path):
    extra = tmp_path / "runbook.md"
    extra.write_text(RUNBOOK.read_text() + "\n## Certificates\n\n### Rotate TLS Certificates\n```bash\n"
                     "kubectl delete secret api-tls -n gaudi3-scale\n```\n")
    rc = main(["coverage", str(extra), "--features", str(FEATURES), "--reports", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "NOT COVERED  Rotate TLS Certificates" in out
    assert "NOT covered: rotate-tls-certificates" in out


def test_coverage_shows_the_last_verdict_of_each_scenario(tmp_path):
    from gameday.bdd import results
    scenarios = features.load_all([str(FEATURES)])
    s = next(x for x in scenarios if "vacuum-and-analyze" in x.procedures)
    r = results.ScenarioResult(key=s.key, file=s.file, line=s.line, name=s.name, feature=s.feature,
                               outcome="failed", started_at=1.0)
    results.write_results(tmp_path, [r])
    cov = coverage.compute(runbook.load(RUNBOOK), scenarios, results.read_verdicts(tmp_path))
    row = next(x for x in cov.rows if x.procedure.slug == "vacuum-and-analyze")
    assert row.verdicts == ("failed",) and row.status == "failed"


def test_a_procedure_tag_naming_no_heading_is_reported(tmp_path):
    f = tmp_path / "x.feature"
    f.write_text("@runbook:emergency-response\nFeature: X\n  @procedure:immediate-mitigatoin\n"
                 "  Scenario: typo\n    Given the platform is at steady state\n")
    cov = coverage.compute(runbook.load(RUNBOOK), features.load_all([str(f)]), {})
    assert [tag for _, tag in cov.unknown_tags] == ["@procedure:immediate-mitigatoin"]


def test_a_missing_runbook_is_one_line_exit_2(capsys, tmp_path):
    rc = main(["coverage", str(tmp_path / "nope.md"), "--features", str(FEATURES)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "nope.md" in err


def _collect(*args: str, code: int = 0) -> str:
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "pytest", "features", "--collect-only", "-q", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc.stdout


def test_feature_tags_are_markers_that_select_scenarios():
    out = _collect("-m", "runbook(section='emergency-response')")
    assert "2/" in out and "test_p0__every_api_pod_is_gone_and_the_api_is_restarted" in out
    out = _collect("-m", "procedure(name='vacuum-and-analyze')")
    assert "test_vacuum_and_analyze_the_database_under_load" in out and "1/" in out
    out = _collect("-m", "not sandbox", code=5)
    assert "no tests collected" in out  # every scenario needs a cluster
