"""SLA expressions: `time_to_detect <= 30s`, `error_rate <= 5%`,
`p95_latency <= 800ms`, `lost_writes == 0`, `step:restart-api <= 60s`.
Parsed into `Sla` values with every quantity in its base unit (seconds, a
fraction, a count)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UserError

DURATION_METRICS = ("time_to_detect", "time_to_recover", "time_to_acknowledge", "time_to_notify", "p50_latency", "p95_latency", "p99_latency")
RATIO_METRICS = ("error_rate",)
COUNT_METRICS = ("lost_writes", "training_steps_lost")
METRICS = DURATION_METRICS + RATIO_METRICS + COUNT_METRICS

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}

_EXPR = re.compile(
    r"^\s*(?P<metric>(?:step|phase):[A-Za-z0-9_.:\-]+|[a-z0-9_]+)\s*(?P<op><=|>=|==|<|>)\s*"
    r"(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>ms|s|min|m|%)?\s*$")


@dataclass(frozen=True)
class Sla:
    """One service-level objective: `metric op limit` with the limit in the
    metric's base unit; `unit` is how it was written (for display)."""

    metric: str
    op: str
    limit: float
    unit: str
    text: str

    def holds(self, value: float) -> bool:
        return {
            "<=": value <= self.limit + 1e-12,
            "<": value < self.limit,
            "==": abs(value - self.limit) < 1e-9,
            ">=": value >= self.limit - 1e-12,
            ">": value > self.limit,
        }[self.op]

    def format_value(self, value: float | None) -> str:
        """A measured value in the unit the limit was written in."""
        if value is None:
            return "not measured"
        if self.unit == "%":
            return f"{value * 100:.2f}%"
        if self.unit in _UNITS:
            scaled = value / _UNITS[self.unit]
            return f"{scaled:.0f}{self.unit}" if self.unit == "ms" else f"{scaled:.2f}{self.unit}"
        if self.metric in RATIO_METRICS:
            return f"{value:.4f}"
        return f"{value:g}"

    @property
    def limit_text(self) -> str:
        return f"{self.op} {self.format_value(self.limit)}"


def parse(text: str, source: str = "SLA") -> Sla:
    """Parse one SLA expression; a malformed one raises UserError naming
    `source` (the file) and the fix."""
    if not isinstance(text, str):
        raise UserError(f"{source}: SLA {text!r} must be a string like 'time_to_recover <= 90s'")
    m = _EXPR.match(text)
    if not m:
        raise UserError(f"{source}: SLA {text!r} is not 'METRIC OP LIMIT' (e.g. 'time_to_recover <= 90s', "
                        f"'error_rate <= 5%', 'lost_writes == 0')")
    metric, op, num, unit = m["metric"], m["op"], float(m["num"]), m["unit"] or ""
    if metric not in METRICS and not metric.startswith(("step:", "phase:")):
        raise UserError(f"{source}: SLA {text!r}: unknown metric {metric!r}; use one of "
                        f"{', '.join(METRICS)}, step:<name> or phase:<name>")
    if metric in DURATION_METRICS or metric.startswith(("step:", "phase:")):
        if unit not in _UNITS:
            raise UserError(f"{source}: SLA {text!r}: {metric} needs a time unit (ms, s or m), e.g. '{metric} {op} {m['num']}s'")
        limit = num * _UNITS[unit]
    elif metric in RATIO_METRICS:
        if unit == "%":
            limit = num / 100.0
        elif unit == "":
            if num > 1:
                raise UserError(f"{source}: SLA {text!r}: a bare error_rate is a fraction (0..1); write '{num:g}%' for percent")
            limit = num
        else:
            raise UserError(f"{source}: SLA {text!r}: error_rate takes a percentage (e.g. '5%') or a fraction")
    else:
        if unit:
            raise UserError(f"{source}: SLA {text!r}: {metric} is a count; drop the unit {unit!r}")
        if num != int(num):
            raise UserError(f"{source}: SLA {text!r}: {metric} is a count; use a whole number")
        limit = num
    return Sla(metric, op, limit, unit, text.strip())


def parse_all(texts: list[str] | tuple[str, ...], source: str = "SLA") -> list[Sla]:
    if not isinstance(texts, (list, tuple)):
        raise UserError(f"{source}: the SLA must be a list of expressions like ['time_to_recover <= 90s']")
    return [parse(t, source) for t in texts]
