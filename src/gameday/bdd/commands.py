"""Runbook command lines as argument lists.

A scenario quotes the runbook's own kubectl commands. They run without a
shell: split with shlex, never interpolated into a shell string, so a quote
or `$(...)` in a feature file can do nothing but fail. Placeholders written
as in the runbook (`<pod-name>`, `<node-name>`) are filled from values the
scenario bound earlier. Pure functions."""
from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from ..errors import UserError

ALLOWED_PROGRAMS = ("kubectl",)
_SHELL_TOKENS = ("|", "||", "&&", ";", ">", ">>", "<", "&", "2>&1")
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")


def split_block(text: str) -> list[str]:
    """The command lines of a block: backslash continuations joined, blank
    lines and `# comments` dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        lines.append((pending + line).strip())
        pending = ""
    if pending.strip():
        lines.append(pending.strip())
    return lines


def parse_command(line: str, where: str = "feature") -> list[str]:
    """One command line -> argv. Shell syntax is refused with the fix."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UserError(f"{where}: command {line!r} cannot be split ({exc}); check its quotes") from None
    if not argv:
        raise UserError(f"{where}: empty command; write a kubectl command line")
    bad = [t for t in _shell_tokens(line) if t in _SHELL_TOKENS]
    if bad or "$(" in line or "`" in line:
        raise UserError(f"{where}: command {line!r} uses shell syntax ({(bad or ['$(...)'])[0]}); commands run "
                        f"without a shell, so write each kubectl command on its own line and check its output "
                        f"with 'Then the output shows \"...\"'")
    if argv[0] not in ALLOWED_PROGRAMS:
        raise UserError(f"{where}: command {argv[0]!r} is not run by scenarios; write the runbook step as a "
                        f"kubectl command (e.g. 'kubectl rollout undo' for 'helm rollback') or use a gameday step")
    return argv


def _shell_tokens(line: str) -> list[str]:
    """Tokens as a shell would see them: `pods;` is `pods` then `;`. Quoted
    text (a JSON patch) stays one token."""
    lexer = shlex.shlex(PLACEHOLDER.sub("placeholder", line), posix=True, punctuation_chars=";|&<>")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return []


def placeholders(argv: list[str]) -> list[str]:
    return sorted({m for a in argv for m in PLACEHOLDER.findall(a)})


def fill(argv: list[str], bindings: Mapping[str, str], where: str = "feature") -> list[str]:
    """Replace `<name>` placeholders with their bound values."""
    missing = [p for p in placeholders(argv) if p not in bindings]
    if missing:
        raise UserError(f"{where}: placeholder <{missing[0]}> is not bound; add a step like "
                        f"'Given \"<{missing[0]}>\" names a pod labelled \"app=...\" in namespace \"...\"' before it")
    return [PLACEHOLDER.sub(lambda m: bindings[m.group(1)], a) for a in argv]
