"""gameday.yaml: the reference project loads, and each kind of mistake is
one line naming the file, the line and the fix, with exit code 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gameday.errors import UserError
from gameday.project import load, parse

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "gameday.yaml").read_text()


def test_reference_project_loads_with_its_presets_and_placeholders():
    p = load(ROOT / "gameday.yaml")
    assert p.presets["kill-api-pod"].fault == "pod-kill"
    assert p.presets["kill-api-pod"].params["count"] == 1
    assert p.service("api").namespace in p.namespaces
    assert p.load.readback.path_for("42") == "/jobs/42"
    assert p.placeholders["<pod-name>"].names == "pod"
    assert p.hosts[0].host.startswith("https://")
    assert any("http" in c for c in p.steady_state)


def _error(tmp_path, text: str) -> str:
    path = tmp_path / "gameday.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        parse(text, path)
    msg = exc.value.message
    assert "\n" not in msg and msg.startswith(f"{path}:")
    return msg


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_key_names_its_line_and_the_allowed_keys(tmp_path):
    text = GOOD.replace("monitoring:\n", "monitoring:\n  grafana: {service: grafana, namespace: monitoring}\n")
    msg = _error(tmp_path, text)
    assert f":{_line_of(text, 'grafana:')}:" in msg and "unknown key 'grafana'" in msg and "prometheus" in msg


def test_wrong_type_names_its_line_and_an_example(tmp_path):
    text = GOOD.replace("  users: 10\n", "  users: ten\n")
    msg = _error(tmp_path, text)
    assert f":{_line_of(text, 'users: ten')}:" in msg and "load.users must be an integer" in msg and "users: 10" in msg


def test_missing_field_names_what_to_add(tmp_path):
    text = GOOD.replace("  api: {service: gaudi3-scale-api, namespace: gaudi3-scale}\n",
                        "  api: {service: gaudi3-scale-api}\n")
    msg = _error(tmp_path, text)
    assert f":{_line_of(text, '  api: {service')}:" in msg and "needs 'namespace'" in msg


def test_a_name_that_is_not_a_service(tmp_path):
    text = GOOD.replace("  service: api\n  users", "  service: frontend\n  users")
    msg = _error(tmp_path, text)
    assert f":{_line_of(text, 'service: frontend')}:" in msg and "'frontend' is not a name of services" in msg


def test_preset_of_an_unknown_kind_or_parameter(tmp_path):
    msg = _error(tmp_path, GOOD.replace("{fault: pod-kill, selector: app.kubernetes.io/name=postgres",
                                        "{fault: pod-explode, selector: app.kubernetes.io/name=postgres"))
    assert "unknown fault kind 'pod-explode'" in msg and "pod-kill" in msg
    text = GOOD.replace("namespace: database, replicas: 0}", "namespace: database, replica: 0}")
    msg = _error(tmp_path, text)
    assert f"gameday.yaml:{_line_of(text, 'replica: 0}')}" in msg and "unknown parameter 'replica'" in msg and "replicas" in msg


def test_preset_outside_the_blast_radius_is_refused(tmp_path):
    msg = _error(tmp_path, GOOD.replace("{fault: network-cut, namespace: database,", "{fault: network-cut, namespace: kube-system,"))
    assert "outside target.namespaces" in msg


def test_not_yaml_names_the_line(tmp_path):
    text = GOOD.replace("  users: 10\n", "  users: [10\n")
    msg = _error(tmp_path, text)
    assert "not valid YAML" in msg


def test_cli_exit_2_and_one_line(tmp_path):
    bad = tmp_path / "gameday.yaml"
    bad.write_text(GOOD.replace("  users: 10\n", "  users: ten\n"))
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "coverage", "--project", str(bad)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "load.users must be an integer" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "coverage", "--project", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "project file not found" in proc.stderr


def test_sandbox_user_is_a_service_account_or_one_line(tmp_path):
    base = GOOD.replace("  sandbox_user: serviceaccount gaudi3-scale/gameday\n", "")
    ok = base.replace("  sandbox: deploy/sandbox/sandbox.yaml\n",
                      "  sandbox: deploy/sandbox/sandbox.yaml\n  sandbox_user: serviceaccount shop/drills\n")
    assert parse(ok, tmp_path / "gameday.yaml").sandbox_serviceaccount == ("shop", "drills")
    assert parse(base, tmp_path / "gameday.yaml").sandbox_serviceaccount is None
    bad = ok.replace("serviceaccount shop/drills", "shop-drills")
    msg = _error(tmp_path, bad)
    assert f":{_line_of(bad, 'sandbox_user')}:" in msg and "write serviceaccount NAMESPACE/NAME" in msg
