"""Placeholders of the runbook (`<pod-name>`, `myapp-worker-xxx`)
filled with values, shell-quoted for where they stand: a bare word gets
`shlex.quote`, inside double quotes the characters special there are
escaped, inside single quotes a quote is closed and reopened. Pure."""
from __future__ import annotations

import shlex


def _context_at(text: str, pos: int) -> str:
    """'' (bare), '"' or "'" at `pos`."""
    state = ""
    i = 0
    while i < pos:
        c = text[i]
        if state == "'":
            if c == "'":
                state = ""
        elif c == "\\":
            i += 1
        elif state == '"':
            if c == '"':
                state = ""
        elif c in "'\"":
            state = c
        i += 1
    return state


def quote_for(value: str, context: str) -> str:
    if context == "'":
        return value.replace("'", "'\\''")
    if context == '"':
        return "".join("\\" + c if c in '\\"$`' else c for c in value)
    return shlex.quote(value)


def fill(text: str, values: dict[str, str]) -> str:
    """Every occurrence of each placeholder replaced, longest first."""
    for name in sorted(values, key=len, reverse=True):
        out, start = [], 0
        while True:
            pos = text.find(name, start)
            if pos < 0:
                out.append(text[start:])
                break
            out.append(text[start:pos])
            out.append(quote_for(values[name], _context_at(text, pos)))
            start = pos + len(name)
        text = "".join(out)
    return text


def used(text: str, names) -> list[str]:
    return [n for n in names if n in text]
