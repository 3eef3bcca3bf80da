"""What the person ran beside what the runbook says: runbook lines skipped,
extra commands, commands that failed, time per phase. Pure functions."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .session import Command

_SPACE = re.compile(r"\s+")
_OWN_WORDS = {"ack", "done", "gameday-done", "exit", "clear", ""}


def normalise(line: str) -> str:
    """A command as compared: continuations joined, spaces collapsed,
    trailing comments dropped."""
    line = line.replace("\\\n", " ")
    if " #" in line:
        line = line.split(" #", 1)[0]
    return _SPACE.sub(" ", line).strip()


def runbook_commands(block: str) -> list[str]:
    """The command lines of a runbook block (comments and blank lines
    dropped, continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [normalise(l) for l in joined.splitlines() if l.strip() and not l.lstrip().startswith("#")]


@dataclass(frozen=True)
class Comparison:
    followed: list[str] = field(default_factory=list)   # runbook lines the person ran
    skipped: list[str] = field(default_factory=list)    # runbook lines never run
    extra: list[str] = field(default_factory=list)      # commands not in the runbook
    failed: list[str] = field(default_factory=list)     # commands that exited non-zero

    def as_dict(self) -> dict:
        return {"followed": self.followed, "skipped": self.skipped, "extra": self.extra, "failed": self.failed}


def compare(runbook_lines: list[str], commands: list[Command], placeholders: dict[str, str] | None = None) -> Comparison:
    """Match typed commands to runbook lines (exactly, after normalising and
    filling the runbook's placeholders with what the person used)."""
    fill = placeholders or {}

    def filled(line: str) -> str:
        for k, v in fill.items():
            line = line.replace(k, v)
        return normalise(line)

    wanted = [(line, filled(line)) for line in runbook_lines]
    typed = [c for c in commands if normalise(c.line) not in _OWN_WORDS]
    ran = {normalise(c.line) for c in typed}
    followed = [orig for orig, want in wanted if want in ran]
    skipped = [orig for orig, want in wanted if want not in ran]
    known = {want for _, want in wanted}
    extra = [c.line for c in typed if normalise(c.line) not in known]
    failed = [c.line for c in typed if c.exit_code != 0]
    return Comparison(followed, skipped, extra, failed)
