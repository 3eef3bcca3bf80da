"""The alert rules: one source renders both profiles, and promtool accepts
and unit-tests them."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = [DEPLOY / "monitoring/rules/gaudi3-scale.rules.yml", DEPLOY / "sandbox/overlay/rules/gaudi3-scale.rules.yml"]
promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Prometheus) is not installed")


def test_committed_files_equal_the_rendered_output():
    out = subprocess.run([sys.executable, "-m", "gaudi3_scale.alerts", "render", "--check", "--deploy", str(DEPLOY)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_profiles_differ_only_in_durations_and_discovery():
    import yaml

    from gaudi3_scale.alerts.profiles import PRODUCTION, SANDBOX
    from gaudi3_scale.alerts.rules import rule_groups

    prod, sand = (rule_groups(p)["groups"][0]["rules"] for p in (PRODUCTION, SANDBOX))
    assert [r["alert"] for r in prod] == [r["alert"] for r in sand] == [
        "ApiDown", "HighApiLatency", "DatabaseDown", "HpuMemoryHigh", "TrainingJobFailed", "PodCrashLooping", "PodsNotReady"]
    assert yaml.safe_load(RULES[1].read_text().split("\n", 1)[1])["groups"][0]["interval"] == "1s"


@promtool
def test_promtool_check_rules():
    out = subprocess.run(["promtool", "check", "rules", *map(str, RULES)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("SUCCESS: 7 rules found") == 2


@promtool
@pytest.mark.parametrize("test_file", sorted((DEPLOY / "monitoring/tests").glob("*.yml")), ids=lambda p: p.name)
def test_promtool_test_rules(test_file):
    out = subprocess.run(["promtool", "test", "rules", test_file.name], cwd=test_file.parent,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def _check_config(tmp_path, cm: dict) -> subprocess.CompletedProcess:
    import yaml

    cfg = yaml.safe_load(cm["data"]["prometheus.yml"].replace("/etc/prometheus/", str(tmp_path) + "/"))
    (tmp_path / "gaudi3-scale.rules.yml").write_text(cm["data"]["gaudi3-scale.rules.yml"])
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    return subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, timeout=120)


@promtool
@pytest.mark.parametrize("profile", ["monitoring", "sandbox/overlay"])
def test_promtool_check_config(tmp_path, profile):
    """The Prometheus config parses, with its rules (paths pointed at the rendered files)."""
    import yaml

    cm = yaml.safe_load((DEPLOY / profile / "prometheus-config.yaml").read_text())
    out = _check_config(tmp_path, cm)
    if out.returncode and "kubernetes_sd_configs" in out.stdout + out.stderr:
        # Debian's Prometheus is built without kubernetes_sd: check everything
        # else (relabelling, rules, alerting) with the discovery swapped for a static target.
        cfg = yaml.safe_load(cm["data"]["prometheus.yml"])
        for job in cfg["scrape_configs"]:
            if job.pop("kubernetes_sd_configs", None) is not None:
                job["static_configs"] = [{"targets": ["10.0.0.1:8000"]}]
        cm["data"]["prometheus.yml"] = yaml.safe_dump(cfg)
        out = _check_config(tmp_path, cm)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 7 rules found" in out.stdout
