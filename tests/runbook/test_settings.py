"""The runbook settings' `afterwards:` expectations (gameday.runbook.settings):
commands that must hold once a procedure ran; a malformed one is one line
naming its file."""
from pathlib import Path

import pytest

from gameday.cli import main
from gameday.errors import UserError
from gameday.runbook import settings
from gameday.runbook.settings import RunbookSettings

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = "# R\n\n## S\n\n### Proc\n```bash\nkubectl get pods -n x\n```\n"


def test_afterwards_loads_as_what_and_run_pairs_in_order():
    s = RunbookSettings.from_dict({"expectations": {"proc": {
        "must_appear": ["ok"],
        "afterwards": [{"what": "the API is on 1.2", "run": "test \"$(cat tag)\" = 1.2\n"},
                       {"what": "two replicas", "run": "kubectl get deploy api"}]}}}, "r.gameday.yaml")
    exp = s.expectations["proc"]
    assert exp.afterwards == (("the API is on 1.2", "test \"$(cat tag)\" = 1.2\n"), ("two replicas", "kubectl get deploy api"))
    assert exp.must_appear == ("ok",)
    assert RunbookSettings.from_dict({"expectations": {"proc": {"must_appear": ["ok"]}}}, "x").expectations[
        "proc"].afterwards == ()


def test_the_shipped_settings_check_the_promote_afterwards():
    s = settings.load(ROOT / "runbook" / "gaudi3-scale-runbook.md")
    ((what, run),) = s.expectations["deployment-process"].afterwards
    assert "stable API" in what and "kubectl get deployment gaudi3-scale-api" in run


@pytest.mark.parametrize("afterwards", [
    "kubectl get pods",                                  # not a list
    {"what": "x", "run": "true"},                        # one item, not in a list
    [{"what": "x"}],                                     # no run
    [{"run": "true"}],                                   # no what
    [{"what": "x", "run": ["true"]}],                    # run not a text
    ["true"],                                            # an item that is not a mapping
    [{"what": "x", "run": "true"}, {"what": "y"}],       # the second one broken
])
def test_a_malformed_afterwards_names_the_source(afterwards):
    with pytest.raises(UserError) as err:
        RunbookSettings.from_dict({"expectations": {"proc": {"afterwards": afterwards}}}, "r.gameday.yaml")
    message = str(err.value)
    assert message.startswith("r.gameday.yaml: expectations.proc.afterwards must be a list of ")
    assert "\n" not in message


def test_a_malformed_afterwards_in_the_file_beside_the_runbook_is_exit_2(tmp_path, capsys):
    path = tmp_path / "r.md"
    path.write_text(RUNBOOK)
    (tmp_path / "r.gameday.yaml").write_text("expectations:\n  proc:\n    afterwards:\n      - what: no command\n")
    assert main(["runbook", "check", str(path), "--kubeconfig", str(tmp_path / "nokube")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'r.gameday.yaml'}: expectations.proc.afterwards" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_runbook_without_settings_takes_the_projects_placeholders_hosts_and_namespaces(tmp_path):
    """No `runbook:` section and no file beside the runbook: the project's own
    `placeholders:` and `hosts:` (what its scenarios use) serve the check."""
    from gameday.runbook import settings as settings_mod
    (tmp_path / "gameday.yaml").write_text(
        "name: p\nrunbooks: [rb.md]\ntarget: {namespaces: [shop]}\nsteady_state: {checks: [{deployment: shop-web, ns: shop}]}\n"
        "services: {web: {service: shop-web, namespace: shop, port: 8080}}\n"
        "placeholders:\n"
        "  '<web-pod>': {names: pod, selector: app=web, namespace: shop}\n"
        "  '<node-name>': {names: node}\n"
        "hosts: {'https://shop.example.com/': {service: web}}\n")
    (tmp_path / "rb.md").write_text("# R\n")
    s = settings_mod.load(tmp_path / "rb.md", tmp_path / "gameday.yaml")
    assert s.placeholders == {"<web-pod>": {"pod": "app=web", "namespace": "shop"}, "<node-name>": {"node": ""}}
    assert s.hosts == {"https://shop.example.com": "service:shop-web.shop:8080"}
    assert s.namespaces == ("shop",)
    # A file beside the runbook still wins.
    (tmp_path / "rb.gameday.yaml").write_text("hosts: {'https://shop.example.com': 'http://127.0.0.1:1'}\n")
    assert settings_mod.load(tmp_path / "rb.md", tmp_path / "gameday.yaml").hosts == \
        {"https://shop.example.com": "http://127.0.0.1:1"}
