"""SLA tables in scenarios:

    Then the SLA is met:
      | metric          | limit   |
      | time_to_detect  | <= 30s  |
      | error_rate      | <= 5%   |

Each row becomes one `gameday.sla` expression. A malformed table is one
UserError naming the file and line, found before anything runs."""
from __future__ import annotations

from collections.abc import Sequence

from .. import sla as sla_maths
from ..errors import UserError

HEADER = ("metric", "limit")
_EXAMPLE = "| metric | limit | then rows like | time_to_recover | <= 90s |"


def parse_table(rows: Sequence[Sequence[str]], file: str = "feature", line: int = 0,
                row_lines: Sequence[int] = ()) -> list[sla_maths.Sla]:
    """`rows` as pytest-bdd gives a datatable (header first)."""
    def where(i: int | None = None) -> str:
        if i is not None and i < len(row_lines):
            return f"{file}:{row_lines[i]}"
        return f"{file}:{line}"

    if not rows:
        raise UserError(f"{where()}: the SLA table is empty; write {_EXAMPLE}")
    header = tuple(str(c).strip().lower() for c in rows[0])
    if header != HEADER:
        raise UserError(f"{where(0)}: the SLA table's header is {' | '.join(rows[0])!r}; "
                        f"it must be | metric | limit |")
    if len(rows) < 2:
        raise UserError(f"{where(0)}: the SLA table has no rows; add rows like | time_to_recover | <= 90s |")
    out = []
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != 2 or not all(str(c).strip() for c in row):
            raise UserError(f"{where(i)}: SLA row {' | '.join(map(str, row))!r} needs exactly a metric and a limit, "
                            f"like | error_rate | <= 5% |")
        metric, limit = (str(c).strip() for c in row)
        if not limit[0] in "<>=":
            limit = f"<= {limit}"  # a bare limit is an upper bound
        out.append(sla_maths.parse(f"{metric} {limit}", source=where(i)))
    return out
