"""The runbook as data: its sections (`##` headings) and procedures.

A procedure is a heading whose own body holds a fenced code block: the
commands an operator runs. Headings without commands (severity levels,
contacts) are prose, not procedures. Pure parsing, no I/O beyond `load`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def slugify(title: str) -> str:
    """`P0 - Critical Incident Response` -> `p0-critical-incident-response`:
    the form used in `@runbook:` and `@procedure:` tags."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@dataclass(frozen=True)
class Procedure:
    slug: str
    title: str
    line: int
    path: tuple[str, ...]  # titles of the enclosing headings, section first


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    line: int
    procedures: tuple[Procedure, ...] = ()


@dataclass(frozen=True)
class Runbook:
    path: str
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def procedures(self) -> list[tuple[Section, Procedure]]:
        return [(s, p) for s in self.sections for p in s.procedures]


@dataclass
class _Heading:
    level: int
    title: str
    line: int
    has_code: bool = False


def parse(text: str, path: str = "runbook.md") -> Runbook:
    """Read the headings outside code fences (a `# comment` inside a bash
    block is not a heading) and mark which ones own a code block."""
    headings: list[_Heading] = []
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            if not in_fence and headings:
                headings[-1].has_code = True
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _HEADING.match(line)
        if m:
            headings.append(_Heading(len(m.group(1)), m.group(2).strip(), number))
    title = next((h.title for h in headings if h.level == 1), Path(path).stem)
    sections: list[Section] = []
    current: _Heading | None = None
    procedures: list[Procedure] = []
    stack: list[_Heading] = []
    for h in headings:
        if h.level == 1:
            continue
        if h.level == 2:
            if current is not None:
                sections.append(Section(slugify(current.title), current.title, current.line, tuple(procedures)))
            current, procedures, stack = h, [], [h]
            if h.has_code:
                procedures.append(Procedure(slugify(h.title), h.title, h.line, (h.title,)))
            continue
        if current is None:
            continue  # a deeper heading before any section: not part of a section
        while stack and stack[-1].level >= h.level:
            stack.pop()
        stack.append(h)
        if h.has_code:
            procedures.append(Procedure(slugify(h.title), h.title, h.line, tuple(s.title for s in stack)))
    if current is not None:
        sections.append(Section(slugify(current.title), current.title, current.line, tuple(procedures)))
    return Runbook(path, title, tuple(sections))


def load(path: str | Path) -> Runbook:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{p}: runbook not found; pass the path of a Markdown runbook") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read the runbook ({exc}); pass a UTF-8 Markdown file") from None
    runbook = parse(text, str(p))
    if not runbook.sections:
        raise UserError(f"{p}: no '## ' section headings found; a runbook needs sections with procedures under them")
    return runbook
