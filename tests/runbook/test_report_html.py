"""The runbook check in HTML: its own page, and a section of the drill report
when the check wrote into the same reports folder."""
from __future__ import annotations

import json

from gameday.reports.html import runbook_check_section, write_report, write_runbook_check

CHECK = {"runbook": "runbook/r.md", "target": "gameday-sandbox", "procedures": [
    {"slug": "vacuum", "title": "Vacuum and Analyze", "line": 538, "restored": ["deployment x replicas 0 -> 1"],
     "lines": [
         {"line": 540, "verdict": "failed", "text": "kubectl exec statefulset/postgres -n database -- \\\n  psql",
          "reason": "NotFound: statefulsets.apps \"postgres\"", "correction": "kubectl exec deployment/postgres ...",
          "correction_verdict": "passed"},
         {"line": 544, "verdict": "passed", "text": "kubectl get pods -n database", "reason": ""},
         {"line": 547, "verdict": "needs", "text": "helm list", "reason": "needs helm"}]}]}


def test_the_section_names_each_line_its_verdict_and_the_corrected_line():
    page = runbook_check_section(CHECK)
    assert "Runbook check: runbook/r.md" in page and "3 lines in 1 procedures" in page
    assert "1 failed, 1 needs, 1 passed" in page
    assert "<td>540</td>" in page and "corrected line (passed): kubectl exec deployment/postgres" in page
    assert "needs helm" in page and "Vacuum and Analyze" in page and "replicas 0 -&gt; 1" in page
    assert "<script" not in page and "statefulset/postgres -n database -- \\" in page  # the first line only, escaped


def test_the_drill_report_carries_the_check_of_its_reports_folder(tmp_path):
    (tmp_path / "runbook").mkdir()
    (tmp_path / "runbook" / "runbook-check.json").write_text(json.dumps(CHECK))
    with_check = write_report(tmp_path / "report.html", [], tmp_path).read_text()
    assert 'id="runbook-check"' in with_check and with_check.rstrip().endswith("</html>")
    (tmp_path / "runbook" / "runbook-check.json").unlink()
    assert 'id="runbook-check"' not in write_report(tmp_path / "report.html", [], tmp_path).read_text()
    own = write_runbook_check(tmp_path / "runbook-check.html", CHECK).read_text()
    assert own.startswith("<!DOCTYPE html>") and "gameday runbook check: runbook/r.md" in own and "<td>544</td>" in own
