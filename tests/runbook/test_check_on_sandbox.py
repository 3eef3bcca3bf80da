"""The runbook check and the runbook steps against the platform sandbox
(shared session fixture). A copy of the runbook with known-wrong lines shows
findings with checked corrections; an edited copy changes what the step runs;
a mutating procedure leaves the platform as it found it."""
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kubernetes.client.rest import ApiException

from gameday.bdd.library import StepFailed
from gameday.runbook import settings as settings_mod
from gameday.runbook.check import Checker
from gameday.runbook.parse import parse as parse_runbook
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


PROMOTE_NS = "gameday-promote-test"


@pytest.fixture
def release_of_its_own(target):
    """The platform's chart as a release of its own (staging's values) in a
    namespace of this test: the promote's upgrades and the check's put-back
    add revisions to it, not to production's history, whose revision 1 the
    runbook's Emergency Rollback names."""
    from gameday.sandbox import releases
    from gameday.sandbox.config import ReleaseConfig
    chart = ROOT / "deploy" / "helm" / "gaudi3-scale"
    target.core().create_namespace({"metadata": {"name": PROMOTE_NS}})
    rel = ReleaseConfig("gaudi3-scale", chart, PROMOTE_NS, (chart / "values-staging.yaml",))
    try:
        proc = target.helm(releases.upgrade_argv("helm", rel)[1:] + ["--wait", "--timeout", "180s"], timeout=200)
        assert proc.returncode == 0, proc.stderr
        yield
    finally:
        target.helm(["uninstall", "gaudi3-scale", "-n", PROMOTE_NS, "--wait", "--timeout", "120s"], timeout=150)
        target.core().delete_namespace(PROMOTE_NS)
        # A namespace goes away after its objects: the next test makes it anew.
        deadline = time.monotonic() + 180
        while True:
            try:
                target.core().read_namespace(PROMOTE_NS)
            except ApiException as exc:
                if exc.status == 404:
                    break
                raise
            assert time.monotonic() < deadline, f"namespace {PROMOTE_NS} still there after 180 s"
            time.sleep(0.5)   # polls the condition above; the bound is the deadline


def load_runbook_text(text: str):
    return parse_runbook(text, "seed.md")


def _deployment_process(promote_extra: str = "") -> str:
    """The seed runbook's Deployment Process helm lines (1 and 6) as written,
    in the test's namespace."""
    seed = (ROOT / "runbook" / "gaudi3-scale-runbook.md").read_text()
    proc = load_runbook_text(seed).procedure("Deployment Process")
    upgrades = [u.text for u in proc.units if u.kind == "command" and u.text.startswith("helm upgrade")]
    assert len(upgrades) == 2, upgrades
    canary, promote = (t.replace("--namespace gaudi3-scale ", f"--namespace {PROMOTE_NS} ") for t in upgrades)
    promote = promote.replace("--set deployment.strategy=rolling", "--set deployment.strategy=rolling" + promote_extra)
    return f"# Copy\n\n## Deployment Procedures\n\n### Deployment Process\n```bash\n{canary}\n\n{promote}\n```\n"


def _repo_with(tmp_path: Path, text: str) -> Path:
    """A runbook repository like the seed's: the runbook folder reaches the chart as
    deployment/helm/gaudi3-scale and the backup script as backup-recovery/scripts/,
    and `git rev-parse HEAD` names the commit deployed."""
    import shutil
    import subprocess
    repo = tmp_path / "ops"
    (repo / "runbook").mkdir(parents=True)
    # copies, not links to this checkout: the operator's session has its own /tmp, where a checkout may be
    shutil.copytree(ROOT / "deploy" / "helm", repo / "runbook" / "deployment" / "helm")
    shutil.copytree(ROOT / "runbook" / "backup-recovery", repo / "runbook" / "backup-recovery")
    path = repo / "runbook" / "copy.md"
    path.write_text(text)
    settings_mod.beside(path).write_text(SETTINGS.replace("-n gaudi3-scale -o jsonpath", f"-n {PROMOTE_NS} -o jsonpath"))
    git = ["git", "-c", "user.name=gameday", "-c", "user.email=gameday@localhost", "-C", str(repo)]
    for args in (["init", "-q"], ["add", "runbook"], ["commit", "-q", "-m", "runbook"]):
        subprocess.run(git + args, check=True, capture_output=True, timeout=60)
    return path


def test_the_promote_leaves_the_stable_api_on_the_charts_default_tag(target, tmp_path, release_of_its_own):
    """Finding: Deployment Process line 6 (promote) sets no image tag, so Helm deploys the
    chart's default and the stable pods never get the canary's release; the same copy
    whose promote also sets the tag keeps it. Both leave the release as they found it."""
    def revision() -> int:
        history = target.helm(["history", "gaudi3-scale", "-n", PROMOTE_NS, "-o", "json"], timeout=60)
        return max(r["revision"] for r in json.loads(history.stdout) if r["status"] == "deployed")
    results = {}
    for name, extra in (("as written", ""), ("corrected", " --set image.tag=$(git rev-parse HEAD)")):
        path = _repo_with(tmp_path / name.replace(" ", "-"), _deployment_process(extra))
        before = revision()
        checker = Checker(path, settings_mod.load(path), target, tmp_path / name.replace(" ", "-") / "reports")
        try:
            results[name] = checker.run().procedures[0]
        finally:
            checker.close()
        assert any(f"rolled back to revision {before}" in r for r in results[name].restored), \
            (results[name].restored, [(l.text[:40], l.verdict, l.reason, l.output_head[-300:]) for l in results[name].lines])
    written, corrected = results["as written"], results["corrected"]
    assert [l.verdict for l in written.lines[:2]] == ["passed", "passed"], [l.reason for l in written.lines]
    after = written.lines[2]
    assert after.text.startswith("(afterwards) the stable API runs the release the canary ran")
    assert after.verdict == "failed" and "api:0.1.0" in after.output_head, (after.reason, after.output_head)
    assert [l.verdict for l in corrected.lines] == ["passed", "passed", "passed"], \
        [(l.text, l.reason, l.output_head) for l in corrected.lines]


def _emergency_rollback(line_2: str | None = None) -> str:
    """The seed runbook's Emergency Rollback lines 1-2 (history, rollback) as
    written, or with line 2 replaced, in the test's namespace."""
    seed = (ROOT / "runbook" / "gaudi3-scale-runbook.md").read_text()
    proc = load_runbook_text(seed).procedure("Emergency Rollback")
    history, rollback = [u.text.strip() for u in proc.units if u.kind == "command"][:2]
    assert rollback == "helm rollback gaudi3-scale 1 -n gaudi3-scale", rollback
    lines = [history, line_2 or rollback]
    body = "\n\n".join(l.replace("-n gaudi3-scale", f"-n {PROMOTE_NS}") for l in lines)
    return f"# Copy\n\n## Deployment Procedures\n\n### Emergency Rollback\n```bash\n{body}\n```\n"


def test_the_rollback_to_revision_1_is_not_the_previous_version(target, tmp_path, release_of_its_own):
    """Finding: Emergency Rollback line 2 says "Rollback to previous version" but
    rolls back to revision 1, the first install: on a release with three
    revisions (as the sandbox's production has) that is not the previous
    version. The same line without the revision (`helm rollback RELEASE`,
    as the runbook's Immediate Mitigation writes it) goes back to revision 2."""
    from gameday.sandbox import releases
    from gameday.sandbox.config import ReleaseConfig
    chart = ROOT / "deploy" / "helm" / "gaudi3-scale"
    rel = ReleaseConfig("gaudi3-scale", chart, PROMOTE_NS, (chart / "values-staging.yaml",))
    for _ in range(2):   # revisions 2 and 3
        proc = target.helm(releases.upgrade_argv("helm", rel)[1:] + ["--wait", "--timeout", "180s"], timeout=200)
        assert proc.returncode == 0, proc.stderr
    results = {}
    for name, line_2 in (("as written", None), ("corrected", f"helm rollback gaudi3-scale -n {PROMOTE_NS}")):
        folder = tmp_path / name.replace(" ", "-")
        path = _repo_with(folder, _emergency_rollback(line_2))
        settings_mod.beside(path).write_text(SETTINGS.replace(
            "helm history gaudi3-scale -n gaudi3-scale --max 2", f"helm history gaudi3-scale -n {PROMOTE_NS} --max 2"))
        history = target.helm(["history", "gaudi3-scale", "-n", PROMOTE_NS, "-o", "json"], timeout=60)
        before = max(r["revision"] for r in json.loads(history.stdout) if r["status"] == "deployed")
        checker = Checker(path, settings_mod.load(path), target, folder / "reports")
        try:
            results[name] = checker.run().procedures[0]
        finally:
            checker.close()
        # the check put the release back on the revision it found
        assert any(f"rolled back to revision {before}" in r for r in results[name].restored), results[name].restored
    written, corrected = results["as written"], results["corrected"]
    assert [l.verdict for l in written.lines[:2]] == ["passed", "passed"], [(l.reason, l.output_head) for l in written.lines]
    after = written.lines[2]
    assert after.text.startswith("(afterwards) the release is back on the previous version")
    assert after.verdict == "failed" and "Rollback to 1" in after.output_head, (after.reason, after.output_head)
    assert [l.verdict for l in corrected.lines] == ["passed", "passed", "passed"], \
        [(l.text, l.reason, l.output_head) for l in corrected.lines]


def test_the_health_script_reports_the_database_down_for_its_own_missing_import(target, tmp_path):
    """Finding: the System Health Check Script's database check calls os.environ
    without importing os, so its bare `except` prints CONNECTION FAILED against a
    healthy database; the same script importing os prints CONNECTED."""
    seed = (ROOT / "runbook" / "gaudi3-scale-runbook.md").read_text()
    verdicts = {}
    for name, text in (("as written", seed), ("corrected", seed.replace("import psycopg2\n", "import os, psycopg2\n", 1))):
        assert text.count("import os, psycopg2") == (name == "corrected")
        path = copy_runbook(tmp_path / name.replace(" ", "-"), text)
        checker = Checker(path, settings_mod.load(path), target, tmp_path / name.replace(" ", "-") / "reports")
        try:
            lines = checker.run(only="System Health Check Script").procedures[0].lines
        finally:
            checker.close()
        verdicts[name] = {l.text: l for l in lines}
    written = verdicts["as written"]["(expected output)"]
    assert written.verdict == "failed" and "missing 'Database: CONNECTED'" in written.reason, written.reason
    assert verdicts["corrected"]["(expected output)"].verdict == "passed", verdicts["corrected"]["(expected output)"].reason


def test_the_restore_names_a_dump_of_a_fixed_date_that_no_backup_made(target, tmp_path):
    """Finding: Database Recovery line 2 restores postgres-20240101-120000.sql.gz, a dump
    no backup of today has, so the database is not restored; the same procedure
    restoring the latest dump (the tool's `latest`) restores it. Run after the
    runbook's own backup line; the API is scaled back as it was found."""
    seed = (ROOT / "runbook" / "gaudi3-scale-runbook.md").read_text()
    recovery = load_runbook_text(seed).procedure("Database Recovery")
    block = recovery.blocks[0].text
    assert "/backup/database/postgres-20240101-120000.sql.gz" in block
    backup = "./backup-recovery/scripts/backup-automation.sh backup"
    assert backup in seed
    replicas = target.apps().read_namespaced_deployment("gaudi3-scale-api", "gaudi3-scale").spec.replicas
    results = {}
    for name, text in (("as written", block), ("corrected", block.replace(
            "/backup/database/postgres-20240101-120000.sql.gz", "latest"))):
        runbook = (f"# Copy\n\n## Backup and Recovery\n\n### Manual Backup\n```bash\n{backup}\n```\n\n"
                   f"### Database Recovery\n```bash\n{text}```\n")
        path = _repo_with(tmp_path / name.replace(" ", "-"), runbook)
        checker = Checker(path, settings_mod.load(path), target, tmp_path / name.replace(" ", "-") / "reports")
        try:
            made, restored = checker.run().procedures
        finally:
            checker.close()
        assert [l.verdict for l in made.lines] == ["passed"], made.lines[0].reason
        results[name] = {l.line: l for l in restored.lines}
        assert target.apps().read_namespaced_deployment("gaudi3-scale-api", "gaudi3-scale").spec.replicas == replicas
    line = min(l for l in results["as written"] if results["as written"][l].text.startswith("./backup-recovery"))
    written = results["as written"][line]
    assert written.verdict == "failed" and "20240101" in written.output_head + written.reason, \
        (written.reason, written.output_head)
    assert all(l.verdict == "passed" for l in results["corrected"].values()), \
        [(l.line, l.verdict, l.reason) for l in results["corrected"].values()]
