"""The step vocabulary: every step phrase the step modules define, with its
parameters and docstring (`gameday steps`), and the matcher the pre-flight
check uses to find an unknown step before anything runs."""
from __future__ import annotations

import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

DEFAULT_STEPS_MODULE = "steps"
_RESERVED = {"gameday_run", "datatable", "docstring", "request"}


@dataclass(frozen=True)
class StepPhrase:
    type: str                  # given / when / then
    phrase: str                # the pattern as written, e.g. 'the alert "{alert}" fires within {seconds:d}s'
    parameters: tuple[str, ...]
    takes_table: bool
    takes_block: bool
    doc: str
    module: str
    func: str
    parser: object             # pytest-bdd StepParser (is_matching)

    def matches(self, type_: str, text: str) -> bool:
        return self.type == type_ and bool(self.parser.is_matching(text))


def import_steps(module: str = DEFAULT_STEPS_MODULE, search_dir: str | Path | None = None):
    """Import the step modules (they live beside features/, not in the
    installed package, so their folder goes on sys.path first)."""
    folder = str(Path(search_dir or ".").resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise UserError(f"{folder}: no step module {module!r} here; run gameday from the project folder "
                            f"(the one holding steps/ and features/)") from None
        raise


def phrases(module: str = DEFAULT_STEPS_MODULE, search_dir: str | Path | None = None) -> list[StepPhrase]:
    from pytest_bdd.steps import step_function_context_registry
    import_steps(module, search_dir)
    out = []
    for ctx in list(step_function_context_registry.values()):
        mod = getattr(ctx.step_func, "__module__", "")
        if mod != module and not mod.startswith(module + "."):
            continue
        sig = inspect.signature(ctx.step_func)
        pattern = str(ctx.parser.name)
        params = tuple(re.findall(r"\{(\w+)(?::[^}]*)?\}", pattern))
        out.append(StepPhrase(ctx.type or "*", pattern, params, "datatable" in sig.parameters,
                              "docstring" in sig.parameters, inspect.getdoc(ctx.step_func) or "", mod,
                              ctx.step_func.__name__, ctx.parser))
    order = {"given": 0, "when": 1, "then": 2}
    return sorted(out, key=lambda p: (order.get(p.type, 3), p.module, p.phrase))


def format_phrases(items: list[StepPhrase]) -> str:
    lines = []
    for p in items:
        extra = " + table" if p.takes_table else ""
        extra += ' + """ block' if p.takes_block else ""
        lines.append(f"{p.type.capitalize():<6} {p.phrase}{extra}")
        if p.parameters:
            lines.append(f"       parameters: {', '.join(p.parameters)}")
        for d in p.doc.splitlines():
            lines.append(f"       {d}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
