"""Runbook coverage: which scenarios verify each procedure, and their last
verdict. A scenario verifies a procedure when it is tagged with the
procedure's section (`@runbook:<section>`, usually on the feature) and the
procedure itself (`@procedure:<slug>`). Pure: the CLI does the reading."""
from __future__ import annotations

from dataclasses import dataclass

from .features import ScenarioRef
from .runbook import Procedure, Runbook, Section


@dataclass(frozen=True)
class Covered:
    section: Section
    procedure: Procedure
    scenarios: tuple[ScenarioRef, ...]
    verdicts: tuple[str, ...]      # one per scenario: passed / failed / ... / never run

    @property
    def covered(self) -> bool:
        return bool(self.scenarios)

    @property
    def status(self) -> str:
        if not self.scenarios:
            return "NOT COVERED"
        if all(v == "passed" for v in self.verdicts):
            return "passed"
        if any(v == "failed" or v == "error" for v in self.verdicts):
            return "failed"
        return "not run" if all(v == "never run" for v in self.verdicts) else "partly run"


@dataclass(frozen=True)
class Coverage:
    runbook: Runbook
    rows: tuple[Covered, ...]
    unknown_tags: tuple[tuple[ScenarioRef, str], ...]   # tags naming no runbook heading

    @property
    def uncovered(self) -> list[Covered]:
        return [r for r in self.rows if not r.covered]


def compute(runbook: Runbook, scenarios: list[ScenarioRef], verdicts: dict[str, str]) -> Coverage:
    rows = []
    known: set[tuple[str, str]] = set()
    for section, proc in runbook.procedures:
        known.add((section.slug, proc.slug))
        mine = tuple(s for s in scenarios if section.slug in s.sections and proc.slug in s.procedures)
        rows.append(Covered(section, proc, mine, tuple(verdicts.get(s.key, "never run") for s in mine)))
    section_slugs = {s.slug for s in runbook.sections}
    unknown = []
    for s in scenarios:
        for sec in sorted(s.sections - section_slugs):
            unknown.append((s, f"@runbook:{sec}"))
        for proc in sorted(s.procedures):
            if not any((sec, proc) in known for sec in s.sections):
                unknown.append((s, f"@procedure:{proc}"))
    return Coverage(runbook, tuple(rows), tuple(unknown))


def format_table(cov: Coverage) -> str:
    lines = [f"Runbook: {cov.runbook.path} ({len(cov.rows)} procedures in {len(cov.runbook.sections)} sections)"]
    current = None
    for row in cov.rows:
        if row.section.slug != current:
            current = row.section.slug
            lines.append(f"\n{row.section.title}  [@runbook:{row.section.slug}]")
        lines.append(f"  {row.status:<11}  {row.procedure.title}  [@procedure:{row.procedure.slug}]")
        for s, v in zip(row.scenarios, row.verdicts):
            lines.append(f"      {v:<9}  {s.name}  ({s.where})")
    for s, tag in cov.unknown_tags:
        lines.append(f"\nwarning: {s.where}: {tag} names no procedure of {cov.runbook.path}")
    n_cov = sum(r.covered for r in cov.rows)
    lines.append(f"\n{n_cov}/{len(cov.rows)} procedures covered"
                 + (f"; NOT covered: {', '.join(r.procedure.slug for r in cov.uncovered)}" if cov.uncovered else ""))
    return "\n".join(lines)
