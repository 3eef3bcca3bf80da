"""A fault kind: its parameters (targets, never platform names), how it is
injected and how it is rolled back. Values are dataclasses; validation turns
a user's parameters into typed values or one line naming where they came from."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UserError

log = logging.getLogger("gameday.faults")
_MISSING = object()
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_SELECTOR_TERM = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(==?|!=)[A-Za-z0-9]?([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Param:
    """One parameter: `type` is one of str, name, selector, int, float,
    fraction, percent, bool, duration, choice."""

    name: str
    type: str
    doc: str
    default: Any = _MISSING
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def describe(self) -> str:
        kind = "|".join(self.choices) if self.choices else self.type
        default = "required" if self.required else f"default {self.default!r}"
        return f"{self.name} ({kind}, {default}): {self.doc}"

    def convert(self, value: Any, where: str) -> Any:
        bad = lambda why: UserError(f"{where}: parameter {self.name!r} {why}")  # noqa: E731
        t = self.type
        if value is None and not self.required and self.default is None:
            return None
        if t in ("str", "name", "selector", "choice"):
            if not isinstance(value, str) or not value.strip():
                raise bad(f"must be a non-empty string, got {value!r}")
            value = value.strip()
            if t == "name" and (len(value) > 253 or not _DNS.match(value)):
                raise bad(f"must be a Kubernetes name (lower case letters, digits, '-', '.'), got {value!r}")
            if t == "selector":
                parse_selector(value, lambda why: bad(why))
            if t == "choice" and value not in self.choices:
                raise bad(f"must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if t == "bool":
            if not isinstance(value, bool):
                raise bad(f"must be true or false, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if t == "duration" and isinstance(value, str):
                return _duration(value, bad)
            raise bad(f"must be a number, got {value!r}")
        if t == "int":
            if int(value) != value or value < 0:
                raise bad(f"must be a whole number of 0 or more, got {value!r}")
            return int(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise bad(f"must be a finite number, got {value!r}")
        if t == "fraction" and not 0 < value <= 1:
            raise bad(f"must be in (0, 1], got {value!r}")
        if t == "percent" and not 0 <= value <= 100:
            raise bad(f"must be between 0 and 100, got {value!r}")
        if t in ("float", "duration") and value < 0:
            raise bad(f"must be 0 or more, got {value!r}")
        return float(value)


def _duration(text: str, bad) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise bad(f"must be a duration like 500ms, 30s or 2m, got {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def parse_selector(text: str, bad=None) -> dict[str, str]:
    """An equality label selector `k=v,k2=v2` as a dict (what matchLabels,
    Chaos Mesh's labelSelectors and a Service selector can all say)."""
    out: dict[str, str] = {}
    for term in (t.strip() for t in text.split(",")):
        if not _SELECTOR_TERM.match(term) or "!=" in term:
            why = f"must be a label selector like app=web,tier=api, got {text!r}"
            raise (bad(why) if bad else ValueError(why))
        key, _, value = term.replace("==", "=").partition("=")
        out[key] = value
    return out


@dataclass(frozen=True)
class FaultKind:
    """A kind of fault. `inject(configuration, ledger, **params)` returns
    the state its rollback needs; `rollback(configuration, state, **params)`
    is idempotent and also works with an empty state (a Chaos Toolkit
    rollback, or a recovery after the injecting process died)."""

    name: str
    doc: str
    params: tuple[Param, ...]
    rollback_doc: str
    _inject: Callable[..., dict] = field(repr=False, default=None)
    _rollback: Callable[..., None] = field(repr=False, default=None)
    check: Callable[[dict, str], None] | None = field(repr=False, default=None)

    def validate(self, params: dict, where: str) -> dict:
        """Typed parameters with defaults filled in; UserError (one line) otherwise."""
        where = f"{where}: fault {self.name}"
        if not isinstance(params, dict):
            raise UserError(f"{where}: parameters must be a mapping, got {type(params).__name__}")
        known = {p.name: p for p in self.params}
        unknown = sorted(str(k) for k in params if k not in known)
        if unknown:
            raise UserError(f"{where}: unknown parameter {unknown[0]!r} (known: {', '.join(known)})")
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in params:
                out[p.name] = p.convert(params[p.name], where)
            elif p.required:
                raise UserError(f"{where}: parameter {p.name!r} is required ({p.doc})")
            else:
                out[p.name] = p.default
        if self.check:
            self.check(out, where)
        return out

    def inject(self, configuration: dict | None, ledger, **params) -> dict:
        """Record the fault in the drill's ledger, apply it, record its state.
        A fault that fails half-way is rolled back before the error goes up."""
        from ..drill import ledger as ledger_mod
        configuration = configuration or {}
        ledger = ledger if ledger is not None else ledger_mod.for_process(configuration)
        fault_id = ledger.begin(self.name, params)
        try:
            state = dict(self._inject(configuration, ledger, fault_id, **params) or {})
        except BaseException:
            try:
                self._rollback(configuration, {"id": fault_id}, **params)
                ledger.finished(fault_id)
            except Exception as exc:  # the ledger keeps it for `gameday recover`
                log.error("%s %s: rollback after a failed inject failed: %s", self.name, fault_id, exc)
            raise
        state.update(id=fault_id, ledger=ledger.ref())
        ledger.applied(fault_id, self.name, params, state)
        return state

    def rollback(self, configuration: dict | None, state: dict | None, **params) -> None:
        from ..drill import ledger as ledger_mod
        self._rollback(configuration or {}, state or {}, **params)
        ledger_mod.finished(configuration, state)
