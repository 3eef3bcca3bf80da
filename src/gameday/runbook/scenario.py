"""Scenarios run the runbook, not copies of it: the block under a heading,
as the runbook file says it now, run by the runbook check's operator session
and timed as the drill step `step:<slug>`.

The runbook file is `$GAMEDAY_RUNBOOK`, else the first runbook the
project file names. What a scenario's runbook
step changed is not put back here: the scenario's own snapshot does that when
it closes, after its Then steps looked at the effect."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from ..errors import UserError
from . import settings as settings_mod
from .check import Checker, load_runbook
from .coverage import SCENARIO_LINES
from .verdict import LineResult

RUNBOOK_ENV = "GAMEDAY_RUNBOOK"
def runbook_path(project=None) -> Path:
    if os.environ.get(RUNBOOK_ENV):
        return Path(os.environ[RUNBOOK_ENV])
    if project is None or not project.runbooks:
        raise UserError(f"no runbook: name it in gameday.yaml (runbooks) or set ${RUNBOOK_ENV}")
    return project.resolve(project.runbooks[0])


def parse_line_range(text: str | None) -> tuple[int, int] | None:
    """"2-3" or "2" -> (2, 3) / (2, 2): the procedure's 2nd to 3rd command lines."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not m:
        raise UserError(f"line range {text!r} must look like 2 or 2-3 (command lines of the procedure, from 1)")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < 1 or hi < lo:
        raise UserError(f"line range {text!r} must count up from 1")
    return lo, hi


def carry_out(run, heading: str, lines: str | None = None, runbook: Path | None = None) -> list[LineResult]:
    """Run the procedure under `heading` (or its command lines `lines`) on
    the scenario's target, as a timed drill step; fail the step with the
    runbook's own line numbers when a line fails."""
    from ..bdd.library import CommandResult, StepFailed
    path = runbook or runbook_path(getattr(run, "project", None))
    rb = load_runbook(path)
    proc = rb.procedure(heading)
    if proc is None:
        raise UserError(f"{run.where or run.file}: the runbook {path} has no heading {heading!r}; "
                        f"`gameday runbook show` lists its procedures")
    commands = [u for u in proc.units if u.kind == "command"]
    rng = parse_line_range(lines)
    chosen = commands
    if rng:
        if rng[1] > len(commands):
            raise UserError(f"{run.where or run.file}: {heading!r} has {len(commands)} command lines, not {rng[1]}")
        chosen = commands[rng[0] - 1:rng[1]]
    if getattr(run, "operator", "auto") == "human":
        # a person carries the lines out in `gameday shell`; gameday shows them and times the person
        block = "\n".join(u.text for u in (chosen if rng else proc.units)) + "\n"
        name = proc.slug if not rng else f"{proc.slug}:{rng[0]}-{rng[1]}"
        run.person_carries_out(name, block, heading=proc.title)
        return []
    wanted = {id(u) for u in chosen}
    checker = Checker(path, settings_mod.load(path, Path("gameday.yaml")), run.target,
                      Path(run.reports_dir) / "runbook-steps" / re.sub(r"[^a-z0-9]+", "-", run.name.lower())[:60])
    # the scenario's own bindings ("<pod-name>" names a pod labelled ...) first:
    # resolved when the line runs, so they name the pod in trouble after a fault
    for name in getattr(run, "bindings", {}) or {}:
        checker.bound_values[f"<{name}>"] = (lambda n=name: run.resolve(n))
    try:
        with run.drill.step(f"{proc.slug}" if not rng else f"{proc.slug}:{rng[0]}-{rng[1]}"):
            result = checker.run_procedure(proc, unit_filter=lambda u: id(u) in wanted or
                                           (not rng and u.kind == "manual"), restore=False)
    finally:
        checker.close()
    if rng:
        # the procedure's must_appear/must_not_appear are about its whole output:
        # a part of it is judged by its own lines and the scenario's Then steps
        result.lines = [l for l in result.lines if l.text != "(expected output)"]
    seeing_the_fault(result.lines)
    _record(run, proc.slug, result.lines)
    text_out = "".join(l.output_head for l in result.lines)
    run.last_output = CommandResult(["bash", str(path)], 0, text_out, "")
    failed = [l for l in result.lines if l.failed]
    if failed:
        raise StepFailed("; ".join(f"{path}:{l.line} {l.text.splitlines()[0][:80]!r}: {l.reason[:200]}" for l in failed))
    return result.lines


def _record(run, slug: str, lines: list[LineResult]) -> None:
    """Which runbook lines this scenario ran (read by `gameday runbook coverage`)."""
    out = Path(run.reports_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / SCENARIO_LINES, "a") as fh:
        for l in lines:
            if l.verdict in ("passed", "failed", "interactive"):
                fh.write(json.dumps({"procedure": slug, "line": l.line, "scenario": run.name, "verdict": l.verdict,
                                     "t": time.time()}) + "\n")


def seeing_the_fault(lines) -> None:
    """In a scenario the platform is broken on purpose. A diagnostic line
    whose `|| echo "TEXT"` fallback was taken only because its command
    failed (`curl -f .../health || echo "API DOWN"` while every API pod is
    gone) is the runbook seeing the fault, as the operator would, and so is
    the procedure's steady-state `must_not_appear: [TEXT]`. Whether the
    outage is still on when the line runs is a race with the platform's own
    recovery, so neither is judged here: the scenario's Then steps judge the
    outcome, and `gameday runbook check` (steady state) judges both."""
    seen = set()
    for l in lines:
        if l.verdict == "failed" and l.fallback_taken and l.fallback and not l.failures:
            seen.add(l.fallback)
            l.verdict, l.reason = "passed", f"{l.reason} (the runbook seeing the scenario's fault)"
    for l in lines:
        if l.verdict == "failed" and l.present and not l.missing and set(l.present) <= seen:
            l.verdict, l.reason = "passed", f"{l.reason} (the fallback that saw the scenario's fault)"
