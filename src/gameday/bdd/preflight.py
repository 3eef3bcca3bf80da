"""Pre-flight check of feature files, before a drill touches the target:
unknown steps, malformed SLA tables, command lines that need a shell,
placeholders used before they are bound. A typo costs seconds, not a
ten-minute drill, and is one line naming the file and line."""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import UserError
from . import commands, sla_table
from .features import ScenarioRef, StepRef
from .vocabulary import StepPhrase


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _closest(step: StepRef, vocab: list[StepPhrase]) -> str:
    same = [p.phrase for p in vocab if p.type == step.type]
    near = difflib.get_close_matches(step.text, same, n=1, cutoff=0.3)
    return f"; the closest step is '{step.type.capitalize()} {near[0]}'" if near else ""


def check_scenario(s: ScenarioRef, vocab: list[StepPhrase]) -> list[Problem]:
    problems: list[Problem] = []
    bound: set[str] = set()
    for step in s.steps:
        where = f"{s.file}:{step.line}"
        matched = [p for p in vocab if p.matches(step.type, step.text)]
        if not matched:
            problems.append(Problem(where, f"unknown step '{step.keyword.strip()} {step.text}'"
                                           f"{_closest(step, vocab)} (run 'gameday steps' for the vocabulary)"))
            continue
        phrase = matched[0]
        args = phrase.parser.parse_arguments(step.text) or {}
        try:
            if phrase.takes_table and step.table is None and phrase.func == "sla_is_met":
                raise UserError(f"{where}: 'the SLA is met:' needs a table | metric | limit | under it")
            if step.table is not None and not phrase.takes_table:
                raise UserError(f"{where}: step '{step.text}' takes no table; remove it or use a step that does")
            if phrase.func == "sla_is_met":
                sla_table.parse_table(step.table, s.file, step.line, step.table_lines)
            if phrase.takes_block and phrase.func == "operator_carries_out":
                if not step.docstring or not commands.split_block(step.docstring):
                    raise UserError(f"{where}: step '{step.text}' needs the runbook's kubectl lines in a \"\"\" block under it")
                for line in commands.split_block(step.docstring):
                    _check_command(line, where, bound)
            if phrase.func == "operator_runs":
                _check_command(str(args.get("command", "")), where, bound)
            if phrase.func in ("placeholder_names_object", "placeholder_names_node"):
                bound.add(str(args.get("placeholder", "")).strip("<>"))
        except UserError as exc:
            problems.append(Problem(where, exc.message.split(": ", 1)[1] if exc.message.startswith(where) else exc.message))
    return problems


def _check_command(line: str, where: str, bound: set[str]) -> None:
    argv = commands.parse_command(line, where)
    for name in commands.placeholders(argv):
        if name not in bound:
            raise UserError(f"{where}: placeholder <{name}> is used before it is bound; add "
                            f"'Given \"<{name}>\" names a pod labelled \"...\" in namespace \"...\"' before this step")


def check(scenarios: list[ScenarioRef], vocab: list[StepPhrase]) -> list[Problem]:
    return [p for s in scenarios for p in check_scenario(s, vocab)]


def raise_first(problems: list[Problem]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise UserError(f"{problems[0]}{more}")
