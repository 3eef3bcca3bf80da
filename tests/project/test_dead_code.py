"""Nothing in the harness is dead: vulture over src/gameday (the sandbox is
checked by its owners), with the project's users (steps, features, tests)
as callers. Names only reached by reflection are listed in
vulture_whitelist.py: Chaos Toolkit providers, pytest and chaoslib hooks,
dataclass fields read by reports, timeline kinds."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHITELIST = Path(__file__).with_name("vulture_whitelist.py")


def test_no_dead_code_in_the_harness():
    if shutil.which("vulture") is None and subprocess.run([sys.executable, "-m", "vulture", "--version"],
                                                         capture_output=True).returncode != 0:
        pytest.skip("vulture is not installed (pip install vulture)")
    providers = set()  # Chaos Toolkit calls these by name from the experiments
    for f in [*ROOT.glob("experiments/*.json"), *ROOT.glob("tests/drill/experiments/*.json"), *ROOT.glob("examples/*/experiments/*.json")]:
        doc = json.loads(f.read_text())
        for a in [*doc.get("steady-state-hypothesis", {}).get("probes", []), *doc.get("method", []), *doc.get("rollbacks", [])]:
            providers.add((a.get("provider") or {}).get("func") or "")
    proc = subprocess.run([sys.executable, "-m", "vulture", "src/gameday", "steps", "features", "tests", "loadtests",
                           str(WHITELIST), "--exclude", "src/gameday/sandbox,tests/sandbox", "--min-confidence", "60",
                           "--ignore-names", ",".join(["pytest_*", *sorted(filter(None, providers))]), "--ignore-decorators", "@pytest.fixture,@given,@when,@then"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    dead = [line for line in proc.stdout.splitlines() if line.startswith("src/gameday/")]
    assert not dead, "dead code (delete it, or whitelist a name reached by reflection):\n" + "\n".join(dead)
