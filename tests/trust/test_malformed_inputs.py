"""Bad input, tried at scale: hypothesis generates malformed experiments,
SLA tables, feature files, kubeconfigs and runbooks and feeds them to the
`gameday` commands that load them (in-process, so thousands are cheap).
Each answer is one line on stderr naming the file, exit 2, never a
traceback; nothing reaches a cluster (the kubeconfig given names a closed
loopback port, or the input is refused before any target is read). The
test prints how many inputs it tried."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from gameday.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("GAMEDAY_FUZZ_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TRIED: dict[str, int] = {}
TRACEBACKS: dict[str, int] = {}

GOOD_EXPERIMENT = json.loads((ROOT / "tests" / "drill" / "experiments" / "web-pod-kill.json").read_text())
CLOSED_PORT_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: fuzz, context: {cluster: c, user: u}}]
current-context: fuzz
"""

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda c: st.one_of(st.lists(c, max_size=3),
                                                        st.dictionaries(st.text(max_size=10), c, max_size=3)),
                          max_leaves=8)


def write(path: Path, text: str) -> None:
    """As bytes: a lone surrogate the generator drew becomes invalid UTF-8 (a malformed file too)."""
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


def run_cli(kind: str, argv: list[str]) -> tuple[int, str]:
    """gameday ARGV in-process: (exit code, stderr). An exception escaping
    main is the traceback a user would see: the test fails on it."""
    err, out = io.StringIO(), io.StringIO()
    TRIED[kind] = TRIED.get(kind, 0) + 1
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException:
            TRACEBACKS[kind] = TRACEBACKS.get(kind, 0) + 1
            raise
    text = err.getvalue()
    if "Traceback" in text:
        TRACEBACKS[kind] = TRACEBACKS.get(kind, 0) + 1
    return rc, text


def assert_one_line_error(rc: int, err: str, path: Path, allowed=(2,)) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("WARNING", "INFO"))]
    assert "Traceback" not in err, err
    assert rc in allowed, (rc, err)
    if rc == 3:
        return  # the input was good after all: the run reached the (closed) target and said so in its report
    assert len(lines) == 1, err
    assert lines[0].startswith("gameday: error: "), err
    if rc == 2:
        assert str(path.name) in lines[0], f"the error does not name {path}: {err}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    (d / "kubeconfig").write_text(CLOSED_PORT_KUBECONFIG)
    return d


# -- experiments ------------------------------------------------------------------
def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(GOOD_EXPERIMENT) if p]


@st.composite
def broken_experiment(draw) -> str:
    how = draw(st.sampled_from(["replace", "delete", "text", "truncate"]))
    if how == "text":
        return draw(st.text(max_size=200))
    if how == "truncate":
        raw = json.dumps(GOOD_EXPERIMENT)
        return raw[:draw(st.integers(0, len(raw) - 1))]
    doc = copy.deepcopy(GOOD_EXPERIMENT)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            if how == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(json_value)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(doc, allow_nan=True)


@SETTINGS
@given(text=broken_experiment())
def test_malformed_experiments(workdir, text):
    path = workdir / "experiment.json"
    write(path, text)
    rc, err = run_cli("experiments", ["run", str(path), "--kubeconfig", str(workdir / "kubeconfig"),
                                      "--allow-context", "fuzz", "--reports", str(workdir / "reports")])
    if rc == 2 or rc == 3:
        # 3: the experiment was good after all and the (closed) target was refused.
        assert_one_line_error(rc, err, path, allowed=(2, 3))
    else:
        pytest.fail(f"exit {rc} for a malformed experiment: {err}")


# -- feature files and SLA tables -------------------------------------------------
HEAD = "@runbook:emergency-response\nFeature: Fuzz\n  @procedure:immediate-mitigation\n  Scenario: fuzzed\n" \
       "    Given the platform is at steady state under a load of 2 users\n"
metric = st.one_of(st.sampled_from(["time_to_detect", "time_to_recover", "error_rate", "p99_latency",
                                    "lost_writes", "training_steps_lost"]), st.text(max_size=15))
op = st.sampled_from(["<=", "<", ">=", ">", "==", "=", "=>", "", "!"])
limit = st.one_of(st.text(max_size=8), st.integers(-5, 10**6).map(str),
                  st.tuples(st.floats(allow_nan=True), st.sampled_from(["s", "ms", "%", "m", "", "x"])).map(
                      lambda t: f"{t[0]}{t[1]}"))
cell = st.text(alphabet=st.characters(blacklist_characters="|\n\r"), max_size=15)


@st.composite
def sla_table(draw) -> str:
    header = draw(st.sampled_from(["| metric | limit |", "| limit | metric |", "| metric |", "| a | b | c |"]))
    rows = draw(st.lists(st.one_of(
        st.tuples(metric, op, limit).map(lambda t: f"| {t[0]} | {t[1]} {t[2]} |"),
        st.lists(cell, max_size=4).map(lambda cs: "| " + " | ".join(cs) + " |")), max_size=4))
    body = "    Then the SLA is met:\n" + "".join(f"      {r}\n" for r in [header, *rows])
    # One line surely wrong, so the table must be refused (a valid table would start a drill).
    return HEAD + body + "      | time_to_recovr | <= 90s |\n"


keyword = st.sampled_from(["Feature:", "Scenario:", "Scenario Outline:", "Examples:", "Background:", "Given", "When",
                           "Then", "And", "But", "@p0", "@runbook:", "|", '"""', "#", "Rule:", "*"])
line = st.tuples(st.sampled_from(["", "  ", "    ", "\t"]), keyword, st.text(max_size=30)).map(
    lambda t: f"{t[0]}{t[1]} {t[2]}".replace("\r", " "))


@st.composite
def broken_feature(draw) -> str:
    lines = draw(st.lists(line, min_size=1, max_size=12))
    # An unknown step at the end: whatever else it is, this file cannot run.
    return "\n".join(lines) + "\n    When the fuzzer asks for a step nobody wrote\n"


def _drill(workdir, text, kind) -> tuple[int, str, Path]:
    path = workdir / "fuzz.feature"
    write(path, text)
    rc, err = run_cli(kind, ["drill", str(path), "--kubeconfig", str(workdir / "kubeconfig"), "--allow-context",
                             "fuzz", "--reports", str(workdir / "reports")])
    return rc, err, path


@SETTINGS
@given(text=sla_table())
def test_malformed_sla_tables(workdir, text, monkeypatch):
    monkeypatch.chdir(ROOT)  # steps/ is found beside features/
    rc, err, path = _drill(workdir, text, "SLA tables")
    assert_one_line_error(rc, err, path)


@SETTINGS
@given(text=broken_feature())
def test_malformed_feature_files(workdir, text, monkeypatch):
    monkeypatch.chdir(ROOT)
    rc, err, path = _drill(workdir, text, "feature files")
    assert_one_line_error(rc, err, path)


# -- kubeconfigs ------------------------------------------------------------------
kc_key = st.sampled_from(["apiVersion", "kind", "clusters", "contexts", "users", "current-context", "name",
                          "cluster", "context", "user", "server", "token", "namespace"])
kc_value = st.recursive(st.one_of(json_leaf, st.just("https://127.0.0.1:1"), st.just("fuzz")),
                        lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(kc_key, c, max_size=4)),
                        max_leaves=10)


@st.composite
def broken_kubeconfig(draw) -> str:
    if draw(st.booleans()):
        return draw(st.text(max_size=120))
    doc = yaml.safe_load(CLOSED_PORT_KUBECONFIG)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(kc_key)
        if draw(st.booleans()):
            doc.pop(key, None)
        else:
            doc[key] = draw(kc_value)
    return yaml.safe_dump(doc)


@SETTINGS
@given(text=broken_kubeconfig())
def test_malformed_kubeconfigs(workdir, text):
    path = workdir / "fuzz-kubeconfig"
    write(path, text)
    good = workdir / "good.json"
    good.write_text(json.dumps(GOOD_EXPERIMENT))
    rc, err = run_cli("kubeconfigs", ["run", str(good), "--kubeconfig", str(path), "--allow-context", "fuzz",
                                      "--reports", str(workdir / "reports")])
    # 3: a kubeconfig good enough to name the closed loopback port: unreachable, said in one line.
    assert_one_line_error(rc, err, path, allowed=(2, 3))


# -- runbooks ---------------------------------------------------------------------
md_line = st.tuples(st.sampled_from(["", "#", "##", "###", "####", "-", "1.", "```", ">", "|"]),
                    st.text(alphabet=st.characters(blacklist_characters="\r\x00"), max_size=30)).map(
    lambda t: f"{t[0]} {t[1]}".strip())


@SETTINGS
@given(lines=st.lists(md_line, max_size=15))
def test_malformed_runbooks(workdir, lines, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = workdir / "runbook.md"
    write(path, "\n".join(lines))
    rc, err = run_cli("runbooks", ["coverage", str(path), "--features", str(ROOT / "features"),
                                   "--reports", str(workdir / "reports")])
    if rc == 2:
        assert_one_line_error(rc, err, path)
    else:
        # A runbook with no procedure the features verify is no error, only uncovered (exit 1) or covered (0).
        assert rc in (0, 1) and "Traceback" not in err, (rc, err)


def test_zz_report_inputs_tried():
    total = sum(TRIED.values())
    print("malformed inputs tried: " + ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items()))
          + f"; {total} in all; tracebacks seen: {sum(TRACEBACKS.values())}")
    assert not TRACEBACKS
