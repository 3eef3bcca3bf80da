"""The harness knows no platform: src/gameday names no Gaudi 3 Scale, and
never imports the reference platform's package."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gameday"


def test_no_platform_name_in_the_harness():
    hits = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml", ".md", ".json")
            for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if "gaudi" in line.lower()]
    assert not hits, f"platform names in src/gameday (move them to gameday.yaml): {hits}"


def test_the_harness_never_imports_the_reference_platform():
    offenders = []
    for p in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{p.relative_to(SRC)}: {n}" for n in names if n.split(".")[0] == "gaudi3_scale"]
    assert not offenders


def test_the_platforms_metric_names_live_in_its_project_file():
    """The names the reference platform's /metrics uses (read from its
    gameday.yaml) are nowhere in the harness: it reads them from the file."""
    import yaml
    progress = yaml.safe_load((SRC.parents[1] / "gameday.yaml").read_text())["progress"]
    names = [v for k, v in progress.items() if k.endswith("metric")]
    assert len(names) == 4
    hits = [f"{p.relative_to(SRC)}:{i}: {n}" for p in SRC.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) for n in names if n in line]
    assert not hits, f"platform metric names in src/gameday (they belong in gameday.yaml): {hits}"
