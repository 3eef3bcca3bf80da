"""Feature files as data: scenarios with their tags, steps and line numbers,
read with pytest-bdd's own Gherkin parser so that what `gameday coverage`
and the pre-flight checks see is exactly what pytest-bdd will run."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.parser import FeatureParser

from ..errors import UserError

RUNBOOK_TAG = "runbook:"
PROCEDURE_TAG = "procedure:"


@dataclass(frozen=True)
class StepRef:
    type: str                     # given / when / then
    keyword: str                  # as written (And, But ...)
    text: str
    line: int
    table: tuple[tuple[str, ...], ...] | None = None
    table_lines: tuple[int, ...] = ()
    docstring: str | None = None


@dataclass(frozen=True)
class ScenarioRef:
    file: str                     # as given (relative when given relative)
    feature: str
    name: str
    line: int
    tags: frozenset[str] = frozenset()
    steps: tuple[StepRef, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return scenario_key(self.file, self.name)

    @property
    def sections(self) -> frozenset[str]:
        return frozenset(t[len(RUNBOOK_TAG):] for t in self.tags if t.startswith(RUNBOOK_TAG))

    @property
    def procedures(self) -> frozenset[str]:
        return frozenset(t[len(PROCEDURE_TAG):] for t in self.tags if t.startswith(PROCEDURE_TAG))

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def scenario_key(path: str, name: str) -> str:
    """Stable identity across runs: the file (relative to the working
    folder when inside it) and the scenario name."""
    rel = os.path.relpath(os.path.abspath(path))
    return f"{path if rel.startswith('..') else rel}::{name}"


def feature_files(paths: list[str] | tuple[str, ...]) -> list[str]:
    """Expand directories into their `.feature` files (sorted, recursive)."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(sorted(str(f) for f in Path(p).rglob("*.feature")))
        elif os.path.isfile(p):
            if not p.endswith(".feature"):
                raise UserError(f"{p}: not a .feature file; pass Gherkin feature files or a folder of them")
            out.append(p)
        else:
            raise UserError(f"{p}: no such feature file or folder")
    return out


def load(path: str) -> list[ScenarioRef]:
    """Every scenario of one feature file; a Gherkin syntax error is one
    UserError naming the file and line."""
    base, name = os.path.split(os.path.abspath(path))
    try:
        feature = FeatureParser(base, name).parse()
    except GherkinParseError as exc:
        raise UserError(f"{path}:{exc.line}: {exc.message.strip()} (line: {exc.line_content.strip()!r}); "
                        f"fix the Gherkin syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the feature file ({exc})") from None
    out = []
    for template in feature.scenarios.values():
        steps = []
        for s in template.steps:
            table = lines = None
            if s.datatable is not None:
                table = tuple(tuple(str(c.value) for c in row.cells) for row in s.datatable.rows)
                lines = tuple(row.location.line for row in s.datatable.rows)
            steps.append(StepRef(s.type, s.keyword, s.name, s.line_number, table, lines or (), s.docstring))
        out.append(ScenarioRef(path, feature.name, template.name, template.line_number,
                               frozenset(template.tags | feature.tags), tuple(steps)))
    return out


def load_all(paths: list[str] | tuple[str, ...]) -> list[ScenarioRef]:
    return [s for f in feature_files(paths) for s in load(f)]
