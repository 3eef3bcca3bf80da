"""The runbook check and the runbook steps against the platform sandbox
(shared session fixture). A copy of the runbook with known-wrong lines shows
findings with checked corrections; an edited copy changes what the step runs;
a mutating procedure leaves the platform as it found it."""
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gameday.bdd.library import StepFailed
from gameday.runbook import settings as settings_mod
from gameday.runbook.check import Checker
from gameday.runbook.coverage import SCENARIO_LINES
from gameday.runbook.scenario import carry_out
from gameday.target import Target

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.sandbox]
SETTINGS = (ROOT / "runbook" / "gaudi3-scale-runbook.gameday.yaml").read_text()

RUNBOOK = """# Copy of a runbook

## Checks

### API Health
```bash
# 1. Check API health
curl -sf https://api.gaudi3scale.com/health || echo "API DOWN"

# 2. Describe the API
kubectl describe deployment/gaudi3-scale-api -n database | head -3
```

### Scale Up
```bash
kubectl scale deployment gaudi3-scale-api --replicas=3 -n gaudi3-scale
kubectl get deployment gaudi3-scale-api -n gaudi3-scale -o jsonpath='{.spec.replicas}'
```
"""


def copy_runbook(tmp_path: Path, text: str = RUNBOOK) -> Path:
    path = tmp_path / "repo" / "runbook" / "copy.md"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    settings_mod.beside(path).write_text(SETTINGS)
    return path


@pytest.fixture(scope="module")
def target(sandbox_kubeconfig):
    return Target.connect(sandbox_kubeconfig)


def test_findings_carry_a_corrected_line_checked_on_the_target(target, tmp_path):
    path = copy_runbook(tmp_path)
    checker = Checker(path, settings_mod.load(path), target, tmp_path / "reports")
    try:
        result = checker.run(only="API Health")
    finally:
        checker.close()
    health, describe = result.procedures[0].lines
    # the hostname resolves in the session and TLS verifies against the run's CA
    assert health.verdict == "passed", health.reason + health.output_head
    assert describe.verdict == "failed" and "NotFound" in describe.reason
    # part 1 of `kubectl ... | head` failed: the pipeline does not hide it
    assert describe.parts[0][0].program == "kubectl" and describe.parts[0][0].status == 1
    assert describe.correction.startswith("kubectl describe deployment/gaudi3-scale-api -n gaudi3-scale")
    assert describe.correction_verdict == "passed"


def test_a_mutating_procedure_is_put_back(target, tmp_path):
    path = copy_runbook(tmp_path)
    before = target.apps().read_namespaced_deployment("gaudi3-scale-api", "gaudi3-scale").spec.replicas
    checker = Checker(path, settings_mod.load(path), target, tmp_path / "reports")
    try:
        result = checker.run(only="Scale Up")
    finally:
        checker.close()
    lines = result.procedures[0].lines
    assert [l.verdict for l in lines] == ["passed", "passed"]
    assert lines[1].output_head.strip() == "3"
    assert target.apps().read_namespaced_deployment("gaudi3-scale-api", "gaudi3-scale").spec.replicas == before


@dataclass
class _StepRun:
    """Stands in for the scenario's ScenarioRun: the target, the reports
    folder and a drill whose step() only records the step's name."""
    target: Target
    reports_dir: Path
    name: str = "edited runbook"
    where: str = "test"
    file: str = "test"
    steps: list = field(default_factory=list)
    last_output: object = None

    @property
    def drill(self):
        return self

    @contextmanager
    def step(self, name):
        self.steps.append(name)
        yield


def test_the_step_runs_the_runbook_as_it_stands_now(target, tmp_path):
    path = copy_runbook(tmp_path)
    run = _StepRun(target, tmp_path / "reports")
    lines = carry_out(run, "Scale Up", "2", runbook=path)
    assert run.steps == ["scale-up:2-2"] and [l.line for l in lines] == [17]
    # edit the copy: the step now runs the changed line
    path.write_text(RUNBOOK.replace("-o jsonpath='{.spec.replicas}'", "-o jsonpath='{.metadata.namespace}'"))
    carry_out(run, "Scale Up", "2", runbook=path)
    assert run.last_output.stdout.strip() == "gaudi3-scale"
    path.write_text(RUNBOOK.replace("get deployment gaudi3-scale-api", "get deployment no-such-api"))
    with pytest.raises(StepFailed, match=r"copy.md:17 .*NotFound"):
        carry_out(run, "Scale Up", "2", runbook=path)
    ran = [json.loads(l) for l in (run.reports_dir / SCENARIO_LINES).read_text().splitlines()]
    assert {(r["procedure"], r["line"]) for r in ran} == {("scale-up", 17)}


def test_read_only_runs_only_the_lines_that_change_nothing(target, tmp_path):
    path = copy_runbook(tmp_path)
    checker = Checker(path, settings_mod.load(path), target, tmp_path / "reports", read_only=True)
    try:
        result = checker.run(only="Scale Up")
    finally:
        checker.close()
    scale, get = result.procedures[0].lines
    assert scale.verdict == "skipped" and get.verdict == "passed"
    assert get.output_head.strip() == str(target.apps().read_namespaced_deployment(
        "gaudi3-scale-api", "gaudi3-scale").spec.replicas)


def test_an_object_a_line_deletes_is_re_created(target, tmp_path):
    core = target.core()
    core.create_namespaced_config_map("gaudi3-scale", {"metadata": {"name": "runbook-check-probe"}, "data": {"k": "v"}})
    path = copy_runbook(tmp_path, "# R\n\n## S\n\n### Clean Up\n```bash\n"
                                  "kubectl delete configmap runbook-check-probe -n gaudi3-scale\n```\n")
    checker = Checker(path, settings_mod.load(path), target, tmp_path / "reports")
    try:
        result = checker.run(only="Clean Up")
        assert result.procedures[0].lines[0].verdict == "passed"
        assert "configmap gaudi3-scale/runbook-check-probe re-created" in result.procedures[0].restored
        assert core.read_namespaced_config_map("runbook-check-probe", "gaudi3-scale").data == {"k": "v"}
    finally:
        checker.close()
        core.delete_namespaced_config_map("runbook-check-probe", "gaudi3-scale")


def test_manual_backup_finds_its_dump_where_the_runbook_restores_from_not_under_backup_daily(target, tmp_path):
    """The seed runbook's "Manual Backup" as written: the backup and its health check pass, and line 2
    (`ls -la /backup/daily/$(date +%Y%m%d-*)`) fails for the runbook's own reason: the runbook names two
    layouts, and its restore line (/backup/database/postgres-*.sql.gz, on the database's backup volume) is
    where the backups are. A copy whose line 2 looks there passes."""
    seed = ROOT / "runbook" / "gaudi3-scale-runbook.md"
    checker = Checker(seed, settings_mod.load(seed), target, tmp_path / "reports")
    try:
        backup, listing, health, upload = checker.run(only="Manual Backup").procedures[0].lines
    finally:
        checker.close()
    assert backup.verdict == "passed" and ".sql.gz" in backup.output_head, backup.reason + backup.output_head
    assert listing.verdict == "failed" and "No such file or directory" in listing.output_head + listing.reason, \
        (listing.verdict, listing.reason, listing.output_head)
    assert health.verdict == "passed" and "backup OK" in health.output_head, health.reason
    assert upload.verdict == "needs" and "aws" in upload.reason

    corrected = seed.read_text().replace(
        "ls -la /backup/daily/$(date +%Y%m%d-*)",
        "kubectl exec deployment/postgres -n database -c postgres -- "
        "sh -c 'ls -la /backup/database/postgres-$(date +%Y%m%d)-*.sql.gz'")
    path = copy_runbook(tmp_path, corrected)
    checker = Checker(path, settings_mod.load(path), target, tmp_path / "reports-corrected")
    try:
        fixed = checker.run(only="Manual Backup").procedures[0].lines[1]
    finally:
        checker.close()
    assert fixed.verdict == "passed" and ".sql.gz" in fixed.output_head, (fixed.reason, fixed.output_head)
