"""Per-line runbook coverage: for each command line of the runbook, whether
a scenario ran it (through the runbook steps), the runbook check ran it, a
scenario runs a deviating copy of it, it needs a tool, it is a manual step,
or it never ran. `compute` is pure; `compute_from_reports` reads reports/."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .parse import Runbook, Unit

SCENARIO_LINES = "runbook-lines.jsonl"     # written by the runbook steps, one object per line run
CHECK_JSON = Path("runbook") / "runbook-check.json"
LABELS = ("scenario", "check", "deviates", "needs", "manual", "never run")


@dataclass(frozen=True)
class LineCoverage:
    procedure: str
    line: int
    text: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Coverage:
    runbook: str
    lines: tuple[LineCoverage, ...]
    totals: dict = field(default_factory=dict)

    @property
    def never_run(self) -> list[LineCoverage]:
        return [l for l in self.lines if l.label == "never run"]


def compute(runbook: Runbook, check: dict | None, scenario_runs: list[dict],
            feature_commands: list[tuple[str, str]] = (), deviations: dict[str, list[str]] | None = None) -> Coverage:
    """`check`: runbook-check.json; `scenario_runs`: {procedure, line, scenario, verdict};
    `feature_commands`: (where, command text) copied into features;
    `deviations`: procedure slug -> the scenarios tagged `@deviates:<reason>` for it."""
    deviations = deviations or {}
    by_check = {}
    for p in (check or {}).get("procedures", []):
        for l in p.get("lines", []):
            by_check[(p["slug"], l["line"])] = l
    by_scenario: dict[tuple[str, int], list[str]] = {}
    for r in scenario_runs:
        by_scenario.setdefault((r.get("procedure"), int(r.get("line", 0))), []).append(r.get("scenario", "?"))
    out = []
    for proc, unit in runbook.units:
        key = (proc.slug, unit.first_line)
        c = by_check.get(key)
        if unit.kind == "manual":
            label, detail = "manual", unit.label
        elif key in by_scenario:
            label, detail = "scenario", ", ".join(sorted(set(by_scenario[key])))
        elif c and c.get("verdict") == "needs":
            label, detail = "needs", c.get("reason", "")
        elif c and c.get("verdict") in ("passed", "failed", "interactive", "unmet"):
            label, detail = "check", c["verdict"] + (f": {c.get('reason', '')}" if c.get("reason") else "")
        else:
            dev = _deviating(unit, feature_commands) or "; ".join(deviations.get(proc.slug, []))
            label, detail = ("deviates", dev) if dev else ("never run", c.get("reason", "") if c else "")
        out.append(LineCoverage(proc.slug, unit.first_line, unit.text.splitlines()[0], label, detail))
    totals = {k: sum(1 for l in out if l.label == k) for k in LABELS}
    return Coverage(runbook.path, tuple(out), totals)


def _feature_files(features: Path) -> list[Path]:
    """A feature file, or the feature files under a folder."""
    if features.is_file():
        return [features]
    return sorted(features.rglob("*.feature")) if features.exists() else []


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\\n", " ")).strip()


def _deviating(unit: Unit, feature_commands) -> str:
    mine = _norm(unit.text).split(" ")
    for where, cmd in feature_commands:
        theirs = _norm(cmd).split(" ")
        if theirs != mine and theirs[:3] == mine[:3]:
            return f"{where}: {' '.join(theirs)[:80]}"
    return ""


def feature_command_lines(features: Path) -> list[tuple[str, str]]:
    """Runbook-like command lines copied into feature files (quoted in steps or in \"\"\" blocks)."""
    out = []
    for f in _feature_files(features):
        in_doc = False
        for n, line in enumerate(f.read_text().splitlines(), start=1):
            s = line.strip()
            if s.startswith('"""'):
                in_doc = not in_doc
                continue
            if in_doc and s and not s.startswith("#"):
                out.append((f"{f}:{n}", s))
            for m in re.finditer(r'"((?:kubectl|curl|psql) [^"]+)"', s):
                out.append((f"{f}:{n}", m.group(1)))
    return out


def feature_deviations(features: Path) -> dict[str, list[str]]:
    """Procedure slug -> 'FILE:LINE @deviates:REASON' of each scenario that
    names the procedure (`@procedure:SLUG`) and says why it differs from it."""
    out: dict[str, list[str]] = {}
    for f in _feature_files(features):
        tags: list[tuple[int, str]] = []
        for n, line in enumerate(f.read_text().splitlines(), start=1):
            s = line.strip()
            if s.startswith("@"):
                tags += [(n, t) for t in s.split() if t.startswith("@")]
                continue
            if re.match(r"(Scenario|Scenario Outline|Example):", s):
                procs = [t.split(":", 1)[1] for _, t in tags if t.startswith("@procedure:")]
                why = [(ln, t) for ln, t in tags if t.startswith("@deviates:")]
                for proc in procs:
                    for ln, t in why:
                        out.setdefault(proc, []).append(f"{f}:{ln} {t}")
            if s and not s.startswith("#"):
                tags = []
    return out


def check_json_for(reports: Path) -> Path:
    """Where `gameday runbook check --reports R` left its JSON for a drill
    that wrote to `reports`: R/runbook/ with R the folder itself or, for the
    drill's own folder (reports/drill), the one above it."""
    for root in (reports, reports.parent):
        if (root / CHECK_JSON).exists():
            return root / CHECK_JSON
    return reports / CHECK_JSON


def compute_from_reports(runbook_path: Path, reports: Path,
                         features: Path | list[Path] = Path("features")) -> Coverage:
    from .check import load_runbook
    rb = load_runbook(runbook_path)
    check = None
    cj = check_json_for(reports)
    if cj.exists():
        try:
            check = json.loads(cj.read_text())
        except ValueError:
            check = None
    runs = []
    for sl in sorted(reports.rglob(SCENARIO_LINES)) if reports.exists() else []:   # one per scenario folder
        for line in sl.read_text().splitlines():
            try:
                runs.append(json.loads(line))
            except ValueError:
                continue
    commands, deviations = [], {}
    for folder in features if isinstance(features, list) else [features]:
        commands += feature_command_lines(folder)
        for slug, why in feature_deviations(folder).items():
            deviations.setdefault(slug, []).extend(why)
    return compute(rb, check, runs, commands, deviations)


def format_table(cov: Coverage) -> str:
    out = [f"Runbook line coverage: {cov.runbook}"]
    current = None
    for l in cov.lines:
        if l.procedure != current:
            current = l.procedure
            out.append(f"\n[{current}]")
        out.append(f"  {l.line:>4}  {l.label:<9}  {l.text[:70]}" + (f"   ({l.detail[:80]})" if l.detail else ""))
    n = len(cov.lines)
    out.append("\n" + ", ".join(f"{v} {k}" for k, v in cov.totals.items()) + f" of {n} lines")
    if cov.never_run:
        out.append(f"{len(cov.never_run)} runnable lines never ran")
    return "\n".join(out)
