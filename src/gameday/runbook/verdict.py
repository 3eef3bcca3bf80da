"""From a session's records to a verdict per runbook line. Pure functions.

Which pipeline of a unit ran, and with what `PIPESTATUS`, follows from the
and-or list the parser found: pipeline k's statuses are those the trap saw
before the command after its last part; `a || b` runs b only when a failed."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .. import programs
from .parse import INFRA_TOOLS, Unit
from .session import Record, SessionResult
from .settings import Expectation

OUTPUT_HEAD = 600
_NOT_FOUND = re.compile(r"\(NotFound\)|NotFound|not found", re.I)


@dataclass
class PartStatus:
    program: str
    status: int


@dataclass
class LineResult:
    procedure: str
    line: int                 # first runbook line of the unit
    last_line: int
    text: str                 # as in the runbook (before placeholders were filled)
    verdict: str              # passed | failed | unmet | needs | manual | interactive | skipped | not reached
    reason: str = ""
    exit_status: int | None = None
    parts: list[list[PartStatus]] = field(default_factory=list)   # per pipeline that ran
    duration_s: float = 0.0
    output_head: str = ""
    fallback_taken: bool = False
    needs: str = ""
    correction: str = ""
    correction_verdict: str = ""
    correction_output: str = ""
    # What the verdict was made of, for those that weigh it again (a scenario
    # whose own fault a diagnostic saw): the fallback text when a fallback
    # that the expectations do not allow was taken, the line's other failures,
    # and for "(expected output)" the texts missing and shown against them.
    fallback: str = ""
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.verdict == "failed"

    def to_json(self) -> dict:
        return asdict(self)


def needed_tool(unit: Unit) -> str:
    """The first program of the unit the check cannot run ("" if none)."""
    for prog in unit.programs:
        if prog in INFRA_TOOLS:
            return prog
        if "/" not in prog and prog and not _is_builtin(prog) and programs.find(prog) is None:
            return prog
    return ""


_BUILTINS = {"echo", "printf", "cd", "export", "set", "unset", "read", "test", "[", "[[", "if", "true", "false",
             "source", ".", "exit", "return", "local", "declare", "eval", "exec", "kill", "wait", "trap", "shift",
             "alias", "type", "command", "pwd", "umask", "ulimit", "let", "times", "getopts", "hash", "jobs"}


def _is_builtin(name: str) -> bool:
    return name in _BUILTINS


def unit_records(unit: Unit, records: list[Record]) -> list[int]:
    """Indexes of the records whose block line is inside the unit."""
    lo, hi = unit.block_line, unit.block_line + (unit.last_line - unit.first_line)
    return [i for i, r in enumerate(records) if r.kind in ("S", "K") and lo <= r.line <= hi]


def judge_unit(procedure: str, unit: Unit, session: SessionResult, expectation: Expectation | None = None,
               text: str | None = None) -> LineResult:
    res = LineResult(procedure, unit.first_line, unit.last_line, text if text is not None else unit.text, "passed")
    if unit.kind == "manual":
        res.verdict, res.reason = "manual", f"prose step: {unit.label}"
        return res
    need = needed_tool(unit)
    records = session.records
    idx = unit_records(unit, records)
    if not idx:
        res.verdict = "needs" if need else "not reached"
        res.needs = need
        res.reason = f"needs {need}" if need else "the block stopped before this line"
        return res
    if records[idx[0]].kind == "K":
        res.verdict, res.reason = "skipped", "mutating line, not run on this target (read-only)"
        return res
    nxt = lambda i: records[i + 1] if i + 1 < len(records) else None  # noqa: E731
    first_t = records[idx[0]].t
    output = "".join(session.output_by_seq.get(records[i].seq, "") for i in idx)
    res.output_head = output[:OUTPUT_HEAD]
    bounded = any(records[i].seq in session.bounded for i in idx)
    # walk the and-or list
    last_status = 0
    ri = 0
    last_t = first_t
    failures: list[str] = []
    no_match = False
    if unit.compound:
        for i in idx:
            after = nxt(i)
            st = after.pipestatus[-1] if after and after.pipestatus else 0
            res.parts.append([PartStatus(records[i].command.split(" ")[0], st)])
            last_t = after.t if after else last_t
            last_status = st
    else:
        for pi, pipe in enumerate(unit.pipelines):
            if pi > 0:
                op = unit.pipelines[pi - 1].op
                runs = op in (";", "&", "") or (op == "&&" and last_status == 0) or (op == "||" and last_status != 0)
                if not runs:
                    continue
                if op == "||" and last_status != 0:
                    res.fallback_taken = True
            n = len(pipe.commands)
            mine = idx[ri:ri + n]
            ri += n
            if not mine:
                break
            after = nxt(mine[-1])
            ps = list(after.pipestatus) if after else []
            if len(ps) != n:
                ps = ([0] * n + ps)[-n:] if ps else [0] * n   # only the last status is known
            res.parts.append([PartStatus(c.name, s) for c, s in zip(pipe.commands, ps)])
            last_status = ps[-1] if ps else 0
            last_t = after.t if after else last_t
            for k, (cmd, st) in enumerate(zip(pipe.commands, ps)):
                if st == 0:
                    continue
                if cmd.name == "grep" and st == 1 and k == n - 1:
                    no_match = True
                    continue  # grep found nothing: an answer, not a failure
                nxt_op = pipe.op
                if k == n - 1 and nxt_op == "||":
                    continue  # handled by the fallback
                failures.append(f"{cmd.name} exited {st}" + (f" (part {k + 1} of the pipeline)" if n > 1 else ""))
    res.exit_status = last_status
    res.duration_s = max(0.0, last_t - first_t)
    exp = expectation or Expectation()
    if need:
        res.verdict, res.needs = "needs", need
        res.reason = f"needs {need}"
        return res
    if unit.interactive:
        if bounded or last_status != 0:
            res.verdict = "interactive"
            res.reason = (f"{unit.interactive}: ran with stdin closed"
                          + (", stopped by the bound" if bounded else f", exited {last_status}: {_last_line(output)}"))
            return res
    expected = exp.exit_codes.get(unit.first_line)
    fallback_failure = ""
    if res.fallback_taken:
        fb = unit.fallback or ""
        if fb not in exp.fallback_ok:
            failed_cmd = next((p for p in res.parts[0] if p.status), None) if res.parts else None
            res.fallback = fb
            fallback_failure = f"fallback \"{fb}\" taken" + (f": {failed_cmd.program} exited {failed_cmd.status}"
                                                              if failed_cmd else "")
    elif expected is not None:
        if last_status != expected:
            failures.insert(0, f"exited {last_status}, expected {expected}")
        failures = [f for f in failures if not f.endswith(f"exited {expected}")]
    elif last_status != 0 and not failures and not (no_match and last_status == 1):
        failures.append(f"exited {last_status}")
    if no_match and not failures:
        res.reason = "grep matched nothing"
    if re.search(r"Error from server \(NotFound\)|\bNotFound\b", output):
        failures.append("NotFound: " + _first_match_line(output, "NotFound"))
    missing = [p for p in unit.programs if "/" in p and last_status == 127 and "No such file" in output]
    if missing:
        failures = [f"the runbook's repository has no {missing[0]} (run from the runbook's folder)"]
        fallback_failure = ""
    res.failures = list(dict.fromkeys(failures))
    if fallback_failure or failures:
        res.verdict = "failed"
        res.reason = "; ".join([*([fallback_failure] if fallback_failure else []), *res.failures]) + \
            (f": {_last_line(output)}" if output.strip() else "")
    elif unit.interactive:
        res.reason = f"{unit.interactive}: ran with stdin closed and a bound"
    return res


def _last_line(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1][:200] if lines else ""


def _first_match_line(text: str, word: str) -> str:
    return next((l.strip()[:200] for l in text.splitlines() if word in l), "")


def procedure_expectations(procedure: str, output: str, exp: Expectation | None, line: int) -> LineResult | None:
    """must_appear / must_not_appear over everything the procedure printed."""
    if exp is None or not (exp.must_appear or exp.must_not_appear):
        return None
    missing = [m for m in exp.must_appear if m not in output]
    present = [m for m in exp.must_not_appear if m in output]
    res = LineResult(procedure, line, line, "(expected output)", "passed", missing=missing, present=present)
    if missing or present:
        res.verdict = "failed"
        res.reason = "; ".join([*(f"missing {m!r}" for m in missing), *(f"shows {m!r}" for m in present)])
    return res
