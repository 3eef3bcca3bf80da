"""A failed line whose failure says the situation it handles is absent (no
object for its placeholder, no crashed container for --previous, its input
made by a line that could not run here) is "unmet", not a finding; any other
failure, or one whose corrected line passed, stays a finding."""
from gameday.runbook.check import unmet_situation
from gameday.runbook.parse import split_block
from gameday.runbook.verdict import LineResult


def _failed(text: str, output: str = "", reason: str = "kubectl exited 1") -> tuple:
    unit = split_block(text + "\n")[0]
    return unit, LineResult("p", 1, 1, text, "failed", reason=reason, output_head=output)


def test_a_placeholder_the_target_has_nothing_for_is_unmet():
    unit, res = _failed("kubectl describe job <failed-job-name> -n ns", 'jobs.batch "<failed-job-name>" not found')
    unmet_situation(unit, res, {"<failed-job-name>": {"job": "component=training"}}, "")
    assert res.verdict == "unmet" and "<failed-job-name> names nothing on the target" in res.reason
    assert "kubectl exited 1" in res.reason   # what happened is kept


def test_logs_previous_of_a_pod_that_never_crashed_is_unmet():
    out = 'Error from server (BadRequest): previous terminated container "api" in pod "api-1" not found'
    unit, res = _failed("kubectl logs api-1 -n ns --previous", out)
    unmet_situation(unit, res, {}, "")
    assert res.verdict == "unmet" and "no container of the pod has terminated" in res.reason


def test_a_line_after_one_that_needs_a_tool_is_unmet():
    unit, res = _failed("kubectl cp /tmp/models.tar.gz pod:/app/models/", "doesn't exist in local filesystem")
    unmet_situation(unit, res, {}, "line 320 needs aws")
    assert res.verdict == "unmet" and "its input comes from line 320 needs aws" in res.reason


def test_other_failures_stay_findings():
    unit, res = _failed("kubectl exec deploy/api -- du -sh /app/logs/*", "du: cannot access '/app/logs/*'")
    unmet_situation(unit, res, {"<pod-name>": {}}, "")   # a placeholder absent, but not used by this line
    assert res.verdict == "failed"
    unit, res = _failed("helm rollback rel 1 -n ns", "Error: release has no 1 version")
    res.correction, res.correction_verdict = "helm rollback rel -n ns", "passed"
    unmet_situation(unit, res, {}, "line 3 needs aws")   # its corrected line passed: the runbook's defect
    assert res.verdict == "failed"
