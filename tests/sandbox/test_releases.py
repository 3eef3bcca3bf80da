"""The sandbox's Helm releases (`releases:` in sandbox.yaml,
gameday.sandbox.releases) and where gameday finds outside programs
(gameday.programs). No sandbox is started here: a bad config is found
before anything runs."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gameday import programs
from gameday.errors import UserError
from gameday.sandbox import config, releases
from gameday.sandbox.cli import leftover_processes

ROOT = Path(__file__).resolve().parents[2]


def _chart(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (where / "values-staging.yaml").write_text("replicas: 1\n")
    return where


@pytest.fixture()
def conf(tmp_path):
    """A sandbox.yaml in conf/, a chart in charts/shop beside it."""
    _chart(tmp_path / "charts" / "shop")
    (tmp_path / "conf").mkdir()
    return tmp_path / "conf" / "sandbox.yaml"


# --- the releases: key ---------------------------------------------------------

def test_releases_load_with_paths_relative_to_the_file(conf, tmp_path):
    conf.write_text(
        "releases:\n"
        "  - {name: shop, chart: ../charts/shop, namespace: shop}\n"
        "  - name: shop\n"
        "    chart: ../charts/shop\n"
        "    namespace: shop-staging\n"
        "    values: [../charts/shop/values-staging.yaml]\n"
        "    set: {image.tag: '1.2', replicas: 3, empty: null}\n")
    chart = (tmp_path / "charts" / "shop").resolve()
    got = config.load(conf).releases
    assert got == (
        config.ReleaseConfig("shop", chart, "shop"),
        config.ReleaseConfig("shop", chart, "shop-staging", (chart / "values-staging.yaml",),
                             (("image.tag", "1.2"), ("replicas", "3"), ("empty", ""))),
    )
    assert all(r.chart.is_absolute() for r in got)


def test_no_releases_key_and_an_empty_list_mean_no_releases(conf):
    conf.write_text("crashloop: {base_seconds: 1}\n")
    assert config.load(conf).releases == ()
    conf.write_text("releases: []\n")
    assert config.load(conf).releases == ()


def test_the_shipped_sandbox_config_installs_production_three_times_and_staging():
    """Production gets a history of three revisions: its previous version (2)
    is not its first install (1), as on a release with a few upgrades."""
    got = config.load(ROOT / "deploy" / "sandbox" / "sandbox.yaml").releases
    chart = (ROOT / "deploy" / "helm" / "gaudi3-scale").resolve()
    assert [(r.name, r.namespace, r.chart) for r in got] == [
        ("gaudi3-scale", "gaudi3-scale", chart)] * 3 + [("gaudi3-scale", "gaudi3-scale-staging", chart)]
    assert got[3].values == (chart / "values-staging.yaml",)


GOOD = "{name: shop, chart: ../charts/shop, namespace: shop}"


@pytest.mark.parametrize("releases_yaml, says", [
    ("shop", "releases must be a list"),
    ("{name: shop, chart: ../charts/shop, namespace: shop}", "releases must be a list"),
    ("[shop]", "releases[0] must be a mapping"),
    ("[{chart: ../charts/shop, namespace: shop}]", "releases[0].name is required"),
    ("[{name: shop, namespace: shop}]", "releases[0].chart is required"),
    ("[{name: shop, chart: ../charts/shop}]", "releases[0].namespace is required"),
    ("[{name: '', chart: ../charts/shop, namespace: shop}]", "releases[0].name is required"),
    ("[{name: 3, chart: ../charts/shop, namespace: shop}]", "releases[0].name is required"),
    ("[{name: Shop_1, chart: ../charts/shop, namespace: shop}]", "must be DNS labels"),
    ("[{name: shop, chart: ../charts/shop, namespace: bad.ns}]", "must be DNS labels"),
    ("[{name: shop-, chart: ../charts/shop, namespace: shop}]", "must be DNS labels"),
    ("[{name: shop, chart: ../charts, namespace: shop}]", "releases[0].chart ../charts: no Chart.yaml there"),
    ("[{name: shop, chart: ../nowhere, namespace: shop}]", "releases[0].chart ../nowhere: no Chart.yaml there"),
    ("[{name: shop, chart: ../charts/shop, namespace: shop, values: [../charts/shop/values-prod.yaml]}]",
     "releases[0].values: no such file ../charts/shop/values-prod.yaml"),
    ("[{name: shop, chart: ../charts/shop, namespace: shop, values: ../charts/shop/values-staging.yaml}]",
     "releases[0].values must be a list of paths"),
    ("[{name: shop, chart: ../charts/shop, namespace: shop, sett: {a: b}}]", "releases[0]: unknown key(s) sett"),
    ("[{name: shop, chart: ../charts/shop, namespace: shop, set: [a=b]}]", "releases[0].set must be a mapping"),
    ("[{name: shop, chart: ../charts/shop, namespace: shop, set: a=b}]", "releases[0].set must be a mapping"),
    (f"[{GOOD}, {{name: shop, chart: ../charts/shop}}]", "releases[1].namespace is required"),
])
def test_a_bad_release_is_one_line_naming_the_file(conf, releases_yaml, says):
    conf.write_text(f"releases: {releases_yaml}\n")
    with pytest.raises(UserError) as err:
        config.load(conf)
    message = str(err.value)
    assert message.startswith(f"{conf}: ") and says in message, message
    assert "\n" not in message


# --- helm's command line, environment, and the program itself ----------------------

def test_upgrade_argv_installs_or_upgrades_with_values_and_sets(tmp_path):
    rel = config.ReleaseConfig("shop", tmp_path / "chart", "shop-ns", (tmp_path / "a.yaml", tmp_path / "b.yaml"),
                               (("image.tag", "1.2"), ("empty", "")))
    assert releases.upgrade_argv("/bin/helm", rel) == [
        "/bin/helm", "upgrade", "--install", "shop", str(tmp_path / "chart"), "--namespace", "shop-ns",
        "--values", str(tmp_path / "a.yaml"), "--values", str(tmp_path / "b.yaml"),
        "--set", "image.tag=1.2", "--set", "empty="]
    bare = config.ReleaseConfig("shop", tmp_path / "chart", "shop-ns")
    assert releases.upgrade_argv("helm", bare) == ["helm", "upgrade", "--install", "shop", str(tmp_path / "chart"),
                                                   "--namespace", "shop-ns"]


def test_helm_env_keeps_helm_out_of_the_users_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HELM_CACHE_HOME", str(Path.home() / ".cache" / "helm"))
    monkeypatch.setenv("HELM_CONFIG_HOME", str(Path.home() / ".config" / "helm"))
    monkeypatch.delenv("HELM_DATA_HOME", raising=False)
    monkeypatch.setenv("SOME_USER_VAR", "kept")
    home = tmp_path / "helm"
    env = programs.helm_env(tmp_path / "kubeconfig", home)
    assert env["KUBECONFIG"] == str(tmp_path / "kubeconfig")
    assert (env["HELM_CACHE_HOME"], env["HELM_CONFIG_HOME"], env["HELM_DATA_HOME"]) == (
        str(home / "cache"), str(home / "config"), str(home / "data"))
    assert env["SOME_USER_VAR"] == "kept"   # the rest of the environment (PATH, proxies) is the user's


def test_require_helm_without_helm_is_one_line_naming_the_file(monkeypatch, tmp_path):
    rel = (config.ReleaseConfig("shop", tmp_path, "shop"),)
    monkeypatch.setattr(programs, "find", lambda name: None)
    with pytest.raises(UserError) as err:
        releases.require_helm(rel, "deploy/sandbox/sandbox.yaml")
    message = str(err.value)
    assert message.startswith("deploy/sandbox/sandbox.yaml: ") and "helm" in message and "\n" not in message
    assert releases.require_helm((), "deploy/sandbox/sandbox.yaml") is None   # no releases: helm not needed
    monkeypatch.setattr(programs, "find", lambda name: f"/opt/bin/{name}")
    assert releases.require_helm(rel, "x.yaml") == "/opt/bin/helm"


def test_install_stops_at_a_failing_release_with_helms_reason(tmp_path):
    """The real helm against an API server that is not there: one line naming the release."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
        "current-context: c\n")
    rel = config.ReleaseConfig("shop", ROOT / "deploy" / "helm" / "gaudi3-scale", "shop-ns")
    with pytest.raises(RuntimeError) as err:
        releases.install((rel,), kubeconfig, tmp_path / "helm")
    message = str(err.value)
    assert message.startswith("helm upgrade --install shop -n shop-ns failed: ") and "unreachable" in message
    assert "\n" not in message


# --- gameday sandbox up with a bad releases: ----------------------------------------

def test_sandbox_up_with_a_bad_release_is_one_line_exit_2_and_starts_nothing(conf, tmp_path):
    conf.write_text("releases:\n  - {name: shop, chart: ../charts/nowhere, namespace: shop}\n")
    state = tmp_path / "state"
    env = dict(os.environ, GAMEDAY_SANDBOX_DIR=str(state))
    result = subprocess.run([sys.executable, "-m", "gameday.cli", "sandbox", "up", "--config", str(conf),
                             "--state-dir", str(state)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(conf) in result.stderr and "releases[0].chart ../charts/nowhere: no Chart.yaml there" in result.stderr
    assert result.stdout == ""
    assert not state.exists()   # no state directory, no daemon, no kubeconfig
    assert leftover_processes(state.resolve()) == []


# --- gameday.programs.find -------------------------------------------------------------

def test_find_prefers_path(tmp_path, monkeypatch):
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert programs.find("helm") == str(fake)


def test_find_falls_back_to_the_interpreters_folder(tmp_path, monkeypatch):
    # an interpreter's folder of our own, holding an executable helm (where make setup puts it
    # when no helm is on PATH)
    (tmp_path / "bin").mkdir()
    helm = tmp_path / "bin" / "helm"
    helm.write_text("#!/bin/sh\nexit 0\n")
    helm.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert programs.find("helm") == str(helm)
    assert programs.find("no-such-program-anywhere") is None
    helm.unlink()
    # a file beside the interpreter that cannot run is not a program
    (tmp_path / "bin" / "helm").write_text("not executable\n")
    assert programs.find("helm") is None
