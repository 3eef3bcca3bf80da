"""Kubernetes label and field selectors: parse once, match many."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable


class SelectorError(ValueError):
    """A selector string that does not parse (answered with 400)."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        raise AssertionError(self.op)


_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9_.-]*))?\s*$")


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (s.strip() for s in parts) if p]


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    if not text:
        return ()
    reqs = []
    for part in _split_top_level(text):
        m = _SET_RE.match(part)
        if not m:
            raise SelectorError(f"unable to parse requirement: {part!r}")
        neg, key, setop, setvals, eqop, eqval = m.groups()
        if neg and (setop or eqop):
            raise SelectorError(f"unable to parse requirement: {part!r}")
        if setop:
            vals = tuple(v.strip() for v in setvals.split(",") if v.strip())
            reqs.append(Requirement(key, setop, vals))
        elif eqop:
            reqs.append(Requirement(key, "!=" if eqop == "!=" else "=", (eqval,)))
        else:
            reqs.append(Requirement(key, "!" if neg else "exists"))
    return tuple(reqs)


def selector_from_match(selector: dict[str, Any] | None) -> tuple[Requirement, ...]:
    """A LabelSelector object (matchLabels / matchExpressions) as requirements."""
    if not selector:
        return ()
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
    return tuple(reqs)


def labels_match(reqs: tuple[Requirement, ...], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in reqs)


def parse_field_selector(text: str | None) -> Callable[[dict], bool]:
    """Field selectors on dotted paths (metadata.name, status.phase, spec.nodeName, ...)."""
    if not text:
        return lambda obj: True
    tests = []
    for part in _split_top_level(text):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid field selector: {part!r}")
        path, op, want = m.groups()
        tests.append((path.split("."), op == "!=", want))

    def match(obj: dict) -> bool:
        for path, negate, want in tests:
            cur: Any = obj
            for step in path:
                cur = cur.get(step) if isinstance(cur, dict) else None
            have = "" if cur is None else str(cur)
            if (have == want) == negate:
                return False
        return True

    return match
